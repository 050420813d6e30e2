"""The ID and IDC algorithms (Shpitser & Pearl; Tian & Pearl's district factors): complete
identification of ``P(y | do(x), z)`` on the graph view, or the hedge that refutes it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from causaldsl.analysis.estimand import Estimand, P, Product, Quotient, Sum, conditional, marginal
from causaldsl.core.errors import NotIdentifiable, QueryError
from causaldsl.model.graph import ADMG, as_names, show_set


@dataclass(frozen=True)
class _Dist:
    """The distribution ID recurses on: ``expr`` is a joint over ``domain`` (its other free
    variables are fixed by the context)."""

    expr: Estimand
    domain: tuple[str, ...]


def id_algorithm(g: ADMG, y: Iterable[str] | str, x: Iterable[str] | str = ()) -> Estimand:
    """``P(y | do(x))`` as an estimand (Shpitser & Pearl 2006, Fig. 3), or NotIdentifiable."""
    ys, xs = as_names(y), as_names(x)
    g.check(ys | xs, "identify")
    _check_disjoint(ys, xs, g)
    query = _query_text(ys, xs)
    top = _Dist(P(g.order), g.order)
    return _id(g, ys, xs, top, query).simplify()


def _id(g: ADMG, y: frozenset[str], x: frozenset[str], p: _Dist, query: str) -> Estimand:
    v = frozenset(g.nodes)
    # line 1: no intervention
    if not x:
        return marginal(p.expr, g.sort(y), p.domain)
    # line 2: only ancestors of Y matter
    an = g.ancestors(y)
    if an != v:
        return _id(g.subgraph(an), y, x & an, _Dist(marginal(p.expr, g.sort(an), p.domain),
                                                   g.sort(an)), query)
    # line 3: intervene also on what cannot reach Y once X is cut
    w = (v - x) - g.ancestors(y, cut=x)
    if w:
        return _id(g, y, x | w, p, query)
    rest = g.subgraph(v - x)
    comps = rest.districts
    # line 4: factorise over the districts of G \ X
    if len(comps) > 1:
        factors = [_district_effect(g, s, p, query) for s in comps]
        over = tuple(n for n in g.order if n not in y and n not in x)
        return Sum(over, Product(tuple(factors))).simplify()
    (s,) = comps
    whole = g.districts
    # line 5: a hedge
    if len(whole) == 1:
        raise _hedge(g, s, y, x, query)
    # line 6: S is a district of G
    if s in whole:
        return marginal(_district_factor(g, s, p), g.sort(y), g.sort(s))
    # line 7: S lies inside a larger district S'
    s2 = next(d for d in whole if s < d)
    sub = _Dist(_district_factor(g, s2, p), g.sort(s2))
    return _id(g.subgraph(s2), y, x & s2, sub, query)


def _district_effect(g: ADMG, s: frozenset[str], p: _Dist, query: str) -> Estimand:
    """Line 4's ``ID(S, V \\ S, P)`` for a district S of ``G \\ X``.

    The recursion would restrict to ``An(S)`` (line 2) and, when S is a whole district there,
    return its factor (line 6); for a plain joint that is computed here without building the
    subgraph. Every other case takes the general recursion.
    """
    if _is_plain(g, p):
        an = g.ancestors(s)
        if g.district_around(s, an.__contains__) == s:
            return _district_factor(g, s, p, an)
    return _id(g, s, frozenset(g.nodes) - s, p, query)


def _is_plain(g: ADMG, p: _Dist) -> bool:
    """Whether ``p`` is the plain observational joint of ``g``'s nodes."""
    return isinstance(p.expr, P) and not p.expr.given and len(p.expr.vars) == len(g.nodes) \
        and set(p.expr.vars) == set(g.nodes)


def _district_factor(g: ADMG, s: frozenset[str], p: _Dist,
                     within: frozenset[str] | None = None) -> Estimand:
    """``Q[S] = Π_{v ∈ S} P(v | v's predecessors)`` for a district S of ``g``.

    When ``p`` is the plain joint of ``g``'s nodes, each factor conditions only on v's Markov
    blanket among its predecessors: its district there and the parents of that district
    (Tian & Pearl 2002, Lemma 2), which is what a textbook writes (``P(m | x)``, not
    ``P(m | a, z, x)``).
    """
    pos = {n: i for i, n in enumerate(g.order)}
    factors: list[Estimand] = []
    if within is not None or _is_plain(g, p):  # within: the caller has checked
        assert isinstance(p.expr, P)
        for vi in g.sort(s):
            blanket = _prior_blanket(g, vi, pos, within)
            factors.append(P((vi,), tuple(sorted(blanket, key=pos.__getitem__)), p.expr.fixed))
    else:
        for vi in g.sort(s):
            factors.append(conditional(p.expr, (vi,), g.order[: pos[vi]], p.domain))
    return Product(tuple(factors)).simplify()


