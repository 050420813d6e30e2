"""Effects within a stratum of a continuous covariate, ``E[Y | do(X = 1), Z = z, W = w] -
E[Y | do(X = 0), Z = z, W = w]``: where the strata's variables are an adjustment set, the
g-formula's prediction contrast at the point, against statsmodels' fits on the same data (the
value to 1e-6, its standard error against the HC0 covariance's delta method to 1e-6 relative:
both sides solve the same convex problem to ~1e-10, and the sandwich of a GLM is HC0); and the
questions it cannot answer so, refused with the reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl import DataError, QueryError

from .datasets import G, binary, hetero

sm = pytest.importorskip("statsmodels.formula.api")

CATE = "E[Y | do(X = 1), Z = {z}, W = b] - E[Y | do(X = 0), Z = {z}, W = b]"
RISK = "P(Y = 1 | do(X = 1), Z = {z}, W = b) - P(Y = 1 | do(X = 0), Z = {z}, W = b)"


def _rows(z: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    at1 = pd.DataFrame({"X": [1], "Z": [z], "W": ["b"]})
    return at1, at1.assign(X=0)


def _contrast(res, z: float) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """The design rows at X = 1 and X = 0, by statsmodels' own formula expansion (patsy's
    design information, or formulaic's model spec, whichever this statsmodels uses)."""
    spec = res.model.data.model_spec
    if hasattr(spec, "get_model_matrix"):  # formulaic
        return tuple(np.asarray(spec.get_model_matrix(r), dtype=float)[0]  # type: ignore
                     for r in _rows(z))
    from patsy import build_design_matrices

    return tuple(np.asarray(build_design_matrices([spec], r)[0], dtype=float)[0]  # type: ignore
                 for r in _rows(z))


@pytest.mark.parametrize("z", [-1.0, 0.5, 2.0])
def test_linear_cate_at_a_point_is_statsmodels_prediction_contrast(z):
    """The true model has the effect 2 + 0.8 Z + 1 (W = b); with outcome "C(X) * (Z + W)" the
    contrast is (d1 - d0)ᵀβ and its se sqrt((d1 - d0)ᵀ V_HC0 (d1 - d0)). An estimate that
    averaged over the rows' Z (the stratum ignored) would give the ATE in W = b instead, which
    differs by 0.8 (z - mean Z) > 0.3 at these points; a model-based (non-robust) variance
    differs here since the noise grows with X."""
    df = hetero()
    e = causaldsl.estimate(G, CATE.format(z=z), df, outcome="C(X) * (Z + W)")
    res = sm.ols("Y ~ C(X) * (Z + W)", df).fit(cov_type="HC0")
    d1, d0 = _contrast(res, z)
    d = d1 - d0
    assert e.method == "gformula" and e.adjustment == ("Z", "W")
    assert float(e) == pytest.approx(float(d @ res.params.to_numpy()), abs=1e-6)
    assert e.se == pytest.approx(float(np.sqrt(d @ res.cov_params().to_numpy() @ d)), rel=1e-6)
    assert abs(float(e) - (2 + 0.8 * z + 1)) < 4 * e.se  # near the truth
    naive = sm.ols("Y ~ C(X) * (Z + W)", df).fit(cov_type="nonrobust")
    assert abs(e.se - float(np.sqrt(d @ naive.cov_params().to_numpy() @ d))) > 1e-3 * e.se


def test_logistic_risk_difference_at_a_point_is_statsmodels_logit_delta_method():
    """P(Y = 1 | do(X = x), Z = z, W = b) = expit(d_xᵀβ) with β from Logit; the se of the
    difference by the delta method with Logit's HC0 covariance."""
    df = binary()
    z = 0.7
    e = causaldsl.estimate(G, RISK.format(z=z), df, outcome="X + Z + W")
    res = sm.logit("Y ~ X + Z + W", df).fit(disp=0, cov_type="HC0")
    d1, d0 = _contrast(res, z)
    beta = res.params.to_numpy()
    p1, p0 = (1 / (1 + np.exp(-(d @ beta))) for d in (d1, d0))
    grad = p1 * (1 - p1) * d1 - p0 * (1 - p0) * d0
    assert float(e) == pytest.approx(p1 - p0, abs=1e-6)
    assert e.se == pytest.approx(float(np.sqrt(grad @ res.cov_params().to_numpy() @ grad)),
                                 rel=1e-6)


def test_bootstrap_of_a_point_agrees_with_the_sandwich():
    df = hetero()
    e = causaldsl.estimate(G, CATE.format(z=0.5), df, outcome="C(X) * (Z + W)",
                           bootstrap=200, seed=1)
    # the bootstrap se's relative sd is about 1/sqrt(2 · 200) = 5%: 25% is five of them
    assert e.se == pytest.approx(e.details["se_sandwich"], rel=0.25)
    assert e.ci[0] < float(e) < e.ci[1]


def test_a_point_outside_the_data_is_warned_about():
    e = causaldsl.estimate(G, CATE.format(z=9), hetero(), outcome="C(X) * (Z + W)")
    assert any("Z = 9 is outside the data's range of Z" in w for w in e.warnings)
    inside = causaldsl.estimate(G, CATE.format(z=0.5), hetero(), outcome="C(X) * (Z + W)")
    assert not inside.warnings


def test_strata_that_are_not_an_adjustment_set_are_refused_naming_the_rest():
    """Z alone leaves W's back-door path open: the prediction at Z = z would need averaging
    over P(W | Z = z), a model of its own; the message says what to add."""
    q = "E[Y | do(X = 1), Z = 0.5] - E[Y | do(X = 0), Z = 0.5]"
    with pytest.raises(QueryError, match=r"\{Z\} to be an adjustment set .* condition on "
                                         r"\{W\} too"):
        causaldsl.estimate(G, q, hetero())


@pytest.mark.parametrize(("method", "error", "said"), [
    ("ipw", QueryError, "only the outcome model's prediction answers"),
    ("aipw", QueryError, "only the outcome model's prediction answers"),
    ("plugin", DataError, "needs finite variables; Y, Z are continuous")])
def test_other_methods_are_refused_at_a_point(method, error, said):
    with pytest.raises(error, match=said):
        causaldsl.estimate(G, CATE.format(z=0.5), hetero(), method=method)
