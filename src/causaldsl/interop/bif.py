"""BIF files, the format of the bnlearn repository (and of JavaBayes and pgmpy), in and out.

``read_bif(path)`` (a plain or gzipped file) and ``parse_bif(text)`` give a ``CausalModel``:
every variable observed, a finite type with the file's state names in their order (names, so
``0`` is the name "0"), and a table with axes (*parents, variable). ``bif_text(model)`` and
``write_bif(model, path)`` write one back. The grammar is ``grammar/bif.lark``; its syntax tree
and the transformer that builds it are below.

Every error in a file is located (``file:line:col: error: ...``): a syntax error says what
could come instead; a name not declared, a state listed twice, a row missing, given twice or
of the wrong length, and a row that does not sum to one (the message a .causal table gets)
each at its place, all of them together.
"""

from __future__ import annotations

import gzip
import itertools
import re
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from causaldsl.core.checks import entries_error
from causaldsl.core.errors import CausalError, CycleError, TableError
from causaldsl.core.types import FiniteType, show_label
from causaldsl.ir.mechanism import TOLERANCE, Table
from causaldsl.lang.files import read_regular
from causaldsl.lang.parse import decode_source, syntax_diagnostic, without_bom
from causaldsl.model.causal_model import CausalModel, Role, Variable, did_you_mean
from causaldsl.syntax.diagnostics import Diagnostic, SourceError, Span
from causaldsl.syntax.grammars import parser
from causaldsl.syntax.lark_standalone import Transformer, UnexpectedInput, v_args
from causaldsl.syntax.query import quote, show_number, unquote

GRAMMAR = "bif.lark"

#: The name bnlearn gives every network it writes; a model read from such a file is named
#: after the file instead.
UNNAMED = "unknown"

# -- the syntax tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """A name as the file writes it (bare or quoted), and where."""

    text: str
    span: Span


@dataclass(frozen=True)
class VariableDecl:
    """``variable X { type discrete [ 2 ] { yes, no }; }``; ``types`` holds each ``type``
    line as (declared count, where, states): none or several are errors."""

    name: Word
    types: tuple[tuple[int, Span, tuple[Word, ...]], ...]
    span: Span


@dataclass(frozen=True, eq=False)
class Entry:
    """One line of a probability block: a row ``(a, b) p, q;``, ``table p, q, …;`` or
    ``default p, q;``."""

    kind: str
    key: tuple[Word, ...]
    numbers: np.ndarray
    span: Span
    variable_last: bool = False  # a table with the variable innermost (XMLBIF's order)


@dataclass(frozen=True)
class ProbabilityBlock:
    """``probability ( X | A, B ) { … }``."""

    variable: Word
    parents: tuple[Word, ...]
    entries: tuple[Entry, ...]
    span: Span


@dataclass(frozen=True)
class Network:
    name: Word | None
    variables: tuple[VariableDecl, ...]
    probabilities: tuple[ProbabilityBlock, ...]


def _word(tok: Any) -> Word:
    text = unquote(str(tok)) if tok.type == "ESCAPED_STRING" else str(tok)
    return Word(text, Span(tok.line or 1, tok.column or 1))


def _span(meta: Any) -> Span:
    return Span(meta.line, meta.column, meta.end_line) if not meta.empty else Span(1, 1)


_SEPARATORS = re.compile(r"[\s,]+")


