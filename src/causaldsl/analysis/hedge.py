"""Witnesses of non-identifiability: for a hedge, two models over the same graph that agree on
every observational probability and give different answers to the query.

The construction is the parity one behind Shpitser & Pearl's hedge theorem; the derivation is
in ``docs/identification.md``. All variables are bits and latent variables fair coins. Pick a
directed forest inside F whose sinks are the roots R (F' inside it on its own), and a spanning
tree of F's bidirected edges (F''s inside it). In M1 every node of F is the XOR of its forest
parents and of the latent bits of its tree edges; in M2 the nodes of F' do the same within F'
and the rest of F are fair coins. Both make F uniform over the states whose roots have even
parity; under do(X) M2 keeps that parity while M1 loses it. Roots that are not outcomes send
their bits along routes outside F to an outcome, which XORs them in; other nodes outside F are
fair coins. Every pair returned has been checked exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import product

import numpy as np

from causaldsl.core.errors import CausalError, NotIdentifiable, QueryError
from causaldsl.core.types import FiniteType
from causaldsl.ir.mechanism import Table
from causaldsl.model.causal_model import CausalModel, Role, Variable
from causaldsl.model.graph import ADMG, hidden_cause_name

BIT = FiniteType("Bit", [0, 1])
NOISE = 0.1


def hedge_witnesses(g: ADMG, y: Iterable[str] | str, x: Iterable[str] | str
                    ) -> tuple[CausalModel, CausalModel]:
    """Two models whose graph is ``g``, equal on ``P(V)`` and different on ``P(y | do(x))``.

    Raises QueryError when the effect is identifiable (there are no such models), and
    CausalError when the construction does not separate this query (never a pair that was not
    checked).
    """
    from causaldsl.analysis.id_algorithm import id_algorithm

    ys = frozenset((y,) if isinstance(y, str) else y)
    xs = frozenset((x,) if isinstance(x, str) else x)
    try:
        id_algorithm(g, ys, xs)
    except NotIdentifiable as e:
        hedge = e
    else:
        raise QueryError(f"P({', '.join(sorted(ys))} | do({', '.join(sorted(xs))})) is "
                         "identifiable in this graph: no two models can disagree on it")
    m1, m2 = _parity_models(g, hedge.f, hedge.f_prime, hedge.roots, ys, xs)
    if not _agree_and_differ(m1, m2, g, ys, xs):
        raise CausalError(f"the parity construction does not separate this query for the "
                          f"hedge F = {sorted(hedge.f)}, F' = {sorted(hedge.f_prime)}")
    return m1, m2


def _parity_models(g: ADMG, f: frozenset[str], f2: frozenset[str], roots: frozenset[str],
                   y: frozenset[str], x: frozenset[str]) -> tuple[CausalModel, CausalModel]:
    child = _forest(g, f, f2, roots)
    tree = _spanning_tree(g, f, f2)
    carry = _carriers(g, f, roots, y, x)
    latent = _latent_names(g)
    uses1: dict[str, set[str]] = {}
    uses2: dict[str, set[str]] = {}
    for v in g.nodes:
        fp = {u for u, c in child.items() if c == v}
        routed = carry.get(v, set())  # an outcome in F also XORs the roots routed to it
        if v in f:
            uses1[v] = fp | {latent[e] for e in tree if v in e} | routed
        elif routed:
            uses1[v] = routed
        if v in f2:
            uses2[v] = {u for u in fp if u in f2} | \
                {latent[e] for e in tree if v in e and e <= f2} | routed
        elif routed and v not in f:  # in F \\ F' it stays a fair coin (coin ⊕ bits is one)
            uses2[v] = routed
    # noise on F' and the carriers (never on F \\ F') keeps the two joints equal and makes
    # them positive
    noisy = f2 | frozenset(carry)
    return (_model(g, latent, uses1, noisy, "witness1"),
            _model(g, latent, uses2, noisy, "witness2"))


def _latent_names(g: ADMG) -> dict[frozenset[str], str]:
    """A name ``U_A_B`` for the hidden common cause of each ``A ↔ B``, apart from every node."""
    taken = set(g.nodes)
    out: dict[frozenset[str], str] = {}
    for e in sorted(g.bidirected, key=g.sort):
        a, b = g.sort(e)
        out[e] = hidden_cause_name(a, b, taken)
    return out


def _forest(g: ADMG, f: frozenset[str], f2: frozenset[str], roots: frozenset[str]
            ) -> dict[str, str]:
    """One child per non-root node of F, so that F' reaches the roots inside F' and the rest
    of F reaches F' (breadth first, backwards from the roots)."""
    child: dict[str, str] = {}
    reached = set(roots)
    for inside in (f2, f):
        queue = list(g.sort(reached))
        while queue:
            c = queue.pop(0)
            for p in g.parents(c):
                if p in inside and p not in reached:
                    child[p] = c
                    reached.add(p)
                    queue.append(p)
        missing = inside - reached
        if missing:
            raise CausalError(f"{sorted(missing)} do not reach the roots {sorted(roots)} "
                              "inside the hedge")
    return child


