"""Each estimator against the same estimate computed by hand from statsmodels' fits on the same
data: g-formula standardisation with interactions and with a logistic outcome, weighting with a
three-level treatment (multinomial propensities), effects in a stratum (CATE) and on the treated
(ATT). Point estimates agree to 1e-6 (both sides solve the same convex problem to ~1e-10); the
sandwich standard errors are checked against the influence function written out by hand
(relative 1e-6), which a dropped nuisance term, a model-based variance or a wrong
normalisation of the stratum would break by far more."""

from __future__ import annotations

import numpy as np
import pytest

import causaldsl

from .datasets import ATE, ATT, RISK_DIFFERENCE, G, binary, hetero, three_levels

sm = pytest.importorskip("statsmodels.api")
smf = pytest.importorskip("statsmodels.formula.api")

CATE_B = "E[Y | do(X = 1), W = b] - E[Y | do(X = 0), W = b]"


def _ols(formula: str, df, columns):  # type: ignore[no-untyped-def]
    """OLS by sm.OLS on a design written out by hand, ``columns(x, z, wb)`` (so that the
    formula's expansion is checked too: statsmodels' own formula fit, which goes through
    formulaic as ours does, must give the same fitted values), and the designs with X set to
    1 and to 0. Returns (β, residuals, design, design at 1, design at 0)."""
    z, wb = df.Z.to_numpy(float), (df.W == "b").to_numpy(float)
    design, at1, at0 = (columns(np.full(len(df), v) if v is not None else df.X.to_numpy(float),
                                z, wb) for v in (None, 1.0, 0.0))
    res = sm.OLS(df.Y.to_numpy(), design).fit()
    np.testing.assert_allclose(res.fittedvalues, smf.ols(formula, df).fit().fittedvalues,
                               atol=1e-9)
    return res.params, res.resid, design, at1, at0


def _design(*cols):  # type: ignore[no-untyped-def]
    return np.column_stack([np.ones(len(cols[0])), *cols])


def _phi(design, resid, d, beta, tau, h):  # type: ignore[no-untyped-def]
    """The influence function of ``τ = mean over the rows with h of d_iᵀβ`` (β by OLS):
    ``h_i (d_iᵀβ - τ) / P(h) + mean_h(d)ᵀ (XᵀX/n)⁻¹ x_i r_i``, the standardisation's own
    spread plus the coefficients' HC0 part; the sandwich se is sqrt(mean φ² / n)."""
    n = len(resid)
    h = np.asarray(h, dtype=float)
    own = h * (d @ beta - tau) / h.mean()
    coef = (design * resid[:, None]) @ np.linalg.solve(design.T @ design / n,
                                                       d[h == 1].mean(axis=0))
    return own + coef


def _se_of(phi: np.ndarray) -> float:
    return float(np.sqrt(np.mean(phi ** 2) / len(phi)))


def test_gformula_with_interactions_is_statsmodels_standardisation():
    """outcome="C(X) * Z + W": the ATE is mean_i(m1_i - m0_i) with m from statsmodels' OLS on
    the design (1, X, Z, XZ, W=b) written out by hand."""
    df = hetero()
    e = causaldsl.estimate(G, ATE, df, method="gformula", outcome="C(X) * Z + W")
    beta, resid, xd, x1, x0 = _ols("Y ~ C(X) * Z + W", df,
                                   lambda x, z, wb: _design(x, z, x * z, wb))
    d = x1 - x0
    tau = float(np.mean(d @ beta))
    assert float(e) == pytest.approx(tau, abs=1e-6)
    # the interaction matters: each row's m1 - m0 is its own (β_XZ ≈ 0.8 times Z, whose sd is
    # 1), so a standardisation that did not set X in the interaction column would differ
    assert np.std(d @ beta) > 0.5
    phi = _phi(xd, resid, d, beta, tau, np.ones(len(df)))
    assert e.se == pytest.approx(_se_of(phi), rel=1e-6)
    lo, hi = e.ci
    assert (lo + hi) / 2 == pytest.approx(float(e)) and hi - lo == pytest.approx(
        2 * 1.959963984540054 * e.se)


