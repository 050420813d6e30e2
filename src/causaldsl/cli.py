"""The public path of the command line (``python -m causaldsl.cli``); it lives in causaldsl.app.cli."""

from causaldsl.app.cli import main

if __name__ == "__main__":
    main()