@v_args(meta=True)
class _ToBif(Transformer):
    """Builds the syntax tree of a BIF file (a flat file: no recursion to fear)."""

    def start(self, meta, items):  # type: ignore[no-untyped-def]
        name = items[0] if items and isinstance(items[0], Word) else None
        return Network(name, tuple(x for x in items if isinstance(x, VariableDecl)),
                       tuple(x for x in items if isinstance(x, ProbabilityBlock)))

    def network(self, meta, items):  # type: ignore[no-untyped-def]
        return _word(items[0])

    def variable(self, meta, items):  # type: ignore[no-untyped-def]
        return VariableDecl(_word(items[0]), tuple(x for x in items[1:] if isinstance(x, tuple)),
                            _span(meta))

    def var_type(self, meta, items):  # type: ignore[no-untyped-def]
        size = items[0]  # a count too long for int() is no count of the states listed: -1
        count = int(size) if len(size) < 20 else -1
        return (count, Span(size.line, size.column), tuple(_word(t) for t in items[1:]))

    def probability(self, meta, items):  # type: ignore[no-untyped-def]
        parents = items[1] if len(items) > 2 else ()
        return ProbabilityBlock(_word(items[0]), parents, items[-1], _span(meta))

    def word_list(self, meta, items):  # type: ignore[no-untyped-def]
        return tuple(_word(t) for t in items)

    def prob_body(self, meta, items):  # type: ignore[no-untyped-def]
        return tuple(x for x in items if isinstance(x, Entry))

    def row(self, meta, items):  # type: ignore[no-untyped-def]
        return Entry("row", items[0], _numbers(items[1:]), _span(meta))

    def table(self, meta, items):  # type: ignore[no-untyped-def]
        return Entry("table", (), _numbers(items), _span(meta))

    def default(self, meta, items):  # type: ignore[no-untyped-def]
        return Entry("default", (), _numbers(items), _span(meta))

    def prop(self, meta, items):  # type: ignore[no-untyped-def]
        return None


def _numbers(tokens: list[Any]) -> np.ndarray:
    text = " ".join(str(t) for t in tokens)
    return np.array([float(x) for x in _SEPARATORS.split(text) if x], dtype=np.float64)


# -- reading ------------------------------------------------------------------------------------


def read_bif(path: str | Path, shown: str | None = None) -> CausalModel:
    """The network in a BIF file, plain or gzipped (``alarm.bif``, ``alarm.bif.gz``); only a
    regular file is read. ``shown``: the path that errors name (default: ``path``)."""
    shown = str(path) if shown is None else shown
    return parse_bif(decode_source(read_bytes(path, shown), shown), shown,
                     name=network_stem(path))


def read_bytes(path: str | Path, shown: str) -> bytes:
    """A network file's bytes, decompressed when they are gzip data (whatever the file is
    called); only a regular file is read."""
    data = read_regular(path)
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise CausalError(f"{shown}: the file is damaged gzip data ({e})") from None
    return data


def network_stem(path: str | Path) -> str:
    """A network file's name without its extensions: ``alarm`` for ``alarm.bif.gz`` (and
    ``.xmlbif``, ``.bifxml``, ``.xml``, ``.net``, ``.dagitty``, ``.causal``)."""
    name = Path(path).name
    for ext in (".gz", ".bif", ".xmlbif", ".bifxml", ".xml", ".net", ".dagitty", ".causal"):
        if name.lower().endswith(ext) and len(name) > len(ext):
            name = name[: -len(ext)]
    return name


def parse_bif(text: str, file: str = "<string>", name: str | None = None) -> CausalModel:
    """The network of BIF text. The model is named as the file's ``network`` is, unless that is
    bnlearn's ``unknown`` (or there is none): then ``name`` (the file's name), else "bn"."""
    text = without_bom(text)
    try:
        tree = parser(GRAMMAR, "start").parse(text)
    except UnexpectedInput as e:
        raise SourceError([syntax_diagnostic(e, text, file, GRAMMAR)], parsed=False) from None
    network: Network = _ToBif().transform(tree)
    named = network.name.text if network.name is not None else UNNAMED
    return NetworkBuilder(file, text).model(network, named if named != UNNAMED else name or "bn")