def _prior_blanket(g: ADMG, v: str, pos: dict[str, int], within: frozenset[str] | None
                   ) -> set[str]:
    """v's Markov blanket in the subgraph of v and its predecessors (inside ``within``, an
    ancestral set, when given), where v is childless: its district there and that district's
    parents, without v."""
    limit = pos[v]
    district = g.district_around(
        (v,), lambda u: pos[u] < limit and (within is None or u in within))
    blanket = set(district).union(*(g.parent_map[u] for u in district))
    blanket.discard(v)
    return blanket


def _hedge(g: ADMG, s: frozenset[str], y: frozenset[str], x: frozenset[str], query: str
           ) -> NotIdentifiable:
    f = frozenset(g.nodes)
    roots = frozenset(n for n in s if not set(g.children(n)) & s)
    tx = f & x
    msg = (f"{query} is not identifiable: the graph has a hedge for it, the c-forests "
           f"F = {show_set(f)} and F' = {show_set(s)}. Both are connected by bidirected edges "
           f"(hidden common causes) and have the same root set {show_set(roots)}, an ancestor "
           f"of the outcome; F contains the treatment {show_set(tx)} and F' does not. Two "
           "models can agree on every observational probability yet give different "
           f"{query} (Shpitser & Pearl 2006, Theorem 4).")
    return NotIdentifiable(msg, f, s, roots)


def idc_algorithm(g: ADMG, y: Iterable[str] | str, x: Iterable[str] | str = (),
                  z: Iterable[str] | str = ()) -> Estimand:
    """``P(y | do(x), z)`` as an estimand (Shpitser & Pearl 2006, IDC), or NotIdentifiable."""
    ys, xs, zs = as_names(y), as_names(x), as_names(z)
    g.check(ys | xs | zs, "identify")
    _check_disjoint(ys, xs, g, zs)
    query = _query_text(ys, xs, zs)
    try:
        return _idc(g, ys, xs, zs, query).simplify()
    except NotIdentifiable as e:
        if str(e).startswith(query):
            raise
        inner, _, why = str(e).partition(" is not identifiable: ")
        raise NotIdentifiable(f"{query} is not identifiable, because {inner} is not (IDC "
                              f"reduces the conditional effect to it): {why}", e.f, e.f_prime,
                              e.roots) from None


def _idc(g: ADMG, y: frozenset[str], x: frozenset[str], z: frozenset[str], query: str
         ) -> Estimand:
    for zi in g.sort(z):
        others = z - {zi}
        if g.without_incoming(x).without_outgoing({zi}).d_separated(y, {zi}, x | others):
            return _idc(g, y, x | {zi}, others, query)
    top = _Dist(P(g.order), g.order)
    inner_query = _query_text(y | z, x)
    joint = _id(g, y | z, x, top, inner_query).simplify()
    if not z:
        return joint
    return Quotient(joint, marginal(joint, g.sort(z), g.sort(y | z))).simplify()


def _check_disjoint(y: frozenset[str], x: frozenset[str], g: ADMG,
                    z: frozenset[str] = frozenset()) -> None:
    if not y:
        raise QueryError("identify: a query needs at least one outcome variable")
    for a, b, what in ((y, x, "an outcome and a treatment"), (y, z, "an outcome and evidence"),
                       (x, z, "a treatment and evidence")):
        both = a & b
        if both:
            raise QueryError(f"identify {_query_text(y, x, z)}: {show_set(both)} is both "
                             f"{what}")


def _query_text(y: Iterable[str], x: Iterable[str], z: Iterable[str] = ()) -> str:
    parts = []
    if x:
        parts.append(f"do({', '.join(sorted(x))})")
    parts += sorted(z)
    return f"P({', '.join(sorted(y))}{' | ' + ', '.join(parts) if parts else ''})"


def is_identifiable(g: ADMG, y: Iterable[str] | str, x: Iterable[str] | str = (),
                    z: Iterable[str] | str = ()) -> bool:
    """Whether ``P(y | do(x), z)`` is identifiable in ``g``."""
    try:
        idc_algorithm(g, y, x, z)
    except NotIdentifiable:
        return False
    return True
