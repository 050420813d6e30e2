"""ID* and IDC* (Shpitser & Pearl, UAI 2007 and JMLR 2008): counterfactual queries such as
``P(Y[X = 1] = 1 | X = 0)`` identified from the observational distribution, or the reason
they are not.

- :func:`make_cg`: the counterfactual graph of a conjunction of counterfactual events. One
  copy of the graph per world, the copies sharing their noise; a variable's copies are merged
  where their parents take the same values (the same node, or a setting and an observation of
  one value: Lemma 24, an open value included, which both name by its variable), and only the
  ancestors of the events are kept. Two events on one node
  with different values make the conjunction inconsistent (probability zero).
- :func:`id_star`: ``P(γ)`` as an estimand: a sum, over the counterfactual graph's nodes that
  the events do not name, of one factor per district, each an interventional distribution
  ``P(s | do(x))`` that ID turns into observational terms; :data:`ZERO` for an inconsistent
  ``γ`` (``X[X = 1] = 0``, or two values of one node).
- :func:`idc_star`: ``P(γ | δ)``: evidence that is independent of the outcomes once its
  outgoing edges are cut becomes a setting (rule 2 in the counterfactual graph), then the
  ratio ``ID*(γ ∧ δ) / ID*(δ)``; 0 where ``γ ∧ δ`` is inconsistent, undefined
  (ZeroProbabilityError) where ``δ`` is.

One call memoises the counterfactual graphs and ID* results it meets (IDC*'s evidence is asked
for at its line 1 and again as the denominator), and writes its messages only when it raises.

Values: a label, or None for an open value; an open value is named by its variable in the
estimand (so the summed nodes and the open events of one conjunction are copies of different
variables: a district that holds two copies of one variable is a conflict, which is what the
papers' line 8 refuses). No JAX here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from causaldsl.analysis.estimand import ONE, Estimand, P, Product, Quotient, Sum, Zero
from causaldsl.analysis.id_algorithm import id_algorithm
from causaldsl.core.drawable import Drawable
from causaldsl.core.errors import NotIdentifiable, QueryError, ZeroProbabilityError
from causaldsl.core.types import Label
from causaldsl.model.graph import ADMG
from causaldsl.syntax.query import show_value

Value = Label | None
World = frozenset[tuple[str, Value]]


class CfEvent(NamedTuple):
    """``var[world] = value``: a counterfactual event (``value`` None: open). A named tuple:
    ID* hashes and builds many."""

    var: str
    world: World = frozenset()
    value: Value = None

    @property
    def term(self) -> str:
        if not self.world:
            return self.var
        inner = ", ".join(f"{v} = {_shown(x, v)}" for v, x in sorted(self.world))
        return f"{self.var}[{inner}]"

    def __str__(self) -> str:
        return self.term if self.value is None else f"{self.term} = {show_value(self.value)}"


def event(var: str, value: Value = None, **world: Value) -> CfEvent:
    """``event("Y", 1, X=0)`` is ``Y[X = 0] = 1``."""
    return CfEvent(var, frozenset(world.items()), value)


def _shown(x: Value, var: str) -> str:
    return var.lower() if x is None else show_value(x)


def _conj(events: Iterable[CfEvent]) -> str:
    return ", ".join(map(str, events))


class Node:
    """A node of a counterfactual graph: a copy of ``var`` told apart by what its parents are:
    per parent, ``("=", value)`` (set, or observed to be that value) or ``("n", node)``.
    make-cg makes one object per distinct ``(var, key)`` (interned), so nodes compare and hash
    by identity: cheap, where a key holds its parents' nodes and so every ancestor."""

    __slots__ = ("key", "var")

    def __init__(self, var: str, key: tuple[tuple[str, tuple[str, object]], ...]):
        self.var = var
        self.key = key

    def __repr__(self) -> str:
        return f"Node(var={self.var!r}, key={self.key!r})"

    def settings(self) -> dict[str, Value]:
        """The values its parents take by setting or observation (the papers' ``sub``)."""
        return {p: r[1] for p, r in self.key if r[0] == "="}  # type: ignore[misc]


