"""Hugin's .net files (the NET language: Hugin, pyAgrum, SMILE, Netica), in and out.

``read_hugin(path)`` and ``parse_hugin(text)`` give a ``CausalModel`` as the BIF reader does:
every discrete chance ``node`` an observed variable whose ``states`` are its type (names, in
order), every ``potential ( X | A B )`` its table, whose ``data`` lists the first parent
outermost and the variable innermost (nested lists, read flat). The grammar is
``grammar/hugin.lark``; its tree becomes the BIF reader's syntax tree, so the same checks give
the same located messages, and what the NET language adds is said at its place: a decision,
utility, function or continuous node, a potential over several nodes (a clique's), a number
that is no number. ``hugin_text(model)`` and ``write_hugin(model, path)`` write one."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from causaldsl.core.errors import CausalError
from causaldsl.core.types import FiniteType, show_label
from causaldsl.interop.bif import (
    UNNAMED,
    Entry,
    Network,
    NetworkBuilder,
    ProbabilityBlock,
    VariableDecl,
    Word,
    network_stem,
    read_bytes,
    writable,
)
from causaldsl.ir.mechanism import Table
from causaldsl.lang.parse import decode_source, syntax_diagnostic, without_bom
from causaldsl.model.causal_model import CausalModel
from causaldsl.syntax.diagnostics import Diagnostic, SourceError, Span
from causaldsl.syntax.grammars import parser
from causaldsl.syntax.lark_standalone import Token, Transformer, UnexpectedInput, v_args
from causaldsl.syntax.query import quote, show_number, unquote

GRAMMAR = "hugin.lark"

# -- the syntax tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attr:
    """``key = value;``: a value is a word (a name, number or string) or a list of values."""

    key: Word
    value: Word | list[Any]


@dataclass(frozen=True)
class NodeBlock:
    kind: Word | None
    name: Word
    attrs: tuple[Attr, ...]
    span: Span


@dataclass(frozen=True)
class PotentialBlock:
    heads: tuple[Word, ...]
    parents: tuple[Word, ...]
    attrs: tuple[Attr, ...]
    span: Span


def _word(tok: Any) -> Word:
    text = unquote(str(tok)) if tok.type == "ESCAPED_STRING" else str(tok)
    return Word(text, Span(tok.line or 1, tok.column or 1))


def _as_word(x: Any) -> Any:
    return _word(x) if isinstance(x, Token) else x


@v_args(meta=True)
class _ToHugin(Transformer):
    """Builds the syntax tree of a .net file (lists nest as deep as a table has parents; a
    file that nests them deeper than Python's recursion allows is an error, not a crash)."""

    def start(self, meta, items):  # type: ignore[no-untyped-def]
        return list(items)

    def net(self, meta, items):  # type: ignore[no-untyped-def]
        return tuple(items)  # the net's attributes

    def node(self, meta, items):  # type: ignore[no-untyped-def]
        kind, name, *attrs = items
        return NodeBlock(kind, _word(name), tuple(attrs), _span(meta))

    def kind(self, meta, items):  # type: ignore[no-untyped-def]
        return _word(items[0]) if items else None

    def potential(self, meta, items):  # type: ignore[no-untyped-def]
        heads = items[0]
        parents = items[1] if len(items) > 1 and isinstance(items[1], list) else []
        attrs = tuple(x for x in items if isinstance(x, Attr))
        return PotentialBlock(tuple(heads), tuple(parents), attrs, _span(meta))

    def heads(self, meta, items):  # type: ignore[no-untyped-def]
        return [_word(t) for t in items]

    def parents(self, meta, items):  # type: ignore[no-untyped-def]
        return [_word(t) for t in items]

    def attr(self, meta, items):  # type: ignore[no-untyped-def]
        return Attr(_word(items[0]), _as_word(items[1]))

    def list(self, meta, items):  # type: ignore[no-untyped-def]
        return [_as_word(x) for x in items]


def _span(meta: Any) -> Span:
    return Span(meta.line, meta.column, meta.end_line) if not meta.empty else Span(1, 1)


# -- reading ------------------------------------------------------------------------------------


def read_hugin(path: str | Path, shown: str | None = None) -> CausalModel:
    """The network in a .net file (plain or gzipped; only a regular file is read)."""
    shown = str(path) if shown is None else shown
    return parse_hugin(decode_source(read_bytes(path, shown), shown), shown,
                       name=network_stem(path))


def parse_hugin(text: str, file: str = "<string>", name: str | None = None) -> CausalModel:
    """The network of .net text, named as its ``net``'s ``name`` attribute, else ``name`` (the
    file's), else "bn"."""
    text = without_bom(text)
    try:
        tree = parser(GRAMMAR, "start").parse(text)
    except UnexpectedInput as e:
        raise SourceError([syntax_diagnostic(e, text, file, GRAMMAR)], parsed=False) from None
    try:
        blocks = _ToHugin().transform(tree)
    except RecursionError:
        raise SourceError([Diagnostic(file, Span(1, 1), "the file nests lists thousands deep; "
                                      "a table's data nests once per parent")]) from None
    reader = _Reader(file, text)
    network, named = reader.network(blocks)
    builder = NetworkBuilder(file, text, declare='list its states: states = ("yes" "no");')
    builder.diags.extend(reader.diags)
    builder.broken |= reader.broken
    title = named if named and named != UNNAMED else name or "bn"
    return builder.model(network, title)


@dataclass
class _Reader:
    """The .net tree as the BIF reader's; what it cannot carry is an error here."""

    file: str
    text: str
    diags: list[Diagnostic] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)

    def error(self, span: Span, message: str) -> None:
        lines = self.text.split("\n")
        line = lines[span.line - 1].rstrip("\r") if span.line <= len(lines) else ""
        self.diags.append(Diagnostic(self.file, span, message, line))

    def network(self, blocks: list[Any]) -> tuple[Network, str | None]:
        named = None
        variables, probabilities = [], []
        for b in blocks:
            if isinstance(b, tuple):  # the net block
                for a in b:
                    if a.key.text == "name" and isinstance(a.value, Word):
                        named = a.value.text
            elif isinstance(b, NodeBlock):
                v = self.node(b)
                if v is not None:
                    variables.append(v)
            else:
                p = self.potential(b)
                if p is not None:
                    probabilities.append(p)
        return Network(None, tuple(variables), tuple(probabilities)), named

    def node(self, b: NodeBlock) -> VariableDecl | None:
        if b.kind is not None and b.kind.text != "discrete":
            what = {"continuous": "a continuous (Gaussian) node",
                    "decision": "a decision node (an influence diagram's)",
                    "utility": "a utility node (an influence diagram's)",
                    "function": "a function node"}[b.kind.text]
            self.error(b.kind.span, f"node {b.name.text} is {what}; causaldsl reads discrete "
                                    "chance nodes")
            return None
        states = next((a for a in b.attrs if a.key.text == "states"), None)
        if states is None:
            return VariableDecl(b.name, (), b.span)
        if not isinstance(states.value, list) or not all(isinstance(s, Word)
                                                         for s in states.value):
            self.error(states.key.span, f"the states of node {b.name.text} are a list of names, "
                                        'e.g. states = ("yes" "no");')
            return None
        listed = tuple(states.value)
        if not listed:
            self.error(states.key.span, f"node {b.name.text} has no states; list at least one, "
                                        'e.g. states = ("yes" "no");')
            return None
        return VariableDecl(b.name, ((len(listed), states.key.span, listed),), b.span)

    def potential(self, b: PotentialBlock) -> ProbabilityBlock | None:
        if len(b.heads) != 1:
            self.error(b.span, f"a potential of {len(b.heads)} nodes "
                               f"({' '.join(h.text for h in b.heads)}) is a clique's; causaldsl "
                               "reads one node's table given its parents, potential ( X | A B )")
            self.broken |= {h.text for h in b.heads}  # said here, not again as tables missing
            return ProbabilityBlock(b.heads[0], b.parents, (), b.span) if b.heads else None
        (head,) = b.heads
        data = next((a for a in b.attrs if a.key.text == "data"), None)
        if data is None:
            return ProbabilityBlock(head, b.parents, (), b.span)
        numbers = self.numbers(data, head.text)
        if numbers is None:
            self.broken.add(head.text)
            return ProbabilityBlock(head, b.parents, (), b.span)
        entry = Entry("table", (), numbers, data.key.span, variable_last=True)
        return ProbabilityBlock(head, b.parents, (entry,), b.span)

    def numbers(self, data: Attr, var: str) -> np.ndarray | None:
        flat: list[float] = []
        stack = [data.value]
        while stack:  # nested lists, flattened in order without recursion
            x = stack.pop()
            if isinstance(x, list):
                stack.extend(reversed(x))
                continue
            try:
                if not _NUMBER.fullmatch(x.text):
                    raise ValueError
                flat.append(float(x.text))
            except ValueError:
                self.error(x.span, f"{x.text!r} in the data of {var} is not a number")
                return None
        return np.array(flat, dtype=np.float64)


