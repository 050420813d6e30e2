"""dagitty's graph text (``dag { X -> Y; Z -> X; Z -> Y }``), in and out.

``parse_dagitty(text)`` and ``read_dagitty(path)`` give a ``DagittyGraph``: the graph as a
causal model without mechanisms (what a ``graph`` block of a .causal file gives: nodes of no
declared type, ``[latent]`` nodes latent, each ``A <-> B`` a latent ``U_A_B`` parent of both),
with the nodes marked ``exposure``, ``outcome``, ``adjusted`` and ``selected`` beside it.
``dagitty_text(obj)`` writes a graph (a model's, an ``ADMG``, a ``DagittyGraph`` with its marks)
as text that reads back as the same graph. The grammar is ``grammar/dagitty.lark``; its syntax
tree and the transformer that builds it are below. Every error is located (file:line:col), all
of them together; a ``pdag``, ``mag`` or ``pag`` and their edges (``--``, ``@->``) are refused
at their place: causaldsl's graphs are DAGs with hidden variables (ADMGs)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from causaldsl.core.errors import CausalError, CycleError
from causaldsl.core.types import Opaque
from causaldsl.interop.bif import network_stem, read_bytes
from causaldsl.lang.parse import decode_source, syntax_diagnostic, without_bom
from causaldsl.model.causal_model import CausalModel, Role, Variable, did_you_mean
from causaldsl.model.graph import ADMG, hidden_cause_name
from causaldsl.syntax.diagnostics import Diagnostic, SourceError, Span
from causaldsl.syntax.grammars import parser
from causaldsl.syntax.lark_standalone import Token, Transformer, UnexpectedInput
from causaldsl.syntax.query import quote, unquote

GRAMMAR = "dagitty.lark"

#: The marks a node may carry, besides ``latent`` (a role) and what is read and left (``pos``,
#: ``label``): each is a tuple of node names on a ``DagittyGraph``.
MARKS = ("exposure", "outcome", "adjusted", "selected")
_IGNORED = ("pos", "label")

# -- the syntax tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """A name or value as the text writes it (bare or quoted), and where."""

    text: str
    span: Span


@dataclass(frozen=True)
class NodeStmt:
    """``X [exposure, pos="1,2"]``: a node and its attributes (key, value or None)."""

    node: Word
    attrs: tuple[tuple[Word, Word | None], ...]


@dataclass(frozen=True)
class EdgeStmt:
    """``A -> B <- {C D}``: the ends (each one node or a group) and the edges between them."""

    ends: tuple[tuple[Word, ...], ...]
    edges: tuple[Word, ...]


@dataclass(frozen=True)
class GraphText:
    kind: Word
    statements: tuple[NodeStmt | EdgeStmt, ...]


def _word(tok: Any) -> Word:
    text = unquote(str(tok)) if tok.type == "ESCAPED_STRING" else str(tok)
    return Word(text, Span(tok.line or 1, tok.column or 1))


class _ToDagitty(Transformer):
    """Builds the syntax tree of dagitty text (flat: no recursion to fear)."""

    def start(self, items):  # type: ignore[no-untyped-def]
        return GraphText(_word(items[0]), tuple(x for x in items[1:]
                                                if isinstance(x, NodeStmt | EdgeStmt)))

    def node_stmt(self, items):  # type: ignore[no-untyped-def]
        return NodeStmt(items[0], tuple(items[1]) if len(items) > 1 else ())

    def edge_stmt(self, items):  # type: ignore[no-untyped-def]
        # an end is a node (a Word) or a group (a tuple); attributes (a list) are left
        ends = tuple((x,) if isinstance(x, Word) else x for x in items
                     if isinstance(x, Word | tuple) and not isinstance(x, Token))
        edges = tuple(_word(t) for t in items if isinstance(t, Token))
        return EdgeStmt(ends, edges)

    def graph_attr(self, items):  # type: ignore[no-untyped-def]
        return None  # bb="…": layout, read and left

    def group(self, items):  # type: ignore[no-untyped-def]
        return tuple(items)

    def node(self, items):  # type: ignore[no-untyped-def]
        return _word(items[0])

    def attrs(self, items):  # type: ignore[no-untyped-def]
        return list(items)

    def attr(self, items):  # type: ignore[no-untyped-def]
        return (_word(items[0]), _word(items[1]) if len(items) > 1 else None)


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DagittyGraph:
    """A dagitty graph as read: the graph (a ``CausalModel`` without mechanisms) and the nodes
    marked ``exposure``, ``outcome``, ``adjusted`` and ``selected``, each in order of first
    mention. ``admg()`` is the graph's ADMG."""

    model: CausalModel
    exposure: tuple[str, ...] = ()
    outcome: tuple[str, ...] = ()
    adjusted: tuple[str, ...] = ()
    selected: tuple[str, ...] = ()

    def admg(self) -> ADMG:
        return self.model.admg()

    def marks(self) -> dict[str, tuple[str, ...]]:
        """Each node's marks: node → the marks it carries (nodes without one left out)."""
        out: dict[str, tuple[str, ...]] = {}
        for m in MARKS:
            for n in getattr(self, m):
                out[n] = (*out.get(n, ()), m)
        return out


