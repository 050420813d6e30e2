"""Simulation-based calibration (Talts et al. 2018): draw parameters from the prior, data
from them, fit, and rank the true value among the posterior draws. A correct posterior makes
the ranks uniform; a chi-square test at level 0.001, fixed before the run, checks it. A prior
dropped from the posterior, counts of the wrong family or a likelihood missing a factor make
the ranks pile up at the ends or the middle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import causaldsl
from causaldsl.model.builder import ModelBuilder

LEVEL = 1e-3


def uniform_ranks(ranks: np.ndarray, draws: int, bins: int) -> float:
    """The chi-square p-value of ranks in 0..draws against the uniform, in ``bins`` bins of
    equal width (draws + 1 must be a multiple of bins)."""
    counts = np.bincount(ranks * bins // (draws + 1), minlength=bins)
    return float(stats.chisquare(counts).pvalue)


@pytest.mark.slow
def test_conjugate_tables_are_calibrated():
    labels = ["a", "b", "c"]
    b = ModelBuilder("sbc")
    b.observed("X", labels, unknown=True)
    b.observed("Y", ["no", "yes"], given="X", unknown=0.5)
    model = b.build()
    rng = np.random.default_rng(7)
    reps, draws, n = 1000, 99, 15
    ranks = {"theta_x": [], "theta_y": [], "p_y": []}
    for r in range(reps):
        tx = rng.dirichlet([1, 1, 1])
        ty = np.stack([rng.dirichlet([0.5, 0.5]) for _ in labels])
        x = rng.choice(3, size=n, p=tx)
        y = (rng.random(n) < ty[x, 1]).astype(int)
        df = pd.DataFrame({"X": np.array(labels)[x], "Y": np.array(["no", "yes"])[y]})
        fitted = model.fit(df, draws=draws, seed=r)
        dx, dy = fitted.draws["X"], fitted.draws["Y"]
        truth = {"theta_x": tx[0], "theta_y": ty[2, 1], "p_y": tx @ ty[:, 1]}
        post = {"theta_x": dx[:, 0], "theta_y": dy[:, 2, 1],
                "p_y": np.einsum("sx,sx->s", dx, dy[:, :, 1])}
        for k in ranks:
            ranks[k].append(int((post[k] < truth[k]).sum()))
    for k, rs in ranks.items():
        assert uniform_ranks(np.asarray(rs), draws, 20) > LEVEL, k


@pytest.mark.slow
def test_a_linear_scm_fitted_by_nuts_is_calibrated():
    model = causaldsl.parse("""
model lin {
  param b0 ~ Normal(0, 1)
  param b1 ~ Normal(0, 1)
  X : Real ~ Normal(0, 1)
  Y : Real ~ Normal(b0 + b1 * X, 1)
}
""").models["lin"]
    rng = np.random.default_rng(11)
    reps, draws, n, thin = 60, 59, 20, 5
    ranks = {"b1": [], "effect": []}
    for r in range(reps):
        b0, b1 = rng.normal(size=2)
        x = rng.normal(size=n)
        df = pd.DataFrame({"X": x, "Y": b0 + b1 * x + rng.normal(size=n)})
        fitted = model.fit(df, "nuts", draws=(draws + 1) * thin, warmup=200, chains=1, seed=r)
        keep = slice(thin - 1, None, thin)  # thinned: nearly independent draws
        post = fitted.query("E[Y | do(X = 1)]").draws[keep][:draws]
        ranks["b1"].append(int((fitted.draws["b1"][keep][:draws] < b1).sum()))
        ranks["effect"].append(int((post < b0 + b1).sum()))
    for k, rs in ranks.items():
        assert uniform_ranks(np.asarray(rs), draws, 6) > LEVEL, k