def _spanning_tree(g: ADMG, f: frozenset[str], f2: frozenset[str]) -> list[frozenset[str]]:
    """Bidirected edges spanning F, those inside F' spanning F' (Kruskal, F''s edges first)."""
    import networkx as nx

    h = nx.Graph()
    h.add_nodes_from(g.sort(f))
    h.add_edges_from((*g.sort(e), {"weight": 0 if e <= f2 else 1})
                     for e in sorted((e for e in g.bidirected if e <= f), key=g.sort))
    if not nx.is_connected(h):
        raise CausalError(f"{sorted(f)} is not connected by bidirected edges")
    return [frozenset((a, b)) for a, b in nx.minimum_spanning_edges(h, data=False)]


def _carriers(g: ADMG, f: frozenset[str], roots: frozenset[str], y: frozenset[str],
              x: frozenset[str]) -> dict[str, set[str]]:
    """The parents whose bits a node XORs so that each root outside Y reaches an outcome along
    one route through nodes outside F and X; routes that meet go on together."""
    step: dict[str, str | None] = {v: None for v in y}   # the next node toward Y
    queue = list(step)
    while queue:  # breadth first, backwards from the outcomes, outside F and X
        c = queue.pop(0)
        for p in g.parents(c):
            if p not in step and p not in f and p not in x:
                step[p] = c
                queue.append(p)
    uses: dict[str, set[str]] = {}
    for r in g.sort(roots - y):
        first = next((c for c in g.children(r) if c in step), None)
        if first is None:
            continue
        uses.setdefault(first, set()).add(r)
        v: str | None = first
        while v is not None and step[v] is not None:
            nxt = step[v]
            assert nxt is not None
            if v in uses.get(nxt, set()):
                break  # this route joined one already laid
            uses.setdefault(nxt, set()).add(v)
            v = nxt
    return uses


def _model(g: ADMG, latent: Mapping[frozenset[str], str], uses: Mapping[str, set[str]],
           noisy: frozenset[str], name: str) -> CausalModel:
    """Bits everywhere: a node XORs the parents in ``uses[v]`` (a fair coin when absent), and
    a node in ``noisy`` then flips with probability NOISE."""
    variables = [Variable(u, BIT, Role.LATENT, (), Table(np.array([0.5, 0.5]), 0))
                 for u in sorted(latent.values())]
    for v in g.order:
        parents = (*g.parents(v), *sorted(latent[e] for e in g.bidirected if v in e))
        flip = NOISE if v in noisy else 0.0
        table = np.empty((2,) * len(parents) + (2,))
        for states in product((0, 1), repeat=len(parents)):
            if v in uses:
                bit = sum(s for p, s in zip(parents, states, strict=True) if p in uses[v]) % 2
                table[states] = [1 - flip, flip] if bit == 0 else [flip, 1 - flip]
            else:
                table[states] = 0.5
        variables.append(Variable(v, BIT, Role.OBSERVED, parents, Table(table, len(parents))))
    return CausalModel.from_variables(variables, name)


def _agree_and_differ(m1: CausalModel, m2: CausalModel, g: ADMG, y: frozenset[str],
                      x: frozenset[str]) -> bool:
    joint = f"P({', '.join(g.order)})"
    query = f"P({', '.join(g.sort(y))} | do({', '.join(g.sort(x))}))"
    p1, p2 = np.asarray(m1.query(joint)), np.asarray(m2.query(joint))
    same = bool(np.allclose(p1, p2, atol=1e-12, rtol=0) and p1.min() > 0)
    differ = not np.allclose(np.asarray(m1.query(query)), np.asarray(m2.query(query)),
                             atol=1e-6, rtol=0)
    return same and differ