_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

# -- writing ------------------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def hugin_text(model: CausalModel) -> str:
    """A model as .net text (Hugin's NET language). Every variable must be observed with a
    finite type and a table, and named as the NET language names nodes (letters, digits and
    ``_``, not first a digit); states are quoted strings, numbers exact."""
    variables = list(model.variables.values())
    lines = ["net", "{", f"  name = {_string(model.name)};", "}"]
    for v in variables:
        writable(v, model, "a .net file")
        if not _NAME.fullmatch(v.name):
            raise CausalError(f"variable {v.name!r} of model {model.name} cannot be written in a "
                              ".net file: a node's name is letters, digits and _, not first a "
                              "digit")
        assert isinstance(v.type, FiniteType)
        states = " ".join(_string(show_label(s)) for s in v.type.values)
        lines += ["", f"node {v.name}", "{", f"  states = ({states});", "}"]
    for v in variables:
        assert isinstance(v.mechanism, Table)
        given = f" | {' '.join(v.parents)}" if v.parents else ""
        lines += ["", f"potential ( {v.name}{given} )", "{", "  data = " + _data(v.mechanism.array)
                  + ";", "}"]
    return "\n".join(lines) + "\n"


def _data(arr: np.ndarray) -> str:
    """A table (*parents, variable) as nested lists, a row of the variable on each line."""
    rows = arr.reshape(-1, arr.shape[-1])
    shape = arr.shape[:-1]
    out = []
    for i, idx in enumerate(itertools.product(*(range(n) for n in shape)) if shape else [()]):
        opening = sum(1 for k in range(len(idx)) if all(j == 0 for j in idx[k:]))
        closing = sum(1 for k in range(len(idx)) if all(j == n - 1 for j, n in
                                                         zip(idx[k:], shape[k:], strict=True)))
        row = "(" + " ".join(show_number(float(x)) for x in rows[i]) + ")"
        out.append("(" * opening + row + ")" * closing)
    return "\n    ".join(out)


def _string(text: str) -> str:
    if "\n" in text or "\r" in text:
        raise CausalError(f"the name {text!r} holds a line break, which a .net file cannot hold")
    return quote(text)


def write_hugin(model: CausalModel, path: str | Path) -> None:
    """Write a model as a .net file."""
    from causaldsl.lang.files import write_regular

    write_regular(path, hugin_text(model).encode("utf-8"))
