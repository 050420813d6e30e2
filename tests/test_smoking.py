"""The smoking model of the paper, checked by hand against Pearl's truncated factorisation."""

import math

import pytest

from causaldsl import LatentQueryError, do
from examples.smoking import smoking_model


@pytest.fixture(scope="module")
def model():
    return smoking_model()


def test_do_smoking_equals_truncated_factorisation_by_hand(model):
    # P(C=yes | do(S=yes)) = Σ_t P(t | S=yes) Σ_h P(h) P(C=yes | t, h)
    #   t = no : 0.2 * (0.5 * 0.1 + 0.5 * 0.4) = 0.2 * 0.25 = 0.05
    #   t = yes: 0.8 * (0.5 * 0.3 + 0.5 * 0.8) = 0.8 * 0.55 = 0.44
    #   total  : 0.49
    assert math.isclose(model.query("P(C = yes | do(S = yes))"), 0.49, abs_tol=1e-12)
    # do(S = no): 0.9 * 0.25 + 0.1 * 0.55 = 0.225 + 0.055 = 0.28
    assert math.isclose(model.query("P(C = yes | do(S = no))"), 0.28, abs_tol=1e-12)


def test_observational_conditional_by_hand(model):
    # P(S=yes) = 0.5*0.2 + 0.5*0.7 = 0.45; P(H=yes | S=yes) = 0.35/0.45 = 7/9
    # P(C=yes | S=yes) = Σ_h P(h|S=yes) Σ_t P(t|S=yes) P(C=yes|t,h)
    #   h = no : 2/9 * (0.2*0.1 + 0.8*0.3) = 2/9 * 0.26
    #   h = yes: 7/9 * (0.2*0.4 + 0.8*0.8) = 7/9 * 0.72
    expected = 2 / 9 * 0.26 + 7 / 9 * 0.72
    assert math.isclose(model.query("P(C = yes | S = yes)"), expected, abs_tol=1e-12)


def test_channel_rows_are_the_point_interventions(model):
    channel = model.query("P(C | do(S))")
    for s in ("no", "yes"):
        point = model.query(f"P(C | do(S = {s}))")
        assert channel[s].allclose(point)


def test_do_rewrite_leaves_the_original_untouched(model):
    before = model.variables["S"]
    cut_model = do(model, S="yes")
    assert model.variables["S"] == before
    assert cut_model.variables["S"].parents == ()
    assert cut_model.query("P(C = yes)") == pytest.approx(0.49, abs=1e-12)


def test_query_on_latent_is_refused(model):
    with pytest.raises(LatentQueryError, match="H is latent"):
        model.query("P(H)")
