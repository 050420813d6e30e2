"""Identification: can ``P(Y | do(X), Z)`` be computed from observational data, and how?

- :func:`id_algorithm` / :func:`idc_algorithm`: the complete algorithms of Shpitser & Pearl
  (2006): an :class:`~causaldsl.analysis.estimand.Estimand`, or :class:`NotIdentifiable` naming the hedge.
- :func:`backdoor_admissible`, :func:`find_backdoor_set`, :func:`backdoor_estimand`: Pearl's
  back-door criterion; a minimal admissible set is found in polynomial time
  (van der Zander, Liśkiewicz & Textor's minimal separator, as networkx implements it).
- :func:`frontdoor_admissible`, :func:`find_frontdoor_set`, :func:`frontdoor_estimand`:
  Pearl's front-door criterion; the search is polynomial (the largest candidate set is a fixed
  point, as in Jeong, Tian & Bareinboim 2022, then pruned to a minimal one).
- :func:`identify`: the entry point for a model or a graph and a query string.

Everything works on the graph view (:class:`~causaldsl.model.graph.ADMG`). No JAX.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from causaldsl.analysis.estimand import ONE, Estimand, P, Product, Quotient, Sum, conditional, marginal
from causaldsl.core.errors import LatentQueryError, NotIdentifiable, QueryError, UnknownVariableError
from causaldsl.model.graph import ADMG, show_set
from causaldsl.syntax.query import Event, Prob, parse_query

if TYPE_CHECKING:
    from causaldsl.model.causal_model import CausalModel
    from causaldsl.model.distribution import Distribution

METHODS = ("backdoor", "adjustment", "frontdoor", "comb", "id")


def _fs(xs: Iterable[str] | str) -> frozenset[str]:
    return frozenset((xs,) if isinstance(xs, str) else xs)


# -- ID and IDC ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Dist:
    """The distribution ID recurses on: ``expr`` is a joint over ``domain`` (its other free
    variables are fixed by the context)."""

    expr: Estimand
    domain: tuple[str, ...]


def id_algorithm(g: ADMG, y: Iterable[str] | str, x: Iterable[str] | str = ()) -> Estimand:
    """``P(y | do(x))`` as an estimand (Shpitser & Pearl 2006, Fig. 3), or NotIdentifiable."""
    ys, xs = _fs(y), _fs(x)
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
    ys, xs, zs = _fs(y), _fs(x), _fs(z)
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


# -- back-door ----------------------------------------------------------------------------------

def backdoor_admissible(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str,
                        z: Iterable[str] | str) -> bool:
    """Pearl's back-door criterion: no member of Z descends from X, and Z blocks every path
    from X to Y that starts with an arrow into X (checked as d-separation in ``G_{\\underline X}``)."""
    xs, ys, zs = _fs(x), _fs(y), _fs(z)
    g.check(xs | ys | zs, "back-door")
    if zs & (g.descendants(xs) | ys):
        return False
    return g.without_outgoing(xs).d_separated(xs, ys, zs)


def find_backdoor_set(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str
                      ) -> frozenset[str] | None:
    """A minimal back-door admissible set, or None when there is none (polynomial time)."""
    xs, ys = _fs(x), _fs(y)
    g.check(xs | ys, "back-door")
    if xs & ys:
        return None
    allowed = set(g.nodes) - g.descendants(xs) - ys
    return g.without_outgoing(xs).minimal_separator(xs, ys, allowed)


def backdoor_estimand(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str,
                      z: Iterable[str] | str) -> Estimand:
    """``Σ_z P(y | x, z) P(z)``."""
    xs, ys, zs = g.sort(_fs(x)), g.sort(_fs(y)), g.sort(_fs(z))
    if not zs:
        return P(ys, xs)
    return Sum(zs, Product((P(ys, (*xs, *zs)), P(zs)))).simplify()


# -- adjustment: the generalised criterion and the optimal set --------------------------------

def causal_nodes(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str) -> frozenset[str]:
    """``cn(X, Y)``: the nodes other than X on proper causal paths from X to Y (directed paths
    that meet X only at their start)."""
    xs, ys = _fs(x), _fs(y)
    down = g.descendants_avoiding(xs)  # reached from X without passing through X again
    return (down & g.ancestors(ys, cut=xs)) - xs


def forbidden_nodes(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str) -> frozenset[str]:
    """``forb(X, Y)``: X and every descendant of a causal node; an adjustment set avoids them."""
    xs = _fs(x)
    return g.descendants(causal_nodes(g, xs, y)) | xs


def adjustment_admissible(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str,
                          z: Iterable[str] | str) -> bool:
    """The generalised adjustment criterion (Shpitser, VanderWeele & Robins 2010; Perković et
    al. 2018): Z avoids ``forb(X, Y)`` and blocks every proper non-causal path from X to Y
    (m-separation in the proper back-door graph). Then ``P(y | do(x)) = Σ_z P(y | x, z) P(z)``.
    """
    xs, ys, zs = _fs(x), _fs(y), _fs(z)
    g.check(xs | ys | zs, "adjustment")
    if xs & ys or zs & forbidden_nodes(g, xs, ys):
        return False
    return _proper_backdoor_graph(g, xs, ys).d_separated(xs, ys, zs)


def _proper_backdoor_graph(g: ADMG, x: frozenset[str], y: frozenset[str]) -> ADMG:
    """``G^{pbd}_{XY}``: the first edge of every proper causal path from X to Y removed."""
    cn = causal_nodes(g, x, y)
    return g.without_edges({(a, b) for a, b in g.directed if a in x and b in cn})


def optimal_adjustment_set(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str
                           ) -> frozenset[str] | None:
    """The optimal adjustment set ``O = pa(cn(X, Y)) \\ forb(X, Y)`` of Henckel, Perković &
    Maathuis (2022): of all valid adjustment sets, the one whose estimator has the smallest
    asymptotic variance. None when no valid adjustment set exists. It is defined (and a
    QueryError says so otherwise) for graphs without hidden common causes and outcomes that
    all descend from the treatment."""
    xs, ys = _fs(x), _fs(y)
    g.check(xs | ys, "adjustment")
    if xs & ys:
        return None
    why = _no_optimal_set(g, xs, ys)
    if why:
        raise QueryError(f"the optimal adjustment set is defined for {why}; use "
                         "find_adjustment_set for a minimal one")
    cn = causal_nodes(g, xs, ys)
    o = frozenset(p for c in cn for p in g.parents(c)) - forbidden_nodes(g, xs, ys)
    return o if adjustment_admissible(g, xs, ys, o) else None


def _no_optimal_set(g: ADMG, x: frozenset[str], y: frozenset[str]) -> str:
    """Why Henckel et al.'s optimal set is not defined here, or '' when it is."""
    if g.bidirected:
        return ("graphs without hidden common causes, and this one has bidirected edges "
                f"({'; '.join(e for e in g.edges_text() if '↔' in e)})")
    away = y - g.descendants(x)
    if away:
        return (f"outcomes that descend from the treatment, and {show_set(away)} does not "
                f"descend from {show_set(x)}")
    return ""