@dataclass
class NetworkBuilder:
    """Checks a network's syntax tree and builds its model, gathering every error (the BIF
    and XMLBIF readers share it: XMLBIF's elements become the same tree)."""

    file: str
    text: str
    diags: list[Diagnostic] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)  # variables whose block an error refused
    #: how to declare a type, for a variable declared without one
    declare: str = "declare one, e.g. type discrete [ 2 ] { yes, no };"

    def error(self, span: Span, message: str) -> None:
        if not self.lines:
            self.lines = self.text.split("\n")  # as the parser counts lines
        line = self.lines[span.line - 1].rstrip("\r") if span.line <= len(self.lines) else ""
        self.diags.append(Diagnostic(self.file, span, message, line))

    def model(self, net: Network, name: str) -> CausalModel:
        types = self.types(net)
        blocks = self.blocks(net)
        variables = []
        for n in dict.fromkeys(v.name.text for v in net.variables):
            b = blocks.get(n)
            if n not in types or b is None or n in self.broken or not all(
                    p.text in types for p in b.parents):
                continue  # an error said why
            table = self.table(b, types)
            if table is not None:
                variables.append(Variable(n, types[n], Role.OBSERVED,
                                          tuple(p.text for p in b.parents), table))
        if not self.diags:
            try:
                return CausalModel.from_variables(variables, name, trusted=variables)
            except CycleError as e:
                self.error(blocks[e.cycle[0]].span, str(e))
        raise SourceError(sorted(self.diags, key=lambda d: (d.span.line, d.span.column)))

    def types(self, net: Network) -> dict[str, FiniteType]:
        """Each declared variable's type: its states in order."""
        out: dict[str, FiniteType] = {}
        first: dict[str, Span] = {}
        for v in net.variables:
            n = v.name.text
            if n in first:
                self.error(v.name.span, f"variable {n} is declared twice (first at line "
                                        f"{first[n].line})")
                continue
            first[n] = v.name.span
            if not v.types:
                self.error(v.name.span, f"variable {n} has no type; {self.declare}")
                continue
            if len(v.types) > 1:
                self.error(v.types[1][1], f"variable {n} has a second type")
                continue
            size, where, states = v.types[0]
            labels = [s.text for s in states]
            dup = next((s for i, s in enumerate(states) if s.text in labels[:i]), None)
            if dup is not None:
                self.error(dup.span, f"state {dup.text} of variable {n} is listed twice")
            elif size != len(states):
                self.error(where, f"variable {n} is declared with "
                                  f"{_count(size, 'state') if size >= 0 else 'more states'} "
                                  f"but lists {len(states)}")
            else:
                out[n] = FiniteType(labels)
        return out

    def blocks(self, net: Network) -> dict[str, ProbabilityBlock]:
        """Each variable's probability block, checked to name declared variables; a variable
        without one is an error."""
        declared = {v.name.text for v in net.variables}
        out: dict[str, ProbabilityBlock] = {}
        for b in net.probabilities:
            n = b.variable.text
            if n not in declared:
                self.error(b.variable.span, f"{n!r} is not a declared variable"
                           + did_you_mean(n, declared))
                continue
            if n in out:
                self.error(b.span, f"the probability of {n} is given twice (first at line "
                                   f"{out[n].span.line})")
                continue
            out[n] = b
            seen: set[str] = set()
            for p in b.parents:
                if p.text not in declared:
                    self.error(p.span, f"{p.text!r} is not a declared variable"
                               + did_you_mean(p.text, declared))
                elif p.text == n:
                    self.error(p.span, f"variable {n} is given as its own parent")
                elif p.text in seen:
                    self.error(p.span, f"variable {n} lists parent {p.text} twice")
                else:
                    seen.add(p.text)
                    continue
                self.broken.add(n)
        for v in net.variables:
            if v.name.text not in out:
                self.error(v.name.span, f"variable {v.name.text} has no probability block")
                out[v.name.text] = ProbabilityBlock(v.name, (), (), v.span)  # said once
                self.broken.add(v.name.text)
        return out

    def table(self, b: ProbabilityBlock, types: dict[str, FiniteType]) -> Table | None:
        """A block's table, axes (*parents, variable), every row given and summing to one;
        None after reporting an error."""
        n = b.variable.text
        child = types[n]
        parents = [p.text for p in b.parents]
        ptypes = [types[p] for p in parents]
        shape = tuple(t.size for t in ptypes)
        k = child.size
        too_large = entries_error(f"the probability of {n}", [*shape, k])
        if too_large:  # refused before it is allocated
            self.error(b.span, too_large)
            return None
        arr = np.full((*shape, k), np.nan)
        source = np.full(shape, -1, dtype=np.int64)  # the entry that gave each row
        by_row: dict[tuple[int, ...], Entry] = {}
        kinds: dict[str, Entry] = {}
        for e in b.entries:
            if e.kind != "row" and e.kind in kinds:
                self.error(e.span, f"the probability of {n} has two {e.kind} lines (first at "
                                   f"line {kinds[e.kind].span.line})")
                return None
            kinds.setdefault(e.kind, e)
        order = sorted(range(len(b.entries)), key=lambda i: ("table", "row", "default").index(
            b.entries[i].kind))
        for i in order:  # a table, then the rows over it, then the default where none is
            e = b.entries[i]
            count = len(e.numbers)
            if e.kind == "table":
                need = k * int(np.prod(shape, dtype=np.int64))
                if count != need:
                    rows = f" for each of {int(np.prod(shape))} rows of its parents" if shape else ""
                    self.error(e.span, f"the table of {n} has {_count(count, 'number')}, but it "
                                       f"needs {need}: {_count(k, 'state')}{rows}")
                    return None
                arr[...] = (e.numbers.reshape(*shape, k) if e.variable_last else
                            np.moveaxis(e.numbers.reshape(k, *shape), 0, -1))
                source[...] = i
                continue
            if count != k:
                what = f"row {_key(e.key)}" if e.kind == "row" else "the default row"
                self.error(e.span, f"{what} of {n} has {_count(count, 'number')}, but {n} has "
                                   f"{_count(k, 'state')} {child.listing}")
                return None
            if e.kind == "default":
                arr[source < 0] = e.numbers
                source[source < 0] = i
                continue
            idx = self.row_index(e, n, parents, ptypes)
            if idx is None:
                return None
            if idx in by_row:
                self.error(e.span, f"row {_key(e.key)} of {n} is given twice (first at line "
                                   f"{by_row[idx].span.line})")
                return None
            by_row[idx] = e
            arr[idx] = e.numbers
            source[idx] = i
        missing = np.argwhere(source < 0)
        if len(missing):
            if not parents:
                self.error(b.span, f"the probability of {n} gives no numbers")
                return None
            row = [show_label(t.values[j]) for t, j in zip(ptypes, missing[0], strict=True)]
            shown = row[0] if len(row) == 1 else "(" + ", ".join(row) + ")"
            self.error(b.span, f"the probability of {n} has no row for {', '.join(parents)} = "
                               f"{shown}" + (f" ({_count(len(missing), 'row')} missing)"
                                             if len(missing) > 1 else ""))
            return None
        table = Table(arr, len(parents))
        try:
            table.check(ptypes, (child,), f"variable {n}" + (
                f" (given {', '.join(parents)})" if parents else ""))
        except TableError as err:
            at = _bad_row(table.array, len(parents))
            self.error(b.entries[int(source[at])].span, str(err))
            return None
        return table

    def row_index(self, e: Entry, n: str, parents: list[str], ptypes: list[FiniteType]
                  ) -> tuple[int, ...] | None:
        if len(e.key) != len(parents):
            given = f"given {', '.join(parents)}" if parents else "no parents"
            self.error(e.span, f"row {_key(e.key)} of {n} names {_count(len(e.key), 'state')}, "
                               f"but {n} has {given}")
            return None
        idx = []
        for w, p, t in zip(e.key, parents, ptypes, strict=True):
            if w.text not in t.values:
                self.error(w.span, f"{w.text!r} is not a state of {p}; its states are "
                                   f"{t.listing}" + did_you_mean(w.text, map(str, t.values)))
                return None
            idx.append(t.values.index(w.text))
        return tuple(idx)


