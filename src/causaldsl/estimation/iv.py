"""Instrumental variables: the effect of X on Y under a linear model, by two-stage least
squares (the Wald ratio for one binary instrument), when the graph shows an instrument.

Z is an instrument for X → Y given W (Pearl 2009, §7.4.5): W has no descendant of X or Y,
Z is d-connected to X given W, and Z is d-separated from Y given W once the edges out of X
are cut. Such a Z identifies a linear effect even with X ↔ Y confounded; the answer says it
assumes one. The two stages are stacked estimating equations, so the standard error is the
sandwich (robust, HC0) as for the other estimators."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from causaldsl.core.errors import QueryError
from causaldsl.estimation.glm import check_design
from causaldsl.estimation.question import Question
from causaldsl.model.graph import ADMG, show_set


def is_instrument(g: ADMG, z: Iterable[str], x: str, y: Sequence[str], w: Iterable[str] = ()
                  ) -> str:
    """Why ``z`` is not an instrument for ``x`` → ``y`` given ``w``, or '' when it is."""
    zs, ws = frozenset(z), frozenset(w)
    down = g.descendants({x}) | g.descendants(set(y))
    if ws & down:
        return f"{show_set(ws & down)} descend{'s' if len(ws & down) == 1 else ''} from the " \
               "treatment or the outcome"
    if zs & down:
        return f"{show_set(zs & down)} descend{'s' if len(zs & down) == 1 else ''} from the " \
               "treatment"
    if g.d_separated(zs, {x}, ws):
        return f"{show_set(zs)} does not affect {x} (d-separated from it)"
    if not g.without_outgoing({x}).d_separated(zs, set(y), ws):
        return (f"{show_set(zs)} reaches {show_set(y)} other than through {x} (a path that "
                f"avoids {x}, or a hidden common cause)")
    return ""


def find_instruments(g: ADMG, x: str, y: Sequence[str], w: Iterable[str] = ()) -> list[str]:
    """Every single node that is an instrument for ``x`` → ``y`` given ``w``."""
    skip = {x, *y, *w}
    return [v for v in g.order if v not in skip and not is_instrument(g, {v}, x, y, w)]


def contrast(q: Question) -> float:
    """Σ c_t x_t for a question whose terms are E[Y | do(X = x_t)] with Σ c_t = 0: the change in
    X the effect is for; else a QueryError (IV identifies a slope, not a mean)."""
    if any(m.treated is not None or m.where for m in q.means):
        raise QueryError(f"{q}: instrumental variables estimate an average effect; effects on "
                         "the treated or in a stratum are not identified by them")
    if any(m.outcome.var is None for m in q.means) or len({m.outcome for m in q.means}) > 1:
        raise QueryError(f"{q}: instrumental variables estimate E[Y | do(X = x)] differences "
                         "for one numeric outcome")
    coefs = [m.coef for m in q.means]
    if abs(sum(coefs)) > 1e-12:
        raise QueryError(f"{q}: under a linear model instrumental variables identify how Y "
                         "changes with X, not its level: ask a difference, e.g. "
                         "E[Y | do(X = 1)] - E[Y | do(X = 0)]")
    values = []
    for m in q.means:
        try:
            values.append(float(m.value))
        except (TypeError, ValueError):
            raise QueryError(f"{m.text}: instrumental variables need a numeric treatment; "
                             f"{m.treatment} = {m.value!r} is a label") from None
    return float(np.dot(coefs, values))


def two_stage(x: np.ndarray, y: np.ndarray, z: np.ndarray, w: np.ndarray,
              names: Sequence[str]) -> tuple[float, float, dict[str, Any]]:
    """The coefficient of X by 2SLS with instruments ``z`` and covariates ``w`` (columns), its
    sandwich standard error, and the first stage's strength (partial F of the instruments)."""
    n = len(y)
    d1 = np.column_stack([np.ones(n), z, w])
    d2 = np.column_stack([np.ones(n), x, w])
    check_design(d1, "first-stage", ["Intercept", *names])
    p1 = d1.shape[1]

    def psi(theta: Any) -> Any:
        gamma, beta = theta[:p1], theta[p1:]
        xhat = d1 @ gamma
        d2hat = jnp.column_stack([jnp.ones(n), xhat, w]) if w.size else \
            jnp.column_stack([jnp.ones(n), xhat])
        return jnp.concatenate([d1 * (x - d1 @ gamma)[:, None],
                                d2hat * (y - d2 @ beta)[:, None]], axis=1)

    gamma = np.linalg.lstsq(d1, x, rcond=None)[0]
    xhat = d1 @ gamma
    d2hat = np.column_stack([np.ones(n), xhat, w])
    beta = np.linalg.solve(d2hat.T @ d2, d2hat.T @ y)
    theta = jnp.asarray(np.concatenate([gamma, beta]))
    rows = psi(theta)
    bread = jax.jacfwd(lambda th: psi(th).mean(axis=0))(theta)
    inv = jnp.linalg.inv(bread)
    cov = np.asarray(inv @ (rows.T @ rows / n) @ inv.T / n)
    se = float(np.sqrt(max(cov[p1 + 1, p1 + 1], 0.0)))
    # the first stage's strength: the F statistic of the instruments (homoskedastic form)
    base = np.column_stack([np.ones(n), w])
    rss1 = float(((x - xhat) ** 2).sum())
    rss0 = float(((x - base @ np.linalg.lstsq(base, x, rcond=None)[0]) ** 2).sum())
    k = z.shape[1]
    f = ((rss0 - rss1) / k) / (rss1 / (n - p1)) if rss1 > 0 else float("inf")
    return float(beta[1]), se, {"first_stage_F": f, "instruments": k}
