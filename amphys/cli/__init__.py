"""Command-line front end (``amphys ...``). No numerics here: commands parse options and call the library."""
