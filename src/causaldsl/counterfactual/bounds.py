"""Sharp bounds on counterfactual quantities of a treatment X and an outcome Y with finitely many
values each, from the observational distribution P(X, Y), the experimental one P(Y | do(X)), or
both: PN, PS, PNS, and any probability, conditional probability, expectation or linear
combination of them over X and Y's potential outcomes (``P(Y[X = 2] = 1 | X = 0)``,
``E[Y[X = 1]] - E[Y[X = 0]]``).

``bounds`` takes the data as arrays indexed ``[x, y]`` (the values of X and Y are then the
indices 0, 1, …; for PN, PS and PNS on two values, index 1 is the treated x and the outcome y,
index 0 their complements x' and y'), ``bounds_from`` reads them off a model. Both solve the
response-function linear program of ``lp`` (Balke & Pearl), with confounding allowed.
``tian_pearl`` gives Tian & Pearl's (2000) closed forms for binary X and Y, which the program
reproduces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.core.errors import QueryError
from causaldsl.core.types import FiniteType, Label
from causaldsl.counterfactual.lp import Cells, check_size, constraints, solve
from causaldsl.model.causal_model import CausalModel, finite
from causaldsl.syntax.query import (
    Event,
    Expect,
    Linear,
    Prob,
    Query,
    not_numeric_error,
    parse_query,
    show_value,
    terms_of,
)

QUANTITIES = ("PN", "PS", "PNS")


@dataclass(frozen=True)
class Bounds:
    """``low ≤ quantity ≤ high``, sharp for the data given; ``method`` says how."""

    quantity: str
    low: float
    high: float
    method: str

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | float) and self.low - 1e-9 <= value <= self.high + 1e-9

    def __str__(self) -> str:
        return f"{self.low:.6g} ≤ {self.quantity} ≤ {self.high:.6g}  ({self.method})"


@dataclass(frozen=True)
class Setting:
    """What the program is about: the treatment and outcome, named and typed."""

    treatment: str
    outcome: str
    tx: FiniteType
    ty: FiniteType


def bounds(quantity: str | Query, observational: Any = None, experimental: Any = None, *,
           treated: Label | None = None, control: Label | None = None,
           outcome_value: Label | None = None) -> Bounds:
    """Sharp bounds from data given as arrays indexed ``[x, y]``: ``observational`` P(X, Y) and
    ``experimental`` P(Y | do(X)) (row x: the distribution of Y[X = x]). ``quantity``: "PN",
    "PS", "PNS", or a query over X and Y whose values are the indices."""
    obs = None if observational is None else _table(observational, "observational P(X, Y)", True)
    exp = None if experimental is None else _table(experimental, "experimental P(Y | do(X))",
                                                  False)
    shapes = {a.shape for a in (obs, exp) if a is not None}
    if len(shapes) > 1:
        raise QueryError(f"the observational and experimental data disagree on the sizes of X "
                         f"and Y: {' and '.join(' × '.join(map(str, s)) for s in shapes)}")
    if not shapes:
        raise QueryError(f"bounds on {quantity} need observational data P(X, Y), experimental "
                         "data P(Y | do(X)), or both")
    nx, ny = shapes.pop()
    s = Setting("X", "Y", FiniteType(range(nx)), FiniteType(range(ny)))
    return _bounds(s, quantity, obs, exp, treated, control, outcome_value)


def bounds_from(model: CausalModel, quantity: str | Query, treatment: str, outcome: str, *,
                treated: Label | None = None, control: Label | None = None,
                outcome_value: Label | None = None, experimental: bool = True) -> Bounds:
    """Sharp bounds from a model's own P(X, Y) and, with ``experimental``, P(Y | do(X)): what
    its tables determine when the quantity itself is not determined. ``quantity``: "PN", "PS",
    "PNS", or a query over ``treatment`` and ``outcome`` with the model's labels."""
    from causaldsl.backends.exact import engine_for

    s = Setting(treatment, outcome, finite(model[treatment].type, f"treatment {treatment}"),
                finite(model[outcome].type, f"outcome {outcome}"))
    check_size(s.tx.size, s.ty.size, treatment, outcome)
    engine = engine_for(model)
    obs = np.asarray(engine.query(Prob((Event(treatment), Event(outcome)))), dtype=np.float64)
    exp = (np.asarray(engine.query(Prob((Event(outcome),), (Event(treatment),))),
                      dtype=np.float64) if experimental else None)
    return _bounds(s, quantity, obs, exp, treated, control, outcome_value)


