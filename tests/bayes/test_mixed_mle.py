"""Maximum likelihood of a model with unknown tables and unknown parameters together: the
tables are their families' frequencies (hand arithmetic on eight rows), the parameters are
least squares (statsmodels, and the same model's parameters-only fit), the bootstrap resamples
both, and a query of the fit equals the query of the model written out with those numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl.core.errors import FitError

MIXED = """type B = {0, 1}
model mix {
  param b0 ~ Normal(0, 10)
  param b1 ~ Normal(0, 10)
  param s ~ HalfNormal(5)
  X : B ~ unknown
  Z : B ~ table(X) unknown
  Y : Real ~ Normal(b0 + b1 * Z, s)
}
"""

#: eight rows: X has three 0s and five 1s; Z given X = 0 is (0, 0, 1), given X = 1 is
#: (0, 1, 1, 1, 0); Y given Z = 0 averages 0, given Z = 1 averages 1.875
ROWS = pd.DataFrame({"X": [0, 0, 0, 1, 1, 1, 1, 1], "Z": [0, 0, 1, 0, 1, 1, 1, 0],
                     "Y": [0.1, -0.3, 1.2, 0.4, 2.1, 1.7, 2.5, -0.2]})


def _bfgs_tolerance(z: np.ndarray, s2: float) -> float:
    """BFGS stops at a gradient of the mean log-likelihood under 1e-4; its curvature in (b0,
    b1) is DᵀD / (n s²) (D = [1, Z]), so a coefficient is within 1e-4 / λ_min of the maximum
    (twice that, for the coupling with s away from the optimum)."""
    d = np.column_stack([np.ones(len(z)), z])
    return 2 * 1e-4 / np.linalg.eigvalsh(d.T @ d / (len(z) * s2)).min()


@pytest.fixture(scope="module")
def fitted():
    return causaldsl.parse(MIXED).models["mix"].fit(ROWS, "mle", bootstrap=100, seed=1)


def test_tables_are_frequencies_and_parameters_least_squares(fitted):
    import statsmodels.api as sm

    # the tables: X's frequencies 3/8, 5/8; Z's row X = 0 from (0, 0, 1), X = 1 from
    # (0, 1, 1, 1, 0); exactly, no optimisation
    np.testing.assert_allclose(fitted.tables["X"], [3 / 8, 5 / 8], rtol=0, atol=1e-15)
    np.testing.assert_allclose(fitted.tables["Z"], [[2 / 3, 1 / 3], [2 / 5, 3 / 5]], rtol=0,
                               atol=1e-15)
    # the parameters: least squares of Y on Z, b0 = 0, b1 = 1.875, and the ML scale
    # s² = RSS / n = (0.30 + 0.9275) / 8
    ols = sm.OLS(ROWS["Y"], sm.add_constant(ROWS["Z"])).fit()
    s2 = (0.30 + 0.9275) / 8
    np.testing.assert_allclose(ols.params, [0.0, 1.875], atol=1e-12)
    np.testing.assert_allclose(ols.ssr / 8, s2, rtol=1e-12)
    tol = _bfgs_tolerance(ROWS["Z"].to_numpy(float), s2)
    assert abs(fitted.point["b0"] - 0.0) < tol
    assert abs(fitted.point["b1"] - 1.875) < tol
    assert abs(fitted.point["s"] ** 2 - s2) < 2 * tol
    # the bootstrap resamples the tables' rows too: P(X = 1) over replicates has the
    # binomial sd sqrt(5/8 · 3/8 / 8) = 0.171 (100 replicates: within 30%, 4 se of an sd)
    px = fitted.query("P(X = 1)")
    assert px.estimate == pytest.approx(5 / 8, abs=1e-15) and px.mc_error == 0.0
    assert abs(px.sd / np.sqrt(5 / 8 * 3 / 8 / 8) - 1) < 0.3
    assert fitted.draws["Z"].shape == (100, 2, 2) and fitted.draws["b1"].shape == (100,)
    np.testing.assert_allclose(fitted.draws["Z"].sum(axis=-1), 1.0, atol=1e-12)
    # (a replicate whose rows all share one Z has no b1: BFGS may warn of it, rightly)
    assert fitted.method == "mle"


@pytest.mark.slow
def test_parameters_equal_the_parameters_only_fit(fitted):
    """The same regression with X's and Z's tables known: the likelihood differs by a
    constant, so BFGS finds the same parameters (to its stopping tolerance)."""
    known = MIXED.replace("X : B ~ unknown", "X : B ~ [0.5, 0.5]").replace(
        "Z : B ~ table(X) unknown", "Z : B ~ table(X) { 0: [0.9, 0.1], 1: [0.2, 0.8] }")
    only = causaldsl.parse(known).models["mix"].fit(ROWS, "mle", bootstrap=100, seed=1)
    tol = _bfgs_tolerance(ROWS["Z"].to_numpy(float), (0.30 + 0.9275) / 8)
    for p in ("b0", "b1", "s"):
        assert abs(fitted.point[p] - only.point[p]) < tol, p


def test_a_query_of_the_fit_equals_the_model_written_with_its_estimates(fitted):
    pt = {k: np.asarray(v, dtype=float) for k, v in fitted.point.items()}
    x, z = pt["X"], pt["Z"]
    hand = causaldsl.parse(f"""type B = {{0, 1}}