def read_dagitty(path: str | Path, shown: str | None = None) -> DagittyGraph:
    """The graph in a dagitty file (plain or gzipped; only a regular file is read), named after
    the file. ``shown``: the path that errors name (default: ``path``)."""
    shown = str(path) if shown is None else shown
    return parse_dagitty(decode_source(read_bytes(path, shown), shown), shown,
                         name=network_stem(path))


def parse_dagitty(text: str, file: str = "<string>", name: str = "dag") -> DagittyGraph:
    """The graph of dagitty text, named ``name``."""
    text = without_bom(text)
    try:
        tree = parser(GRAMMAR, "start").parse(text)
    except UnexpectedInput as e:
        raise SourceError([syntax_diagnostic(e, text, file, GRAMMAR)], parsed=False) from None
    graph: GraphText = _ToDagitty().transform(tree)
    return _Builder(file, text).graph(graph, name)


@dataclass
class _Builder:
    """Checks dagitty's syntax tree and builds the graph, gathering every error."""

    file: str
    text: str
    diags: list[Diagnostic] = field(default_factory=list)
    spans: dict[str, Span] = field(default_factory=dict)  # each node's first mention
    slots: list[str | int] = field(default_factory=list)  # a node, or a hidden cause's index
    parents: dict[str, list[str]] = field(default_factory=dict)
    hidden: list[tuple[str, str, Span]] = field(default_factory=list)
    marks: dict[str, list[str]] = field(default_factory=lambda: {m: [] for m in MARKS})
    latent: set[str] = field(default_factory=set)

    def error(self, span: Span, message: str) -> None:
        lines = self.text.split("\n")
        line = lines[span.line - 1].rstrip("\r") if span.line <= len(lines) else ""
        self.diags.append(Diagnostic(self.file, span, message, line))

    def node(self, w: Word) -> str:
        if not w.text.strip() and w.text not in self.spans:
            self.error(w.span, "a node's name is empty")
        if w.text not in self.spans:
            self.spans[w.text] = w.span
            self.parents[w.text] = []
            self.slots.append(w.text)
        return w.text

    def graph(self, g: GraphText, name: str) -> DagittyGraph:
        kind = g.kind.text
        if kind != "dag":
            why = {"pdag": "a partially directed graph (its -- edges have no direction)",
                   "mag": "a maximal ancestral graph", "pag": "a partial ancestral graph"}
            self.error(g.kind.span, f"this is a {kind}{', ' + why[kind] if kind in why else ''}; "
                                    "causaldsl reads dagitty's dag { … } graphs (DAGs, with "
                                    "<-> for a hidden common cause)")
            raise SourceError(self.diags)
        pairs: set[frozenset[str]] = set()
        for st in g.statements:
            if isinstance(st, NodeStmt):
                self.node_attrs(self.node(st.node), st.attrs)
                continue
            for i, edge in enumerate(st.edges):
                for left in st.ends[i]:
                    for right in st.ends[i + 1]:
                        self.edge(self.node(left), edge, self.node(right), right.span, pairs)
        if self.diags:
            raise SourceError(self.diags)
        taken = set(self.spans)
        names = [hidden_cause_name(a, b, taken) for a, b, _ in self.hidden]
        for u, (a, b, _) in zip(names, self.hidden, strict=True):
            self.parents[a].append(u)
            self.parents[b].append(u)
        variables = []
        for s in self.slots:
            n = s if isinstance(s, str) else names[s]
            role = Role.LATENT if not isinstance(s, str) or n in self.latent else Role.OBSERVED
            variables.append(Variable(n, Opaque, role, tuple(self.parents.get(n, ())), None))
        try:
            model = CausalModel.from_variables(variables, name)
        except CycleError as e:
            self.error(self.spans.get(e.cycle[0], Span(1, 1)), str(e))
            raise SourceError(self.diags) from None
        return DagittyGraph(model, *(tuple(self.marks[m]) for m in MARKS))

    def edge(self, a: str, edge: Word, b: str, span: Span, pairs: set[frozenset[str]]) -> None:
        """One edge ``a EDGE b``."""
        e = edge.text
        if e not in ("->", "<-", "<->"):
            kind = "pdag" if e == "--" else "pag"
            self.error(edge.span, f"{a} {e} {b} is an edge of a {kind}; a dag's edges are ->, "
                                  "<- and <-> (a hidden common cause)")
            return
        if a == b:
            self.error(span, f"{a} {e} {a} joins {a} to itself" + (
                ": a bidirected edge is a hidden common cause of two different nodes"
                if e == "<->" else ", a cycle of length one"))
            return
        if e == "<->":
            if frozenset((a, b)) not in pairs:
                pairs.add(frozenset((a, b)))
                self.slots.append(len(self.hidden))
                self.hidden.append((a, b, edge.span))
            return
        cause, effect = (a, b) if e == "->" else (b, a)
        if cause not in self.parents[effect]:
            self.parents[effect].append(cause)

    def node_attrs(self, n: str, attrs: tuple[tuple[Word, Word | None], ...]) -> None:
        for key, value in attrs:
            k = key.text
            if k in _IGNORED:
                continue
            if k not in (*MARKS, "latent"):
                self.error(key.span, f"{k!r} is not an attribute of a node; a node may be "
                                     f"{', '.join((*MARKS, 'latent'))}, and have a pos and a "
                                     "label" + did_you_mean(k, (*MARKS, "latent", *_IGNORED)))
            elif value is not None:
                self.error(value.span, f"{k} takes no value: write [{k}]")
            elif k == "latent":
                self.latent.add(n)
            elif n not in self.marks[k]:
                self.marks[k].append(n)