class Inconsistent(Exception):
    """The conjunction has probability zero in every model."""


@dataclass
class CounterfactualGraph(Drawable):
    """The counterfactual graph of a conjunction: its nodes (each named by the term it stands
    for, ``terms``: the world of fewest settings that makes it, ``rep``), directed edges,
    bidirected edges (shared noise: copies of one variable, or a bidirected edge of the
    graph), and each node's value where an event names it. Drawn (``draw``, or shown in a
    notebook) as :meth:`admg`, the graph over the terms."""

    nodes: list[Node]
    rep: dict[Node, World]
    directed: set[tuple[Node, Node]]
    observed: dict[Node, Value]
    node_of: dict[CfEvent, Node]
    refs: dict[World, dict[str, tuple[str, Any]]] = field(repr=False)
    graph: ADMG = field(repr=False)
    _names: dict[Node, str] = field(default_factory=dict, init=False, repr=False,
                                    compare=False)

    @cached_property
    def terms(self) -> dict[Node, CfEvent]:
        return {n: CfEvent(n.var, self.rep[n], self.observed.get(n)) for n in self.nodes}

    def bidirected(self) -> set[frozenset[Node]]:
        out = set()
        for i, a in enumerate(self.nodes):
            for b in self.nodes[i + 1:]:
                if a.var == b.var or frozenset((a.var, b.var)) in self.graph.bidirected:
                    out.add(frozenset((a, b)))
        return out

    def name(self, n: Node) -> str:
        """The node's term, e.g. ``Y[X = 1]`` (written once, for messages and pictures)."""
        hit = self._names.get(n)
        if hit is None:
            hit = self._names[n] = CfEvent(n.var, self.rep[n]).term
        return hit

    def districts(self) -> list[list[Node]]:
        """Classes of nodes joined by bidirected edges, in node order (classes by their first
        node). Two nodes are joined where their variables are one or spouses, so the classes
        are those of the variables present under the graph's bidirected edges (read from the
        edges: a graph's spouse map costs more to build than the few edges do to scan)."""
        present = {n.var for n in self.nodes}
        spouses: dict[str, list[str]] = {}
        for e in self.graph.bidirected:
            a, b = e
            if a in present and b in present:
                spouses.setdefault(a, []).append(b)
                spouses.setdefault(b, []).append(a)
        cls_of: dict[str, int] = {}
        out: list[list[Node]] = []
        for n in self.nodes:
            k = cls_of.get(n.var)
            if k is None:
                k = cls_of[n.var] = len(out)
                out.append([])
                stack = [n.var]
                while stack:
                    for u in spouses.get(stack.pop(), ()):
                        if u not in cls_of:
                            cls_of[u] = k
                            stack.append(u)
            out[k].append(n)
        return out

    def admg(self) -> ADMG:
        """The graph over the nodes' terms, for separation tests."""
        return ADMG([self.name(n) for n in self.nodes],
                    [(self.name(a), self.name(b)) for a, b in self.directed],
                    [tuple(self.name(n) for n in e) for e in self.bidirected()],
                    name="counterfactual graph")

    def __str__(self) -> str:
        show = self.admg()
        vals = [f"{self.name(n)} = {_shown(v, n.var)}" for n, v in self.observed.items()
                if n in self.terms]
        return f"{show}  [{', '.join(vals)}]"


