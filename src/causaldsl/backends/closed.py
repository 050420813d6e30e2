"""Closed forms: a linear-Gaussian model (every mechanism ``~ Normal(affine, s)`` or
``:= affine``, on unbounded Real variables) is one Gaussian over independent standard normals, so
interventions, conditioning and counterfactuals are answered exactly by linear algebra."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from causaldsl.core.errors import QueryError, ZeroProbabilityError
from causaldsl.core.types import RealType
from causaldsl.ir.mechanism import ExprMechanism
from causaldsl.model.causal_model import CausalModel
from causaldsl.syntax.printer import expr as expr_text
from causaldsl.syntax.tree import Binary, Call, DistCall, Num, Unary, Var, fold

#: Each variable as ``mean + loadings @ eps`` over independent standard normals ``eps``.
Affine = tuple[float, dict[int, float]]

#: What a number beyond the floats is told: the largest float, about 1.8e308.
RANGE = f"the floating-point range (±{np.finfo(np.float64).max:.2g})"


class NotANumber(Exception):
    """An expression of a mechanism whose value is no float (an overflow, a division by zero,
    a complex power); :func:`gaussian` names the variable in a QueryError."""


def gaussian(model: CausalModel, fixed: Mapping[str, float], names: Sequence[str]
             ) -> dict[str, Affine] | None:
    """The variables ``names`` (and their ancestors) as affine maps of standard normals, with
    the ``fixed`` variables cut; None when some mechanism is not linear-Gaussian."""
    keep = model.ancestors(names, cut=fixed)
    out: dict[str, Affine] = {}
    column = 0  # the next standard normal
    for name, v in model.variables.items():
        if name not in keep:
            continue
        if name in fixed:
            out[name] = (float(fixed[name]), {})
            continue
        m = v.mechanism
        if not isinstance(v.type, RealType) or not isinstance(m, ExprMechanism):
            return None
        if v.type.low > -math.inf or v.type.high < math.inf:
            return None  # a bounded Real is not Gaussian; sampling checks its bounds
        try:
            got, column = _mechanism(m, out, column)
        except NotANumber as e:
            raise QueryError(f"variable {name} {m}: {e}") from None
        if got is None:
            return None
        if not _finite(got):
            raise QueryError(f"variable {name} {m}: a number in it leaves {RANGE}; rescale "
                             "the model")
        out[name] = got
    return out


def _mechanism(m: ExprMechanism, env: Mapping[str, Affine], column: int
               ) -> tuple[Affine | None, int]:
    """One mechanism as an affine map (None if it is not linear-Gaussian), and the next free
    noise column."""
    with np.errstate(over="ignore", invalid="ignore"):
        if m.kind == "assign":
            return _affine(m.expr, env), column
        if isinstance(m.expr, DistCall) and m.expr.name == "Normal" and len(m.expr.args) == 2:
            mean, scale = _affine(m.expr.args[0], env), _affine(m.expr.args[1], env)
            if mean is None or scale is None or scale[1] or not scale[0] > 0:
                return None, column
            return (mean[0], {**mean[1], column: scale[0]}), column + 1
    return None, column


def _finite(a: Affine) -> bool:
    return math.isfinite(a[0]) and all(map(math.isfinite, a[1].values()))


def condition(joint: Mapping[str, Affine], target: str, evidence: Mapping[str, float]
              ) -> tuple[float, float]:
    """Mean and standard deviation of ``target`` given ``evidence``, by Gaussian conditioning.

    The loadings are divided by a power of two near the largest (exactly, in floating point)
    and the deviation multiplied back, so a variance beyond the floats (a deviation of 1e200)
    is no overflow; a mean or a deviation beyond them is a QueryError."""
    cols = sorted({k for _, load in joint.values() for k in load})
    pos = {k: i for i, k in enumerate(cols)}
    names = list(evidence)
    rows = np.zeros((1 + len(names), len(cols)))
    for i, n in enumerate((target, *names)):
        for k, c in joint[n][1].items():
            rows[i, pos[k]] = c
    largest = float(np.max(np.abs(rows))) if rows.size else 0.0
    scale = math.ldexp(1.0, math.frexp(largest)[1]) if largest > 0 else 1.0
    rows /= scale
    t, L = rows[0], rows[1:]
    mean, var = joint[target][0], float(t @ t)
    if names:
        resid = np.array([evidence[n] - joint[n][0] for n in names]) / scale
        cov = L @ L.T
        sol, *_ = np.linalg.lstsq(cov, resid, rcond=None)
        if not np.allclose(cov @ sol, resid, atol=1e-9 * (1 / scale + np.abs(resid).max())):
            shown = ", ".join(f"{n} = {evidence[n]:g}" for n in names)
            raise ZeroProbabilityError(f"the evidence {shown} is impossible in this model (the "
                                       "variables are tied by a deterministic relation it "
                                       "breaks)")
        pinv = np.linalg.pinv(cov)
        cross = L @ t
        with np.errstate(over="ignore", invalid="ignore"):
            mean += scale * float(cross @ pinv @ resid)
        var -= float(cross @ pinv @ cross)
    with np.errstate(over="ignore", invalid="ignore"):
        sd = scale * math.sqrt(max(var, 0.0))
    if not (math.isfinite(mean) and math.isfinite(sd)):
        given = f" given {', '.join(names)}" if names else ""
        raise QueryError(f"the distribution of {target}{given} leaves {RANGE} (mean {mean:g}, "
                         f"standard deviation {sd:g}); rescale the model")
    return mean, sd


def _affine(e: Any, env: Mapping[str, Affine]) -> Affine | None:
    """``e`` as an affine map of the noise columns, or None if it is not affine (walked with
    ``fold``: a generated sum is a tree as deep as it is long)."""

    def leave(x: Any, vs: list[Affine | None]) -> Affine | None:
        if isinstance(x, Num):
            return float(x.value), {}
        if isinstance(x, Var):
            return env.get(x.name)
        if isinstance(x, Unary) and x.op == "-":
            return None if vs[0] is None else _scale(vs[0], -1.0)
        if isinstance(x, Call) and x.func == "sqrt" and len(x.args) == 1:
            a = vs[0]
            return (float(np.sqrt(a[0])), {}) if a is not None and not a[1] and a[0] >= 0 else None
        if isinstance(x, Binary):
            return _affine_binary(x, *vs)
        return None

    return fold(e, leave, kids=_affine_kids)


def _affine_kids(e: Any) -> tuple[Any, ...]:
    """The subexpressions whose affine form decides ``e``'s (none where ``e`` is not affine)."""
    if isinstance(e, Unary) and e.op == "-":
        return (e.arg,)
    if isinstance(e, Call) and e.func == "sqrt" and len(e.args) == 1:
        return (e.args[0],)
    return (e.left, e.right) if isinstance(e, Binary) else ()


