"""The response-function linear program for X and Y with any finite number of values: its bounds
contain the truth of random models (computed by the multi-world construction on the model, not
by the program), equal Tian & Pearl's and Manski's closed forms (written out here) on binary
data, and are attained by a model of the data (tight)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causaldsl import FiniteType, ModelBuilder, QueryError
from causaldsl import counterfactual as cf
from causaldsl.counterfactual import lp
from causaldsl.counterfactual.bounds import Setting, _target


def scm(kx, ky, u_probs, fx, fy, name="scm"):
    """X := fx[U], Y := fy[X, U] with one shared noise U (X and Y confounded)."""
    k = len(u_probs)
    b = ModelBuilder(name)
    b.exogenous("U", FiniteType(list(range(k))), u_probs)
    b.observed("X", FiniteType(list(range(kx))), np.eye(kx)[np.asarray(fx)], given="U")
    b.observed("Y", FiniteType(list(range(ky))), np.eye(ky)[np.asarray(fy)], given=("X", "U"))
    return b.build()


@st.composite
def models(draw):
    kx, ky = draw(st.integers(2, 3)), draw(st.integers(2, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = 6
    return scm(kx, ky, rng.dirichlet(np.full(k, 0.8)), rng.integers(0, kx, size=k),
               rng.integers(0, ky, size=(kx, k)))


def queries(kx, ky, rng):
    """Probabilities, conditionals (factual and counterfactual evidence), a joint over two
    worlds and an ATE, on values drawn at random."""
    a, c = rng.choice(kx, size=2, replace=False)
    y, w = rng.integers(0, ky, size=2)
    return [f"P(Y[X = {a}] = {y})",
            f"P(Y[X = {a}] = {y} | X = {c})",
            f"P(Y[X = {a}] = {y} | X = {c}, Y = {w})",
            f"P(Y[X = {a}] = {y}, Y[X = {c}] = {w})",
            f"P(Y[X = {a}] = {y} | Y[X = {c}] = {w})",
            f"E[Y[X = {a}]] - E[Y[X = {c}]]",
            f"E[Y[X = {a}] | X = {c}] - E[Y | X = {c}]"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.integers(0, 2**32 - 1))
def test_bounds_contain_the_truth(model, seed):
    rng = np.random.default_rng(seed)
    kx, ky = model["X"].type.size, model["Y"].type.size
    for q in queries(kx, ky, rng):
        try:
            truth = float(model.query(q))
        except QueryError:   # its condition has probability zero in this model
            continue
        both = cf.bounds_from(model, q, "X", "Y")
        obs = cf.bounds_from(model, q, "X", "Y", experimental=False)
        assert truth in both and truth in obs, (q, truth, both, obs)
        # more data, narrower bounds
        assert obs.low - 1e-9 <= both.low and both.high <= obs.high + 1e-9
    if ky == 2:
        x1, x0 = (int(v) for v in rng.choice(kx, size=2, replace=False))
        for name, fn in (("PNS", cf.pns), ("PN", cf.pn), ("PS", cf.ps)):
            try:
                truth = fn(model, "X", "Y", treated=x1, control=x0).value
            except QueryError:
                continue
            assert truth in cf.bounds_from(model, name, "X", "Y", treated=x1, control=x0)


def closed_forms(obs, exp):
    """Tian & Pearl (2000) for PNS, PN, PS from both kinds of data, and the observational-only
    ones: Manski's for P(y_x) and the ATE, and PNS ≤ P(x, y) + P(x', y'). Arrays [x, y]."""
    p_y = obs[0, 1] + obs[1, 1]
    xy, x_y_, xy_, x_y = obs[1, 1], obs[0, 0], obs[1, 0], obs[0, 1]
    y_x, y_x_, yn_x_ = exp[1, 1], exp[0, 1], exp[0, 0]
    px = obs[1].sum()
    return {
        "PNS": (max(0, y_x - y_x_, p_y - y_x_, y_x - p_y),
                min(y_x, yn_x_, xy + x_y_, y_x - y_x_ + xy_ + x_y)),
        "PN": (max(0, (p_y - y_x_) / xy), min(1, (yn_x_ - x_y_) / xy)),
        "PS": (max(0, (y_x - p_y) / x_y_), min(1, (y_x - xy) / x_y_)),
        # observational only: P(x, y) ≤ P(y_x) ≤ P(x, y) + P(x'); the ATE between the
        # differences of those ends; PNS ≤ P(x, y) + P(x', y')
        "obs P(Y[X = 1] = 1)": (xy, xy + 1 - px),
        "obs E[Y[X = 1]] - E[Y[X = 0]]": (xy - (x_y + px), xy + (1 - px) - x_y),
        "obs PNS": (0, xy + x_y_),
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_binary_bounds_equal_the_closed_forms(seed):
    rng = np.random.default_rng(seed)
    q = rng.dirichlet(np.full(8, 0.7)).reshape(2, 4)   # X's value × Y's response (Y[0], Y[1])
    resp = list(itertools.product((0, 1), (0, 1)))
    obs, exp = np.zeros((2, 2)), np.zeros((2, 2))
    for x, (t, r) in itertools.product((0, 1), enumerate(resp)):
        obs[x, r[x]] += q[x, t]
        for xx in (0, 1):
            exp[xx, r[xx]] += q[x, t]
    want = closed_forms(obs, exp)
    for name in ("PNS", "PN", "PS"):
        got = cf.bounds(name, obs, exp)
        assert (got.low, got.high) == pytest.approx(want[name], abs=1e-7)
    # PNS and PN written as queries are the same programs
    got = cf.bounds("P(Y[X = 1] = 1, Y[X = 0] = 0)", obs, exp)
    assert (got.low, got.high) == pytest.approx(want["PNS"], abs=1e-7)
    got = cf.bounds("P(Y[X = 0] = 0 | X = 1, Y = 1)", obs, exp)
    assert (got.low, got.high) == pytest.approx(want["PN"], abs=1e-7)
    for name in ("P(Y[X = 1] = 1)", "E[Y[X = 1]] - E[Y[X = 0]]", "PNS"):
        got = cf.bounds(name, obs)
        assert (got.low, got.high) == pytest.approx(want[f"obs {name}"], abs=1e-7)


def test_tight_by_hand():
    """X and Y in {0, 1, 2}; P(Y[X = 0] = 0) from observations alone lies in
    [P(X = 0, Y = 0), P(X = 0, Y = 0) + P(X ≠ 0)]. Two models with the same P(X, Y) attain the
    ends: the units with X ≠ 0 have Y[X = 0] = 0 in one, and Y[X = 0] = 1 in the other.
    U uniform on 6 units; X = 0, 0, 1, 1, 2, 2; factual Y = 0, 1, 2, 0, 1, 2, so
    P(X = 0, Y = 0) = 1/6 and P(X ≠ 0) = 4/6."""
    u = np.full(6, 1 / 6)
    fx = [0, 0, 1, 1, 2, 2]
    factual = [0, 1, 2, 0, 1, 2]

    def fy(y0_others):
        # rows X = 0, 1, 2; columns the units. A unit's factual row is its own X; the X = 0 row
        # of units with X ≠ 0 is y0_others; other rows do not matter here (0).
        t = np.zeros((3, 6), dtype=int)
        for unit, x in enumerate(fx):
            t[x, unit] = factual[unit]
            if x != 0:
                t[0, unit] = y0_others
        return t

    high, low = scm(3, 3, u, fx, fy(0), "high"), scm(3, 3, u, fx, fy(1), "low")
    assert np.allclose(high.query("P(X, Y)").probs, low.query("P(X, Y)").probs)
    q = "P(Y[X = 0] = 0)"
    assert high.query(q) == pytest.approx(5 / 6) and low.query(q) == pytest.approx(1 / 6)
    for m in (high, low):
        b = cf.bounds_from(m, q, "X", "Y", experimental=False)
        assert (b.low, b.high) == pytest.approx((1 / 6, 5 / 6), abs=1e-9)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.integers(0, 2**32 - 1))
