"""The parts of a model's likelihood that NUTS need not evaluate expression by expression
(docs/bayes.md, "How NUTS is run"): a ``~ Normal(mean, scale)`` equation whose mean is linear
in the parameters, over columns, is read from sufficient statistics (each gradient then costs
O(k²) for k coefficients instead of O(n k)); a ``~ Bernoulli(sigmoid(logit))`` equation whose
logit is linear in them is read through the logit's design (one product a gradient); an
observed ``~`` whose density reads no parameter and no hidden variable is a constant factor,
left out. None changes the posterior: the first two are the same functions of the parameters,
the third changes the potential by a constant."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.bayes.gaussian import NotLinear, column, equation_design, linear_form, reads
from causaldsl.core.types import FiniteType, RealType
from causaldsl.ir.mechanism import ExprMechanism, Table
from causaldsl.model.causal_model import CausalModel
from causaldsl.syntax.tree import Call, DistCall

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class Reduction:
    """``name ~ Normal(mean, scale)`` with ``mean`` linear in ``params``: its log-likelihood
    over the rows is ``const - n log σ - (rss + (β - β̂)ᵀ G (β - β̂)) / (2σ²)`` where the scale
    σ reads parameters (one number a draw), and ``const - (rss + …) / 2`` with the known
    scale of each row folded into the weights where it reads none (G = DᵀWD, β̂ a weighted
    least-squares solution, rss its weighted residual sum of squares: the identity
    Σ w (y - a - Dβ)² = rss + (β - β̂)ᵀ G (β - β̂), exact for any such β̂, is centred at the
    fit so it loses no digits to cancellation)."""

    name: str
    params: tuple[str, ...]
    loc: Any
    scale: Any
    scale_reads_params: bool

    def statistics(self, env: Mapping[str, Any], y: np.ndarray, n: int
                   ) -> dict[str, np.ndarray] | None:
        """The statistics of the rows (``env``: the columns as NumPy's evaluator sees them);
        None where they are not all finite or a known scale is not positive in every row
        (then the rows are read one by one, as without this)."""
        offset, design = equation_design(linear_form(self.loc, frozenset(self.params)),
                                         self.params, env, n)
        const = -0.5 * n * LOG_2PI
        if self.scale_reads_params:
            root_w = np.ones(n)
        else:
            s = column(self.scale, env, n)
            if not (np.all(np.isfinite(s)) and np.all(s > 0)):
                return None
            root_w = 1.0 / s
            const -= float(np.sum(np.log(s)))
        a = design * root_w[:, None]
        b = (np.asarray(y, dtype=np.float64) - offset) * root_w
        beta_hat = np.linalg.lstsq(a, b, rcond=None)[0] if self.params else np.zeros(0)
        resid = b - a @ beta_hat
        out = {"gram": a.T @ a, "beta_hat": beta_hat, "rss": np.asarray(resid @ resid),
               "const": np.asarray(const), "rows": np.asarray(float(n))}
        if not all(np.all(np.isfinite(v)) for v in out.values()):
            return None
        return out

    def log_likelihood(self, theta: Mapping[str, Any], stats: Mapping[str, Any]) -> Any:
        """The equation's log-likelihood over every row, at the parameter values ``theta``."""
        import jax.numpy as jnp

        from causaldsl.backends.jaxexpr import evaluate

        q = stats["rss"]
        if self.params:
            d = jnp.stack([jnp.asarray(theta[p], dtype=float) for p in self.params]) - \
                stats["beta_hat"]
            q = q + d @ stats["gram"] @ d
        if not self.scale_reads_params:
            return stats["const"] - q / 2
        sigma = jnp.asarray(evaluate(self.scale, theta), dtype=float)
        return stats["const"] - stats["rows"] * jnp.log(sigma) - q / (2 * sigma * sigma)


@dataclass(frozen=True)
class Logistic:
    """``name ~ Bernoulli(sigmoid(logit))`` with ``logit`` linear in ``params``: its
    log-likelihood over the rows, Σ y η − softplus(η) with η = offset + D β, from the logit's
    offset and design D computed once (with the expression, column by column and through
    NumPyro's Bernoulli, a gradient of the benchmark's model cost 2.5 times as much:
    bench/RESULTS-bayes.md)."""

    name: str
    params: tuple[str, ...]
    logit: Any

    def statistics(self, env: Mapping[str, Any], y: np.ndarray, n: int
                   ) -> dict[str, np.ndarray] | None:
        """The offset, the design (a row a parameter) and the outcomes (0 or 1, the second
        value of the type being 1); None where the offset or design is not finite in every
        row (then the rows are read by the expression, as without this)."""
        offset, design = equation_design(linear_form(self.logit, frozenset(self.params)),
                                         self.params, env, n)
        out = {"offset": offset, "design": np.ascontiguousarray(design.T),
               "y": np.asarray(y, dtype=np.float64)}
        if not all(np.all(np.isfinite(v)) for v in out.values()):
            return None
        return out

    def log_likelihood(self, theta: Mapping[str, Any], stats: Mapping[str, Any]) -> Any:
        """The equation's log-likelihood over every row, at the parameter values ``theta``."""
        import jax.numpy as jnp

        beta = jnp.stack([jnp.asarray(theta[p], dtype=float) for p in self.params])
        eta = stats["offset"] + beta @ stats["design"]
        # softplus(η) written out (stable for any η): jax.nn.softplus, a logaddexp with its
        # infinities handled, costs several times as much a gradient
        softplus = jnp.maximum(eta, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(eta)))
        return stats["y"] @ eta - jnp.sum(softplus)


