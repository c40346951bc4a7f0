import sys

from amphys.cli.main import main

sys.exit(main())