def make_cg(g: ADMG, events: Sequence[CfEvent]) -> CounterfactualGraph:
    """The counterfactual graph of ``events`` (make-cg); raises :class:`Inconsistent` when two
    events on one node disagree. Events on a variable their own world sets are for
    :func:`id_star` to resolve first."""
    by_var: dict[str, list[CfEvent]] = {}
    for e in events:
        by_var.setdefault(e.var, []).append(e)
    # per world, its references: ("=", value) for a variable it sets, ("n", node) for others
    refs: dict[World, dict[str, tuple[str, Any]]] = {}
    for e in events:
        if e.world not in refs:
            refs[e.world] = {v: ("=", x) for v, x in e.world}
    worlds = list(refs.values())
    observed: dict[Node, Value] = {}
    node_of: dict[CfEvent, Node] = {}
    made: dict[Node, list[int]] = {}  # the worlds (indices) a node stands in
    edges: dict[Node, set[Node]] = {}
    interned: dict[tuple[str, tuple[tuple[str, tuple[str, Any]], ...]], Node] = {}
    parent_map = g.parent_map
    anc = g.ancestors(by_var)  # only the events' ancestors can be kept
    for v in g.order:
        if v not in anc:
            continue
        ps = parent_map[v]
        for i, ref in enumerate(worlds):
            if v in ref:
                continue
            ups: set[Node] = set()
            if ps:
                key = []
                for p in ps:
                    r = ref[p]
                    if r[0] == "n":
                        ups.add(r[1])
                        if r[1] in observed:  # observed to a value: that value (Lemma 24);
                            # an open one is the value named by its variable, as a setting is
                            r = ("=", observed[r[1]])
                    key.append((p, r))
                k = (v, tuple(key))
            else:
                k = (v, ())
            n = interned.get(k)
            if n is None:
                n = interned[k] = Node(v, k[1])
                made[n] = [i]
                edges[n] = ups
            else:
                made[n].append(i)
                edges[n] |= ups
            ref[v] = ("n", n)
        for e in by_var.get(v, ()):
            r = refs[e.world][v]
            if r[0] == "=":
                raise QueryError(f"make-cg: {e} reads a variable its own world sets")
            n = r[1]
            if n in observed and observed[n] != e.value:
                if observed[n] is None or e.value is None:
                    raise QueryError(f"{e}: an open value and another event on the same "
                                     "variable (ID* names open values by their variable)")
                first = next(f for f in events if node_of.get(f) is n)
                why = "" if first.world == e.world else \
                    " (its parents take the same values in both)"
                raise Inconsistent(f"{first} and {e} name one variable{why}, which cannot take "
                                   "two values")
            observed[n] = e.value
            node_of[e] = n
    keep: set[Node] = set()
    stack = list(node_of.values())
    while stack:
        n = stack.pop()
        if n not in keep:
            keep.add(n)
            stack.extend(edges[n])
    wds = [dict(w) for w in refs]
    rel: dict[tuple[str, int], World] = {}
    rep: dict[Node, World] = {}
    for n in keep:
        ws = made[n]
        rep[n] = _relevant(parent_map, n.var, wds, ws[0], rel) if len(ws) == 1 else \
            min((_relevant(parent_map, n.var, wds, i, rel) for i in ws), key=len)
    at = g.order.index
    nodes = sorted(keep, key=lambda n: (at(n.var), len(rep[n]), sorted(map(str, rep[n]))))
    directed = {(a, b) for b in nodes for a in edges[b]}
    return CounterfactualGraph(nodes, rep, directed, {n: observed[n] for n in nodes
                                                      if n in observed}, node_of, refs, g)


def _relevant(parent_map: Mapping[str, tuple[str, ...]], v: str, wds: list[dict[str, Value]],
              i: int, memo: dict[tuple[str, int], World]) -> World:
    """The settings of world ``i`` that reach ``v`` (through variables it does not set)."""
    hit = memo.get((v, i))
    if hit is not None:
        return hit
    wd = wds[i]
    out: set[tuple[str, Value]] = set()
    for p in parent_map[v]:
        if p in wd:
            out.add((p, wd[p]))
        else:
            out |= _relevant(parent_map, p, wds, i, memo)
    res = frozenset(out)
    memo[(v, i)] = res
    return res


# -- ID* ------------------------------------------------------------------------------------

class _Query:
    """The query as messages name it, written only when one is (most calls need none)."""

    def __init__(self, gamma: Sequence[CfEvent], delta: Sequence[CfEvent] = (),
                 text: str | None = None):
        self.gamma, self.delta, self.text = gamma, delta, text

    def __str__(self) -> str:
        if self.text is None:
            self.text = (f"P({_conj(self.gamma)} | {_conj(self.delta)})" if self.delta else
                         f"P({_conj(self.gamma)})")
        return self.text


