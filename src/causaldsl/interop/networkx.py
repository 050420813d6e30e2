"""networkx graphs in and out: ``to_networkx(obj)`` and ``from_networkx(g)``, by the convention
``model.graph()`` and ``ADMG(nx_graph)`` already keep (docs/formats.md): an ``nx.DiGraph`` with
an edge from each parent to its child; each node's ``role`` attribute "observed" (the default),
"latent" or "exogenous", its ``type`` attribute a causaldsl type (absent: none declared); and a
bidirected edge ``A ↔ B`` a hidden node (role "latent") with edges into A and B, which
``ADMG.to_networkx()`` names ``("↔", A, B)``."""

from __future__ import annotations

from typing import Any

from causaldsl.core.errors import CausalTypeError, CycleError, shown
from causaldsl.core.types import FiniteType, Opaque, OpaqueType, RealType
from causaldsl.model.causal_model import CausalModel, Role, Variable
from causaldsl.model.graph import ADMG, NX_ROLES, hidden_cause_name, is_networkx_graph


def to_networkx(obj: Any) -> Any:
    """A model's graph (every variable a node, with its role and type: ``model.graph()``), an
    ADMG's (``ADMG.to_networkx()``), or a dagitty graph's model's, as an ``nx.DiGraph``."""
    from causaldsl.interop.dagitty import DagittyGraph

    if isinstance(obj, DagittyGraph):
        obj = obj.model
    if isinstance(obj, CausalModel):
        return obj.graph()
    if isinstance(obj, ADMG):
        return obj.to_networkx()
    raise CausalTypeError(f"to_networkx takes a CausalModel or an ADMG, got {shown(obj)}")


def from_networkx(g: Any, name: str | None = None) -> CausalModel:
    """An ``nx.DiGraph`` as a graph: a causal model without mechanisms whose variables are
    the graph's nodes, in its order, each with its ``role`` and ``type`` (no type: none
    declared) and its predecessors as parents, in the graph's order. A node ``("↔", A, B)``
    (what ``ADMG.to_networkx()`` writes for ``A ↔ B``) becomes the latent ``U_A_B``, as a
    ``graph`` block names it; any other node must be a name (str). Named ``name``, else as the
    graph is (``g.graph["name"]``), else "graph"."""
    import networkx as nx

    if not is_networkx_graph(g) or isinstance(g, nx.MultiGraph) or not g.is_directed():
        what = shown(g) if not is_networkx_graph(g) else f"a {type(g).__name__}"
        raise CausalTypeError(f"from_networkx takes a networkx DiGraph (each edge parent → "
                              f"child), got {what}")
    title = name or (g.graph.get("name") if isinstance(g.graph.get("name"), str) else "") \
        or "graph"
    if not nx.is_directed_acyclic_graph(g):
        cycle = [u for u, _ in nx.find_cycle(g)]
        raise CycleError(f"graph {title} has a cycle: "
                         f"{' → '.join(map(str, [*cycle, cycle[0]]))}", [str(c) for c in cycle])
    taken = {n for n in g if isinstance(n, str)}
    names: dict[Any, str] = {}
    for n in g:
        if isinstance(n, str):
            names[n] = n
        elif (isinstance(n, tuple) and len(n) == 3 and n[0] == "↔"
              and all(isinstance(x, str) for x in n[1:])):
            names[n] = hidden_cause_name(n[1], n[2], taken)
        else:
            raise CausalTypeError(f"node {shown(n)} of the networkx graph is no name: a graph's "
                                  "nodes are names (str); relabel them (nx.relabel_nodes(g, "
                                  "str))")
    variables = []
    for n, data in g.nodes(data=True):
        role = data.get("role", "observed")
        if role not in NX_ROLES:
            raise CausalTypeError(f"node {names[n]!r} of the networkx graph has role {role!r}; "
                                  "a role is 'observed' (the default), 'latent' or 'exogenous'")
        t = data.get("type", Opaque)
        if not isinstance(t, FiniteType | RealType | OpaqueType):
            raise CausalTypeError(f"node {names[n]!r} of the networkx graph has type "
                                  f"{shown(t)}; a type is a causaldsl type (FiniteType, Real, "
                                  "…), as model.graph() writes it, or none")
        variables.append(Variable(names[n], t, Role(role), tuple(names[p] for p in g.pred[n]),
                                  None, is_input=bool(data.get("input", False))))
    return CausalModel.from_variables(variables, title)
