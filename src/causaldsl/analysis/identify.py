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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from causaldsl.analysis.adjustment import (
    _no_optimal_set,
    backdoor_estimand,
    find_adjustment_set,
    find_backdoor_set,
    find_frontdoor_set,
    frontdoor_estimand,
    optimal_adjustment_set,
)
from causaldsl.analysis.comb import comb_shape
from causaldsl.analysis.estimand import Estimand, Sum
from causaldsl.analysis.id_algorithm import _check_disjoint, id_algorithm, idc_algorithm
from causaldsl.core import hooks
from causaldsl.core.errors import (
    CausalTypeError,
    LatentQueryError,
    NotIdentifiable,
    QueryError,
    UnknownVariableError,
    shown,
)
from causaldsl.core.types import Label
from causaldsl.model.graph import ADMG, is_networkx_graph, show_set
from causaldsl.syntax.query import Event, Expect, Linear, Prob, parse_query

if TYPE_CHECKING:
    import networkx as nx

    from causaldsl.model.causal_model import CausalModel
    from causaldsl.model.distribution import Distribution

METHODS = ("backdoor", "adjustment", "frontdoor", "comb", "id")


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

    def _repr_latex_(self) -> str:
        """In a notebook: the query, its formula and the rule, as LaTeX."""
        return (f"$${_plain(self.query)} = {self.latex()}"
                f"\\quad\\text{{(by {self.method})}}$$")

    def to_pandas(self) -> Any:
        """A one-row DataFrame: the query, the rule, the formula as text and as LaTeX, and the
        adjustment set (where the rule has one)."""
        import pandas as pd

        adj = None if self.adjustment is None else ", ".join(sorted(self.adjustment))
        return pd.DataFrame([{"query": str(self.query), "method": self.method,
                              "estimand": self.formula(), "latex": self.latex(),
                              "adjustment": adj}])

    def evaluate(self, source: Any, **kw: Any) -> Distribution | float:
        """The estimand's value on an observational distribution: a CausalModel (its observed
        marginals, computed exactly) or a joint table (see backends.estimand_eval)."""
        return hooks.evaluate_estimand(self, source, **kw)

    def compile(self, names: Sequence[str], types: Any) -> Any:
        """A jitted function of a joint table over ``names`` (with these value types) that
        answers the query; its ``batch`` answers for a stack of tables in one call."""
        return hooks.compile_estimand(self, names, types)


def _plain(q: Prob) -> str:
    return str(q)


def identify(source: CausalModel | ADMG | nx.DiGraph, query: str | Prob,
             method: str | None = None) -> Identification:
    """Identify ``P(Y | do(X), Z)`` on a model (through its graph view) or a graph: an ADMG,
    or a networkx DiGraph read as ``ADMG(digraph)`` reads it (its edges directed, its nodes
    with role "latent" or "exogenous" projected out).

    ``method``: None (back-door or front-door where they apply, else ID/IDC), ``"backdoor"``
    (a minimal back-door set), ``"adjustment"`` (the optimal adjustment set where it is
    defined, else a minimal set by the generalised criterion), ``"frontdoor"``,
    ``"comb"`` or ``"id"``. Raises NotIdentifiable (with the hedge), or QueryError when the named
    rule does not apply.
    """
    q = _identifiable_query(query)
    if method is not None and method not in METHODS:
        raise QueryError(f"unknown identification method {method!r}; use one of "
                         f"{', '.join(METHODS)}")
    if q.is_counterfactual:
        return _counterfactual(source, q, method)
    g = graph_of(source, q)
    y, x, z = _vars(q.outcomes), _vars(q.interventions), _vars(q.evidence)
    g.check([*y, *x, *z], str(q))
    _check_dups(q)
    _check_disjoint(frozenset(y), frozenset(x), g, frozenset(z))
    return _by_rule(g, q, method, y, x, z)


def _identifiable_query(query: str | Prob) -> Prob:
    """The query, parsed: a probability that is no counterfactual and intervenes on no
    potential outcome."""
    q = parse_query(query) if isinstance(query, str) else query
    if not isinstance(q, Prob):
        raise QueryError(f"identify takes a probability query, a string such as "
                         f"\"P(Y | do(X))\" or a parsed P(...), got "
                         f"{q if isinstance(q, Expect | Linear) else shown(q)}")
    for e in q.interventions:
        if e.world:
            raise QueryError(f"{q}: do({e.term}) intervenes on a potential outcome; write "
                             f"do({e.var} = …), or put the setting in a world")
    return q