def test_each_end_is_attained_by_a_model_of_the_data(model, seed):
    """Sharpness: the joint over cells at each end of the program, written as a structural
    model (U over the cells, X := its value, Y := its response function at X), reproduces the
    data and its multi-world answer equals the end."""
    rng = np.random.default_rng(seed)
    kx, ky = model["X"].type.size, model["Y"].type.size
    cells = lp.check_size(kx, ky)
    obs = np.asarray(model.query("P(X, Y)").probs)
    exp = np.asarray(model.query("P(Y | do(X))").probs)
    s = Setting("X", "Y", model["X"].type, model["Y"].type)
    a, b = lp.constraints(cells, obs, exp)
    x, resp = cells.arrays()
    for q in queries(kx, ky, rng)[:4] + queries(kx, ky, rng)[5:6]:
        from causaldsl import parse_query

        num, den = _target(s, cells, parse_query(q), a, b)
        try:
            sol = lp.solve(q, a, b, num, den)
        except QueryError:
            continue
        for end, joint in ((sol.low, sol.q_low), (sol.high, sol.q_high)):
            keep = joint > 1e-12
            m = scm(kx, ky, joint[keep] / joint[keep].sum(), x[keep], resp[keep].T, "end")
            assert np.allclose(m.query("P(X, Y)").probs, obs, atol=1e-7)
            assert np.allclose(m.query("P(Y | do(X))").probs, exp, atol=1e-7)
            assert float(m.query(q)) == pytest.approx(end, abs=1e-7)