@dataclass
class _Run:
    """One ID*/IDC* call: the graph, the query (for messages), whether districts go to ID,
    and what it has computed, so a conjunction met twice (IDC*'s evidence, say) is done once."""

    g: ADMG
    query: _Query
    experiments: bool
    cgs: dict[tuple[CfEvent, ...], CounterfactualGraph] = field(default_factory=dict)
    evidence_ok: bool = False  # IDC*'s evidence is known consistent
    done: dict[tuple[tuple[CfEvent, ...], bool], Estimand] = field(default_factory=dict)

    def cg(self, events: tuple[CfEvent, ...]) -> CounterfactualGraph:
        hit = self.cgs.get(events)
        if hit is None:
            hit = self.cgs[events] = make_cg(self.g, events)
        return hit


def id_star(g: ADMG, events: Sequence[CfEvent], query: str | None = None,
            experiments: bool = False) -> Estimand:
    """``P(events)`` as an estimand over the observational distribution (Shpitser & Pearl's
    ID*): :data:`ZERO` (its ``why`` says why) when the events are inconsistent, or
    NotIdentifiable with ``reason`` "hedge" or "conflict" (``experiments``: see
    :func:`idc_star`)."""
    run = _Run(g, _Query(events, (), query), experiments)
    return _simplified(_id_star(run, tuple(events), experiments), experiments)


def _zero(run: _Run, e: Inconsistent) -> Zero:
    return Zero(f"{run.query} is 0 in every model: the event is inconsistent ({e})")


def _id_star(run: _Run, events: tuple[CfEvent, ...], experiments: bool) -> Estimand:
    key = (events, experiments)
    hit = run.done.get(key)
    if hit is None:
        try:
            hit = _id_star_lines(run, events, experiments)
        except Inconsistent as e:  # lines 3 and 5: an inconsistent event has probability 0
            hit = _zero(run, e)
        run.done[key] = hit
    return hit


def _id_star_lines(run: _Run, events: tuple[CfEvent, ...], experiments: bool) -> Estimand:
    kept = []
    for e in events:  # lines 2 and 3: an event on a variable its world sets
        wd = dict(e.world)
        if e.var not in wd:
            kept.append(e)
        elif wd[e.var] != e.value:
            _refuse_open(e, wd[e.var])
            raise Inconsistent(f"{e}: its world sets {e.var} to {_shown(wd[e.var], e.var)}")
    if not kept:  # line 1
        return ONE
    cg = run.cg(tuple(kept))  # lines 4, 5
    districts = cg.districts()
    for s in districts:  # line 8, for every district at once
        _check_conflict(cg, s, run.query)
    value = {n: cg.observed.get(n) for n in cg.nodes}
    if len(districts) > 1:  # line 6
        factors = []
        for s in districts:
            inside = set(s)
            outside = {(n.var, value[n]) for n in cg.nodes if n not in inside}
            sub = []
            for n in s:
                own = dict(cg.rep[n])
                world = {v: x for v, x in outside if v not in own} | own
                sub.append(CfEvent(n.var, frozenset(world.items()), value[n]))
            factor = _lone(run, sub[0], experiments) if len(sub) == 1 else None
            if factor is None:
                factor = _id_star(run, tuple(sub), experiments)
            if isinstance(factor, Zero):  # 0 × … = 0
                return factor
            factors.append(factor)
        summed = tuple(n.var for n in cg.nodes if n not in cg.observed)
        prod = Product(tuple(factors))
        return _simplified(Sum(summed, prod) if summed else prod, experiments)
    (s,) = districts  # line 9: P_x(var(S)) by ID
    outcomes = {n.var: value[n] for n in s}
    sets: dict[str, Value] = {}
    for n in s:
        for v, x in n.settings().items():
            if v not in outcomes:
                sets[v] = x
    # the district's nodes that no event names are summed out (line 6 sums them where there
    # are several districts; with one, the papers' line 9 leaves them implicit)
    summed = tuple(n.var for n in s if n not in cg.observed)
    return _line9(run, outcomes, sets, summed, experiments,
                  lambda: ", ".join(cg.name(n) for n in s))