model hand {{
  X : B ~ [{float(x[0])!r}, {float(x[1])!r}]
  Z : B ~ table(X) {{ 0: [{float(z[0, 0])!r}, {float(z[0, 1])!r}], 1: [{float(z[1, 0])!r}, {float(z[1, 1])!r}] }}
  Y : Real ~ Normal({float(pt['b0'])!r} + {float(pt['b1'])!r} * Z, {float(pt['s'])!r})
}}
""").models["hand"]  # noqa: E501
    b0, b1 = float(pt["b0"]), float(pt["b1"])
    # answered exactly by the fit (no Monte Carlo error): a table row, a mean given a set Z
    exact = {"P(Z = 1 | do(X = 1))": 3 / 5, "E[Y | do(Z = 1)]": b0 + b1, "P(X = 1)": 5 / 8}
    for q, want in exact.items():
        got = fitted.query(q)
        assert got.mc_error is not None and got.mc_error < 1e-12, q
        assert got.estimate == pytest.approx(want, abs=1e-12), q
        # the hand-written model answers by forward sampling: within 5 of its standard errors
        ref = hand.query(q)
        assert abs(float(ref) - got.estimate) < 5 * ref.se, q
    # E[Y] = b0 + b1 · P(Z = 1) = b0 + b1 (3/8 · 1/3 + 5/8 · 3/5) = b0 + b1 / 2: Z is sampled
    # in both, each within 5 of its own Monte Carlo errors
    got, ref = fitted.query("E[Y]"), hand.query("E[Y]")
    assert got.mc_error is not None and 0 < got.mc_error < 0.05
    assert abs(got.estimate - (b0 + b1 / 2)) < 5 * got.mc_error
    assert abs(float(ref) - (b0 + b1 / 2)) < 5 * ref.se


def test_mle_with_a_hidden_family_is_refused():
    """No EM: a latent (or a variable without a column) is refused with what to do."""
    hidden = MIXED.replace("X : B ~ unknown", "latent X : B ~ unknown")
    with pytest.raises(FitError, match=r"X is not .*fit by nuts"):
        causaldsl.parse(hidden).models["mix"].fit(ROWS[["Z", "Y"]], "mle", bootstrap=10)
    with pytest.raises(FitError, match="no row with X = 1"):
        causaldsl.parse(MIXED).models["mix"].fit(ROWS[ROWS["X"] == 0], "mle", bootstrap=10)


@pytest.mark.slow
def test_on_rows_drawn_from_a_mixed_model():
    """500 rows drawn from the model with known numbers: the fitted tables are the rows'
    conditional frequencies (pandas' crosstab), the coefficients least squares (statsmodels)
    and s² the residual sum of squares over n."""
    import statsmodels.api as sm

    truth = causaldsl.parse("""type B = {0, 1}
model truth {
  X : B ~ [0.3, 0.7]
  Z : B ~ table(X) { 0: [0.8, 0.2], 1: [0.35, 0.65] }
  Y : Real ~ Normal(0.5 + 1.5 * Z, 0.8)
}""").models["truth"]
    rows = truth.sample(500, seed=6)
    df = pd.DataFrame({"X": rows["X"].astype(int), "Z": rows["Z"].astype(int), "Y": rows["Y"]})
    fitted = causaldsl.parse(MIXED).models["mix"].fit(df, "mle", bootstrap=20, seed=2)
    np.testing.assert_allclose(fitted.tables["X"], df["X"].value_counts(normalize=True)
                               .sort_index().to_numpy(), atol=1e-15)
    np.testing.assert_allclose(fitted.tables["Z"], pd.crosstab(df["X"], df["Z"],
                                                               normalize="index").to_numpy(),
                               atol=1e-15)
    ols = sm.OLS(df["Y"], sm.add_constant(df["Z"].astype(float))).fit()
    s2 = ols.ssr / len(df)
    tol = _bfgs_tolerance(df["Z"].to_numpy(float), s2)
    assert abs(fitted.point["b0"] - ols.params["const"]) < tol
    assert abs(fitted.point["b1"] - ols.params["Z"]) < tol
    assert abs(fitted.point["s"] ** 2 - s2) < 2 * tol
