"""Instrumental variables: 2SLS equals the Wald ratio and the textbook 2SLS by hand, its
sandwich is the HC0 formula, the graph decides what is an instrument, and the answer says
it assumes a linear effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl import QueryError
from causaldsl.estimation.iv import find_instruments, is_instrument
from causaldsl.model.graph import ADMG

ATE = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
# Z → X → Y with X ↔ Y: back-door adjustment is impossible, the instrument Z is not
G = ADMG(["Z", "X", "Y"], [("Z", "X"), ("X", "Y")], [("X", "Y")])


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 5000
    z = rng.integers(0, 2, n)
    u = rng.normal(size=n)
    x = (0.4 * z + 0.3 * u + 0.3 * rng.normal(size=n) > 0.2).astype(float)
    y = 2 * x + u + rng.normal(size=n)
    w = rng.normal(size=n)
    return pd.DataFrame({"Z": z, "X": x, "Y": y + 0.5 * w, "W": w})


def test_one_binary_instrument_is_the_wald_ratio_with_the_hc0_se(df):
    e = causaldsl.estimate(G, ATE, df[["Z", "X", "Y"]], method="iv")
    z, x, y = df.Z.to_numpy(), df.X.to_numpy(), df.Y.to_numpy()
    wald = (y[z == 1].mean() - y[z == 0].mean()) / (x[z == 1].mean() - x[z == 0].mean())
    assert float(e) == pytest.approx(wald, abs=1e-9)
    # HC0 of 2SLS by hand: (X̂'X)⁻¹ X̂' diag(e²) X̂ (X̂'X)⁻ᵀ with e = y - Xβ (the real X)
    n = len(y)
    xh = np.column_stack([np.ones(n), np.where(z == 1, x[z == 1].mean(), x[z == 0].mean())])
    big = np.column_stack([np.ones(n), x])
    beta = np.linalg.solve(xh.T @ big, xh.T @ y)
    res = y - big @ beta
    a = np.linalg.inv(xh.T @ big)
    v = a @ (xh.T * res ** 2) @ xh @ a.T
    assert e.se == pytest.approx(np.sqrt(v[1, 1]), rel=1e-6)
    assert e.method == "iv" and e.details["instrument"] == ("Z",)
    assert "linear" in e.details["described"]


def test_covariates_enter_both_stages_and_the_contrast_scales(df):
    g = ADMG(["Z", "W", "X", "Y"], [("Z", "X"), ("W", "X"), ("W", "Y"), ("X", "Y")],
             [("X", "Y")])
    e = causaldsl.estimate(g, "E[Y | do(X = 3)] - E[Y | do(X = 1)]", df, method="iv",
                           adjust=["W"], instrument="Z")
    n = len(df)
    d1 = np.column_stack([np.ones(n), df.Z, df.W])
    xh = d1 @ np.linalg.lstsq(d1, df.X.to_numpy(), rcond=None)[0]
    d2h = np.column_stack([np.ones(n), xh, df.W])
    d2 = np.column_stack([np.ones(n), df.X, df.W])
    beta = np.linalg.solve(d2h.T @ d2, d2h.T @ df.Y.to_numpy())
    assert float(e) == pytest.approx(2 * beta[1], abs=1e-9)  # a change of 3 - 1 = 2 in X


def test_the_graph_decides_what_is_an_instrument():
    assert find_instruments(G, "X", ["Y"]) == ["Z"]
    direct = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])
    assert "other than through X" in is_instrument(direct, {"Z"}, "X", ["Y"])
    confounded = ADMG(["Z", "X", "Y"], [("Z", "X"), ("X", "Y")], [("Z", "Y")])
    assert "hidden common cause" in is_instrument(confounded, {"Z"}, "X", ["Y"])
    # conditional: Z ← W → Y makes Z an instrument only given W
    cond = ADMG(["W", "Z", "X", "Y"], [("W", "Z"), ("W", "Y"), ("Z", "X"), ("X", "Y")],
                [("X", "Y")])
    assert is_instrument(cond, {"Z"}, "X", ["Y"]) and not is_instrument(cond, {"Z"}, "X", ["Y"], {"W"})


def test_refusals_name_why(df):
    direct = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")], [("X", "Y")])
    with pytest.raises(QueryError, match="shows no instrument"):
        causaldsl.estimate(direct, ATE, df, method="iv")
    with pytest.raises(QueryError, match="is not an instrument"):
        causaldsl.estimate(direct, ATE, df, method="iv", instrument="Z")
    with pytest.raises(QueryError, match="ask a difference"):
        causaldsl.estimate(G, "E[Y | do(X = 1)]", df, method="iv")


def test_a_weak_instrument_is_warned_about():
    rng = np.random.default_rng(1)
    n = 400
    z = rng.integers(0, 2, n)
    u = rng.normal(size=n)
    x = 0.02 * z + u + rng.normal(size=n)
    y = x + u + rng.normal(size=n)
    e = causaldsl.estimate(G, ATE, pd.DataFrame({"Z": z, "X": x, "Y": y}), method="iv")
    assert e.details["first_stage_F"] < 10 and any("weak instrument" in w for w in e.warnings)
