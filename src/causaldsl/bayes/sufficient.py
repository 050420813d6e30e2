"""The parts of a model's likelihood that NUTS need not evaluate row by row (docs/bayes.md,
"How NUTS is run"): a ``~ Normal(mean, scale)`` equation whose mean is linear in the
parameters, over columns, is read from sufficient statistics (each gradient then costs
O(k²) for k coefficients instead of O(n k)); an observed ``~`` whose density reads no
parameter and no hidden variable is a constant factor, left out. Both leave the posterior as
it is: the first is the same function of the parameters, the second changes the potential by
a constant."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.bayes.gaussian import NotLinear, column, equation_design, linear_form, reads
from causaldsl.core.types import RealType
from causaldsl.ir.mechanism import ExprMechanism, Table
from causaldsl.model.causal_model import CausalModel
from causaldsl.syntax.tree import DistCall

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


def reductions(model: CausalModel, columns: tuple[str, ...]) -> tuple[Reduction, ...]:
    """The equations whose likelihood is read from sufficient statistics: ``~ Normal(mean,
    scale)`` of a real column, reading parameters, its mean linear in them, every variable
    it reads a column, and its scale reading parameters or variables but not both."""
    params = frozenset(model.parameters)
    seen = set(columns)
    out = []
    for name, v in model.variables.items():
        mech = v.mechanism
        if (name not in seen or not isinstance(v.type, RealType)
                or not isinstance(mech, ExprMechanism) or mech.kind != "sample"):
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