def _bad_row(arr: np.ndarray, n_inputs: int) -> tuple[int, ...]:
    """The row that ``Table.check`` names: the first with a non-finite entry, else a negative
    one, else a sum off one."""
    rows = arr.reshape(*arr.shape[:n_inputs], -1)
    for bad in (~np.isfinite(rows).all(axis=-1), (rows < 0).any(axis=-1),
                np.abs(rows.sum(axis=-1) - 1.0) > TOLERANCE):
        if np.any(bad):
            return tuple(int(i) for i in np.argwhere(bad)[0])
    return (0,) * n_inputs  # pragma: no cover - check found a fault


def _key(key: tuple[Word, ...]) -> str:
    return "(" + ", ".join(w.text for w in key) + ")"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


# -- writing ------------------------------------------------------------------------------------


def bif_text(model: CausalModel) -> str:
    """A model as BIF text, in the bnlearn repository's layout. Every variable must be observed
    with a finite type and a table; labels are written as names (BIF has no numbers or
    booleans: they read back as the names "0", "true"). Floats are written exactly."""
    lines = [f"network {_bif_word(model.name)} {{", "}"]
    variables = list(model.variables.values())
    for v in variables:
        writable(v, model)
        assert isinstance(v.type, FiniteType)
        states = ", ".join(_bif_word(show_label(s)) for s in v.type.values)
        lines += [f"variable {_bif_word(v.name)} {{",
                  f"  type discrete [ {v.type.size} ] {{ {states} }};", "}"]
    for v in variables:
        assert isinstance(v.mechanism, Table)
        arr = v.mechanism.array
        given = f" | {', '.join(_bif_word(p) for p in v.parents)}" if v.parents else ""
        lines.append(f"probability ( {_bif_word(v.name)}{given} ) {{")
        if not v.parents:
            lines.append(f"  table {', '.join(show_number(x) for x in arr)};")
        ptypes = [t for p in v.parents if isinstance(t := model.variables[p].type, FiniteType)]
        for idx in itertools.product(*(range(t.size) for t in ptypes)) if v.parents else ():
            key = ", ".join(_bif_word(show_label(t.values[i]))
                            for t, i in zip(ptypes, idx, strict=True))
            lines.append(f"  ({key}) {', '.join(show_number(x) for x in arr[idx])};")
        lines.append("}")
    return "\n".join(lines) + "\n"


