"""The closed-form posterior of coefficients: where every parameter has a Normal prior and is
read only by the means of ``~ Normal(mean, scale)`` equations, linearly, with a known scale,
and each such equation's variables are columns, the posterior of the parameters is Normal
(Bayesian linear regression; the other factors of the likelihood do not read them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.core.errors import FitError
from causaldsl.core.types import FiniteType, RealType
from causaldsl.ir.expr import evaluate, free_names
from causaldsl.ir.mechanism import ExprMechanism
from causaldsl.model.causal_model import CausalModel
from causaldsl.syntax.tree import Binary, DistCall, Unary, Var

#: A linear form in the parameters: for each parameter (None: the part that reads none), a
#: sum of products, each a sign and factors (an expression, and +1 to multiply or -1 to
#: divide by it) that read no parameter.
Linear = dict[str | None, list[tuple[float, tuple[tuple[Any, int], ...]]]]


class NotLinear(Exception):
    """An expression that is not linear in the parameters."""


@dataclass(frozen=True)
class NormalPosterior:
    """The parameters ``names`` are jointly Normal, with ``mean`` and covariance ``cov``."""

    names: tuple[str, ...]
    mean: np.ndarray
    cov: np.ndarray

    def draws(self, k: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``k`` independent draws of each parameter (through the covariance's Cholesky
        factor)."""
        z = rng.standard_normal((k, len(self.names)))
        x = self.mean + z @ np.linalg.cholesky(self.cov).T
        return {p: x[:, i].copy() for i, p in enumerate(self.names)}


def reads(e: Any) -> set[str]:
    """The names an expression reads."""
    return {n for n, _ in free_names(e)}


def linear_form(e: Any, params: frozenset[str]) -> Linear:
    """``e`` as a linear form in ``params`` (NotLinear where it is not one: a product of two
    parameters, a parameter inside a function or a condition, a division by one)."""
    if not reads(e) & params:
        return {None: [(1.0, ((e, 1),))]}
    if isinstance(e, Var):
        return {e.name: [(1.0, ())]}
    if isinstance(e, Unary) and e.op == "-":
        return _scaled(linear_form(e.arg, params), -1.0, ())
    if isinstance(e, Binary) and e.op in ("+", "-"):
        out = linear_form(e.left, params)
        right = linear_form(e.right, params)
        for k, terms in _scaled(right, 1.0 if e.op == "+" else -1.0, ()).items():
            out.setdefault(k, []).extend(terms)
        return out
    if isinstance(e, Binary) and e.op == "*":
        if not reads(e.left) & params:
            return _scaled(linear_form(e.right, params), 1.0, ((e.left, 1),))
        if not reads(e.right) & params:
            return _scaled(linear_form(e.left, params), 1.0, ((e.right, 1),))
    if isinstance(e, Binary) and e.op == "/" and not reads(e.right) & params:
        return _scaled(linear_form(e.left, params), 1.0, ((e.right, -1),))
    raise NotLinear


def _scaled(form: Linear, sign: float, factors: tuple[tuple[Any, int], ...]) -> Linear:
    return {k: [(sign * s, (*f, *factors)) for s, f in terms] for k, terms in form.items()}


def not_conjugate(model: CausalModel, columns: tuple[str, ...]) -> list[str]:
    """What keeps ``model``'s parameters (and unknown tables) from a closed-form posterior
    given data with ``columns``; empty where the posterior is Normal (and Dirichlet)."""
    params = frozenset(model.parameters)
    seen = set(columns)
    out = []
    for p, prm in model.parameters.items():
        prior = prm.prior.expr
        if not (isinstance(prior, DistCall) and prior.name == "Normal"
                and all(not reads(a) for a in prior.args)):
            out.append(f"the prior of {p} is {prm.prior.text}, not Normal(numbers)")
    for name, v in model.variables.items():
        mech = v.mechanism
        if name in model.unknown:
            family = (*v.parents, name)
            hid = [x for x in family if x not in seen]
            if hid:
                out.append(f"the table of {name} involves {', '.join(hid)}, not a column")
            continue
        if not isinstance(mech, ExprMechanism):
            continue
        read = reads(mech.expr) & params
        if not read:
            continue
        which = ", ".join(sorted(read))
        call = mech.expr
        if mech.kind != "sample" or not isinstance(call, DistCall) or call.name != "Normal":
            out.append(f"{name} {mech} reads {which}; only `~ Normal(mean, scale)` "
                       "equations have a closed form")
            continue
        if not isinstance(v.type, RealType):
            out.append(f"{name} is not real-valued")
            continue
        loc, scale = call.args
        if reads(scale) & params:
            out.append(f"the scale of {name}'s Normal reads {', '.join(sorted(reads(scale) & params))}"
                       "; the closed form needs a known scale")
        try:
            linear_form(loc, params)
        except NotLinear:
            out.append(f"the mean of {name} is not linear in {which}")
        hid = sorted(x for x in (reads(call) - params) | {name}
                     if x in model.variables and x not in seen)
        if hid:
            out.append(f"{name}'s equation involves {', '.join(hid)}, not a column")
    return out


