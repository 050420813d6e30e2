"""Bounds on PN, PS, PNS: Tian & Pearl's closed forms equal Balke & Pearl's linear program on
random binary distributions, and the bounds contain the true value of the models behind them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causaldsl import Bool, FiniteType, ModelBuilder, QueryError
from causaldsl import counterfactual as cf

TYPES = list(itertools.product((0, 1), (0, 1)))   # (Y[x'], Y[x]) per response type


def from_cells(q):
    """Observational P(x, y), experimental P(Y[x] = y) and the true PN, PS, PNS of a joint q over
    X's value (2) and Y's response type (4), written out directly."""
    obs = np.zeros((2, 2))
    exp = np.zeros((2, 2))
    for x, (t, resp) in itertools.product((0, 1), enumerate(TYPES)):
        obs[x, resp[x]] += q[x, t]
        for xx in (0, 1):
            exp[xx, resp[xx]] += q[x, t]
    helped = TYPES.index((0, 1))
    truth = {"PNS": q[:, helped].sum(), "PN": q[1, helped] / obs[1, 1],
             "PS": q[0, helped] / obs[0, 0]}
    return obs, exp, truth


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_closed_forms_equal_the_linear_program(seed):
    rng = np.random.default_rng(seed)
    q = rng.dirichlet(np.full(8, 0.7)).reshape(2, 4)
    obs, exp, truth = from_cells(q)
    for name in ("PNS", "PN", "PS"):
        lp = cf.bounds(name, obs, exp)
        tp = cf.tian_pearl(name, obs, exp)
        assert lp.low == pytest.approx(tp.low, abs=1e-7) and lp.high == pytest.approx(tp.high, abs=1e-7)
        assert truth[name] in lp
    lp = cf.bounds("PNS", None, exp)
    tp = cf.tian_pearl("PNS", None, exp)
    assert (lp.low, lp.high) == pytest.approx((tp.low, tp.high), abs=1e-7)
    assert truth["PNS"] in lp
    lp = cf.bounds("PNS", obs)
    assert (lp.low, lp.high) == pytest.approx((0.0, obs[1, 1] + obs[0, 0]), abs=1e-7)


def test_by_hand():
    # P(Y[x] = y) = 0.7, P(Y[x'] = y) = 0.2; P(x, y) = 0.28, P(x, y') = 0.12, P(x', y) = 0.12,
    # P(x', y') = 0.48 (X exogenous with P(x) = 0.4). Tian & Pearl:
    #   PNS ≥ max(0, 0.7 − 0.2, 0.4 − 0.2, 0.7 − 0.4) = 0.5
    #   PNS ≤ min(0.7, 0.8, 0.28 + 0.48, 0.7 − 0.2 + 0.12 + 0.12) = 0.7
    #   PN ≥ (P(y) − P(Y[x'] = y)) / P(x, y) = (0.4 − 0.2) / 0.28 = 5/7
    obs = np.array([[0.48, 0.12], [0.12, 0.28]])
    exp = np.array([[0.8, 0.2], [0.3, 0.7]])
    pns = cf.bounds("PNS", obs, exp)
    assert (pns.low, pns.high) == pytest.approx((0.5, 0.7))
    assert cf.bounds("PN", obs, exp).low == pytest.approx(5 / 7)
    assert "Balke & Pearl" in str(pns)


@st.composite
def confounded_scms(draw):
    """Z → X, Z → Y, X → Y over Bool with explicit noise: random functions, random noise."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    b = ModelBuilder("scm")
    k = 4
    b.exogenous("Uz", Bool, rng.dirichlet([1, 1]))
    b.exogenous("Ux", FiniteType(list(range(k))), rng.dirichlet(np.ones(k)))
    b.exogenous("Uy", FiniteType(list(range(k))), rng.dirichlet(np.ones(k)))
    b.observed("Z", Bool, np.eye(2), given="Uz")
    b.observed("X", Bool, np.eye(2)[rng.integers(0, 2, size=(2, k))], given=("Z", "Ux"))
    b.observed("Y", Bool, np.eye(2)[rng.integers(0, 2, size=(2, 2, k))], given=("X", "Z", "Uy"))
    return b.build()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(confounded_scms())
def test_bounds_contain_the_true_value(model):
    for name, fn in (("PNS", cf.pns), ("PN", cf.pn), ("PS", cf.ps)):
        try:
            truth = fn(model, "X", "Y").value
        except QueryError:   # the conditioning event of PN or PS has probability zero
            continue
        assert truth in cf.bounds_from(model, name, "X", "Y")
        assert truth in cf.bounds_from(model, name, "X", "Y", experimental=False)


def test_bad_data():
    with pytest.raises(QueryError, match="2 × 2"):
        cf.bounds("PNS", [0.5, 0.5])
    with pytest.raises(QueryError, match="sum to one"):
        cf.bounds("PNS", [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(QueryError, match="needs observational data"):
        cf.bounds("PN", None, [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(QueryError, match="contradict"):
        # P(x, y) = 0.5 but P(Y[x] = y) = 0.1
        cf.bounds("PNS", [[0.25, 0.25], [0.0, 0.5]], [[0.5, 0.5], [0.9, 0.1]])
    with pytest.raises(QueryError, match="not 'ETT'"):
        cf.bounds("ETT", [[0.25, 0.25], [0.25, 0.25]])


def test_data_within_the_tolerance_is_renormalised():
    """Like a table, data summing to one within 1e-6 is divided by its sum (issue 17)."""
    obs = [[0.25, 0.25], [0.25, 0.25 + 4e-7]]
    exp = [[0.5, 0.5 + 4e-7], [0.3, 0.7]]
    got = cf.bounds("PNS", obs, exp)
    want = cf.bounds("PNS", np.array(obs) / np.sum(obs),
                     np.array(exp) / np.sum(exp, axis=1, keepdims=True))
    assert (got.low, got.high) == (want.low, want.high)


def test_bounds_from_a_model_of_tables():
    b = ModelBuilder("tables")
    b.observed("X", Bool, [0.6, 0.4])
    b.observed("Y", Bool, given="X", table=[[0.8, 0.2], [0.3, 0.7]])
    pns = cf.bounds_from(b.build(), "PNS", "X", "Y")
    assert (pns.low, pns.high) == pytest.approx((0.5, 0.7))


def test_named_quantities_need_a_binary_outcome_and_say_so():
    three = FiniteType("Three", ["a", "b", "c"])
    b = ModelBuilder("three_out")
    b.observed("X", Bool, [0.6, 0.4])
    b.observed("Y", three, given="X", table=[[0.2, 0.3, 0.5], [0.5, 0.3, 0.2]])
    with pytest.raises(QueryError, match=r"PN needs an outcome with two values; Y has 3 values"):
        cf.bounds_from(b.build(), "PN", "X", "Y")
    b = ModelBuilder("three_in")
    b.observed("X", three, [0.2, 0.3, 0.5])
    b.observed("Y", Bool, given="X", table=[[0.8, 0.2], [0.3, 0.7], [0.5, 0.5]])
    with pytest.raises(QueryError, match=r"X has 3 values \{a, b, c\}; say which is treated"):
        cf.bounds_from(b.build(), "PNS", "X", "Y")
