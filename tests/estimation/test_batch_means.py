"""A bootstrap chunk's means (``Estimator._means_batch``: sums of fixed columns under the
weights, one product for each propensity factor) equal the means of Newton's refits computed
row by row (``Estimator.point`` vmapped over the same weights, from the full data's fit, as
``bootstrap`` falls back to), for every kind of term: each method, linear and logistic
outcomes, an outcome model with interactions (its design at a level differs from the observed
one), two and three treatment levels, the ATE, a stratum (CATE), the effect on the treated,
a prediction at a point, and censored outcomes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import causaldsl
from causaldsl.estimation import estimators

from .datasets import ATE, ATT, G, binary, hetero, multilevel

CATE_W = "E[Y | do(X = 1), W = b] - E[Y | do(X = 0), W = b]"
AT_POINT = "E[Y | do(X = 1), Z = 0.5, W = b] - E[Y | do(X = 0), Z = 0.5, W = b]"
INTERACT = "C(X) * (Z + W)"


def _censored() -> object:
    df = hetero(600)
    rng = np.random.default_rng(3)
    df.loc[rng.random(len(df)) < 0.1 + 0.3 * (df.Z > 0.5), "Y"] = np.nan
    return df


CASES = {
    "aipw-ate": ("aipw", ATE, lambda: hetero(600), {}),
    "aipw-ate-interactions": ("aipw", ATE, lambda: hetero(600), {"outcome": INTERACT}),
    "aipw-att": ("aipw", ATT, lambda: hetero(600), {}),
    "aipw-att-logistic": ("aipw", ATT, lambda: binary(600), {}),
    "aipw-cate": ("aipw", CATE_W, lambda: hetero(600), {"outcome": INTERACT}),
    "ipw-ate": ("ipw", ATE, lambda: hetero(600), {}),
    "ipw-att": ("ipw", ATT, lambda: binary(600), {}),
    "gformula-ate": ("gformula", ATE, lambda: hetero(600), {"outcome": INTERACT}),
    "gformula-att-logistic": ("gformula", ATT, lambda: binary(600), {}),
    "gformula-at-a-point": ("gformula", AT_POINT, lambda: hetero(600), {"outcome": INTERACT}),
    "gformula-censored": ("gformula", ATE, _censored, {"missing": "censored"}),
    "aipw-3-levels-att": ("aipw", "E[Y[X = c] | X = b] - E[Y[X = a] | X = b]",
                          lambda: multilevel(600), {}),
    "ipw-3-levels-logistic": ("ipw", "E[Y | do(X = c)] - E[Y | do(X = a)]",
                              lambda: multilevel(600, binary_outcome=True), {}),
}


def built_estimator(method: str, query: str, df: object, options: dict
                    ) -> estimators.Estimator:
    """The ``Estimator`` that ``causaldsl.estimate`` builds for the query (the last one)."""
    built = []
    init = estimators.Estimator.__init__

    def keep(self, problem):  # type: ignore[no-untyped-def]
        init(self, problem)
        built.append(self)

    estimators.Estimator.__init__ = keep  # type: ignore[method-assign]
    try:
        causaldsl.estimate(G, query, df, method=method, **options)
    finally:
        estimators.Estimator.__init__ = init  # type: ignore[method-assign]
    return built[-1]


@pytest.mark.parametrize("case", list(CASES))
def test_a_chunks_means_equal_newtons_refits_row_by_row(case):
    """16 resamples' means by the chunk's program against ``point`` under each resample's
    weights (Newton's method to convergence, every mean a weighted sum over the rows): within
    1e-9, what the refits' convergence test promises, far below these replicates' spread
    (> 1e-3, checked). A factor ``1/e`` or ``e_x'/e_x`` on the wrong level, a population
    indicator or stratum dropped, the design at the wrong level, or a term's sums read from
    another's columns would be off by that spread or more."""
    method, query, data, options = CASES[case]
    est = built_estimator(method, query, data(), options)
    n = est.n
    rng = np.random.default_rng(5)
    w = jnp.asarray(rng.multinomial(n, np.ones(n) / n, size=16).T.astype(float))
    starts = est._betas
    held = est._jit("held", lambda e: e.held)(starts)
    fast, converged = est._jit("replicates", lambda e: e.replicates)(w.T, held, starts)
    exact = jax.vmap(lambda wi: est.point(wi, starts)[0], in_axes=1)(w)
    assert np.asarray(converged).all()
    assert fast.shape == exact.shape == (16, 2)
    assert np.ptp(np.asarray(exact), axis=0).min() > 1e-3
    assert np.abs(np.asarray(fast) - np.asarray(exact)).max() < 1e-9


def test_the_means_columns_made_by_blocks_give_the_same_replicates(monkeypatch):
    """Above ROWS_ENTRIES the means' fixed columns are made with the Newton terms, ROW_BLOCK
    rows at a time (here 128 of 600, the last block short): the same replicates as held
    whole, for a linear outcome (the design at each level among the columns). A block of
    them dropped or misaligned with the weights would move the means by the replicates'
    spread."""
    est = built_estimator("aipw", ATE, hetero(600), {"outcome": INTERACT})
    rng = np.random.default_rng(6)
    w = jnp.asarray(rng.multinomial(600, np.ones(600) / 600, size=8).T.astype(float))
    starts = est._betas
    held = est._jit("held", lambda e: e.held)(starts)
    whole = est._jit("replicates", lambda e: e.replicates)(w.T, held, starts)[0]
    monkeypatch.setattr(estimators, "ROW_BLOCK", 128)
    blocks = est._jit("replicates", lambda e: e.replicates)(w.T, None, starts)[0]
    assert np.abs(np.asarray(whole) - np.asarray(blocks)).max() < 1e-12