def _lone(run: _Run, e: CfEvent, experiments: bool) -> Estimand | None:
    """Line 6's call for a district of one node, ``e``, without its counterfactual graph: the
    world of ``e`` sets every other node of the graph, and so each parent of ``e``'s
    variable, so that graph is the one node, its parents set to their values there, with no
    conflict (one variable) and no summed node (the event names it): line 9 at once. None
    (make the graph) if a parent is not set, which the construction of line 6 rules out."""
    wd = dict(e.world)
    ps = run.g.parent_map[e.var]
    if e.var in wd or any(p not in wd for p in ps):
        return None
    sets = {p: wd[p] for p in ps}
    return _line9(run, {e.var: e.value}, sets, (), experiments,
                  lambda: CfEvent(e.var, frozenset(sets.items()), e.value).term)


def _line9(run: _Run, outcomes: dict[str, Value], sets: dict[str, Value],
           summed: tuple[str, ...], experiments: bool, names: Callable[[], str]) -> Estimand:
    """Line 9: ``P_x(var(S))`` for a district S with values ``outcomes`` under settings
    ``sets``, by ID (``experiments``: given, so a placeholder term); ``names`` names S's
    nodes for the hedge's message."""
    if experiments:  # P_x(var(S)) is given: a placeholder term, only the verdict counts
        return P(tuple(outcomes))
    try:
        est = id_algorithm(run.g, outcomes, sets)
    except NotIdentifiable as e:
        inner, _, why = str(e).partition(" is not identifiable: ")
        raise NotIdentifiable(
            f"{run.query} is not identifiable: in its counterfactual graph, the district "
            f"{{{names()}}} needs {inner}, which is not: {why}",
            e.f, e.f_prime, e.roots, reason="hedge") from None
    values = {v: x for v, x in (*outcomes.items(), *sets.items()) if x is not None}
    est = est.bind(values) if values else est
    return Sum(summed, est).simplify() if summed else est


def _check_conflict(cg: CounterfactualGraph, s: list[Node], query: object) -> None:
    """Line 8: a district whose nodes need one variable at two values (two copies of one
    variable, or settings and values that differ) is not identifiable."""
    node_of_var: dict[str, Node] = {}
    for n in s:
        if n.var in node_of_var:
            _conflict(cg, s, n.var, f"node {cg.name(node_of_var[n.var])}",
                      f"node {cg.name(n)}", query)
        node_of_var[n.var] = n
    values: dict[str, Value] = {n.var: cg.observed.get(n) for n in s}
    first: dict[str, Node] = {}
    for n in s:
        for v, x in n.settings().items():
            if v not in values:
                values[v] = x
                first[v] = n
            elif values[v] != x:
                one = f"the setting {v} = {_shown(values[v], v)} of {cg.name(first[v])}" \
                    if v in first else f"node {cg.name(node_of_var[v])}"
                _conflict(cg, s, v, one, f"the setting {v} = {_shown(x, v)} of {cg.name(n)}",
                          query)


def _conflict(cg: CounterfactualGraph, s: list[Node], v: str, one: str, other: str,
              query: object) -> None:
    raise NotIdentifiable(
        f"{query} is not identifiable: in its counterfactual graph, the district "
        f"{{{', '.join(cg.name(m) for m in s)}}} (nodes that share hidden causes) needs {v} "
        f"at two values: {one} and {other} (Shpitser & Pearl 2008, ID* line 8)",
        reason="conflict")


# -- IDC* ---------------------------------------------------------------------------------