def find_adjustment_set(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str
                        ) -> frozenset[str] | None:
    """A minimal set meeting the generalised adjustment criterion, or None (polynomial time:
    a minimal m-separator in the proper back-door graph, avoiding the forbidden nodes)."""
    xs, ys = _fs(x), _fs(y)
    g.check(xs | ys, "adjustment")
    if xs & ys:
        return None
    allowed = set(g.nodes) - forbidden_nodes(g, xs, ys) - ys
    return _proper_backdoor_graph(g, xs, ys).minimal_separator(xs, ys, allowed)


# -- front-door ---------------------------------------------------------------------------------

def frontdoor_admissible(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str,
                         z: Iterable[str] | str) -> bool:
    """Pearl's front-door criterion: (i) Z intercepts every directed path from X to Y;
    (ii) no back-door path from X to Z is open; (iii) X blocks every back-door path from Z to Y."""
    xs, ys, zs = _fs(x), _fs(y), _fs(z)
    g.check(xs | ys | zs, "front-door")
    if not zs or zs & (xs | ys) or xs & ys:
        return False
    return _fd_i(g, xs, ys, zs) and all(_fd_ii(g, xs, v) for v in zs) and \
        g.without_outgoing(zs).d_separated(zs, ys, xs)


def _fd_i(g: ADMG, x: frozenset[str], y: frozenset[str], z: frozenset[str]) -> bool:
    cut = g.subgraph(set(g.nodes) - z)
    return not (cut.descendants(x) - x) & y


def _fd_ii(g: ADMG, x: frozenset[str], v: str) -> bool:
    return g.without_outgoing(x).d_separated(x, {v})


