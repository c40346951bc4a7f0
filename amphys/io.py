"""Public file I/O: ``amphys.io.read`` and ``amphys.io.write`` (SPEC §4.1, §4.2)."""

from amphys.data.io import open_dataset, read, write

__all__ = ["read", "write", "open_dataset"]