def test_the_size_limit_gives_the_size():
    obs = np.full((8, 8), 1 / 64)
    with pytest.raises(QueryError, match=r"\|X\| · \|Y\|\^\|X\| = 8 · 8\^8 = 134,217,728 cells"):
        cf.bounds("P(Y[X = 1] = 1)", obs)
    # 5 · 4^5 = 5,120 cells is well inside
    b = cf.bounds("P(Y[X = 4] = 3)", np.full((5, 4), 1 / 20))
    assert (b.low, b.high) == pytest.approx((1 / 20, 1 / 20 + 4 / 5))
    assert "5 · 4^5 = 5,120 cells" in b.method


def test_bad_queries():
    obs = np.full((3, 2), 1 / 6)
    with pytest.raises(QueryError, match="Z is not about the treatment X or the outcome Y"):
        cf.bounds("P(Z = 1)", obs)
    with pytest.raises(QueryError, match="has no value"):
        cf.bounds("P(Y[X = 1])", obs)
    with pytest.raises(QueryError, match="not 'ETT'"):
        cf.bounds("ETT", obs)
    with pytest.raises(QueryError, match="disagree on the sizes"):
        cf.bounds("P(Y[X = 1] = 1)", obs, np.full((2, 2), 0.5))
    with pytest.raises(QueryError, match=r"do not fix the probability of Y\[X = 0\] = 1"):
        cf.bounds("P(Y[X = 1] = 1 | Y[X = 0] = 1) - P(Y[X = 2] = 1 | Y[X = 0] = 0)", obs)
    # with the experimental data P(Y[X = 0] = 1) = 1/2 is fixed, so the same sum is bounded:
    # X uniform and independent of Y's response, which is (0, 0, 0) or (1, 1, 1) with
    # probability 1/2 each, reproduces both data and gives 1 - 0; responses (0, 1, 1) and
    # (1, 0, 0) give 0 - 1
    exp = np.full((3, 2), 0.5)
    b = cf.bounds("P(Y[X = 1] = 1 | Y[X = 0] = 1) - P(Y[X = 2] = 1 | Y[X = 0] = 0)", obs, exp)
    assert (b.low, b.high) == pytest.approx((-1, 1), abs=1e-9)
    with pytest.raises(QueryError, match="probability zero"):
        cf.bounds("P(Y[X = 1] = 1 | X = 0)", np.array([[0, 0], [0.5, 0.5], [0, 0]]))
