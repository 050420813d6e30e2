"""The public path of the command line (``python -m causaldsl.cli``); it lives in causaldsl.app.cli."""

import sys

from causaldsl.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