def writable(v: Variable, model: CausalModel, fmt: str = "BIF") -> None:
    """Refuse a variable that a network format (BIF, XMLBIF) cannot hold, naming it: it must be
    observed, with a finite type and a table."""
    if v.is_input or v.role is not Role.OBSERVED:
        what = "an input (it was cut)" if v.is_input else f"{v.role}"
        raise CausalError(f"variable {v.name} of model {model.name} is {what}; {fmt} holds only "
                          "observed variables with tables (write a .causal file to keep it)")
    if not isinstance(v.type, FiniteType) or not isinstance(v.mechanism, Table):
        why = (f"its type is {v.type}" if not isinstance(v.type, FiniteType) else
               "it has no mechanism" if v.mechanism is None else f"its mechanism is {v.mechanism}")
        raise CausalError(f"variable {v.name} of model {model.name} has no table ({why}); {fmt} "
                          "holds only tables over finite types")


@cache
def _bare_word() -> re.Pattern[str]:
    return re.compile(parser(GRAMMAR, "start").get_terminal("NAME").pattern.to_regexp())


def _bif_word(text: str) -> str:
    """A name as BIF writes it: bare when it can be, else in quotes."""
    if "\n" in text or "\r" in text:
        raise CausalError(f"the name {text!r} holds a line break, which no BIF file can hold")
    return text if _bare_word().fullmatch(text) else quote(text)


def write_bif(model: CausalModel, path: str | Path) -> None:
    """Write a model as a BIF file; gzipped when the path ends in ``.gz``."""
    from causaldsl.lang.files import write_regular

    data = bif_text(model).encode("utf-8")
    if str(path).lower().endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    write_regular(path, data)