def test_gformula_with_a_logistic_outcome_is_statsmodels_logit_standardisation():
    """A 0/1 outcome gets a logistic model: P(Y = 1 | do(X = x)) = mean_i expit(x_i(x)ᵀβ), β
    from sm.Logit; the se from the influence function
    φ_i = (p1_i - p0_i - τ) + gᵀ I⁻¹ x_i (y_i - μ_i), g = mean(p1(1-p1) x1 - p0(1-p0) x0),
    I = mean(μ(1-μ) x xᵀ)."""
    df = binary()
    e = causaldsl.estimate(G, RISK_DIFFERENCE, df, method="gformula")
    n = len(df)
    wb = (df.W == "b").to_numpy(float)
    xd = np.column_stack([np.ones(n), df.X, df.Z, wb])
    x1, x0 = xd.copy(), xd.copy()
    x1[:, 1], x0[:, 1] = 1, 0
    y = df.Y.to_numpy(float)
    fit = sm.Logit(y, xd).fit(disp=0, tol=1e-12, maxiter=100)
    beta = fit.params
    mu, p1, p0 = (1 / (1 + np.exp(-m @ beta)) for m in (xd, x1, x0))
    tau = float(np.mean(p1 - p0))
    assert float(e) == pytest.approx(tau, abs=1e-6)
    info = (xd * (mu * (1 - mu))[:, None]).T @ xd / n
    g = ((p1 * (1 - p1))[:, None] * x1 - (p0 * (1 - p0))[:, None] * x0).mean(axis=0)
    phi = (p1 - p0 - tau) + (xd * (y - mu)[:, None]) @ np.linalg.solve(info, g)
    assert e.se == pytest.approx(_se_of(phi), rel=1e-6)
    # the same question as E[Y]: a 0/1 column's mean is its probability of 1
    assert float(causaldsl.estimate(G, ATE, df, method="gformula")) == pytest.approx(tau,
                                                                                     abs=1e-9)


def test_ipw_with_three_levels_is_hajek_with_mnlogit_propensities():
    """A contrast of all three levels, c - 2b + a: each mean is the Hájek weighted mean
    Σ 1{X=x} Y / e_x / Σ 1{X=x} / e_x with e from sm.MNLogit on (1, Z, W); a swapped or
    misaligned propensity column gives another number."""
    df = three_levels()
    q = "E[Y | do(X = c)] - 2 * E[Y | do(X = b)] + E[Y | do(X = a)]"
    e = causaldsl.estimate(G, q, df, method="ipw")
    n = len(df)
    xp = np.column_stack([np.ones(n), df.Z, (df.W == "b").to_numpy(float)])
    codes = df.X.map({"a": 0, "b": 1, "c": 2}).to_numpy()
    probs = sm.MNLogit(codes, xp).fit(disp=0, method="newton", maxiter=100, tol=1e-12) \
        .predict(xp)
    y = df.Y.to_numpy()

    def hajek(k: int) -> float:
        w = (codes == k) / probs[:, k]
        return float((w * y).sum() / w.sum())

    want = [hajek(2), hajek(1), hajek(0)]
    assert float(e) == pytest.approx(want[0] - 2 * want[1] + want[2], abs=1e-6)
    terms = {t: v for t, v, _ in e.details["means"]}
    assert terms["E[Y | do(X = b)]"] == pytest.approx(want[1], abs=1e-6)
    # weighting is not the difference of raw means here (X depends on Z, which moves Y)
    raw = df.groupby("X").Y.mean()
    assert abs(float(e) - (raw["c"] - 2 * raw["b"] + raw["a"])) > 0.1


def test_cate_with_main_effects_is_the_coefficient_with_its_hc0_se():
    """Main effects make m1 - m0 = β_X in every row, so the effect within W = b is β_X and its
    sandwich se is HC0's: the stratum's own term, (m1 - m0 - τ) h / P(h), is zero."""
    df = hetero()
    e = causaldsl.estimate(G, CATE_B, df, method="gformula")
    ols = smf.ols("Y ~ X + Z + W", df).fit(cov_type="HC0")
    assert float(e) == pytest.approx(ols.params["X"], abs=1e-6)
    assert e.se == pytest.approx(ols.bse["X"], rel=1e-6)


def test_cate_is_the_standardisation_over_the_stratum():
    """outcome="C(X) * (Z + W)": E[Y | do(X=1), W=b] - E[Y | do(X=0), W=b] is the mean of
    m1 - m0 over the rows with W = b only; over all rows (the ATE) it differs by about
    P(W = a) × 1.0 (the W-interaction) ≈ 0.5. The se by the influence function with h = 1{W = b}."""
    df = hetero()
    e = causaldsl.estimate(G, CATE_B, df, method="gformula", outcome="C(X) * (Z + W)")
    beta, resid, xd, x1, x0 = _ols("Y ~ C(X) * (Z + W)", df,
                                   lambda x, z, wb: _design(x, z, wb, x * z, x * wb))
    d = x1 - x0
    b = (df.W == "b").to_numpy()
    tau = float(np.mean((d @ beta)[b]))
    assert float(e) == pytest.approx(tau, abs=1e-6)
    assert abs(tau - float(np.mean(d @ beta))) > 0.2
    phi = _phi(xd, resid, d, beta, tau, b)
    assert e.se == pytest.approx(_se_of(phi), rel=1e-6)


