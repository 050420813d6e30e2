"""Our ADMG as y0's NxMixedGraph, for the tests that use y0 as an oracle."""

from __future__ import annotations

from typing import Any

from causaldsl.model.graph import ADMG


def to_y0(g: ADMG) -> Any:
    """``g`` as a y0 ``NxMixedGraph`` (directed and bidirected edges, every node)."""
    import networkx as nx
    from y0.dsl import Variable
    from y0.graph import NxMixedGraph

    d, u = nx.DiGraph(), nx.Graph()
    d.add_nodes_from(Variable(n) for n in g.nodes)
    u.add_nodes_from(Variable(n) for n in g.nodes)
    d.add_edges_from((Variable(a), Variable(b)) for a, b in g.directed)
    u.add_edges_from(tuple(Variable(v) for v in sorted(e)) for e in g.bidirected)
    return NxMixedGraph(d, u)
