"""Where the .lark grammars live: inside the installed package, or the checkout's grammar/."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import lark


def grammar_path(name: str) -> Path:
    """The path of a grammar file, shipped in the wheel or read from the source tree."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "grammar" / name, here.parents[1] / "grammar" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"grammar {name} is missing from the installation ({here})")


@cache
def parser(name: str, start: str = "start", positions: bool = True) -> lark.Lark:
    """A cached LALR parser for a grammar file; ``positions`` keeps source spans in the tree
    (syntax errors carry their position either way)."""
    path = grammar_path(name)
    return lark.Lark(path.read_text(), parser="lalr", start=start, propagate_positions=positions,
                     import_paths=[path.parent], maybe_placeholders=False)