def _counterfactual(source: CausalModel | ADMG | nx.DiGraph, q: Prob, method: str | None
                    ) -> Identification:
    """A counterfactual query by ID* (IDC* with evidence): settings are point values, or a
    variable's own potential outcome (``Y[X = 1, M = M[X = 0]]``, unnested into
    ``Σ_m P(Y[X = 1, M = m], M[X = 0] = m)``); a ``do(X = x)`` of the query sets X in every
    world that does not set it itself."""
    from causaldsl.analysis.idstar import CfEvent, idc_star

    if method not in (None, "id"):
        raise QueryError(f"{q}: the {method} rule answers P(Y | do(X)); a counterfactual is "
                         "identified by ID*/IDC* (method=None or 'id')")
    for e in (*q.outcomes, *q.evidence):
        for v, x in e.world:
            if x is None:
                raise QueryError(f"{q}: {e.term} leaves {v} open (every value at once); ID* "
                                 f"takes settings to values: identify one value of {v} at a "
                                 "time")
    for e in q.interventions:
        if e.value is None:
            raise QueryError(f"{q}: do({e.var}) has no value; a counterfactual query sets "
                             f"each variable to one value, do({e.var} = …)")
    g = graph_of(source, q)
    names = [e.var for e in (*q.outcomes, *q.interventions, *q.evidence)]
    names += [v for e in (*q.outcomes, *q.evidence) for v, _ in e.world]
    names += [w for e in (*q.outcomes, *q.evidence) for _, x in e.world if isinstance(x, Event)
              for w, _ in x.world]
    g.check(names, str(q))
    events = (*q.outcomes, *q.evidence)
    for e in events:
        if e.value is None and sum(f.var == e.var for f in events) > 1:
            raise QueryError(f"{q}: {e.term} has no value and {e.var} appears in another "
                             "term; ID* names an open value by its variable, so give it a "
                             "value")
    done: dict[str, Label | None] = {e.var: e.value for e in q.interventions}
    nested: dict[str, CfEvent] = {}

    def cf(e: Event, evidence: bool) -> CfEvent:
        world = dict(done)
        for v, x in e.world:
            if isinstance(x, Event):
                if v not in g.ancestors(e.var):  # a setting of a non-ancestor changes
                    continue  # nothing, and unnested it would bring its ancestors in
                world[v] = None
                nested.setdefault(v, _unnested(q, e, v, x, done, evidence))
                if nested[v] != _unnested(q, e, v, x, done, evidence):
                    raise QueryError(f"{q}: {v} is set to two different potential outcomes; "
                                     "ID* sums a nested setting over its variable, so each "
                                     "variable may be set to one")
            else:
                world[v] = x
        return CfEvent(e.var, frozenset(world.items()), e.value)

    gamma = [cf(e, False) for e in q.outcomes]
    delta = [cf(e, True) for e in q.evidence]
    for v in nested:
        if any(e.var == v or any(w == v and not isinstance(x, Event) for w, x in e.world)
               for e in events):
            raise QueryError(f"{q}: {v} is set to a potential outcome and also named "
                             "elsewhere; ID* sums the nested setting over the values of "
                             f"{v}, so {v} may appear only in that setting")
    est = idc_star(g, [*gamma, *nested.values()], delta, str(q))
    if nested:  # P(Y[M = M[X = x']]) = Σ_m P(Y[M = m], M[X = x'] = m)
        est = Sum(tuple(nested), est).simplify()
    return Identification(q, est, "idc*" if q.evidence else "id*", None, g)


def _unnested(q: Prob, e: Event, v: str, x: Event, done: dict[str, Label | None],
              evidence: bool) -> Any:
    """The event ``M[X = x'] = m`` (m open: named by M) that unnests ``M = M[X = x']``; the
    forms ID* takes: the setting's own variable, one world deep, in an outcome."""
    from causaldsl.analysis.idstar import CfEvent

    if x.var != v or any(isinstance(s, Event) or s is None for _, s in x.world) or evidence:
        raise QueryError(f"{q}: {e.term} sets {v} to {x.term}; ID* identifies a nested "
                         "counterfactual in an outcome whose setting is the variable's own "
                         f"potential outcome one world deep ({v} = {v}[…] with values)")
    world: dict[str, Label | None] = {**done, **{w: s for w, s in x.world
                                                 if not isinstance(s, Event)}}
    return CfEvent(v, frozenset(world.items()), None)


def graph_of(source: CausalModel | ADMG | nx.DiGraph, q: Prob) -> ADMG:
    """The graph to identify ``q`` on: a graph itself, or a model's graph view once the query
    is checked against the model (:func:`_check_on_model`)."""
    from causaldsl.model.causal_model import CausalModel

    if isinstance(source, ADMG):
        return source
    if is_networkx_graph(source):
        return ADMG(source)  # its edges directed, its latent nodes projected out
    if not isinstance(source, CausalModel):
        raise CausalTypeError(f"identify takes a CausalModel, an ADMG or a networkx DiGraph "
                              f"(docs/identification.md), got {shown(source)}")
    _check_on_model(source, q)
    return source.admg()


