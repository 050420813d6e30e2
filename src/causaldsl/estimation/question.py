"""A query read as an estimation question: a linear combination of means of an outcome
function ``f(Y)`` (``E[Y]``, or the indicator of ``Y = y`` for ``P(Y = y)``) under one treatment
setting ``do(X = x)``, within a covariate stratum (``W = w``) or among those with ``X = x'``
(``E[Y[X = x] | X = x']``, the effect on the treated)."""

from __future__ import annotations

from dataclasses import dataclass

from causaldsl.core.errors import QueryError
from causaldsl.core.types import Label
from causaldsl.syntax.query import Event, Expect, Prob, Query, parse_query, terms_of


@dataclass(frozen=True)
class Outcome:
    """``f(Y)``: the values of ``var`` (``E[var]``), or the indicator of ``events``."""

    var: str | None = None
    events: tuple[tuple[str, Label], ...] = ()

    @property
    def variables(self) -> tuple[str, ...]:
        return (self.var,) if self.var is not None else tuple(v for v, _ in self.events)

    def __str__(self) -> str:
        if self.var is not None:
            return self.var
        return ", ".join(f"{v} = {x}" for v, x in self.events)


@dataclass(frozen=True)
class Mean:
    """One term: ``coef × E[f(Y) | do(treatment = value)]`` over the stratum ``where`` and, for
    the effect on the treated, the rows with ``treatment = treated``."""

    coef: float
    outcome: Outcome
    treatment: str
    value: Label
    where: tuple[tuple[str, Label], ...] = ()
    treated: Label | None = None
    text: str = ""


@dataclass(frozen=True)
class Question:
    query: Query
    means: tuple[Mean, ...]

    @property
    def treatment(self) -> str:
        return self.means[0].treatment

    @property
    def outcomes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for m in self.means for v in m.outcome.variables))

    @property
    def strata(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for m in self.means for v, _ in m.where))

    def __str__(self) -> str:
        return str(self.query)


def read_question(query: str | Query) -> Question:
    """The question a query asks, or a QueryError saying which part is not a mean under one
    treatment setting."""
    q = parse_query(query) if isinstance(query, str) else query
    terms = terms_of(q)
    means = tuple(_mean(c, t, q) for c, t in terms)
    xs = {m.treatment for m in means}
    if len(xs) > 1:
        raise QueryError(f"{q}: its terms set different treatments ({', '.join(sorted(xs))}); "
                         "an estimate compares settings of one treatment")
    return Question(q, means)


def _mean(coef: float, term: Prob | Expect, whole: Query) -> Mean:
    p = term.prob if isinstance(term, Expect) else term
    text = str(term)
    if isinstance(term, Expect):
        (y,) = p.outcomes
        outcome = Outcome(var=y.var)
    else:
        open_ = [e.term for e in p.outcomes if e.value is None]
        if open_:
            raise QueryError(f"{text} is a table over {', '.join(open_)}; an estimate is a "
                             f"number: name the value ({open_[0]} = ...), or ask for the table "
                             "with method plugin")
        outcome = Outcome(events=tuple((e.var, e.value) for e in p.outcomes
                                       if e.value is not None))
    worlds = [e for e in p.outcomes if e.world]
    if worlds:
        return _on_the_treated(coef, outcome, p, worlds, text)
    if len(p.interventions) != 1:
        what = "no do(...)" if not p.interventions else \
            f"{len(p.interventions)} interventions"
        raise QueryError(f"{text} has {what}; an estimate takes means under one treatment "
                         f"setting, do(X = x), in each term of {whole}")
    (x,) = p.interventions
    if x.value is None:
        raise QueryError(f"{text}: name the treatment's value, do({x.var} = ...); an estimate "
                         "is a number for one setting")
    return Mean(coef, outcome, x.var, x.value, _stratum(p.evidence, text), None, text)


def _on_the_treated(coef: float, outcome: Outcome, p: Prob, worlds: list[Event],
                    text: str) -> Mean:
    """``E[Y[X = x] | X = x', W = w]``: the mean of a potential outcome among the treated."""
    settings = {w for e in worlds for w in e.world}
    if p.interventions or len(settings) != 1 or any(len(e.world) != 1 for e in worlds) \
            or len(worlds) != len(p.outcomes):
        raise QueryError(f"{text}: an estimate takes potential outcomes under one setting of "
                         "one treatment, E[Y[X = x] | X = x'] (the effect on the treated)")
    ((x, value),) = settings
    if isinstance(value, Event):
        raise QueryError(f"{text}: a world set to another world's variable is not estimated "
                         "from data yet")
    if value is None:
        raise QueryError(f"{text}: an estimate is a number for one setting; give {x} a value "
                         f"in the world, {x} = ...")
    on = [e for e in p.evidence if e.var == x]
    if not on or on[0].value is None or on[0].world:
        raise QueryError(f"{text}: a potential outcome {x} = {value} needs the population it "
                         f"is asked of, e.g. | {x} = ... (the effect on the treated); without "
                         f"it, write do({x} = {value})")
    rest = tuple(e for e in p.evidence if e.var != x)
    return Mean(coef, outcome, x, value, _stratum(rest, text), on[0].value, text)


def _stratum(evidence: tuple[Event, ...], text: str) -> tuple[tuple[str, Label], ...]:
    out = []
    for e in evidence:
        if e.world:
            raise QueryError(f"{text}: evidence on a potential outcome ({e.term}) is not "
                             "estimated from data yet")
        if e.value is None:
            raise QueryError(f"{text}: name the stratum's value, {e.var} = ...; an estimate is "
                             "a number for one stratum")
        out.append((e.var, e.value))
    return tuple(out)