def reductions(model: CausalModel, columns: tuple[str, ...]
               ) -> tuple[Reduction | Logistic, ...]:
    """The equations whose likelihood is read from sufficient statistics or a design: ``~
    Normal(mean, scale)`` of a real column, reading parameters, its mean linear in them, every
    variable it reads a column, and its scale reading parameters or variables but not both;
    ``~ Bernoulli(sigmoid(logit))`` of a column of two values, its logit linear in the
    parameters it reads and every variable it reads a column."""
    params = frozenset(model.parameters)
    seen = set(columns)
    out: list[Reduction | Logistic] = []
    for name, v in model.variables.items():
        mech = v.mechanism
        if name not in seen or not isinstance(mech, ExprMechanism) or mech.kind != "sample":
            continue
        if isinstance(v.type, FiniteType):
            found = _logistic(name, v.type, mech.expr, model, seen)
            if found is not None:
                out.append(found)
            continue
        if not isinstance(v.type, RealType):
            continue
        call = mech.expr
        if not (isinstance(call, DistCall) and call.name == "Normal" and len(call.args) == 2):
            continue
        names = reads(call)
        if not names & params or any(x in model.variables and x not in seen for x in names):
            continue
        loc, scale = call.args
        scale_params = bool(reads(scale) & params)
        if scale_params and any(x in model.variables for x in reads(scale)):
            continue  # a scale per row that reads parameters: no statistics of the rows
        try:
            form = linear_form(loc, params)
        except NotLinear:
            continue
        coefs = tuple(p for p in model.parameters if p in form)
        out.append(Reduction(name, coefs, loc, scale, scale_params))
    return tuple(out)


def _logistic(name: str, t: FiniteType, call: Any, model: CausalModel, seen: set[str]
              ) -> Logistic | None:
    """``call`` as a :class:`Logistic` of ``name``, or None where it is not one."""
    if not (isinstance(call, DistCall) and call.name == "Bernoulli" and len(call.args) == 1
            and t.size == 2):
        return None
    (arg,) = call.args
    if not (isinstance(arg, Call) and arg.func == "sigmoid" and len(arg.args) == 1):
        return None
    logit = arg.args[0]
    params = frozenset(model.parameters)
    names = reads(logit)
    if not names & params or any(x in model.variables and x not in seen for x in names):
        return None
    try:
        form = linear_form(logit, params)
    except NotLinear:
        return None
    return Logistic(name, tuple(p for p in model.parameters if p in form), logit)


def constant_factors(model: CausalModel, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The columns whose density given their parents reads no parameter and no variable that
    is not a column (a ``~`` or a known table): constant over the posterior."""
    params = frozenset(model.parameters)
    seen = set(columns)
    out = []
    for name, v in model.variables.items():
        mech = v.mechanism
        if name not in seen or name in model.unknown:
            continue
        if isinstance(mech, ExprMechanism) and mech.kind == "sample":
            names = reads(mech.expr)
            if names & params or any(x in model.variables and x not in seen for x in names):
                continue
        elif not isinstance(mech, Table) or any(p not in seen for p in v.parents):
            continue
        out.append(name)
    return tuple(out)