def _bounds(s: Setting, quantity: str | Query, obs: np.ndarray | None, exp: np.ndarray | None,
            treated: Label | None, control: Label | None, outcome_value: Label | None
            ) -> Bounds:
    cells = check_size(s.tx.size, s.ty.size, s.treatment, s.outcome)
    q: Query
    if isinstance(quantity, str) and quantity.upper() in QUANTITIES:
        q = _named(s, str(quantity).upper(), obs, treated, control, outcome_value)
        name = str(quantity).upper()
    else:
        if isinstance(quantity, str):
            q = _parse(quantity)
        elif isinstance(quantity, Prob | Expect | Linear):
            q = quantity
        else:
            raise QueryError(f"bounds are for {', '.join(QUANTITIES)} or a query over X and Y, "
                             f"not {quantity!r}")
        name = str(q)
    a, b = constraints(cells, obs, exp)
    num, den = _target(s, cells, q, a, b)
    sol = solve(name, a, b, num, den)
    low, high = sol.low, sol.high
    if isinstance(q, Prob):  # a probability: HiGHS's rounding kept inside [0, 1]
        low, high = max(0.0, low), min(1.0, high)
    data = "observational and experimental" if obs is not None and exp is not None else (
        "observational" if obs is not None else "experimental")
    method = (f"linear program over response functions (Balke & Pearl): {s.tx.size} · "
              f"{s.ty.size}^{s.tx.size} = {cells.size:,} cells, {data} data")
    return Bounds(name, low, high, method)


def _parse(text: str) -> Query:
    if text.strip().isidentifier():
        raise QueryError(f"bounds are for {', '.join(QUANTITIES)} or a query over the treatment "
                         f"and the outcome (\"E[Y[X = 1]] - E[Y[X = 0]]\"), not {text!r}")
    return parse_query(text)


def _named(s: Setting, q: str, obs: np.ndarray | None, treated: Label | None,
           control: Label | None, outcome_value: Label | None) -> Prob:
    """PN, PS or PNS as a query: with y the outcome value, PN = P(Y[x0] ≠ y | x1, y), written
    with y' the other value of a two-valued Y."""
    from causaldsl.counterfactual.quantities import levels_of

    x1, x0 = levels_of(s.tx, s.treatment, treated, control)
    if s.ty.size != 2:
        raise QueryError(f"{q} needs an outcome with two values; {s.outcome} has "
                         f"{s.ty.size} values {s.ty.listing}: bound a query over it instead, "
                         f"e.g. \"P({s.outcome}[{s.treatment} = {show_value(x1)}] = … | "
                         f"{s.treatment} = {show_value(x0)})\"")
    y1 = s.ty.values[-1] if outcome_value is None else s.ty.values[s.ty.index(outcome_value)]
    y0 = s.ty.values[1 - s.ty.index(y1)]
    t, o = s.treatment, s.outcome
    if q != "PNS" and obs is None:
        raise QueryError(f"{q} conditions on the factual {t} and {o}, so it needs "
                         f"observational data P({t}, {o})")
    yes, no = Event(o, y1, ((t, x1),)), Event(o, y0, ((t, x0),))
    if q == "PN":
        return Prob((no,), (), (Event(t, x1), Event(o, y1)))
    if q == "PS":
        return Prob((yes,), (), (Event(t, x0), Event(o, y0)))
    return Prob((yes, no))


