"""Estimation from data: each estimator against an independent computation on the same data
(statsmodels' regressions, hand-computed weighted means), and bad input refused clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl import DataError, FitError, QueryError
from causaldsl.model.graph import ADMG

ATE = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
G = ADMG(["Z", "W", "X", "Y"], [("Z", "X"), ("W", "X"), ("Z", "Y"), ("W", "Y"), ("X", "Y")])


def _data(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    w = rng.integers(0, 2, n)
    x = (rng.random(n) < 1 / (1 + np.exp(-(0.5 * z - 0.3 * w)))).astype(int)
    y = 1 + 2 * x + 1.5 * z - w + rng.normal(size=n)
    return pd.DataFrame({"X": x, "Y": y, "Z": z, "W": np.where(w == 1, "b", "a")})


def test_gformula_with_a_linear_model_is_the_regression_coefficient_and_its_hc0_se():
    """With main effects only, E[Y | do(X=1)] - E[Y | do(X=0)] is X's coefficient, and the
    stacked sandwich is statsmodels' HC0 standard error of it (a dropped nuisance term in the
    sandwich, or a model-based variance, would differ)."""
    sm = pytest.importorskip("statsmodels.api")
    df = _data()
    e = causaldsl.estimate(G, ATE, df, method="gformula")
    design = np.column_stack([np.ones(len(df)), df.X, df.Z, df.W == "b"]).astype(float)
    ols = sm.OLS(df.Y.to_numpy(), design).fit(cov_type="HC0")
    assert float(e) == pytest.approx(ols.params[1], abs=1e-9)
    assert e.se == pytest.approx(ols.bse[1], rel=1e-6)
    assert e.adjustment == ("Z", "W") and e.method == "gformula" and e.n == len(df)


def test_ipw_is_the_weighted_difference_of_means_with_statsmodels_propensities():
    sm = pytest.importorskip("statsmodels.api")
    df = _data()
    e = causaldsl.estimate(G, ATE, df, method="ipw")
    design = np.column_stack([np.ones(len(df)), df.Z, df.W == "b"]).astype(float)
    p = sm.Logit(df.X.to_numpy(), design).fit(disp=0).predict(design)
    x, y = df.X.to_numpy(), df.Y.to_numpy()
    w1, w0 = x / p, (1 - x) / (1 - p)
    hajek = (w1 * y).sum() / w1.sum() - (w0 * y).sum() / w0.sum()
    assert float(e) == pytest.approx(hajek, abs=1e-9)


def test_aipw_by_hand():
    sm = pytest.importorskip("statsmodels.api")
    df = _data()
    e = causaldsl.estimate(G, ATE, df, method="aipw")
    n = len(df)
    wb = (df.W == "b").to_numpy(float)
    xo = np.column_stack([np.ones(n), df.X, df.Z, wb])
    beta = sm.OLS(df.Y.to_numpy(), xo).fit().params
    m1 = np.column_stack([np.ones(n), np.ones(n), df.Z, wb]) @ beta
    m0 = np.column_stack([np.ones(n), np.zeros(n), df.Z, wb]) @ beta
    xp = np.column_stack([np.ones(n), df.Z, wb])
    p = sm.Logit(df.X.to_numpy(), xp).fit(disp=0).predict(xp)
    x, y = df.X.to_numpy(), df.Y.to_numpy()
    dr = np.mean(m1 + x / p * (y - m1)) - np.mean(m0 + (1 - x) / (1 - p) * (y - m0))
    assert float(e) == pytest.approx(dr, abs=1e-9)
    # the influence function's variance: the sandwich agrees with the textbook plug-in form
    phi = m1 + x / p * (y - m1) - m0 - (1 - x) / (1 - p) * (y - m0) - dr
    assert e.se == pytest.approx(np.sqrt(np.mean(phi ** 2) / n), rel=0.02)


def test_a_finite_dataset_by_hand():
    """Z → X → Y, Z → Y, all binary: the g-formula with a saturated outcome model is
    Σ_z P(z) (E[Y | X=1, z] - E[Y | X=0, z]); the counts below make it (0.5)(0.6-0.2)+(0.5)(0.9-0.5)."""
    rows = []
    for z, x, y, k in [(0, 0, 1, 2), (0, 0, 0, 8), (0, 1, 1, 6), (0, 1, 0, 4),
                       (1, 0, 1, 5), (1, 0, 0, 5), (1, 1, 1, 9), (1, 1, 0, 1)]:
        rows += [(z, x, y)] * k
    df = pd.DataFrame(rows, columns=["Z", "X", "Y"]).astype({"Z": str})
    g = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])
    want = 0.5 * (0.6 - 0.2) + 0.5 * (0.9 - 0.5)
    sat = causaldsl.estimate(g, ATE, df, method="gformula", outcome="C(X) * Z")
    assert float(sat) == pytest.approx(want, abs=1e-9)
    # IPW with a saturated propensity is the same number (the two coincide when saturated)
    assert float(causaldsl.estimate(g, ATE, df, method="ipw")) == pytest.approx(want, abs=1e-9)
    assert float(causaldsl.estimate(g, "P(Y = 1 | do(X = 1))", df, method="aipw",
                                    outcome="C(X) * Z")) == pytest.approx(0.5 * 0.6 + 0.5 * 0.9)


def test_bootstrap_agrees_with_the_sandwich_and_is_reproducible():
    df = _data(2000)
    a = causaldsl.estimate(G, ATE, df, method="aipw", bootstrap=300, seed=3)
    b = causaldsl.estimate(G, ATE, df, method="aipw", bootstrap=300, seed=3)
    assert a.se == b.se and a.ci == b.ci
    # the bootstrap's se has relative sd about 1/sqrt(2 * 300) = 4%: 5 of them is 20%
    assert a.se == pytest.approx(a.details["se_sandwich"], rel=0.2)
    assert a.ci[0] < float(a) < a.ci[1]


def test_bad_input_gets_its_own_message():
    df = _data(500)
    with pytest.raises(DataError, match="no column Q"):
        causaldsl.estimate(ADMG(["Q", "X", "Y"], [("Q", "X"), ("Q", "Y"), ("X", "Y")]), ATE, df)
    nan = df.copy()
    nan.loc[3, "Z"] = np.nan
    with pytest.raises(DataError, match=r"missing values in Z \(1 of 500 rows\)"):
        causaldsl.estimate(G, ATE, nan)
    assert causaldsl.estimate(G, ATE, nan, missing="drop").n == 499
    with pytest.raises(QueryError, match="not a valid adjustment set"):
        causaldsl.estimate(G, ATE, df, adjust=["Z"])
    with pytest.raises(QueryError, match="name the treatment's value"):
        causaldsl.estimate(G, "E[Y | do(X)]", df)
    sep = df.copy()
    sep["X"] = (sep.Z > 0).astype(int)
    with pytest.raises(FitError, match="separates the data"):
        causaldsl.estimate(G, ATE, sep, method="ipw")
    fd = ADMG(["X", "M", "Y"], [("X", "M"), ("M", "Y")], [("X", "Y")])
    with pytest.raises(QueryError, match=r"no back-door adjustment set.*frontdoor"):
        causaldsl.estimate(fd, ATE, pd.DataFrame({"X": [0, 1], "M": [0, 1], "Y": [0.0, 1.0]}),
                           method="aipw")


def test_a_formula_from_text_cannot_run_code():
    df = _data(300)
    with pytest.raises(QueryError, match="may not"):
        causaldsl.estimate(G, ATE, df, method="gformula", trusted=False,
                           outcome="X + I(__import__('os').getpid())")
    e = causaldsl.estimate(G, ATE, df, method="gformula", trusted=False,
                           outcome="X + Z + I(Z**2) + C(W)")
    assert np.isfinite(float(e))