def normal_posterior(model: CausalModel, values: Mapping[str, Any], n: int
                     ) -> NormalPosterior:
    """The Normal posterior of every parameter of a model that ``not_conjugate`` passes:
    precision Λ₀ + Σ DᵀWD and mean (Λ₀ + Σ DᵀWD)⁻¹ (Λ₀m₀ + Σ DᵀW(y - a)), summed over the
    equations that read parameters (D: each row's coefficients of the parameters, a: the
    rest of its mean, W: 1 / scale² on the diagonal). ``values``: the columns as the
    program takes them (positions of finite values, numbers)."""
    names = tuple(model.parameters)
    params = frozenset(names)
    index = {p: i for i, p in enumerate(names)}
    m0 = np.empty(len(names))
    sd0 = np.empty(len(names))
    for p, prm in model.parameters.items():
        loc, scale = (float(evaluate(a, {})) for a in prm.prior.expr.args)  # numbers
        if not scale > 0:
            raise FitError(f"the prior of {p} has scale {scale}; a Normal's scale is positive")
        m0[index[p]], sd0[index[p]] = loc, scale
    precision = np.diag(1.0 / sd0 ** 2)
    shift = m0 / sd0 ** 2
    env = environment(model, values)
    for name, v in model.variables.items():
        mech = v.mechanism
        if not isinstance(mech, ExprMechanism) or not reads(mech.expr) & params:
            continue
        loc, scale = mech.expr.args
        form = linear_form(loc, params)
        y = np.asarray(values[name], dtype=np.float64)
        offset, design = equation_design(form, names, env, n)
        s = column(scale, env, n)
        if not (np.all(np.isfinite(s)) and np.all(s > 0)):
            raise FitError(f"the scale of {name}'s Normal is not a positive number in every "
                           "row of the data")
        w = 1.0 / s ** 2
        precision += design.T @ (design * w[:, None])
        shift += design.T @ (w * (y - offset))
    factor = np.linalg.cholesky(precision)
    cov = np.linalg.inv(factor).T @ np.linalg.inv(factor)
    mean = cov @ shift
    return NormalPosterior(names, mean, (cov + cov.T) / 2)


def column(e: Any, env: Mapping[str, Any], n: int) -> np.ndarray:
    """``e`` (reading no parameter) over the rows of ``env``, as ``n`` numbers."""
    return np.broadcast_to(np.asarray(evaluate(e, env), dtype=np.float64), (n,))


def equation_design(form: Linear, names: tuple[str, ...], env: Mapping[str, Any], n: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """A mean linear in the parameters ``names`` over the rows of ``env``: the part that
    reads no parameter (``n`` numbers) and each row's coefficients of the parameters (an
    ``n`` by ``len(names)`` design; zero for a parameter the mean does not read)."""
    index = {p: i for i, p in enumerate(names)}

    def total(terms: list[tuple[float, tuple[tuple[Any, int], ...]]]) -> np.ndarray:
        out = np.zeros(n)
        for sign, factors in terms:
            part = np.full(n, sign)
            for e, power in factors:
                part = part * column(e, env, n) if power == 1 else part / column(e, env, n)
            out += part
        return out

    form = dict(form)
    offset = total(form.pop(None, []))
    design = np.zeros((n, len(names)))
    for k, terms in form.items():
        design[:, index[str(k)]] = total(terms)
    return offset, design


def environment(model: CausalModel, values: Mapping[str, Any]) -> dict[str, Any]:
    """The columns as NumPy's evaluator sees them, as the sampling backend's expressions see
    a variable (``jaxexpr.as_value``): numbers for a type of whole numbers, bools for a
    boolean type, labels otherwise (with every label name of the model as a constant)."""
    env: dict[str, Any] = {}
    for var in model.variables.values():
        if isinstance(var.type, FiniteType):
            env.update({x: x for x in var.type.values if isinstance(x, str)})
    for v, x in values.items():
        t = model.variables[v].type
        if not isinstance(t, FiniteType):
            env[v] = np.asarray(x, dtype=np.float64)
        elif all(isinstance(a, bool) for a in t.values):
            env[v] = np.asarray([bool(a) for a in t.values])[np.asarray(x)]
        elif t.numeric() is not None and all(isinstance(a, int) for a in t.values):
            env[v] = np.asarray(t.numeric(), dtype=np.float64)[np.asarray(x)]
        else:
            env[v] = np.asarray(t.values, dtype=object)[np.asarray(x)]
    return env