# -- the quantity as cells ------------------------------------------------------------------

def _target(s: Setting, cells: Cells, q: Query, a: Any, b: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """``q`` as ``num · q / den · q`` over the cells (``den`` None: no condition). Terms of a
    sum that condition on different events need each condition's probability fixed by the
    data; one condition shared by every term may be any event (Charnes–Cooper)."""
    x, resp = cells.arrays()
    parts = []
    for c, term in terms_of(q):
        num, den = _term(s, x, resp, term, q)
        parts.append((c, num, den))
    dens = [d for _, _, d in parts]
    if all(d is None for d in dens):
        return sum(c * n for c, n, _ in parts), None  # type: ignore[return-value]
    first = dens[0]
    if first is not None and all(d is not None and np.array_equal(d, first) for d in dens):
        return sum(c * n for c, n, _ in parts), first  # type: ignore[return-value]
    total = np.zeros(cells.size)
    for (c, num, den), (_, term) in zip(parts, terms_of(q), strict=True):
        if den is None:
            total += c * num
            continue
        fixed = solve(str(term), a, b, den, None)
        if fixed.high - fixed.low > 1e-9:
            raise QueryError(
                f"{q}: the terms condition on different events, and the data do not fix the "
                f"probability of {_condition(term)} (it can be anything from "
                f"{fixed.low:.6g} to {fixed.high:.6g}); bound each term on its own")
        if fixed.high <= 0:
            raise QueryError(f"{q}: {_condition(term)} has probability zero in the data")
        total += c * num / fixed.high
    return total, None


def _condition(term: Prob | Expect) -> str:
    p = term.prob if isinstance(term, Expect) else term
    return ", ".join(map(str, p.evidence))


def _term(s: Setting, x: np.ndarray, resp: np.ndarray, term: Prob | Expect, q: Query
          ) -> tuple[np.ndarray, np.ndarray | None]:
    """One probability or expectation: the cells of its outcomes and evidence (weighted by
    the outcome's value for an expectation) and the cells of its evidence."""
    p = term.prob if isinstance(term, Expect) else term
    done: dict[str, Label] = {}
    for e in p.interventions:
        if e.var != s.treatment or e.value is None or e.world:
            raise QueryError(f"{q}: the bounds' program has do({s.treatment} = …) only, not "
                             f"do({e})")
        done[e.var] = e.value
    given = np.ones(len(x), dtype=bool)
    for e in p.evidence:
        given &= _mask(s, x, resp, e, done, q)
    num = given.astype(np.float64)
    for e in p.outcomes:
        if isinstance(term, Expect):
            values = s.ty.numeric() if e.var == s.outcome else s.tx.numeric()
            if values is None:
                raise not_numeric_error(e.term, s.ty if e.var == s.outcome else s.tx)
            t = s.ty if e.var == s.outcome else s.tx
            num = num * sum(v * _mask(s, x, resp, Event(e.var, t.values[i], e.world), done, q)
                            for i, v in enumerate(values))
        else:
            num = num * _mask(s, x, resp, e, done, q)
    return num, (given.astype(np.float64) if p.evidence else None)


def _mask(s: Setting, x: np.ndarray, resp: np.ndarray, e: Event, done: dict[str, Label],
          q: Query) -> np.ndarray:
    """The cells where the event holds."""
    if e.var not in (s.treatment, s.outcome):
        raise QueryError(f"{q}: {e.term} is not about the treatment {s.treatment} or the "
                         f"outcome {s.outcome}, the two variables the bounds are over")
    if e.value is None:
        raise QueryError(f"{q}: {e.term} has no value; bounds are on a number, so give it one "
                         f"(a value of {e.var}: {(s.tx if e.var == s.treatment else s.ty).listing})")
    world = dict(done)
    for v, val in e.world:
        if v not in (s.treatment, s.outcome):
            raise QueryError(f"{q}: {e.term} sets {v}, which is not the treatment "
                             f"{s.treatment} or the outcome {s.outcome}")
        if isinstance(val, Event) or val is None:
            raise QueryError(f"{q}: {e.term} sets {v} to {val if val is None else val.term}; "
                             "the bounds' program takes settings to values")
        world[v] = val
    t = s.tx if e.var == s.treatment else s.ty
    want = t.index(e.value)
    if e.var in world:  # its own world sets it: the event holds everywhere or nowhere
        return np.full(len(x), t.index(world[e.var]) == want)
    if e.var == s.treatment:  # nothing the program knows causes the treatment
        return x == want
    if s.treatment in world:
        return resp[:, s.tx.index(world[s.treatment])] == want
    return resp[np.arange(len(x)), x] == want


def tian_pearl(quantity: str, observational: Any, experimental: Any = None) -> Bounds:
    """Tian & Pearl's (2000) closed-form bounds for binary X and Y, arrays indexed [x, y];
    PN and PS need both kinds of data."""
    q = quantity.upper()
    if q not in QUANTITIES:
        raise QueryError(f"Tian & Pearl's bounds are for {', '.join(QUANTITIES)}, not "
                         f"{quantity!r}")
    obs = None if observational is None else _table(observational, "observational P(X, Y)", True)
    exp = None if experimental is None else _table(experimental, "experimental P(Y | do(X))",
                                                  False)
    for arr in (obs, exp):
        if arr is not None and arr.shape != (2, 2):
            raise QueryError(f"Tian & Pearl's bounds are for a binary X and Y, not data of "
                             f"shape {arr.shape}")
    if exp is None:
        if q != "PNS" or obs is None:
            raise QueryError(f"the closed form for {q} needs experimental data")
        return Bounds(q, 0.0, float(obs[1, 1] + obs[0, 0]), "Tian & Pearl, observational data")
    y_x, y_x_ = exp[1, 1], exp[0, 1]          # P(Y[x] = y), P(Y[x'] = y)
    yn_x_ = exp[0, 0]                          # P(Y[x'] = y')
    if obs is None:
        if q != "PNS":
            raise QueryError(f"{q} conditions on the factual X and Y, so it needs "
                             "observational data P(X, Y)")
        return Bounds(q, max(0.0, y_x - y_x_), min(y_x, yn_x_),
                      "Tian & Pearl, experimental data")
    p_y = obs[0, 1] + obs[1, 1]
    xy, x_y_, xy_, x_y = obs[1, 1], obs[0, 0], obs[1, 0], obs[0, 1]
    if q == "PNS":
        low = max(0.0, y_x - y_x_, p_y - y_x_, y_x - p_y)
        high = min(y_x, yn_x_, xy + x_y_, y_x - y_x_ + xy_ + x_y)
    elif q == "PN":
        low = max(0.0, (p_y - y_x_) / xy)
        high = min(1.0, (yn_x_ - x_y_) / xy)
    else:
        low = max(0.0, (y_x - p_y) / x_y_)
        high = min(1.0, (y_x - xy) / x_y_)
    return Bounds(q, float(low), float(high), "Tian & Pearl, observational and experimental data")


def _table(data: Any, what: str, joint: bool) -> np.ndarray:
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim != 2 or 0 in arr.shape or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise QueryError(f"{what} must be a 2-D array of probabilities indexed [x, y] "
                         f"(|X| × |Y|, e.g. 2 × 2), not {arr.tolist()}")
    sums = arr.sum() if joint else arr.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        raise QueryError(f"{what} must sum to one{' ' if joint else ' in each row '}"
                         f"(it sums to {np.round(sums, 6).tolist()})")
    return arr / (sums if joint else sums[:, None])  # renormalised, as tables are


__all__ = ["QUANTITIES", "Bounds", "bounds", "bounds_from", "tian_pearl"]
