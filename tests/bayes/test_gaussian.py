"""The exact posterior of coefficients (Bayesian linear regression): its mean and covariance
against the normal equations written out on four rows, draws and queries from it, with unknown
tables beside it, the choice of ``auto``, what is refused as not conjugate (each named), and
NUTS on the same model agreeing within its Monte Carlo error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl.core.errors import FitError

LIN = """
model lin {
  param b0 ~ Normal(1, 2)
  param b1 ~ Normal(0, 3)
  X : Real ~ Normal(0, 1)
  Y : Real ~ Normal(b0 + b1 * X, 0.5)
}
"""

ROWS = pd.DataFrame({"X": [0.0, 1.0, 2.0, -1.0], "Y": [0.9, 2.1, 2.8, 0.2]})


def test_the_posterior_is_the_normal_equations():
    fitted = causaldsl.parse(LIN).models["lin"].fit(ROWS, "exact", draws=4000, seed=1)
    # D = [1, x] with x = (0, 1, 2, -1): DᵀD = [[4, 2], [2, 6]], Dᵀy = (6.0, 7.5); the noise
    # scale 0.5 weighs each row by 1/0.25 = 4, the priors add 1/2² = 1/4 and 1/3² = 1/9:
    # precision [[16.25, 8], [8, 24 + 1/9]], and Λ₀m₀ + 4 Dᵀy = (1/4 + 24, 30)
    precision = np.array([[16.25, 8.0], [8.0, 24 + 1 / 9]])
    det = 16.25 * (24 + 1 / 9) - 64
    cov = np.array([[24 + 1 / 9, -8.0], [-8.0, 16.25]]) / det
    mean = cov @ np.array([24.25, 30.0])
    np.testing.assert_allclose(cov @ precision, np.eye(2), atol=1e-14)  # the test's own check
    normal = fitted.normal
    assert normal is not None and normal.names == ("b0", "b1")
    np.testing.assert_allclose(normal.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(normal.cov, cov, rtol=1e-12)
    # the draws are independent draws of it: each mean within 5 se, sd within 5 se of an sd
    d = np.column_stack([fitted.draws["b0"], fitted.draws["b1"]])
    se = np.sqrt(np.diag(cov) / 4000)
    assert np.all(np.abs(d.mean(axis=0) - mean) < 5 * se)
    assert np.all(np.abs(d.std(axis=0) / np.sqrt(np.diag(cov)) - 1) < 5 / np.sqrt(2 * 4000))
    corr = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    assert abs(np.corrcoef(d.T)[0, 1] - corr) < 5 * (1 - corr ** 2) / np.sqrt(4000)
    # queries are answered draw by draw from them: E[Y | do(X = 1)] = b0 + b1
    post = fitted.query("E[Y | do(X = 1)]")
    np.testing.assert_allclose(post.draws, d.sum(axis=1), atol=1e-12)
    assert fitted.method == "exact" and post.r_hat is None and post.identified
    assert fitted.diagnostics.chains == 1 and not fitted.diagnostics.warnings


def test_offsets_and_divisions_are_part_of_the_linear_form():
    """Y ~ Normal(2 X + b0 + b1 · X / 2, 0.5): the known part 2X moves to the response and
    X / 2 is b1's column, so this is the regression of y - 2x on [1, x / 2]."""
    text = LIN.replace("Normal(b0 + b1 * X, 0.5)", "Normal(2 * X + b0 + b1 * X / 2, 0.5)")
    fitted = causaldsl.parse(text).models["lin"].fit(ROWS, "exact", draws=10)
    x, y = ROWS["X"].to_numpy(), ROWS["Y"].to_numpy()
    d = np.column_stack([np.ones(4), x / 2])
    precision = np.diag([1 / 4, 1 / 9]) + 4 * d.T @ d
    cov = np.linalg.inv(precision)
    mean = cov @ (np.array([1 / 4, 0]) + 4 * d.T @ (y - 2 * x))
    assert fitted.normal is not None
    np.testing.assert_allclose(fitted.normal.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(fitted.normal.cov, cov, rtol=1e-12)


def test_labels_and_bools_in_the_mean():
    """A coefficient's column may be any expression of the variables: a label compared with a
    name, a bool (1 when true); the same values the sampling backend gives them, so a query
    of the fit reads the same coefficients."""
    text = """type Arm = {control, treated}
model arms {
  param b0 ~ Normal(0, 10)
  param b1 ~ Normal(0, 10)
  param b2 ~ Normal(0, 10)
  G : Arm ~ Categorical([0.5, 0.5])
  F : Bool ~ Bernoulli(0.5)
  Y : Real ~ Normal(b0 + b1 * (if G == treated then 1 else 0) + b2 * F, 1)
}"""
    df = pd.DataFrame({"G": ["control", "treated", "treated", "control", "treated"],
                       "F": [True, False, True, False, False],
                       "Y": [0.4, 2.2, 3.1, -0.1, 1.8]})
    fitted = causaldsl.parse(text).models["arms"].fit(df, "exact", draws=50)
    d = np.array([[1, 0, 1], [1, 1, 0], [1, 1, 1], [1, 0, 0], [1, 1, 0]], dtype=float)
    cov = np.linalg.inv(np.eye(3) / 100 + d.T @ d)
    assert fitted.normal is not None
    np.testing.assert_allclose(fitted.normal.mean, cov @ d.T @ df["Y"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(fitted.normal.cov, cov, rtol=1e-12)
    post = fitted.query("E[Y | do(G = treated, F = true)]")
    np.testing.assert_allclose(post.draws, fitted.draws["b0"] + fitted.draws["b1"]
                               + fitted.draws["b2"], atol=1e-12)


MIXED = """type B = {0, 1}
model mixed {
  param b ~ Normal(0, 10)
  T : B ~ unknown Dirichlet([2, 1])
  Y : Real ~ Normal(b * T, 1)
}
"""


def test_tables_and_coefficients_together():
    df = pd.DataFrame({"T": [0, 1, 1, 0, 1], "Y": [0.3, 1.1, 2.0, -0.4, 1.6]})
    fitted = causaldsl.parse(MIXED).models["mixed"].fit(df, draws=2000, seed=3)
    assert fitted.method == "exact"  # auto: conjugate, so exact
    # T: Dirichlet(2 + 2, 1 + 3); b: only the rows with T = 1 inform it, precision
    # 1/100 + 3, mean (1.1 + 2.0 + 1.6) / (3 + 1/100)
    assert fitted.concentration is not None and fitted.normal is not None
    np.testing.assert_allclose(fitted.concentration["T"], [4.0, 4.0])
    np.testing.assert_allclose(fitted.normal.mean, [4.7 / 3.01], rtol=1e-12)
    np.testing.assert_allclose(fitted.normal.cov, [[1 / 3.01]], rtol=1e-12)
    np.testing.assert_allclose(fitted.tables["T"], [0.5, 0.5], atol=1e-15)
    effect = fitted.query("E[Y | do(T = 1)]")
    np.testing.assert_allclose(effect.draws, fitted.draws["b"], atol=1e-12)
    p = fitted.query("P(T = 1)")  # Beta(4, 4): mean 1/2, sd 1/6; 2000 draws, 5 se
    np.testing.assert_allclose(p.draws, fitted.draws["T"][:, 1], atol=1e-12)
    assert abs(p.mean - 0.5) < 5 / 6 / np.sqrt(2000)


NOT_CONJUGATE = """type Bin = {0, 1}
model lin {
  param b0 ~ Normal(0, 10)
  param bx ~ Normal(0, 10)
  param s ~ HalfNormal(5)
  param a ~ Normal(0, 3)
  param c ~ Normal(0, 3)
  Z : Real ~ Normal(0, 1)
  X : Bin ~ Bernoulli(sigmoid(a * Z))
  W : Real ~ Normal(c * c * Z, 1)
  V : Real ~ Normal(Z, s)
  Y : Real ~ Normal(b0 + bx * X, 1)
}
"""


def test_what_is_not_conjugate_is_named():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({c: rng.normal(size=10) for c in ("Z", "W", "V", "Y")})
    df["X"] = (df["Z"] > 0).astype(int)
    model = causaldsl.parse(NOT_CONJUGATE).models["lin"]
    with pytest.raises(FitError) as err:
        model.fit(df, "exact")
    text = str(err.value)
    for part in ("no closed form for the posterior of lin",
                 "the prior of s is HalfNormal(5), not Normal(numbers)",
                 "X ~ Bernoulli(sigmoid(a * Z)) reads a; only `~ Normal(mean, scale)`",
                 "the mean of W is not linear in c",
                 "the scale of V's Normal reads s; the closed form needs a known scale",
                 "fit by nuts"):
        assert part in text, part
    with pytest.raises(FitError, match="Y's equation involves X, not a column"):
        causaldsl.parse(LIN.replace("X : Real", "latent X : Real")).models["lin"].fit(
            ROWS[["Y"]], "exact")
    with pytest.raises(FitError, match="the table of T involves T, not a column"):
        causaldsl.parse(MIXED).models["mixed"].fit(pd.DataFrame({"Y": [0.1]}), "exact")


def test_auto_falls_back_to_nuts_where_there_is_no_closed_form():
    text = LIN.replace("Normal(b0 + b1 * X, 0.5)", "Normal(b0 + b1 * X, 0.5 + b0 * b0)")
    fitted = causaldsl.parse(text).models["lin"].fit(ROWS, draws=20, warmup=20, chains=1)
    assert fitted.method == "nuts" and fitted.normal is None


@pytest.mark.slow
def test_nuts_agrees_with_the_closed_form():
    """NUTS on a three-coefficient regression against the exact posterior: each mean within
    5 Monte Carlo se (posterior sd / sqrt(ESS)), each sd within 5 se of an sd
    (sd / sqrt(2 ESS)), with the ESS NumPyro estimates from the chains."""
    from numpyro.diagnostics import effective_sample_size

    text = """model three {
  param b0 ~ Normal(1, 2)
  param b1 ~ Normal(0, 3)
  param b2 ~ Normal(-1, 1)
  X : Real ~ Normal(0, 1)
  Z : Real ~ Normal(X, 1)
  Y : Real ~ Normal(b0 + b1 * X + b2 * Z, 0.7)
}"""
    rng = np.random.default_rng(4)
    x = rng.normal(size=30)
    z = x + rng.normal(size=30)
    df = pd.DataFrame({"X": x, "Z": z, "Y": 0.5 + x - 0.5 * z + 0.7 * rng.normal(size=30)})
    model = causaldsl.parse(text).models["three"]
    exact = model.fit(df, "exact", draws=10).normal
    assert exact is not None
    sampled = model.fit(df, "nuts", draws=4000, warmup=500, chains=2, seed=2)
    for i, p in enumerate(exact.names):
        d = sampled.draws[p]
        ess = float(effective_sample_size(d.reshape(2, -1)[..., None])[0])
        sd = np.sqrt(exact.cov[i, i])
        assert ess > 400, p
        assert abs(d.mean() - exact.mean[i]) < 5 * sd / np.sqrt(ess), p
        assert abs(d.std() / sd - 1) < 5 / np.sqrt(2 * ess), p


def test_the_command_line_reports_the_normal_posterior(tmp_path):
    import contextlib
    import io
    import json

    from causaldsl.app.cli import main

    (tmp_path / "lin.causal").write_text(LIN)
    ROWS.to_csv(tmp_path / "rows.csv", index=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["fit", str(tmp_path / "lin.causal"), "--data", str(tmp_path / "rows.csv"),
                     "--method", "exact", "-q", "E[Y | do(X = 1)]", "--json"])
    assert code == 0
    got = json.loads(out.getvalue())
    det = 16.25 * (24 + 1 / 9) - 64  # as in test_the_posterior_is_the_normal_equations
    cov = np.array([[24 + 1 / 9, -8.0], [-8.0, 16.25]]) / det
    assert got["method"] == "exact" and got["normal"]["names"] == ["b0", "b1"]
    np.testing.assert_allclose(got["normal"]["mean"], cov @ [24.25, 30.0], rtol=1e-12)
    np.testing.assert_allclose(got["normal"]["cov"], cov, rtol=1e-12)