def _check_on_model(model: CausalModel, q: Prob) -> None:
    """Every variable of the query is an observed variable of the model, and each value it
    gives is one of its variable's (a node without a type takes any label)."""
    from causaldsl.core.types import OpaqueType
    from causaldsl.model.causal_model import Role, did_you_mean
    from causaldsl.model.checks import check_value

    settings = [Event(v, x if not isinstance(x, Event) else None)
                for e in (*q.outcomes, *q.evidence) for v, x in e.world]
    for e in (*q.outcomes, *q.interventions, *q.evidence, *settings):
        if e.var not in model.variables:
            raise UnknownVariableError(f"{q}: {e.var!r} is not a variable of model "
                                       f"{model.name}{did_you_mean(e.var, model.variables)}")
        role = model.roles[e.var]
        if role is not Role.OBSERVED:
            raise LatentQueryError(f"{q}: {e.var} is {role} in model {model.name}; only "
                                   "observed variables can be identified")
        if e.value is not None and not isinstance(model.variables[e.var].type, OpaqueType):
            check_value(model, q, e.var, e.value)


def _by_rule(g: ADMG, q: Prob, method: str | None, y: tuple[str, ...], x: tuple[str, ...],
             z: tuple[str, ...]) -> Identification:
    """``q`` identified by the rule ``method`` names; with none, by the back-door or the
    front-door criterion where one applies, else by ID (IDC with evidence)."""
    if method in ("backdoor", "adjustment", "frontdoor", "comb") and (z or not x):
        raise QueryError(f"{q}: the {method} rule answers P(Y | do(X)) with no evidence; use "
                         "method='id' (IDC) for conditional effects")
    if method == "comb":
        comb = comb_shape(g, x, y)
        return Identification(q, comb.estimand, "comb", frozenset(comb.between), g)
    either = method is None and bool(x) and not z  # an effect, no evidence: both criteria
    if method == "backdoor" or either:
        found = _by_backdoor(g, q, x, y, required=method == "backdoor")
        if found is not None:
            return found
    if method == "adjustment":
        return _by_adjustment(g, q, x, y)
    if method == "frontdoor" or either:
        found = _by_frontdoor(g, q, x, y, required=method == "frontdoor")
        if found is not None:
            return found
    est = idc_algorithm(g, y, x, z) if z else id_algorithm(g, y, x)
    return Identification(q, est, "id", None, g)


def _by_backdoor(g: ADMG, q: Prob, x: tuple[str, ...], y: tuple[str, ...], required: bool
                 ) -> Identification | None:
    """Adjustment for a minimal back-door set; None without one, unless the rule is
    ``required`` (NotIdentifiable then)."""
    s = find_backdoor_set(g, x, y)
    if s is not None:
        return Identification(q, backdoor_estimand(g, x, y, s), "backdoor", s, g)
    if required:
        raise NotIdentifiable(f"{q}: no set of observed variables satisfies the back-door "
                              f"criterion for {show_set(x)} → {show_set(y)}: every "
                              "candidate leaves a back-door path open (try "
                              "method='frontdoor' or 'id')", frozenset(), frozenset(),
                              frozenset())
    return None


def _by_adjustment(g: ADMG, q: Prob, x: tuple[str, ...], y: tuple[str, ...]
                   ) -> Identification:
    """Adjustment for the optimal set where it is defined, else a minimal set by the
    generalised adjustment criterion; NotIdentifiable without one."""
    xs, ys = frozenset(x), frozenset(y)
    s = find_adjustment_set(g, xs, ys) if _no_optimal_set(g, xs, ys) else \
        optimal_adjustment_set(g, xs, ys)
    if s is None:
        raise NotIdentifiable(f"{q}: no set of observed variables satisfies the adjustment "
                              f"criterion for {show_set(x)} → {show_set(y)} (try "
                              "method='frontdoor' or 'id')", frozenset(), frozenset(),
                              frozenset())
    return Identification(q, backdoor_estimand(g, x, y, s), "adjustment", s, g)


def _by_frontdoor(g: ADMG, q: Prob, x: tuple[str, ...], y: tuple[str, ...], required: bool
                  ) -> Identification | None:
    """The front-door formula through a minimal front-door set; None without one, unless the
    rule is ``required`` (NotIdentifiable then)."""
    s = find_frontdoor_set(g, x, y)
    if s is not None:
        return Identification(q, frontdoor_estimand(g, x, y, s), "frontdoor", s, g)
    if required:
        raise NotIdentifiable(f"{q}: no set of observed variables satisfies the front-door "
                              f"criterion for {show_set(x)} → {show_set(y)} (try "
                              "method='id')", frozenset(), frozenset(), frozenset())
    return None


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


__all__ = ["METHODS", "Identification", "identify"]