def idc_star(g: ADMG, gamma: Sequence[CfEvent], delta: Sequence[CfEvent] = (),
             query: str | None = None, experiments: bool = False) -> Estimand:
    """``P(γ | δ)`` as an estimand (Shpitser & Pearl's IDC*): :data:`ZERO` where ``γ ∧ δ`` is
    inconsistent, or NotIdentifiable; ZeroProbabilityError where the evidence ``δ`` itself is
    inconsistent (probability zero in every model: the conditional is undefined). With
    ``experiments``, the verdict the papers give, from every interventional distribution
    ``P_x`` rather than from the observational one (no hedge can refuse it; the estimand is
    then only a placeholder, left as built): see :func:`is_testable`."""
    run = _Run(g, _Query(gamma, delta, query), experiments)
    if not delta:
        return _simplified(_id_star(run, tuple(gamma), experiments), experiments)
    # Line 1 (evidence of probability zero leaves the query undefined) is asked only where
    # the answer is 0 or a refusal: a consistent γ ∧ δ has a consistent δ (fewer events, fewer
    # merges in the counterfactual graph), and so does every call below (rule 2, line 4,
    # keeps the graph).
    try:
        out = _idc_star(run, tuple(gamma), tuple(delta))
    except (NotIdentifiable, QueryError, Inconsistent):
        _line1(run, tuple(delta))
        raise
    if isinstance(out, Zero):
        _line1(run, tuple(delta))
    return _simplified(out, experiments)


def _simplified(e: Estimand, experiments: bool) -> Estimand:
    """``e`` simplified; from experiments, ``e`` as built (a placeholder: only its verdict
    counts, so rewriting it would be time spent for nothing)."""
    return e if experiments else e.simplify()


def _line1(run: _Run, delta: tuple[CfEvent, ...]) -> None:
    """IDC*'s line 1: ZeroProbabilityError where the evidence is inconsistent (only that
    verdict counts here, so no district goes to ID)."""
    if run.evidence_ok:
        return
    try:
        zero = _id_star(run, delta, True)
    except NotIdentifiable:
        return
    if isinstance(zero, Zero):
        why = zero.why.partition(": the event is inconsistent ")[2]
        raise ZeroProbabilityError(f"{run.query} is undefined: its evidence "
                                   f"{_conj(delta)} has probability zero in every model {why}")


def _idc_star(run: _Run, gamma: tuple[CfEvent, ...], delta: tuple[CfEvent, ...],
              top: bool = True) -> Estimand:
    experiments = run.experiments
    if any(e.var in dict(e.world) for e in (*gamma, *delta)):
        # lines 2 and 3 of ID*: settle events on a variable their world sets
        try:
            kept_g = tuple(e for e in gamma if not _settled(e))
        except Inconsistent as err:
            return _zero(run, err)
        kept_d = tuple(e for e in delta if not _settled(e))
        if not kept_d:
            run.evidence_ok |= top
            return _id_star(run, kept_g, experiments)
        return _idc_star(run, kept_g, kept_d, top)
    try:
        cg = run.cg((*gamma, *delta))  # line 2
    except Inconsistent as err:  # line 3
        return _zero(run, err)
    run.evidence_ok |= top  # γ ∧ δ is consistent, so δ is (line 1 need not ask)
    dnodes = {cg.node_of[e] for e in delta}
    gamma = tuple(dict.fromkeys(e for e in gamma if cg.node_of[e] not in dnodes))
    if not gamma:
        return ONE  # the outcomes are implied by the evidence
    gnodes = {cg.node_of[e] for e in gamma}
    for e in delta:  # line 4: evidence d-separated from the outcomes once its edges out are cut
        n = cg.node_of[e]
        rest = {cg.node_of[d] for d in delta if cg.node_of[d] != n}
        if not _reaches(cg, n, gnodes, rest):
            others = tuple(d for d in delta if cg.node_of[d] != n)
            moved = tuple(_subscript(cg, x, e, n) for x in gamma)
            if not others:
                return _id_star(run, moved, experiments)
            return _idc_star(run, moved, tuple(_subscript(cg, x, e, n) for x in others),
                             False)
    joint = _id_star(run, (*gamma, *delta), experiments)  # line 5
    if isinstance(joint, Zero):
        return joint
    return Quotient(joint, _id_star(run, delta, experiments))  # line 6


