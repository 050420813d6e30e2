"""Closed forms: a linear-Gaussian model (every mechanism ``~ Normal(affine, s)`` or
``:= affine``, on unbounded Real variables) is one Gaussian over independent standard normals, so
interventions, conditioning and counterfactuals are answered exactly by linear algebra."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from causaldsl.core.errors import ZeroProbabilityError
from causaldsl.core.types import RealType
from causaldsl.ir.mechanism import ExprMechanism
from causaldsl.model.causal_model import CausalModel
from causaldsl.syntax.tree import Binary, Call, DistCall, Num, Unary, Var, fold

#: Each variable as ``mean + loadings @ eps`` over independent standard normals ``eps``.
Affine = tuple[float, dict[int, float]]


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
        if m.kind == "assign":
            got = _affine(m.expr, out)
        elif isinstance(m.expr, DistCall) and m.expr.name == "Normal" and len(m.expr.args) == 2:
            mean, scale = _affine(m.expr.args[0], out), _affine(m.expr.args[1], out)
            if mean is None or scale is None or scale[1] or scale[0] <= 0:
                return None
            got = (mean[0], {**mean[1], column: scale[0]})
            column += 1
        else:
            return None
        if got is None:
            return None
        out[name] = got
    return out


def condition(joint: Mapping[str, Affine], target: str, evidence: Mapping[str, float]
              ) -> tuple[float, float]:
    """Mean and variance of ``target`` given ``evidence``, by Gaussian conditioning."""
    cols = sorted({k for _, load in joint.values() for k in load})
    pos = {k: i for i, k in enumerate(cols)}

    def row(name: str) -> np.ndarray:
        r = np.zeros(len(cols))
        for k, c in joint[name][1].items():
            r[pos[k]] = c
        return r

    t = row(target)
    mean, var = joint[target][0], float(t @ t)
    if not evidence:
        return mean, var
    names = list(evidence)
    L = np.array([row(n) for n in names]).reshape(len(names), len(cols))
    resid = np.array([evidence[n] - joint[n][0] for n in names])
    cov = L @ L.T
    sol, *_ = np.linalg.lstsq(cov, resid, rcond=None)
    if not np.allclose(cov @ sol, resid, atol=1e-9 * (1 + np.abs(resid).max())):
        shown = ", ".join(f"{n} = {evidence[n]:g}" for n in names)
        raise ZeroProbabilityError(f"the evidence {shown} is impossible in this model (the "
                                   "variables are tied by a deterministic relation it breaks)")
    pinv = np.linalg.pinv(cov)
    cross = L @ t
    return mean + float(cross @ pinv @ resid), max(var - float(cross @ pinv @ cross), 0.0)


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
            return _affine_binary(x.op, *vs)
        return None

    return fold(e, leave, kids=_affine_kids)


def _affine_kids(e: Any) -> tuple[Any, ...]:
    """The subexpressions whose affine form decides ``e``'s (none where ``e`` is not affine)."""
    if isinstance(e, Unary) and e.op == "-":
        return (e.arg,)
    if isinstance(e, Call) and e.func == "sqrt" and len(e.args) == 1:
        return (e.args[0],)
    return (e.left, e.right) if isinstance(e, Binary) else ()


def _affine_binary(op: str, a: Affine | None, b: Affine | None) -> Affine | None:
    """``a op b`` as an affine map, or None."""
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
        return a[0] ** b[0], {}
    return None


def _scale(a: Affine, k: float) -> Affine:
    return a[0] * k, {c: k * x for c, x in a[1].items()}
