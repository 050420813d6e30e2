"""IPW and AIPW against DoWhy's estimators of the same estimand on the same data.

DoWhy (0.14) is a test-only oracle kept out of the ``test`` extra: its own requirements
(numba, cvxpy, Cython, and an older SciPy) are heavy, and the estimators used here need none of
them. CI installs the two pure-Python wheels it needs, ``pip install --no-deps dowhy==0.14
causal-learn==0.1.4.8`` (about 650 KB; ``causal-learn`` only because ``import dowhy`` imports
it) and matplotlib (which ``import dowhy`` imports too), checks that ``import dowhy`` works,
and runs the slow tests; so these tests are marked slow and skip where DoWhy is absent.

Which DoWhy estimator matches ours, and with which options:

- ``ipw`` (normalised, Hájek weights: each arm's mean is ``Σ 1{X=x} Y / e_x / Σ 1{X=x} / e_x``)
  is DoWhy's ``backdoor.propensity_score_weighting``, whose effect is always the difference of
  the two arms' weighted means, each divided by its own sum of weights; its three
  ``weighting_scheme``s for the ATE (``ips_weight``, ``ips_normalized_weight``,
  ``ips_stabilized_weight``) rescale each arm's weights by a constant, so all three are the
  Hájek estimator and all three are checked. Its propensities are clipped to [0.05, 0.95] by
  default; ``min_ps_score=0, max_ps_score=1`` turn the clip off.
- ``aipw`` (``mean(m_x + 1{X=x} (Y - m_x) / e_x)``, unnormalised) is DoWhy's
  ``backdoor.doubly_robust`` with its default outcome model (OLS on 1, X and the covariates,
  our default main effects) and its clip [0.01, 0.99] turned off the same way.
- Both need the propensity model to be the maximum-likelihood logistic fit ours is:
  scikit-learn's ``LogisticRegression(C=inf, solver="newton-cholesky", tol=1e-12)``
  (unpenalised; DoWhy's default ``LogisticRegression()`` is L2-penalised, a different model).
  W is given to DoWhy as its 0/1 indicator, the same column space as our ``C(W)``.

Tolerance, from the arithmetic: both sides solve the same concave likelihood; scikit-learn stops
once the mean gradient's largest entry is at most ``tol`` = 1e-12, which leaves the coefficients
within ``√3 · 1e-12 / λ_min`` of the maximum (λ_min: the smallest eigenvalue of the mean Fisher
information, 0.045 on these data, checked below to be above 0.04: so 4.3e-11), and ours stops
with a step below 1e-8 relative, after which Newton's quadratic convergence leaves ~1e-16. Each
estimate moves with the coefficients by at most ``‖∂τ/∂γ‖₁`` (2.0 for IPW, 0.24 for AIPW here;
checked below to be under 5) times that: 2.2e-10. The OLS outcome fits agree to rounding
(~1e-12), so TOL = 1e-9. A wrong normalisation of the weights (Horvitz–Thompson instead of
Hájek) moves the IPW estimate by 4e-3, and a dropped augmentation term (the g-formula instead
of AIPW) the AIPW one by 1.6e-2, over 10^6 times TOL; the tests check that too, so they can
fail."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import causaldsl

from .datasets import ATE, G, hetero, sigmoid

pytestmark = pytest.mark.slow

dowhy = pytest.importorskip("dowhy")
sklearn_linear = pytest.importorskip("sklearn.linear_model")

TOL = 1e-9


def _dowhy(method: str, **params: object) -> float:
    """DoWhy's estimate of the ATE of X on Y adjusting for Z and W (as 0/1), by ``method``
    with the unpenalised propensity model and no clipping."""
    df = hetero()
    data = df.assign(W=(df.W == "b").astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("dowhy").setLevel(logging.ERROR)
        model = dowhy.CausalModel(data=data, treatment="X", outcome="Y", common_causes=["Z", "W"])
        ident = model.identify_effect(proceed_when_unidentifiable=True)
        lr = sklearn_linear.LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12,
                                               max_iter=100)
        est = model.estimate_effect(ident, method_name=method, method_params={
            "propensity_score_model": lr, "min_ps_score": 0.0, "max_ps_score": 1.0, **params})
    return float(est.value)


def _design() -> np.ndarray:
    df = hetero()
    return np.column_stack([np.ones(len(df)), df.Z, (df.W == "b").astype(float)])


def _gamma() -> np.ndarray:
    """The maximum-likelihood logistic fit of P(X = 1 | Z, W), by Newton's method in NumPy (the
    checks below need it to far less precision than TOL)."""
    design, x, gamma = _design(), hetero().X.to_numpy(float), np.zeros(3)
    for _ in range(50):
        mu = sigmoid(design @ gamma)
        gamma = gamma + np.linalg.solve((design.T * mu * (1 - mu)) @ design, design.T @ (x - mu))
    return gamma


def _ipw(e: np.ndarray) -> float:
    """The Hájek IPW ATE with propensities ``e``, in NumPy."""
    df = hetero()
    x, y = df.X.to_numpy(float), df.Y.to_numpy()
    return (x * y / e).sum() / (x / e).sum() - ((1 - x) * y / (1 - e)).sum() / ((1 - x) / (1 - e)).sum()


def _aipw(e: np.ndarray) -> float:
    """The AIPW ATE with propensities ``e`` and the main-effects OLS outcome model, in NumPy."""
    df = hetero()
    x, y, ones = df.X.to_numpy(float), df.Y.to_numpy(), np.ones(len(df))
    cov = [df.Z.to_numpy(), (df.W == "b").to_numpy(float)]
    beta = np.linalg.lstsq(np.column_stack([ones, x, *cov]), y, rcond=None)[0]
    m1, m0 = (np.column_stack([ones, v * ones, *cov]) @ beta for v in (1.0, 0.0))
    return float(np.mean(m1 - m0 + x * (y - m1) / e - (1 - x) * (y - m0) / (1 - e)))


def test_the_tolerances_premises():
    """λ_min of the propensity model's mean Fisher information is above 0.04, and the
    estimates' sensitivity to its coefficients, ‖∂τ/∂γ‖₁ by central differences, is under 5."""
    df = hetero()
    design, gamma = _design(), _gamma()
    e = sigmoid(design @ gamma)
    info = (design.T * e * (1 - e)) @ design / len(df)
    assert np.linalg.eigvalsh(info).min() > 0.04
    h = 1e-6
    for tau in (_ipw, _aipw):
        grad = [(tau(sigmoid(design @ (gamma + h * u))) - tau(sigmoid(design @ (gamma - h * u))))
                / (2 * h) for u in np.eye(3)]
        assert np.abs(grad).sum() < 5


