"""The graph view of a causal model: an acyclic directed mixed graph (ADMG).

Nodes are the observed variables. A directed edge ``A → B`` means A is a direct cause of B
relative to the observed variables; a bidirected edge ``A ↔ B`` means A and B share a hidden
common cause. A model's ADMG is its *latent projection* (Verma & Pearl): ``A → B`` when the
model has a directed path from A to B whose intermediate variables are all hidden (latent or
exogenous), and ``A ↔ B`` when some hidden variable reaches both A and B along directed paths
through hidden variables only. An ADMG can also be built from its edges directly.

ADMGs are immutable values. Every analysis the identification algorithms need is here:
ancestors, descendants, c-components (districts), induced subgraphs, the mutilated graphs
``G_{\\bar X}`` and ``G_{\\underline X}``, and d-separation (m-separation). No JAX.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from causaldsl.core.dag import linked_classes, topological_order
from causaldsl.core.drawable import Drawable
from causaldsl.core.errors import CausalTypeError, CycleError, UnknownVariableError, shown

if TYPE_CHECKING:
    import networkx as nx


def as_names(xs: Iterable[str] | str) -> frozenset[str]:
    """A set of names from one name or many."""
    return frozenset((xs,) if isinstance(xs, str) else xs)


def show_set(xs: Iterable[str]) -> str:
    """``{A, B}`` in a stable order."""
    return "{" + ", ".join(sorted(xs)) + "}"


def hidden_cause_name(a: str, b: str, taken: set[str]) -> str:
    """A name ``U_A_B`` for the hidden common cause of ``A ↔ B``, apart from every name in
    ``taken`` (``U_A_B_1``, … when it is taken), which it joins."""
    base = u = f"U_{a}_{b}"
    k = 1
    while u in taken:
        u, k = f"{base}_{k}", k + 1
    taken.add(u)
    return u


@dataclass(frozen=True, eq=False)
class ADMG(Drawable):
    """An acyclic directed mixed graph: ``ADMG(nodes, directed, bidirected)``.

    ``directed`` holds pairs ``(a, b)`` for ``a → b``; ``bidirected`` holds pairs for ``a ↔ b``
    (either order). Node order is kept: it breaks ties in the topological order, so answers
    print deterministically. Raises :class:`CycleError` naming a directed cycle.

    A networkx graph is read by one convention (docs/identification.md):

    - ``ADMG(nx_digraph)``: every edge ``a → b`` of the DiGraph is a directed edge, and a node
      whose ``role`` attribute is ``"latent"`` or ``"exogenous"`` is hidden and projected out
      (a hidden common cause of A and B gives ``A ↔ B``), the way ``model.graph()`` marks
      roles; ``bidirected=`` may add bidirected edges, as pairs or as an ``nx.Graph``.
      ``ADMG(g.to_networkx()) == g`` and ``ADMG(model.graph()) == model.admg()``.
    - ``directed`` may be an ``nx.DiGraph`` and ``bidirected`` an ``nx.Graph``: their edges.

    A MultiGraph or MultiDiGraph, an undirected graph as the directed part, a cycle, a node
    that is no name (str) and anything that is not a graph or pairs of names are refused with
    a CausalError (CycleError, CausalTypeError) saying what was given and what is taken.
    """

    nodes: tuple[str, ...]
    directed: frozenset[tuple[str, str]]
    bidirected: frozenset[frozenset[str]]
    name: str = "graph"

    def __init__(self, nodes: Iterable[str] | nx.DiGraph, directed: Iterable[tuple[str, str]]
                 | nx.DiGraph = (), bidirected: Iterable[tuple[str, str] | frozenset[str]]
                 | nx.Graph = (), name: str = "graph"):
        if not isinstance(name, str):
            raise CausalTypeError(f"the name of a graph is a str, got {shown(name)}")
        if is_networkx_graph(nodes):
            nodes, directed, projected, name = _from_networkx(nodes, directed, name)
            bidirected = [*projected, *_edge_pairs(bidirected, "bidirected", name)]
        ns = tuple(dict.fromkeys(_node_names(nodes, name)))
        known = set(ns)
        d: set[tuple[str, str]] = set()
        for a, b in _edge_pairs(directed, "directed", name):
            for v in (a, b):
                if v not in known:
                    raise UnknownVariableError(f"edge {a} → {b} of {name}: {v!r} is not a node")
            if a == b:
                raise CycleError(f"{name} has a cycle: {a} → {a}", [a])
            d.add((a, b))
        bi: set[frozenset[str]] = set()
        for e in _edge_pairs(bidirected, "bidirected", name):
            pair = tuple(e)
            if len(pair) != 2 or pair[0] == pair[1]:
                ends = " ↔ ".join(map(str, pair)) or "no node"
                raise UnknownVariableError(f"a bidirected edge of {name} needs two distinct "
                                           f"nodes, got {ends}: it is a hidden common cause "
                                           "of two different nodes")
            for v in pair:
                if v not in known:
                    raise UnknownVariableError(f"edge {pair[0]} ↔ {pair[1]} of {name}: {v!r} "
                                               "is not a node")
            bi.add(frozenset(pair))
        object.__setattr__(self, "nodes", ns)
        object.__setattr__(self, "directed", frozenset(d))
        object.__setattr__(self, "bidirected", frozenset(bi))
        object.__setattr__(self, "name", name)
        _ = self.order  # raises CycleError

    # -- construction from a model --------------------------------------------------------
    @staticmethod
    def from_model(model: Any) -> ADMG:
        """The latent projection of a model onto its observed variables: ``model.admg()``
        (the model layer builds it; a graph knows nothing of models)."""
        graph: ADMG = model.admg()
        return graph

    @staticmethod
    def latent_projection(parents: Mapping[str, Sequence[str]], observed: Iterable[str],
                          name: str = "graph") -> ADMG:
        """Project a DAG (given by each node's parents) onto ``observed`` (Verma–Pearl)."""
        obs = list(dict.fromkeys(observed))
        directed, bidirected = _projected_edges(parents, obs)
        return ADMG(obs, directed, bidirected, name=name)

    # -- basic structure -----------------------------------------------------------------
    @cached_property
    def parent_map(self) -> Mapping[str, tuple[str, ...]]:
        return self._adjacency(self.directed)

    @cached_property
    def child_map(self) -> Mapping[str, tuple[str, ...]]:
        return self._adjacency((b, a) for a, b in self.directed)

    def _adjacency(self, into: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
        """For each node, the sources of the edges ``(source, node)`` given, in node order."""
        pos = {n: i for i, n in enumerate(self.nodes)}
        out: dict[str, list[str]] = {n: [] for n in self.nodes}
        for a, b in into:
            out[b].append(a)
        return {n: tuple(sorted(ps, key=pos.__getitem__)) for n, ps in out.items()}

    @cached_property
    def spouse_map(self) -> Mapping[str, frozenset[str]]:
        out: dict[str, set[str]] = {n: set() for n in self.nodes}
        for e in self.bidirected:
            a, b = tuple(e)
            out[a].add(b)
            out[b].add(a)
        return {n: frozenset(s) for n, s in out.items()}

    @cached_property
    def order(self) -> tuple[str, ...]:
        """A topological order (ties broken by node order). Raises CycleError on a cycle."""
        order, cycle = topological_order(self.parent_map)
        if cycle:
            pos = {n: i for i, n in enumerate(self.nodes)}
            k = min(range(len(cycle)), key=lambda i: pos[cycle[i]])
            cycle = cycle[k:] + cycle[:k]
            raise CycleError(f"{self.name} has a cycle: {' → '.join([*cycle, cycle[0]])}", cycle)
        return tuple(order)

    def __contains__(self, v: object) -> bool:
        return v in self.parent_map

    def parents(self, v: str) -> tuple[str, ...]:
        return self.parent_map[v]

    def children(self, v: str) -> tuple[str, ...]:
        return self.child_map[v]

    def check(self, names: Iterable[str], what: str = "query") -> None:
        """Raise UnknownVariableError for a name that is not a node."""
        import difflib

        for n in names:
            if n not in self.parent_map:
                close = difflib.get_close_matches(n, list(self.nodes), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise UnknownVariableError(f"{what}: {n!r} is not an observed variable of "
                                           f"{self.name}{hint}")

    def ancestors(self, vs: Iterable[str] | str, cut: Iterable[str] = ()) -> frozenset[str]:
        """The given nodes and every node with a directed path into them; with ``cut``, the
        ancestors in ``G_{\\bar cut}`` (edges into ``cut`` removed), without building it."""
        return self._reach(as_names(vs), self.parent_map, frozenset(cut))

    def descendants(self, vs: Iterable[str] | str) -> frozenset[str]:
        """The given nodes and every node they reach by a directed path."""
        return self._reach(as_names(vs), self.child_map)

    @staticmethod
    def _reach(start: frozenset[str], step: Mapping[str, Sequence[str]],
               stop: frozenset[str] = frozenset()) -> frozenset[str]:
        seen = set(start)
        stack = [n for n in start if n not in stop]
        while stack:
            for u in step[stack.pop()]:
                if u not in seen:
                    seen.add(u)
                    if u not in stop:
                        stack.append(u)
        return frozenset(seen)

    def descendants_avoiding(self, vs: Iterable[str] | str) -> frozenset[str]:
        """Every node outside the given ones that a directed path from them reaches without
        passing through them again."""
        start = as_names(vs)
        seen: set[str] = set()
        stack = list(start)
        while stack:
            for u in self.child_map[stack.pop()]:
                if u not in seen and u not in start:
                    seen.add(u)
                    stack.append(u)
        return frozenset(seen)

    def sort(self, vs: Iterable[str]) -> tuple[str, ...]:
        """Nodes in topological order."""
        s = set(vs)
        return tuple(n for n in self.order if n in s)

    # -- derived graphs ------------------------------------------------------------------
    def _derived(self, nodes: tuple[str, ...], directed: frozenset[tuple[str, str]],
                 bidirected: frozenset[frozenset[str]]) -> ADMG:
        """A graph made from this one by dropping nodes or edges: already valid and acyclic,
        so it skips the checks, and this graph's order restricted to it stays topological."""
        g = object.__new__(ADMG)
        object.__setattr__(g, "nodes", nodes)
        object.__setattr__(g, "directed", directed)
        object.__setattr__(g, "bidirected", bidirected)
        object.__setattr__(g, "name", self.name)
        keep = set(nodes)
        g.__dict__["order"] = tuple(n for n in self.order if n in keep)
        return g

    def subgraph(self, vs: Iterable[str]) -> ADMG:
        """The induced subgraph ``G[vs]``."""
        keep = set(vs) & set(self.nodes)
        g = self._derived(tuple(n for n in self.nodes if n in keep),
                          frozenset((a, b) for a, b in self.directed
                                    if a in keep and b in keep),
                          frozenset(e for e in self.bidirected if e <= keep))
        # the parent lists restricted to keep are the subgraph's, already in node order
        g.__dict__["parent_map"] = {n: tuple(p for p in ps if p in keep)
                                    for n, ps in self.parent_map.items() if n in keep}
        return g

    def without_incoming(self, xs: Iterable[str]) -> ADMG:
        """``G_{\\bar X}``: every edge into X removed (directed and bidirected)."""
        x = as_names(xs)
        return self._derived(self.nodes, frozenset((a, b) for a, b in self.directed
                                                   if b not in x),
                             frozenset(e for e in self.bidirected if not e & x))

    def without_outgoing(self, xs: Iterable[str]) -> ADMG:
        """``G_{\\underline X}``: every directed edge out of X removed."""
        x = as_names(xs)
        return self._derived(self.nodes, frozenset((a, b) for a, b in self.directed
                                                   if a not in x), self.bidirected)

    def without_edges(self, directed: Iterable[tuple[str, str]]) -> ADMG:
        """The graph with the given directed edges removed."""
        drop = set(directed)
        return self._derived(self.nodes, frozenset(e for e in self.directed if e not in drop),
                             self.bidirected)

    # -- c-components ----------------------------------------------------------------------
    @cached_property
    def districts(self) -> tuple[frozenset[str], ...]:
        """The c-components: classes of nodes connected by bidirected paths, in topological
        order of each class's first node."""
        links = [(a, b) for a, b in self.bidirected]
        return tuple(frozenset(c) for c in linked_classes(self.order, links))

    @property
    def c_components(self) -> tuple[frozenset[str], ...]:
        return self.districts

    def district_of(self, v: str) -> frozenset[str]:
        return next(d for d in self.districts if v in d)

    def district_around(self, start: Iterable[str], keep: Callable[[str], bool]
                        ) -> frozenset[str]:
        """The nodes joined to ``start`` by bidirected paths through nodes that ``keep``
        accepts: a district of the subgraph they span, found without building it."""
        seen = set(start)
        stack = list(seen)
        while stack:
            for u in self.spouse_map[stack.pop()]:
                if u not in seen and keep(u):
                    seen.add(u)
                    stack.append(u)
        return frozenset(seen)

    # -- separation --------------------------------------------------------------------------
    def to_networkx(self) -> nx.DiGraph:
        """A DAG with one explicit hidden node ``('↔', a, b)`` per bidirected edge, whose
        ``role`` attribute is ``"latent"`` (``"observed"`` on the graph's nodes): ``ADMG``
        reads it back as this graph."""
        return self._dag.copy()

    @cached_property
    def _dag(self) -> nx.DiGraph:
        """``to_networkx()`` built once, for the separation queries (which do not change it)."""
        import networkx as nx

        succ = self._links[1]
        hidden = [h for h in succ if isinstance(h, tuple)]  # ("↔", a, b): _links' convention
        g = nx.DiGraph(name=self.name)
        g.add_nodes_from(self.nodes, role="observed")
        g.add_nodes_from(hidden, role="latent")
        g.add_edges_from(self.directed)
        g.add_edges_from((h, x) for h in hidden for x in succ[h])
        return g

    @cached_property
    def _links(self) -> tuple[dict[Any, list[Any]], dict[Any, list[Any]]]:
        """Each node's parents and children in ``to_networkx()``'s DAG (a bidirected edge as
        its hidden node), as plain dicts: the separation queries read them, and an estimate's
        adjustment set is checked without importing networkx (0.12-0.17 s)."""
        pred: dict[Any, list[Any]] = {n: [] for n in self.nodes}
        succ: dict[Any, list[Any]] = {n: [] for n in self.nodes}
        for a, b in self.directed:
            succ[a].append(b)
            pred[b].append(a)
        for e in self.bidirected:
            a, b = sorted(e)
            h = ("↔", a, b)
            pred[h], succ[h] = [], [a, b]
            pred[a].append(h)
            pred[b].append(h)
        return pred, succ

    def d_separated(self, xs: Iterable[str] | str, ys: Iterable[str] | str,
                    zs: Iterable[str] | str = ()) -> bool:
        """Whether X and Y are d-separated (m-separated) given Z: no node of Y is d-connected
        to X (``d_connected``)."""
        x, y, z = as_names(xs), as_names(ys), as_names(zs)
        self.check(x | y | z, "d-separation")
        x, y = x - z, y - z
        if not x or not y:
            return True
        if x & y:
            return False
        return not self.d_connected(x, z) & y

    def d_connected(self, xs: Iterable[str] | str, zs: Iterable[str] | str = ()) -> frozenset[str]:
        """Every node d-connected (m-connected) to X given Z, X's own nodes outside Z included:
        one pass of the reachability algorithm (Koller & Friedman 2009, Algorithm 3.1), so a
        search that asks about each node in turn stays linear."""
        x, z = as_names(xs), as_names(zs)
        self.check(x | z, "d-separation")
        pred, succ = self._links
        above = set(z)  # Z and its ancestors: where a collider is open
        stack = list(z)
        while stack:
            for p in pred[stack.pop()]:
                if p not in above:
                    above.add(p)
                    stack.append(p)
        reached: set[Any] = set()
        seen: set[tuple[Any, bool]] = set()
        todo = [(v, True) for v in x]  # (node, whether the trail arrives from a child)
        while todo:
            v, up = todo.pop()
            if (v, up) in seen:
                continue
            seen.add((v, up))
            if v not in z:
                reached.add(v)
            if up and v not in z:
                todo.extend((p, True) for p in pred[v])
                todo.extend((c, False) for c in succ[v])
            elif not up:
                if v not in z:
                    todo.extend((c, False) for c in succ[v])
                if v in above:
                    todo.extend((p, True) for p in pred[v])
        return frozenset(v for v in reached if isinstance(v, str))

    def minimal_separator(self, xs: Iterable[str], ys: Iterable[str], allowed: Iterable[str]
                          ) -> frozenset[str] | None:
        """A minimal set of ``allowed`` nodes that m-separates X from Y, or None (polynomial:
        van der Zander, Liśkiewicz & Textor, as networkx implements it)."""
        import networkx as nx

        z = nx.find_minimal_d_separator(self._dag, set(xs), set(ys),
                                        restricted=set(allowed))
        return None if z is None else frozenset(z)

    # -- values ------------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ADMG) and set(self.nodes) == set(other.nodes)
                and self.directed == other.directed and self.bidirected == other.bidirected)

    def __hash__(self) -> int:
        return hash((frozenset(self.nodes), self.directed, self.bidirected))

    def sorted_edges(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The directed and the bidirected edges in topological order of their ends (a
        bidirected edge's ends in that order too): how they are printed and drawn."""
        pos = {n: i for i, n in enumerate(self.order)}
        d = sorted(self.directed, key=lambda e: (pos[e[0]], pos[e[1]]))
        ends = (sorted(e, key=pos.__getitem__) for e in self.bidirected)
        b = sorted(((u, v) for u, v in ends), key=lambda e: (pos[e[0]], pos[e[1]]))
        return d, b

    def edges_text(self) -> list[str]:
        d, b = self.sorted_edges()
        return [f"{x} → {y}" for x, y in d] + [f"{x} ↔ {y}" for x, y in b]

    def __str__(self) -> str:
        edges = self.edges_text()
        lone = [n for n in self.order if not any(n in e for e in self.directed)
                and not self.spouse_map[n]]
        return f"{self.name}: " + "; ".join([*edges, *lone])

    __repr__ = __str__


#: The roles a node of a networkx graph may carry (``model.graph()`` writes them): hidden nodes
#: ("latent", "exogenous") are projected out.
NX_ROLES = ("observed", "latent", "exogenous")


def is_networkx_graph(x: object) -> bool:
    """Whether ``x`` is a networkx graph (of any kind), without importing networkx: a program
    that has not imported it holds none."""
    nx = sys.modules.get("networkx")
    return nx is not None and isinstance(x, nx.Graph)


def _node_names(nodes: object, name: str) -> list[str]:
    """The nodes given to ``ADMG``: names (str), or a CausalTypeError saying what is taken."""
    taken = ("names (str), e.g. [\"X\", \"Y\"], or a networkx DiGraph (docs/identification.md)")
    if nodes is None or isinstance(nodes, bytes) or not isinstance(nodes, Iterable):
        raise CausalTypeError(f"the nodes of {name} are {taken}; got {shown(nodes)}")
    out = list(nodes)
    for n in out:
        if not isinstance(n, str):
            raise CausalTypeError(f"a node of {name} is {shown(n)}; nodes are {taken}")
    return out


def _edge_pairs(edges: object, kind: str, name: str) -> list[tuple[str, str] | frozenset[str]]:
    """The ``kind`` ("directed" or "bidirected") edges given to ``ADMG``: pairs of names, or a
    networkx graph's edges; a CausalTypeError says what is taken."""
    taken = (f"{kind} edges of {name} are pairs of node names, e.g. [(\"X\", \"Y\")], or a "
             f"networkx {'DiGraph' if kind == 'directed' else 'Graph'} of them")
    if is_networkx_graph(edges):
        import networkx as nx

        if isinstance(edges, nx.MultiGraph):  # MultiDiGraph too
            raise CausalTypeError(f"the {taken}; got a {type(edges).__name__}, whose parallel "
                                  "edges an ADMG cannot hold: convert it with nx.DiGraph(g) "
                                  "or nx.Graph(g)")
        if kind == "directed" and not edges.is_directed():  # type: ignore[attr-defined]
            raise CausalTypeError(f"the {taken}; got an undirected {type(edges).__name__}, "
                                  "whose edges have no direction")
        return list(edges.edges())  # type: ignore[attr-defined]
    if edges is None or isinstance(edges, str | bytes) or not isinstance(edges, Iterable):
        raise CausalTypeError(f"the {taken}; got {shown(edges)}")
    out: list[tuple[str, str] | frozenset[str]] = []
    for e in edges:
        shapes = (tuple, list) if kind == "directed" else (tuple, list, set, frozenset)
        if not isinstance(e, shapes) or (kind == "directed" and len(e) != 2):
            raise CausalTypeError(f"the {taken}; got an edge {shown(e)}")
        for v in e:
            if not isinstance(v, str):
                raise CausalTypeError(f"the {taken}; got an edge {shown(e)}, whose end "
                                      f"{shown(v)} is no name")
        out.append(frozenset(e) if isinstance(e, set | frozenset) else (e[0], e[1]) if
                   len(e) == 2 else frozenset(e))  # a wrong count: the caller says so
    return out


def _from_networkx(g: nx.DiGraph, directed: object, name: str
                   ) -> tuple[list[str], list[tuple[str, str]], list[frozenset[str]], str]:
    """A networkx DiGraph read as an ADMG: its edges are directed edges, and its nodes whose
    ``role`` attribute is "latent" or "exogenous" are hidden and projected out (a hidden
    common cause of A and B becomes ``A ↔ B``). The nodes, the directed and the bidirected
    edges, and the graph's name (networkx's, unless ``name`` is given)."""
    import networkx as nx

    if isinstance(g, nx.MultiGraph) or not g.is_directed():
        what = ("an undirected graph has no edge directions: build an nx.DiGraph of the "
                "directed edges") if not g.is_directed() else \
            "an ADMG cannot hold its parallel edges: convert it with nx.DiGraph(g)"
        raise CausalTypeError(
            f"ADMG takes a networkx DiGraph (each edge a → b directed; nodes with role "
            f"'latent' or 'exogenous' hidden), got a {type(g).__name__}: {what}, and give "
            "bidirected edges as bidirected=[(\"A\", \"B\")] or as an nx.Graph")
    if _edge_pairs(directed, "directed", name):
        raise CausalTypeError(f"ADMG(DiGraph) takes the directed edges of {name} from the "
                              "DiGraph; pass them there, not also as directed=")
    if name == "graph" and isinstance(g.graph.get("name"), str) and g.graph["name"]:
        name = g.graph["name"]
    if not nx.is_directed_acyclic_graph(g):
        cycle = [u for u, _ in nx.find_cycle(g)]
        raise CycleError(f"{name} has a cycle: {' → '.join(map(str, [*cycle, cycle[0]]))} (every "
                         "edge of a networkx DiGraph is directed: give a bidirected edge A ↔ B "
                         "as bidirected=[(\"A\", \"B\")], or as a node with role='latent' and "
                         "edges into A and B)", [str(c) for c in cycle])
    observed = []
    for n, data in g.nodes(data=True):
        role = data.get("role", "observed")
        if role not in NX_ROLES:
            raise CausalTypeError(f"node {n!r} of the networkx graph has role {role!r}; a role "
                                  "is 'observed' (the default), or 'latent' or 'exogenous' "
                                  "(hidden: projected out)")
        if role == "observed":
            if not isinstance(n, str):
                raise CausalTypeError(
                    f"node {shown(n)} of the networkx graph is no name: the observed nodes of "
                    "an ADMG are names (str); relabel them (nx.relabel_nodes(g, str)) or give "
                    "the node role='latent'")
            observed.append(n)
    parents = {n: list(g.predecessors(n)) for n in g}
    d, b = _projected_edges(parents, observed)
    return observed, list(d), list(b), name


def _projected_edges(parents: Mapping[Any, Sequence[Any]], observed: Sequence[str]
                     ) -> tuple[set[tuple[str, str]], set[frozenset[str]]]:
    """The edges of the latent projection of a DAG (each node's parents) onto ``observed``:
    ``A → B`` for a directed path from A to B through hidden nodes only, ``A ↔ B`` for a hidden
    node that reaches both along such paths."""
    obs_set = set(observed)
    directed: set[tuple[str, str]] = set()
    hidden_sources: dict[str, set[Any]] = {}
    for v in observed:
        # walk up from v through hidden variables only
        seen: set[Any] = set()
        stack = list(parents[v])
        while stack:
            u = stack.pop()
            if u in seen:
                continue
            seen.add(u)
            if u in obs_set:
                directed.add((u, v))
            else:
                stack.extend(parents[u])
        hidden_sources[v] = {u for u in seen if u not in obs_set}
    bidirected: set[frozenset[str]] = set()
    by_hidden: dict[Any, list[str]] = {}
    for v in observed:
        for h in hidden_sources[v]:
            by_hidden.setdefault(h, []).append(v)
    for vs in by_hidden.values():
        for i, a in enumerate(vs):
            for b in vs[i + 1:]:
                bidirected.add(frozenset((a, b)))
    return directed, bidirected
