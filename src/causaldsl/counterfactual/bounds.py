"""Sharp bounds on PN, PS and PNS for a binary treatment X and outcome Y, from the observational
distribution P(X, Y) and, if given, the experimental one P(Y | do(X)).

``bounds`` solves Balke & Pearl's linear program over response types: X's value (2) times Y's
response to X (4: never, helped, hurt, always), with confounding allowed (any joint over the
8 cells). ``tian_pearl`` gives Tian & Pearl's (2000) closed forms, which the LP reproduces.
Arrays are indexed ``[x, y]``, with index 1 the treated value x and the outcome y, index 0
their complements x' and y'.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.core.errors import QueryError
from causaldsl.core.types import Label
from causaldsl.model.causal_model import CausalModel, finite
from causaldsl.syntax.query import Event, Prob

QUANTITIES = ("PN", "PS", "PNS")
#: Y's response types (Y[X = x'], Y[X = x]) as indices; (0, 1) is "helped": y' without, y with.
TYPES = tuple(itertools.product((0, 1), (0, 1)))
HELPED = TYPES.index((0, 1))


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


def bounds(quantity: str, observational: Any = None, experimental: Any = None) -> Bounds:
    """Sharp bounds by Balke & Pearl's linear program (scipy's HiGHS)."""
    from scipy.optimize import linprog

    q = _quantity(quantity)
    obs, exp = _data(q, observational, experimental)
    a_eq, b_eq = [np.ones(8)], [1.0]
    cell = {(rx, t): rx * 4 + t for rx in (0, 1) for t in range(4)}
    # observational P(x, y): cells with X = x whose response gives y; experimental P(Y[x] = y):
    # cells of either X whose response gives y
    for data, factual in ((obs, True), (exp, False)):
        if data is None:
            continue
        for x, y in itertools.product((0, 1), (0, 1)):
            row = np.zeros(8)
            for rx, (t, resp) in itertools.product((0, 1), enumerate(TYPES)):
                if resp[x] == y and (rx == x or not factual):
                    row[cell[rx, t]] = 1
            a_eq.append(row)
            b_eq.append(data[x, y])
    c = np.zeros(8)
    if q == "PNS":
        c[[cell[0, HELPED], cell[1, HELPED]]] = 1
    elif q == "PN":
        c[cell[1, HELPED]] = 1 / obs[1, 1]
    else:
        c[cell[0, HELPED]] = 1 / obs[0, 0]
    ends = []
    for sign in (1, -1):
        res = linprog(sign * c, A_eq=np.array(a_eq), b_eq=np.array(b_eq), bounds=(0, None),
                      method="highs")
        if res.status != 0:
            raise QueryError(f"{q} bounds: no model has these distributions (the linear "
                             f"program is {res.message.lower().rstrip('.')}); the observational "
                             "and experimental data contradict each other, e.g. P(x, y) > "
                             "P(Y[x] = y)")
        ends.append(sign * float(res.fun))
    data = "observational and experimental" if obs is not None and exp is not None else (
        "observational" if obs is not None else "experimental")
    return Bounds(q, max(0.0, ends[0]), min(1.0, ends[1]),
                  f"linear program over response types (Balke & Pearl), {data} data")


def tian_pearl(quantity: str, observational: Any, experimental: Any = None) -> Bounds:
    """Tian & Pearl's (2000) closed-form bounds; PN and PS need both kinds of data."""
    q = _quantity(quantity)
    obs, exp = _data(q, observational, experimental)
    if exp is None:
        if q != "PNS" or obs is None:
            raise QueryError(f"the closed form for {q} needs experimental data")
        return Bounds(q, 0.0, float(obs[1, 1] + obs[0, 0]), "Tian & Pearl, observational data")
    y_x, y_x_ = exp[1, 1], exp[0, 1]          # P(Y[x] = y), P(Y[x'] = y)
    yn_x_ = exp[0, 0]                          # P(Y[x'] = y')
    if obs is None:
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


def bounds_from(model: CausalModel, quantity: str, treatment: str, outcome: str, *,
                treated: Label | None = None, control: Label | None = None,
                outcome_value: Label | None = None, experimental: bool = True) -> Bounds:
    """Sharp bounds from a model's own P(X, Y) and, with ``experimental``, P(Y | do(X)): what
    its tables determine when the quantity itself is not determined."""
    from causaldsl.backends.exact import engine_for
    from causaldsl.counterfactual.quantities import _levels, _other

    q = _quantity(quantity)
    tx = finite(model[treatment].type, f"treatment {treatment}")
    ty = finite(model[outcome].type, f"outcome {outcome}")
    for role, var, t in (("treatment", treatment, tx), ("outcome", outcome, ty)):
        if t.size != 2:
            raise QueryError(f"bounds on {q} need a binary treatment and outcome (Balke & "
                             f"Pearl's linear program and Tian & Pearl's bounds are for two "
                             f"values each); the {role} {var} has {t.size} values {t.listing}")
    x1, x0 = _levels(model, treatment, treated, control)
    y1, y0 = _other(ty, outcome_value)
    order: Any = np.ix_(np.array([tx.index(x0), tx.index(x1)]), np.array([ty.index(y0), ty.index(y1)]))
    engine = engine_for(model)
    obs = np.asarray(engine.query(Prob((Event(treatment), Event(outcome)))))[order]
    exp = (np.asarray(engine.query(Prob((Event(outcome),), (Event(treatment),))))[order]
           if experimental else None)
    return bounds(quantity, obs, exp)


def _quantity(quantity: str) -> str:
    q = quantity.upper()
    if q not in QUANTITIES:
        raise QueryError(f"bounds are for {', '.join(QUANTITIES)}, not {quantity!r}")
    return q


def _data(q: str, observational: Any, experimental: Any) -> tuple[Any, Any]:
    obs = None if observational is None else _square(observational, "observational P(X, Y)", True)
    exp = None if experimental is None else _square(experimental, "experimental P(Y | do(X))",
                                                   False)
    if obs is None and exp is None:
        raise QueryError(f"{q} bounds need observational data P(X, Y), experimental data "
                         "P(Y | do(X)), or both")
    if q != "PNS" and obs is None:
        raise QueryError(f"{q} conditions on the factual X and Y, so it needs observational "
                         "data P(X, Y)")
    if q == "PN" and obs is not None and obs[1, 1] <= 0:
        raise QueryError("PN conditions on X = x, Y = y, which has probability zero")
    if q == "PS" and obs is not None and obs[0, 0] <= 0:
        raise QueryError("PS conditions on X = x', Y = y', which has probability zero")
    return obs, exp


def _square(data: Any, what: str, joint: bool) -> np.ndarray:
    arr = np.asarray(data, dtype=np.float64)
    if arr.shape != (2, 2) or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise QueryError(f"{what} must be a 2 × 2 array of probabilities indexed [x, y], not "
                         f"{arr.tolist()}")
    sums = arr.sum() if joint else arr.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        raise QueryError(f"{what} must sum to one{' ' if joint else ' in each row '}"
                         f"(it sums to {np.round(sums, 6).tolist()})")
    return arr / (sums if joint else sums[:, None])  # renormalised, as tables are