@pytest.mark.parametrize("scheme", ["ips_weight", "ips_normalized_weight",
                                    "ips_stabilized_weight"])
def test_ipw_is_dowhys_propensity_score_weighting(scheme: str):
    ours = causaldsl.estimate(G, ATE, hetero(), method="ipw")
    theirs = _dowhy("backdoor.propensity_score_weighting", weighting_scheme=scheme)
    assert float(ours) == pytest.approx(theirs, abs=TOL)


def test_ipw_normalisation_matters_on_these_data():
    """Horvitz–Thompson (weights not normalised per arm) is a different number here, far
    outside TOL: an IPW that forgot the normalisation would fail the test above."""
    df = hetero()
    ours = causaldsl.estimate(G, ATE, df, method="ipw")
    e, x, y = sigmoid(_design() @ _gamma()), df.X.to_numpy(float), df.Y.to_numpy()
    assert _ipw(e) == pytest.approx(float(ours), abs=TOL)  # the same propensities as ours
    horvitz_thompson = np.mean(x * y / e) - np.mean((1 - x) * y / (1 - e))
    assert abs(horvitz_thompson - float(ours)) > 1e6 * TOL


def test_aipw_is_dowhys_doubly_robust():
    ours = causaldsl.estimate(G, ATE, hetero(), method="aipw")
    assert float(ours) == pytest.approx(_dowhy("backdoor.doubly_robust"), abs=TOL)


def test_aipw_augmentation_matters_on_these_data():
    """The outcome model (main effects) is wrong here (the effect varies with Z and W), so the
    augmentation term moves the estimate: dropping it (the g-formula) or normalising it
    differently would fail the test above by far more than TOL."""
    df = hetero()
    aipw = float(causaldsl.estimate(G, ATE, df, method="aipw"))
    gformula = float(causaldsl.estimate(G, ATE, df, method="gformula"))
    assert abs(aipw - gformula) > 1e6 * TOL