def _affine_binary(e: Binary, a: Affine | None, b: Affine | None) -> Affine | None:
    """``a op b`` (``e``'s operator) as an affine map, or None."""
    op = e.op
    if a is None or b is None:
        return None
    if op in ("+", "-"):
        sign = 1.0 if op == "+" else -1.0
        load = dict(a[1])
        for k, c in b[1].items():
            load[k] = load.get(k, 0.0) + sign * c
        return a[0] + sign * b[0], load
    if op == "*" and (not a[1] or not b[1]):
        const, other = (a, b) if not a[1] else (b, a)
        return _scale(other, const[0])
    if op == "/" and not b[1] and b[0] != 0:
        return _scale(a, 1.0 / b[0])
    if op == "^" and not a[1] and not b[1]:
        return _power(a[0], b[0], e), {}
    return None


def _power(a: float, b: float, e: Binary) -> float:
    """``a ^ b`` as a float, or NotANumber saying why there is none."""
    try:
        got = a ** b
    except OverflowError:
        raise NotANumber(f"{expr_text(e)} is beyond {RANGE}; rescale the model") from None
    except ZeroDivisionError:
        raise NotANumber(f"{expr_text(e)} divides by zero") from None
    if isinstance(got, complex):
        raise NotANumber(f"{expr_text(e)} is not a real number") from None
    return got


def _scale(a: Affine, k: float) -> Affine:
    return a[0] * k, {c: k * x for c, x in a[1].items()}
