"""The .lark grammars (inside the installed package, or the checkout's grammar/) and their LALR
parsers.

Building a parser's LALR tables from its grammar costs ~0.15 s, too much for every start of the
command line, and a cache of them on disk is a pickle that someone else could plant. So the
parsers ship ready-made, written by ``tools/gen_parser_tables.py``: their tables as Python
literals (``syntax/parser_tables.py``) and lark's standalone runtime that reads them
(``syntax/lark_standalone.py``, which lark's own generator extracts). No pickle is run, nothing is
read from or written to a cache folder, and lark itself is never imported at run time (that
alone cost ~20 ms of every command); ``tests/syntax/test_grammars.py`` fails while the shipped
files are stale."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from causaldsl.syntax.lark_standalone import Lark

#: The parsers that ship in ``parser_tables``: (grammar, start rule, positions).
SHIPPED = (("causal.lark", "start", True), ("query.lark", "start", False),
           ("bif.lark", "start", True), ("dagitty.lark", "start", True),
           ("hugin.lark", "start", True))


def grammar_path(name: str) -> Path:
    """The path of a grammar file, shipped in the wheel or read from the source tree."""
    here = Path(__file__).resolve().parents[1]  # the causaldsl package
    for candidate in (here / "grammar" / name, here.parents[1] / "grammar" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"grammar {name} is missing from the installation ({here})")


def table_key(name: str, start: str, positions: bool) -> str:
    """The name of a parser's tables in ``parser_tables``."""
    return f"{name}:{start}:{'positions' if positions else 'no positions'}"


def parser(name: str, start: str = "start", positions: bool = True) -> Lark:
    """The LALR parser of a grammar file, loaded once from its shipped tables; ``positions``
    keeps source spans in the tree (syntax errors carry their position either way)."""
    return _load(name, start, positions)  # one cache entry however the caller passes them


@cache
def _load(name: str, start: str, positions: bool) -> Lark:
    from causaldsl.syntax import parser_tables

    key = table_key(name, start, positions)
    if key not in parser_tables.TABLES:
        raise LookupError(f"no parser ships for {key}: add it to SHIPPED and run "
                          "tools/gen_parser_tables.py")
    tables = parser_tables.TABLES[key]()
    loaded = Lark._load_from_dict(tables["data"], tables["memo"])
    _share_scanners(loaded)
    return loaded


def _share_scanners(p: Lark) -> None:
    """Let parser states that lex the same terminals share one lexer, so one scanner: lark's
    contextual lexer keys its per-state lexers by everything a state accepts, rules included,
    and each lexer compiles its own regular expression when first used (about 0.2 ms each,
    and a one-shot command reaches 25 to 40 of them). Lexers of the same terminals lex alike."""
    states = p.parser.lexer.lexers
    by_terminals: dict[frozenset[str], object] = {}
    for state, lexer in states.items():
        states[state] = by_terminals.setdefault(frozenset(t.name for t in lexer.terminals), lexer)