def _reaches(cg: CounterfactualGraph, start: Node, targets: set[Node], given: set[Node]
             ) -> bool:
    """Whether ``start`` is d-connected to a node of ``targets`` given ``given`` in the
    counterfactual graph with the edges out of ``start`` cut (the test of IDC*'s line 4). A
    bidirected edge is a hidden common parent. Bayes-ball: a trail passes a node it enters from
    a child (going up) unless the node is given, and one it enters from a parent (going down)
    onward to its children unless given, or back up (a collider) when it is given or an
    ancestor of a given node."""
    parents: dict[Node, list[Node]] = {n: [] for n in cg.nodes}
    children: dict[Node, list[Node]] = {n: [] for n in cg.nodes}
    for a, b in cg.directed:
        if a == start:
            continue
        parents[b].append(a)
        children[a].append(b)
    spouses: dict[Node, list[Node]] = {n: [] for n in cg.nodes}
    for pair in cg.bidirected():
        a, b = tuple(pair)
        spouses[a].append(b)
        spouses[b].append(a)
    above: set[Node] = set()  # the given nodes and their ancestors
    stack = list(given)
    while stack:
        v = stack.pop()
        if v not in above:
            above.add(v)
            stack.extend(parents[v])
    seen: set[tuple[Node, bool]] = set()
    todo = [(start, True)]  # (node, entered going up)
    while todo:
        v, up = todo.pop()
        if (v, up) in seen:
            continue
        seen.add((v, up))
        if v not in given and v in targets:
            return True
        if up and v not in given:
            todo.extend((p, True) for p in parents[v])
            todo.extend((c, False) for c in children[v])
            todo.extend((s, False) for s in spouses[v])
        elif not up:
            if v not in given:
                todo.extend((c, False) for c in children[v])
            if v in above:
                todo.extend((p, True) for p in parents[v])
                todo.extend((s, False) for s in spouses[v])
    return False


def is_testable(g: ADMG, gamma: Sequence[CfEvent], delta: Sequence[CfEvent] = ()) -> bool:
    """Whether ``P(γ | δ)`` is identifiable from experiments (every ``P_x``), the question of
    "What counterfactuals can be tested"; an inconsistent event (probability zero) counts as
    identified, evidence of probability zero as not."""
    try:
        idc_star(g, gamma, delta, experiments=True)
    except (NotIdentifiable, ZeroProbabilityError):
        return False
    return True


def _settled(e: CfEvent) -> bool:
    wd = dict(e.world)
    if e.var not in wd:
        return False
    if wd[e.var] != e.value:
        _refuse_open(e, wd[e.var])
        raise Inconsistent(f"{e}: its world sets {e.var} to {_shown(wd[e.var], e.var)}")
    return True


def _refuse_open(e: CfEvent, setting: Value) -> None:
    """An event on a variable its world sets, where the event or the setting has an open
    value: not inconsistent (``X[X = 1]`` is 1 with probability 1), but an estimand cannot be
    1 at one value of an open variable and 0 at the others, so a QueryError."""
    if e.value is None and setting is not None:
        raise QueryError(f"{e} has no value and its world sets {e.var} to "
                         f"{_shown(setting, e.var)} (so {e} = {_shown(setting, e.var)} with "
                         "probability 1); give it a value")
    if setting is None:
        raise QueryError(f"{e}: its world sets {e.var} to an open value; give the setting a "
                         "value")


def _subscript(cg: CounterfactualGraph, x: CfEvent, by: CfEvent, node: Node) -> CfEvent:
    """``x`` with ``by``'s variable set to ``by``'s value where, in ``x``'s world, that variable
    is the node ``node`` (rule 2 acts on that node, not on other copies of its variable)."""
    if by.var in dict(x.world) or cg.refs.get(x.world, {}).get(by.var) != ("n", node):
        return x
    return CfEvent(x.var, x.world | {(by.var, by.value)}, x.value)


__all__ = ["CfEvent", "CounterfactualGraph", "Inconsistent", "Node", "event", "id_star",
           "idc_star", "is_testable", "make_cg"]