# -- writing ------------------------------------------------------------------------------------


def dagitty_text(obj: CausalModel | ADMG | DagittyGraph) -> str:
    """A graph as dagitty text: every node on a line (``[latent]`` for a hidden one, and its
    marks), then every edge. A model's hidden variable that is a bidirected edge's (latent, no
    parents, two children, named ``U_A_B…`` after them) is written ``A <-> B``; a model's
    mechanisms are left out. The text reads back as the same graph (``admg()`` equal)."""
    marks = obj.marks() if isinstance(obj, DagittyGraph) else {}
    if isinstance(obj, DagittyGraph):
        obj = obj.model
    if isinstance(obj, ADMG):
        nodes = [(n, marks.get(n, ())) for n in obj.order]
        directed, bidirected = obj.sorted_edges()
        return _text(nodes, directed, bidirected)
    if not isinstance(obj, CausalModel):
        raise CausalError(f"dagitty text is written from a model or a graph (an ADMG), not "
                          f"{type(obj).__name__}")
    variables = list(obj.variables.values())
    children: dict[str, list[str]] = {v.name: [] for v in variables}
    for v in variables:
        for p in v.parents:
            children[p].append(v.name)
    spouses = {v.name: ends for v in variables if (ends := _bidirected(v, children))}
    nodes = []
    for v in variables:
        if v.name in spouses:
            continue
        hidden = v.role is not Role.OBSERVED
        nodes.append((v.name, ("latent",) * hidden + tuple(marks.get(v.name, ()))))
    directed = [(p, v.name) for v in variables for p in v.parents if p not in spouses]
    return _text(nodes, directed, [spouses[u] for u in spouses])


def _bidirected(v: Variable, children: dict[str, list[str]]) -> tuple[str, str] | None:
    """The ends of the bidirected edge that a hidden variable stands for, in the order its name
    gives them (``U_A_B``: A, B), or None when it is no such variable."""
    kids = children[v.name]
    if v.role is not Role.LATENT or v.parents or v.type is not Opaque or len(kids) != 2:
        return None
    return next(((a, b) for a, b in (kids, kids[::-1]) if v.name.startswith(f"U_{a}_{b}")), None)


def _text(nodes: list[tuple[str, tuple[str, ...]]], directed: list[tuple[str, str]],
          bidirected: list[tuple[str, str]] | list[tuple[str, ...]]) -> str:
    lines = ["dag {"]
    for n, ms in nodes:
        lines.append(f"{_name(n)}" + (f" [{','.join(ms)}]" if ms else ""))
    lines.extend(f"{_name(a)} -> {_name(b)}" for a, b in directed)
    lines.extend(f"{_name(a)} <-> {_name(b)}" for a, b in bidirected)
    lines.append("}")
    return "\n".join(lines) + "\n"


@cache
def _bare() -> re.Pattern[str]:
    return re.compile(parser(GRAMMAR, "start").get_terminal("NAME").pattern.to_regexp())


def _name(text: str) -> str:
    """A node's name as dagitty writes it: bare when it can be, else in quotes."""
    if "\n" in text or "\r" in text:
        raise CausalError(f"the node {text!r} holds a line break, which dagitty text cannot hold")
    return text if _bare().fullmatch(text) else quote(text)


def write_dagitty(obj: CausalModel | ADMG | DagittyGraph, path: str | Path) -> None:
    """Write a graph as a dagitty file."""
    from causaldsl.lang.files import write_regular

    write_regular(path, dagitty_text(obj).encode("utf-8"))


def as_graph_model(g: ADMG) -> CausalModel:
    """An ADMG as a graph model (no mechanisms), as a ``graph`` block with the same edges
    gives it: each ``A <-> B`` a latent ``U_A_B`` parent of both."""
    parents = {n: list(g.parent_map[n]) for n in g.order}
    taken = set(g.nodes)
    hidden = []
    for a, b in g.sorted_edges()[1]:
        u = hidden_cause_name(a, b, taken)
        parents[a].append(u)
        parents[b].append(u)
        hidden.append(Variable(u, Opaque, Role.LATENT, (), None))
    observed = [Variable(n, Opaque, Role.OBSERVED, tuple(parents[n]), None) for n in g.order]
    return CausalModel.from_variables([*observed, *hidden], g.name)
