"""Where the .lark grammars live: inside the installed package, or the checkout's grammar/."""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

import lark


def grammar_path(name: str) -> Path:
    """The path of a grammar file, shipped in the wheel or read from the source tree."""
    here = Path(__file__).resolve().parents[1]  # the causaldsl package
    for candidate in (here / "grammar" / name, here.parents[1] / "grammar" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"grammar {name} is missing from the installation ({here})")


@cache
def parser(name: str, start: str = "start", positions: bool = True) -> lark.Lark:
    """A cached LALR parser for a grammar file; ``positions`` keeps source spans in the tree
    (syntax errors carry their position either way)."""
    path = grammar_path(name)
    text = path.read_text()
    options = dict(parser="lalr", start=start, propagate_positions=positions,
                   import_paths=[path.parent], maybe_placeholders=False)
    cache = _cache_file(name, text, repr(sorted(options.items(), key=str)))
    try:
        return lark.Lark(text, cache=cache or False, **options)
    except OSError:  # an unwritable cache folder costs speed, nothing else
        return lark.Lark(text, **options)


def _cache_file(name: str, text: str, options: str) -> str | None:
    """Where lark keeps the analysed parser (start-up: building LALR tables costs ~0.25 s).
    Keyed by the grammar, its imports, the options and lark's version; lark checks it too."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "causaldsl"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    here = grammar_path(name).parent
    key = hashlib.sha256("\0".join([text, options, lark.__version__, *(
        p.read_text() for p in sorted(here.glob("*.lark")))]).encode()).hexdigest()[:16]
    return str(folder / f"{name}-{key}.cache")