def find_frontdoor_set(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str
                       ) -> frozenset[str] | None:
    """A minimal front-door set, or None when there is none (polynomial time)."""
    xs, ys = _fs(x), _fs(y)
    g.check(xs | ys, "front-door")
    if xs & ys:
        return None
    cand = {v for v in g.nodes if v not in xs | ys and _fd_ii(g, xs, v)}
    changed = True
    while changed:  # the largest set meeting (iii): drop members that (iii) rules out
        changed = False
        gz = g.without_outgoing(cand)
        for v in sorted(cand):
            if not gz.d_separated({v}, ys, xs):
                cand.discard(v)
                changed = True
                break
    if not cand or not frontdoor_admissible(g, xs, ys, cand):
        return None
    for v in g.sort(cand)[::-1]:  # prune to a minimal set
        if len(cand) > 1 and frontdoor_admissible(g, xs, ys, cand - {v}):
            cand.discard(v)
    return frozenset(cand)


def frontdoor_estimand(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str,
                       z: Iterable[str] | str) -> Estimand:
    """``Σ_z P(z | x) Σ_x' P(y | x', z) P(x')``."""
    xs, ys, zs = g.sort(_fs(x)), g.sort(_fs(y)), g.sort(_fs(z))
    inner = Sum(xs, Product((P(xs), P(ys, g.sort((*xs, *zs))))))
    return Sum(zs, Product((P(zs, xs), inner))).simplify()


# -- the entry point ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Identification:
    """An identified query: the estimand, the rule that found it, and the sets it adjusts for."""

    query: Prob
    estimand: Estimand
    method: str
    adjustment: frozenset[str] | None = None
    graph: ADMG | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        return f"{_plain(self.query)} = {self.formula()}"

    def formula(self, latex: bool = False) -> str:
        """The bound estimand as text (or LaTeX), a summed variable that the query names
        primed (``Σ_s' P(s') P(c|s',t)`` for P(C | do(S), do(T)), not ``Σ_s``)."""
        names = {e.var for e in (*self.query.outcomes, *self.query.interventions,
                                 *self.query.evidence)}
        return self.bound.latex(names) if latex else self.bound.show(names)

    @property
    def bound(self) -> Estimand:
        """The estimand with the query's given values filled in."""
        values = {e.var: e.value for e in (*self.query.outcomes, *self.query.interventions,
                                           *self.query.evidence) if e.value is not None}
        return self.estimand.bind(values).simplify() if values else self.estimand

    def latex(self) -> str:
        return self.formula(latex=True)

    def evaluate(self, source: Any, **kw: Any) -> Distribution | float:
        """The estimand's value on an observational distribution: a CausalModel (its observed
        marginals, computed exactly) or a joint table (see backends.estimand_eval)."""
        from causaldsl.backends.estimand_eval import evaluate_query

        return evaluate_query(self, source, **kw)

    def compile(self, names: Sequence[str], types: Any) -> Any:
        """A jitted function of a joint table over ``names`` (with these value types) that
        answers the query; its ``batch`` answers for a stack of tables in one call."""
        from causaldsl.backends.estimand_eval import CompiledQuery

        return CompiledQuery(self, names, types)


def _plain(q: Prob) -> str:
    return str(q)