def test_att_by_gformula_is_the_mean_over_the_treated_of_m1_minus_m0():
    df = hetero()
    e = causaldsl.estimate(G, ATT, df, method="gformula", outcome="C(X) * Z + W")
    beta, resid, xd, x1, x0 = _ols("Y ~ C(X) * Z + W", df,
                                   lambda x, z, wb: _design(x, z, x * z, wb))
    d = x1 - x0
    treated = (df.X == 1).to_numpy()
    tau = float(np.mean((d @ beta)[treated]))
    assert float(e) == pytest.approx(tau, abs=1e-6)
    # the treated have larger Z (X's propensity rises with Z) and the effect grows with Z, so
    # the ATT exceeds the ATE: 0.8 × (E[Z | X = 1] - E[Z]) ≈ 0.8 × 0.25
    assert tau - float(np.mean(d @ beta)) > 0.1
    phi = _phi(xd, resid, d, beta, tau, treated)
    assert e.se == pytest.approx(_se_of(phi), rel=1e-6)


def test_att_by_ipw_has_the_textbook_weights():
    """Treated rows weigh 1 (their own mean), controls e/(1 - e), normalised:
    ATT = mean_{X=1} Y - Σ_{X=0} Y e/(1-e) / Σ_{X=0} e/(1-e), e from sm.Logit on (1, Z, W)."""
    df = hetero()
    e = causaldsl.estimate(G, ATT, df, method="ipw")
    n = len(df)
    xp = np.column_stack([np.ones(n), df.Z, (df.W == "b").to_numpy(float)])
    p = sm.Logit(df.X.to_numpy(), xp).fit(disp=0, tol=1e-12, maxiter=100).predict(xp)
    x, y = df.X.to_numpy(), df.Y.to_numpy()
    odds = p / (1 - p)
    want = y[x == 1].mean() - (odds * y)[x == 0].sum() / odds[x == 0].sum()
    assert float(e) == pytest.approx(want, abs=1e-6)
    terms = {t: v for t, v, _ in e.details["means"]}
    assert terms["E[Y[X = 1] | X = 1]"] == pytest.approx(y[x == 1].mean(), abs=1e-9)


def test_gformula_over_censored_rows_fits_the_others_and_standardises_over_all():
    """missing="censored": rows without Y are left out of the outcome model (statsmodels' OLS on
    the rest) and kept in the standardisation (the mean over all rows of m1 - m0); the sandwich
    se is the influence function with no score for a censored row, every row's own term, and
    n the number of all rows. Outcomes missing more often where Z is high make the two
    populations differ, so standardising over the uncensored rows only gives another number."""
    df = hetero()
    rng = np.random.default_rng(3)
    censored = rng.random(len(df)) < 0.1 + 0.3 * (df.Z > 0.5)
    df.loc[censored, "Y"] = np.nan
    e = causaldsl.estimate(G, ATE, df, method="gformula", outcome="C(X) * Z + W",
                           missing="censored")
    seen = ~censored.to_numpy()
    beta, resid, xd, _, _ = _ols("Y ~ C(X) * Z + W", df[seen].reset_index(drop=True),
                                   lambda x, z, wb: _design(x, z, x * z, wb))
    z, wb = df.Z.to_numpy(float), (df.W == "b").to_numpy(float)
    one, zero = np.ones(len(df)), np.zeros(len(df))
    d = _design(one, z, z, wb) - _design(zero, z, zero, wb)  # every row's x(1) - x(0)
    tau = float(np.mean(d @ beta))
    assert float(e) == pytest.approx(tau, abs=1e-6)
    assert e.n == len(df) and e.details["censored"] == int(censored.sum())
    assert abs(tau - float(np.mean(d[seen] @ beta))) > 0.05
    design, res = np.zeros((len(df), xd.shape[1])), np.zeros(len(df))
    design[seen], res[seen] = xd, resid  # a censored row: no score
    phi = _phi(design, res, d, beta, tau, one)
    assert e.se == pytest.approx(_se_of(phi), rel=1e-6)
