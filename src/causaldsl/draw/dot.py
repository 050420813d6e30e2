"""A small DOT graph value: nodes, edges and subgraphs kept in order, printed deterministically."""

from __future__ import annotations

from dataclasses import dataclass, field


class Html(str):
    """An HTML-like graphviz label, printed as ``<...>`` rather than quoted."""


def quote(value: object) -> str:
    """A DOT ID: HTML labels as ``<...>``, everything else double-quoted and escaped."""
    if isinstance(value, Html):
        return f"<{value}>"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def escape(text: object) -> str:
    """Text for inside an HTML-like label."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _attrs(attrs: dict[str, object]) -> str:
    if not attrs:
        return ""
    return " [" + ", ".join(f"{k}={quote(v)}" for k, v in attrs.items()) + "]"


@dataclass
class Edge:
    tail: str
    head: str
    attrs: dict[str, object]


@dataclass
class Dot:
    """A graph (or a subgraph/cluster of one) built up statement by statement."""

    name: str
    attrs: dict[str, object] = field(default_factory=dict)
    node_defaults: dict[str, object] = field(default_factory=dict)
    edge_defaults: dict[str, object] = field(default_factory=dict)
    nodes: dict[str, dict[str, object]] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    subgraphs: list[Dot] = field(default_factory=list)

    def node(self, id_: str, **attrs: object) -> str:
        self.nodes[id_] = attrs
        return id_

    def edge(self, tail: str, head: str, **attrs: object) -> Edge:
        e = Edge(tail, head, attrs)
        self.edges.append(e)
        return e

    def subgraph(self, name: str, **attrs: object) -> Dot:
        sub = Dot(name, attrs)
        self.subgraphs.append(sub)
        return sub

    def all_edges(self) -> list[Edge]:
        """Every edge, this graph's and its subgraphs', in order."""
        return self.edges + [e for s in self.subgraphs for e in s.all_edges()]

    def all_nodes(self) -> dict[str, dict[str, object]]:
        out = dict(self.nodes)
        for s in self.subgraphs:
            out.update(s.all_nodes())
        return out

    def source(self, kind: str = "digraph") -> str:
        """The DOT text; the same graph always gives the same bytes."""
        return "\n".join(self._lines(kind, 0)) + "\n"

    def _lines(self, kind: str, depth: int) -> list[str]:
        pad = "  " * (depth + 1)
        out = [("  " * depth) + f"{kind} {quote(self.name)} {{"]
        out += [f"{pad}{k}={quote(v)};" for k, v in self.attrs.items()]
        if self.node_defaults:
            out.append(f"{pad}node{_attrs(self.node_defaults)};")
        if self.edge_defaults:
            out.append(f"{pad}edge{_attrs(self.edge_defaults)};")
        for s in self.subgraphs:
            out += s._lines("subgraph", depth + 1)
        out += [f"{pad}{quote(n)}{_attrs(a)};" for n, a in self.nodes.items()]
        out += [f"{pad}{quote(e.tail)} -> {quote(e.head)}{_attrs(e.attrs)};" for e in self.edges]
        out.append(("  " * depth) + "}")
        return out