def identify(source: CausalModel | ADMG, query: str | Prob, method: str | None = None
             ) -> Identification:
    """Identify ``P(Y | do(X), Z)`` on a model (through its graph view) or a graph.

    ``method``: None (back-door or front-door where they apply, else ID/IDC), ``"backdoor"``
    (a minimal back-door set), ``"adjustment"`` (the optimal adjustment set where it is
    defined, else a minimal set by the generalised criterion), ``"frontdoor"``,
    ``"comb"`` or ``"id"``. Raises NotIdentifiable (with the hedge), or QueryError when the named
    rule does not apply.
    """
    from causaldsl.core.types import OpaqueType
    from causaldsl.model.causal_model import CausalModel, Role
    from causaldsl.syntax.query import check_value

    q = parse_query(query) if isinstance(query, str) else query
    if not isinstance(q, Prob):
        raise QueryError(f"identify takes a probability query P(...), got {q}")
    for e in q.interventions:
        if e.world:
            raise QueryError(f"{q}: do({e.term}) intervenes on a potential outcome; write "
                             f"do({e.var} = …), or put the setting in a world")
    if q.is_counterfactual:
        raise QueryError(f"{q}: identifying a counterfactual from observations (ID*/IDC*) is "
                         "not supported yet; ask a model with tables or explicit noise, or see "
                         "causaldsl.counterfactual (ETT, NDE, NIE, and bounds on PN, PS, PNS)")
    if method is not None and method not in METHODS:
        raise QueryError(f"unknown identification method {method!r}; use one of "
                         f"{', '.join(METHODS)}")
    if isinstance(source, CausalModel):
        for e in (*q.outcomes, *q.interventions, *q.evidence):
            if e.var not in source.variables:
                from causaldsl.model.causal_model import did_you_mean

                raise UnknownVariableError(f"{q}: {e.var!r} is not a variable of model "
                                           f"{source.name}{did_you_mean(e.var, source.variables)}")
            role = source.roles[e.var]
            if role is not Role.OBSERVED:
                raise LatentQueryError(f"{q}: {e.var} is {role} in model {source.name}; only "
                                       "observed variables can be identified")
            # a value must be one of the variable's (a node without a type takes any label)
            if e.value is not None and not isinstance(source.variables[e.var].type,
                                                      OpaqueType):
                check_value(source, q, e.var, e.value)
        g = ADMG.from_model(source)
    else:
        g = source
    y = _vars(q.outcomes)
    x = _vars(q.interventions)
    z = _vars(q.evidence)
    g.check([*y, *x, *z], str(q))
    _check_dups(q)
    _check_disjoint(frozenset(y), frozenset(x), g, frozenset(z))
    if method in ("backdoor", "adjustment", "frontdoor", "comb") and (z or not x):
        raise QueryError(f"{q}: the {method} rule answers P(Y | do(X)) with no evidence; use "
                         "method='id' (IDC) for conditional effects")
    if method == "comb":
        from causaldsl.analysis.comb import comb_shape

        comb = comb_shape(g, x, y)
        return Identification(q, comb.estimand, "comb", frozenset(comb.between), g)
    if method == "backdoor" or (method is None and x and not z):
        s = find_backdoor_set(g, x, y)
        if s is not None:
            return Identification(q, backdoor_estimand(g, x, y, s), "backdoor", s, g)
        if method == "backdoor":
            raise NotIdentifiable(f"{q}: no set of observed variables satisfies the back-door "
                                  f"criterion for {show_set(x)} → {show_set(y)}: every "
                                  "candidate leaves a back-door path open (try "
                                  "method='frontdoor' or 'id')", frozenset(), frozenset(),
                                  frozenset())
    if method == "adjustment":
        xs, ys = frozenset(x), frozenset(y)
        s = find_adjustment_set(g, xs, ys) if _no_optimal_set(g, xs, ys) else \
            optimal_adjustment_set(g, xs, ys)
        if s is None:
            raise NotIdentifiable(f"{q}: no set of observed variables satisfies the adjustment "
                                  f"criterion for {show_set(x)} → {show_set(y)} (try "
                                  "method='frontdoor' or 'id')", frozenset(), frozenset(),
                                  frozenset())
        return Identification(q, backdoor_estimand(g, x, y, s), "adjustment", s, g)
    if method == "frontdoor" or (method is None and x and not z):
        s = find_frontdoor_set(g, x, y)
        if s is not None:
            return Identification(q, frontdoor_estimand(g, x, y, s), "frontdoor", s, g)
        if method == "frontdoor":
            raise NotIdentifiable(f"{q}: no set of observed variables satisfies the front-door "
                                  f"criterion for {show_set(x)} → {show_set(y)} (try "
                                  "method='id')", frozenset(), frozenset(), frozenset())
    est = idc_algorithm(g, y, x, z) if z else id_algorithm(g, y, x)
    return Identification(q, est, "id", None, g)


def _vars(events: Sequence[Event]) -> tuple[str, ...]:
    return tuple(e.var for e in events)


def _check_dups(q: Prob) -> None:
    seen: dict[str, str] = {}
    for kind, es in (("outcome", q.outcomes), ("treatment", q.interventions),
                     ("evidence", q.evidence)):
        for e in es:
            if e.var in seen:
                what = f"given twice as {kind}" if seen[e.var] == kind else \
                    f"both {'an' if seen[e.var][0] in 'aeiou' else 'a'} {seen[e.var]} and " \
                    f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
                raise QueryError(f"{q}: {e.var} is {what}")
            seen[e.var] = kind


def is_identifiable(g: ADMG, y: Iterable[str] | str, x: Iterable[str] | str = (),
                    z: Iterable[str] | str = ()) -> bool:
    """Whether ``P(y | do(x), z)`` is identifiable in ``g``."""
    try:
        idc_algorithm(g, y, x, z)
    except NotIdentifiable:
        return False
    return True


__all__ = [
    "ONE",
    "Identification",
    "NotIdentifiable",
    "adjustment_admissible",
    "backdoor_admissible",
    "backdoor_estimand",
    "causal_nodes",
    "find_adjustment_set",
    "find_backdoor_set",
    "find_frontdoor_set",
    "forbidden_nodes",
    "frontdoor_admissible",
    "frontdoor_estimand",
    "id_algorithm",
    "idc_algorithm",
    "identify",
    "is_identifiable",
    "optimal_adjustment_set",
]

