"""The .lark grammars (inside the installed package, or the checkout's grammar/) and their LALR
parsers.

Building a parser's LALR tables from its grammar costs ~0.15 s, too much for every start of the
command line, and a cache of them on disk is a pickle that someone else could plant. So the
tables ship ready-made in the package as JSON text (``syntax/parser_tables.py``, written by
``tools/gen_parser_tables.py``) and are loaded with lark's dict loader: no pickle is run. They
are used only when they were made from these very grammar files and options by this version of
lark; otherwise the parser is built from the grammar, slower but the same. Nothing is read from
or written to a cache folder."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import lark

#: The parsers whose tables ship in ``parser_tables``: (grammar, start rule, positions).
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


@cache
def parser(name: str, start: str = "start", positions: bool = True) -> lark.Lark:
    """A cached LALR parser for a grammar file; ``positions`` keeps source spans in the tree
    (syntax errors carry their position either way)."""
    return shipped(name, start, positions) or build(name, start, positions)


def _options(name: str, start: str, positions: bool) -> dict[str, Any]:
    return dict(parser="lalr", start=start, propagate_positions=positions,
                import_paths=[grammar_path(name).parent], maybe_placeholders=False)


def build(name: str, start: str = "start", positions: bool = True) -> lark.Lark:
    """The parser built from its grammar file (LALR tables computed now)."""
    return lark.Lark(grammar_path(name).read_text(encoding="utf-8"),
                     **_options(name, start, positions))


def table_key(name: str, start: str, positions: bool) -> str:
    """The name of a parser's tables in ``parser_tables``."""
    return f"{name}:{start}:{'positions' if positions else 'no positions'}"


def grammar_digest(name: str, start: str, positions: bool) -> str:
    """What a parser's tables are made from: the options and every grammar file (a grammar
    can import another), hashed."""
    options = {k: v for k, v in _options(name, start, positions).items() if k != "import_paths"}
    folder = grammar_path(name).parent
    h = hashlib.sha256(f"{name}\0{sorted(options.items())!r}\0".encode())
    for p in sorted(folder.glob("*.lark")):
        h.update(f"{p.name}\0".encode() + p.read_bytes() + b"\0")
    return h.hexdigest()


def serialize(p: lark.Lark) -> dict[str, Any]:
    """A parser's tables as plain data: dicts, lists, tuples, strings, numbers, booleans and None
    (what ``Lark.load`` takes as a dict, with no pickle); nothing of the machine it was built on."""
    data, memo = p.memo_serialize([lark.lexer.TerminalDef, lark.grammar.Rule])
    data["options"] = {k: v for k, v in data["options"].items()
                       if k not in ("import_paths", "source_path")}
    data["parser"]["parser"] = _canonical(data["parser"]["parser"])
    return {"data": _plain(data), "memo": _plain(memo)}


def _canonical(table: dict[str, Any]) -> dict[str, Any]:
    """A serialized LALR table numbered the same way at every build (lark numbers its states
    and tokens in an order that changes from run to run): tokens in order of their names,
    states in the order a breadth-first walk from the start states reaches them, each state's
    moves taken in token order."""
    names = sorted(set(table["tokens"].values()))
    token = {old: names.index(name) for old, name in table["tokens"].items()}
    states = table["states"]
    order: list[int] = []
    seen: set[int] = set()
    queue = [table["start_states"][s] for s in sorted(table["start_states"])]
    while queue:
        s = queue.pop(0)
        if s in seen:
            continue
        seen.add(s)
        order.append(s)
        for _, (action, arg) in sorted(states[s].items(), key=lambda m: token[m[0]]):
            if action == 0 and arg not in seen:  # a shift (or a goto) to another state
                queue.append(arg)
    order += sorted(set(states) - seen)
    new = {old: i for i, old in enumerate(order)}

    def move(action: int, arg: Any) -> tuple[int, Any]:
        return (action, new[arg]) if action == 0 else (action, arg)

    return {"tokens": dict(enumerate(names)),
            "states": {new[s]: dict(sorted((token[t], move(*m)) for t, m in states[s].items()))
                       for s in order},
            "start_states": {k: new[v] for k, v in sorted(table["start_states"].items())},
            "end_states": {k: new[v] for k, v in sorted(table["end_states"].items())}}


def _plain(x: Any) -> Any:
    """``x`` with str subclasses (lark's Token) as str: equal, and printable as a literal."""
    if isinstance(x, dict):
        return {_plain(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return type(x)(_plain(v) for v in x)
    if isinstance(x, str):
        return str(x)
    if x is None or isinstance(x, bool | int | float):
        return x
    raise TypeError(f"parser tables hold a {type(x).__name__}, not plain data: {x!r}")


def shipped(name: str, start: str = "start", positions: bool = True) -> lark.Lark | None:
    """The parser loaded from the tables that ship in the package, or None when there are none
    for it or they were made from other grammar files or options or by another version of lark."""
    from causaldsl.syntax import parser_tables

    key = table_key(name, start, positions)
    if (key not in parser_tables.TABLES or lark.__version__ != parser_tables.LARK_VERSION
            or parser_tables.DIGESTS[key] != grammar_digest(name, start, positions)):
        return None
    return lark.Lark.load(tables_from_json(parser_tables.TABLES[key]))


def tables_from_json(text: str) -> dict[str, Any]:
    """A parser's tables (what ``serialize`` gives) from their JSON text: JSON has no tuples and
    no integer keys, so those are put back where lark has them."""
    tables: dict[str, Any] = json.loads(text)
    memo = tables["memo"] = {int(k): v for k, v in tables["memo"].items()}
    for entry in memo.values():
        options = entry.get("options")
        if isinstance(options, dict) and isinstance(options.get("empty_indices"), list):
            options["empty_indices"] = tuple(options["empty_indices"])
    table = tables["data"]["parser"]["parser"]
    table["tokens"] = {int(k): v for k, v in table["tokens"].items()}
    table["states"] = {int(s): {int(t): tuple(m) for t, m in moves.items()}
                       for s, moves in table["states"].items()}
    return tables
