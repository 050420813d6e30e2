"""Draw every example into docs/gallery/ and docs/gallery.md; ``--check`` only checks.

Run from the repository root: ``.venv/bin/python docs/make_gallery.py``.
"""

import sys

from causaldsl.draw.gallery import main

if __name__ == "__main__":
    sys.exit(main())
