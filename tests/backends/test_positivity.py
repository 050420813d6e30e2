"""Positivity by the textbook rule, when an estimand is evaluated on a joint table.

A conditional ``P(a | b)`` with ``P(b) = 0`` is undefined, but inside a product undefined times
an exact zero is zero: in ``Σ_z P(y | x, z) P(z)`` a stratum with ``P(z) = 0`` contributes
nothing. The estimand is refused (PositivityError, naming the zero probability and its values)
exactly where a term of positive weight divides by zero, or where the answer's own conditioning
has probability zero. The oracle is surgery on a model that gives the same joint: wherever the
plug-in answers, it answers what surgery does. The NumPy path (``evaluate``) and the jitted one
(``compile``, one table or a batch) agree, and neither returns a NaN.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from causaldsl import CausalModel, FiniteType, Role, Table, Variable
from causaldsl.analysis.identify import identify
from causaldsl.core.errors import PositivityError
from causaldsl.model.graph import ADMG

TOL = 1e-12
BIT = FiniteType("Bit", [0, 1])
BACKDOOR = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])
FRONTDOOR = ADMG(["S", "T", "C"], [("S", "T"), ("T", "C")], [("S", "C")])
ZXY = ["Z", "X", "Y"]

# the repro of issue 14: Z = 1 never occurs (the last four cells, Z outermost)
REPRO = np.array([0.3, 0.2, 0.1, 0.4, 0, 0, 0, 0]).reshape(2, 2, 2)
# by hand: only the stratum Z = 0 has weight, and P(z = 0) = 1, so P(y | do(x)) = P(y | x, z = 0)
#   x = 0: 0.3 / (0.3 + 0.2) = 0.6, 0.2 / 0.5 = 0.4;  x = 1: 0.1 / (0.1 + 0.4) = 0.2, 0.4 / 0.5 = 0.8
REPRO_ANSWER = np.array([[0.6, 0.4], [0.2, 0.8]])


def _model(variables: list[tuple[str, FiniteType, Role, tuple[str, ...], Any]]) -> CausalModel:
    return CausalModel.from_variables(
        [Variable(n, t, role, parents, Table(np.asarray(arr, dtype=float), len(parents)))
         for n, t, role, parents, arr in variables], "m")


def backdoor_model(joint: np.ndarray, types: dict[str, FiniteType]) -> CausalModel:
    """A model Z → X → Y, Z → Y whose joint is ``joint`` (axes Z, X, Y): its tables are the
    joint's conditionals, and any row the joint leaves undetermined (its condition has
    probability zero) is an arbitrary distribution; surgery does not depend on it."""
    pz = joint.sum(axis=(1, 2))
    pzx = joint.sum(axis=2)
    rng = np.random.default_rng(0)
    x_given_z = np.where(pz[:, None] > 0, pzx / np.where(pz > 0, pz, 1)[:, None],
                         rng.dirichlet(np.ones(joint.shape[1]), size=joint.shape[0]))
    y_given_zx = np.where(pzx[..., None] > 0, joint / np.where(pzx > 0, pzx, 1)[..., None],
                          rng.dirichlet(np.ones(joint.shape[2]), size=joint.shape[:2]))
    return _model([("Z", types["Z"], Role.OBSERVED, (), pz),
                   ("X", types["X"], Role.OBSERVED, ("Z",), x_given_z),
                   ("Y", types["Y"], Role.OBSERVED, ("Z", "X"), y_given_zx)])


def _types(joint: np.ndarray) -> dict[str, FiniteType]:
    return {n: FiniteType(n, list(range(k))) for n, k in zip(ZXY, joint.shape, strict=True)}


# -- the repro ------------------------------------------------------------------------------------

REPRO_FILE = """\
type Bit = {0, 1}

graph g {
  Z : Bit
  X : Bit
  Y : Bit
  Z -> X
  Z -> Y
  X -> Y
}

observed P(Z, X, Y) in g = [0.3, 0.2, 0.1, 0.4, 0, 0, 0, 0]

query P(Y | do(X))
"""


def test_the_repro_file_is_answered_with_the_stratum_of_weight_zero_left_out(tmp_path, capsys):
    from causaldsl.app.cli import main

    path = tmp_path / "repro.causal"
    path.write_text(REPRO_FILE, encoding="utf-8")
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    rows = [line.split() for line in out.out.splitlines() if line[:1] in ("0", "1")]
    assert rows == [["0", "|", "0", "0.6"], ["0", "|", "1", "0.4"],
                    ["1", "|", "0", "0.2"], ["1", "|", "1", "0.8"]]


def test_the_repro_by_plug_in_equals_surgery_on_a_model_with_that_joint():
    types = {"Z": BIT, "X": BIT, "Y": BIT}
    # P(Z = 1) = 0; the rows of X and Y given Z = 1 are never seen, so any will do
    m = _model([("Z", BIT, Role.OBSERVED, (), [1.0, 0.0]),
                ("X", BIT, Role.OBSERVED, ("Z",), [[0.5, 0.5], [0.9, 0.1]]),
                ("Y", BIT, Role.OBSERVED, ("Z", "X"),
                 [[[0.6, 0.4], [0.2, 0.8]], [[0.1, 0.9], [0.7, 0.3]]])])
    np.testing.assert_allclose(np.asarray(m.query("P(Z, X, Y)")), REPRO, atol=TOL)
    surgery = np.asarray(m.query("P(Y | do(X))"))
    np.testing.assert_allclose(surgery, REPRO_ANSWER, atol=TOL)
    r = identify(BACKDOOR, "P(Y | do(X))")
    assert str(r.estimand) == "Σ_z P(y|x,z) P(z)"
    plug_in = np.asarray(r.evaluate(REPRO, names=ZXY, types=types))
    np.testing.assert_allclose(plug_in, surgery, atol=TOL)
    # the model as its own source of marginals gives the same
    np.testing.assert_allclose(np.asarray(r.evaluate(m)), surgery, atol=TOL)
    # a point query: P(Y = 1 | do(X = 1)) = 0.4 / 0.5 = 0.8
    assert identify(BACKDOOR, "P(Y = 1 | do(X = 1))").evaluate(
        REPRO, names=ZXY, types=types) == pytest.approx(0.8, abs=TOL)
    # the jitted function, on one table and on a batch, agrees (and never gives a NaN)
    f = r.compile(ZXY, types)
    np.testing.assert_allclose(np.asarray(f(REPRO)), surgery, atol=TOL)
    full = np.full((2, 2, 2), 1 / 8)
    out = np.asarray(f.batch(np.stack([full, REPRO, full])).probs)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[1], surgery, atol=TOL)
    np.testing.assert_allclose(out[0], 0.5, atol=TOL)


def test_a_term_of_positive_weight_dividing_by_zero_is_still_refused_naming_the_stratum():
    types = {"Z": BIT, "X": BIT, "Y": BIT}
    r = identify(BACKDOOR, "P(Y | do(X))")
    f = r.compile(ZXY, types)
    # P(Z = 0, X = 1) = 0 while P(Z = 0) = 0.3 + 0.2 = 0.5: the stratum Z = 0 has weight 0.5
    gap = np.array([0.3, 0.2, 0, 0, 0.1, 0.1, 0.2, 0.1]).reshape(2, 2, 2)
    msg = r"the estimand needs P\(y\|x,z\), but P\(Z = 0, X = 1\) = 0: the observational"
    with pytest.raises(PositivityError, match=msg):
        r.evaluate(gap, names=ZXY, types=types)
    with pytest.raises(PositivityError, match=msg):
        f(gap)
    with pytest.raises(PositivityError, match="joint table 1 of the batch: " + msg):
        f.batch(np.stack([REPRO, gap]))
    # X = 0 is still answered: 0.5 · 0.3/0.5 + 0.5 · 0.1/0.2 = 0.3 + 0.25 = 0.55
    x0 = identify(BACKDOOR, "P(Y = 0 | do(X = 0))")
    assert x0.evaluate(gap, names=ZXY, types=types) == pytest.approx(0.55, abs=TOL)
    assert x0.compile(ZXY, types)(gap) == pytest.approx(0.55, abs=TOL)
    # both at once, Z of three values: Z = 0 never occurs (weight zero: left out), but
    # P(Z = 1, X = 1) = 0 with P(Z = 1) = 0.4, so the one to name is Z = 1, X = 1
    tri = {"Z": FiniteType("Tri", [0, 1, 2]), "X": BIT, "Y": BIT}
    both = np.array([0, 0, 0, 0, 0.3, 0.1, 0, 0, 0.2, 0.1, 0.2, 0.1]).reshape(3, 2, 2)
    msg = r"needs P\(y\|x,z\), but P\(Z = 1, X = 1\) = 0"
    with pytest.raises(PositivityError, match=msg):
        r.evaluate(both, names=ZXY, types=tri)
    with pytest.raises(PositivityError, match=msg):
        r.compile(ZXY, tri)(both)


def test_the_answers_own_conditioning_of_probability_zero_stays_an_error():
    g = ADMG(["Z", "X", "Y", "W"], [("Z", "X"), ("Z", "Y"), ("X", "Y"), ("Z", "W")])
    names = ["Z", "X", "Y", "W"]
    types = dict.fromkeys(names, BIT)
    # the repro's joint with W = 0 always: Z = 1 and W = 1 never occur
    joint = np.stack([REPRO, np.zeros((2, 2, 2))], axis=-1)
    ok = identify(g, "P(Y | do(X), W = 0)")
    # W = 0 is sure, so the answer is the repro's: 0.3 / 0.5 = 0.6 and 0.1 / 0.5 = 0.2
    np.testing.assert_allclose(np.asarray(ok.evaluate(joint, names=names, types=types)),
                               REPRO_ANSWER, atol=TOL)
    np.testing.assert_allclose(np.asarray(ok.compile(names, types)(joint)), REPRO_ANSWER,
                               atol=TOL)
    for query, msg in (("P(Y | do(X), W = 1)", r"divides by P\(w=1\), which is zero: "),
                       ("P(Y | do(X), W)", r"divides by P\(w\), which is zero at W = 1: ")):
        r = identify(g, query)
        with pytest.raises(PositivityError, match=msg):
            r.evaluate(joint, names=names, types=types)
        f = r.compile(names, types)
        with pytest.raises(PositivityError, match=msg):
            f(joint)
        with pytest.raises(PositivityError, match="joint table 0 of the batch: .*" + msg):
            f.batch(joint[None])


# -- front door: an undefined inner sum with weight zero outside ----------------------------------

def frontdoor_model(u: Any, s_given_u: Any, t_given_s: Any, c_given_tu: Any) -> CausalModel:
    U = FiniteType("U", list(range(len(u))))
    return _model([("U", U, Role.LATENT, (), u),
                   ("S", BIT, Role.OBSERVED, ("U",), s_given_u),
                   ("T", BIT, Role.OBSERVED, ("S",), t_given_s),
                   ("C", BIT, Role.OBSERVED, ("T", "U"), c_given_tu)])


def test_front_door_an_undefined_inner_sum_of_weight_zero_is_left_out():
    # T = 1 never follows S = 0, so P(s' = 0, t = 1) = 0 with P(s' = 0) > 0: the inner
    # Σ_s' P(s') P(c|s',t) is undefined at t = 1. Under do(S = 0) its weight P(t = 1 | s = 0)
    # is 0, so it drops out; under do(S = 1) its weight is 0.5, so that is refused.
    m = frontdoor_model([0.5, 0.5], [[0.8, 0.2], [0.2, 0.8]], [[1.0, 0.0], [0.5, 0.5]],
                        [[[0.9, 0.1], [0.5, 0.5]], [[0.6, 0.4], [0.1, 0.9]]])
    joint = np.asarray(m.query("P(S, T, C)").probs)
    types = dict.fromkeys("STC", BIT)
    names = ["S", "T", "C"]
    # by hand, surgery: do(S = 0) makes T = 0, so P(C = 1 | do(S = 0)) = Σ_u P(u) P(C = 1 | T = 0, u)
    #   = 0.5 · 0.1 + 0.5 · 0.5 = 0.3. The plug-in: P(s') = 0.5 each; P(u = 0 | s = 0) = 0.4/0.5
    #   = 0.8, so P(c = 1 | s = 0, t = 0) = 0.8 · 0.1 + 0.2 · 0.5 = 0.18; P(u = 0 | s = 1) = 0.2,
    #   so P(c = 1 | s = 1, t = 0) = 0.2 · 0.1 + 0.8 · 0.5 = 0.42; 0.5 · 0.18 + 0.5 · 0.42 = 0.3
    assert m.query("P(C = 1 | do(S = 0))") == pytest.approx(0.3, abs=TOL)
    s0 = identify(FRONTDOOR, "P(C = 1 | do(S = 0))", "frontdoor")
    assert str(s0.estimand) == "Σ_t P(t|s) Σ_s' P(s') P(c|s',t)"
    assert s0.evaluate(joint, names=names, types=types) == pytest.approx(0.3, abs=TOL)
    assert s0.compile(names, types)(joint) == pytest.approx(0.3, abs=TOL)
    msg = r"needs P\(c(=1)?\|s,t\), but P\(S = 0, T = 1\) = 0"
    for query in ("P(C = 1 | do(S = 1))", "P(C | do(S))"):
        r = identify(FRONTDOOR, query, "frontdoor")
        with pytest.raises(PositivityError, match=msg):
            r.evaluate(joint, names=names, types=types)
        with pytest.raises(PositivityError, match=msg):
            r.compile(names, types)(joint)


# -- properties: random joints with zero cells ----------------------------------------------------

PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@cache
def _compiled(query: str, shape: tuple[int, ...]) -> Any:
    """One jitted function per query and table shape, shared by a property's examples."""
    types = {n: FiniteType(n, list(range(k))) for n, k in zip(ZXY, shape, strict=True)}
    return identify(BACKDOOR, query).compile(ZXY, types)


@cache
def _frontdoor_compiled() -> Any:
    return identify(FRONTDOOR, "P(C | do(S))", "frontdoor").compile(["S", "T", "C"],
                                                                     dict.fromkeys("STC", BIT))


@st.composite
def sparse_joints(draw: st.DrawFn) -> np.ndarray:
    """A joint over (Z, X, Y), Z of two or three values, with a random set of zero cells."""
    shape = (draw(st.sampled_from([2, 3])), 2, 2)
    n = int(np.prod(shape))
    seed = draw(st.integers(0, 2**32 - 1))
    keep = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    keep[draw(st.integers(0, n - 1))] = True
    p = np.random.default_rng(seed).dirichlet(np.ones(n)) * keep
    return (p / p.sum()).reshape(shape)


@PROPERTY
@given(sparse_joints())
@example(REPRO)
@example(np.array([0, 0, 0, 0, 0.3, 0.1, 0, 0, 0.2, 0.1, 0.2, 0.1]).reshape(3, 2, 2))
def test_backdoor_plug_in_equals_surgery_or_names_a_stratum_of_positive_weight(joint):
    types = _types(joint)
    pz, pzx = joint.sum(axis=(1, 2)), joint.sum(axis=2)
    # refused exactly where a stratum of positive weight lacks some value of X
    holes = np.argwhere((pz[:, None] > 0) & (pzx == 0))
    r = identify(BACKDOOR, "P(Y | do(X))")
    f = _compiled("P(Y | do(X))", joint.shape)
    if len(holes):
        event("refused")
        z, x = holes[0]
        msg = rf"needs P\(y\|x,z\), but P\(Z = {z}, X = {x}\) = 0"
        with pytest.raises(PositivityError, match=msg):
            r.evaluate(joint, names=ZXY, types=types)
        with pytest.raises(PositivityError, match=msg):
            f(joint)
        with pytest.raises(PositivityError, match="joint table 1 of the batch: .*" + msg):
            f.batch(np.stack([np.full(joint.shape, 1 / joint.size), joint]))
        return
    event("answered with a stratum of weight zero" if (pz == 0).any() else "answered")
    want = np.asarray(backdoor_model(joint, types).query("P(Y | do(X))"))
    got = np.asarray(r.evaluate(joint, names=ZXY, types=types))
    np.testing.assert_allclose(got, want, atol=1e-9)
    np.testing.assert_allclose(np.asarray(f(joint)), got, atol=1e-12)
    batch = np.asarray(f.batch(np.stack([joint, joint])).probs)
    assert np.isfinite(batch).all()
    np.testing.assert_allclose(batch[1], got, atol=1e-12)


@PROPERTY
@given(sparse_joints(), st.integers(0, 1), st.integers(0, 1))
@example(REPRO, 1, 1)
def test_backdoor_point_queries_need_only_their_own_treatment_value(joint, x, y):
    types = _types(joint)
    pz, pzx = joint.sum(axis=(1, 2)), joint.sum(axis=2)
    query = f"P(Y = {y} | do(X = {x}))"
    r = identify(BACKDOOR, query)
    f = _compiled(query, joint.shape)
    holes = np.flatnonzero((pz > 0) & (pzx[:, x] == 0))
    if len(holes):
        msg = rf"needs P\(y={y}\|x={x},z\), but P\(X = {x}, Z = {holes[0]}\) = 0"
        with pytest.raises(PositivityError, match=msg):
            r.evaluate(joint, names=ZXY, types=types)
        with pytest.raises(PositivityError, match=msg):
            f(joint)
        return
    want = backdoor_model(joint, types).query(query)
    assert r.evaluate(joint, names=ZXY, types=types) == pytest.approx(want, abs=1e-9)
    assert f(joint) == pytest.approx(want, abs=1e-9)


@PROPERTY
@given(st.integers(0, 2**32 - 1), st.lists(st.booleans(), min_size=4, max_size=4),
       st.lists(st.booleans(), min_size=12, max_size=12))
@example(0, [True, False, True, False], [True] * 12)  # T = 1 never occurs: left out
def test_front_door_plug_in_equals_surgery_or_is_refused_exactly_without_support(
        seed, t_keep, c_keep):
    rng = np.random.default_rng(seed)
    t_given_s = rng.dirichlet(np.ones(2), size=2) * np.reshape(t_keep, (2, 2))
    t_given_s[t_given_s.sum(axis=1) == 0, 0] = 1.0
    t_given_s /= t_given_s.sum(axis=1, keepdims=True)
    c_given_tu = rng.dirichlet(np.ones(2), size=(2, 3)) * np.reshape(c_keep, (2, 3, 2))
    c_given_tu[c_given_tu.sum(axis=2) == 0, 0] = 1.0
    c_given_tu /= c_given_tu.sum(axis=2, keepdims=True)
    m = frontdoor_model(rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(2), size=3),
                        t_given_s, c_given_tu)
    joint = np.asarray(m.query("P(S, T, C)").probs)
    names, types = ["S", "T", "C"], dict.fromkeys("STC", BIT)
    pst = joint.sum(axis=2)
    assert (pst.sum(axis=1) > 0).all()  # S has full support (its tables are positive)
    r = identify(FRONTDOOR, "P(C | do(S))", "frontdoor")
    # refused exactly where some t occurs after one value of S and never after the other
    if ((pst > 0).any(axis=0) & (pst == 0).any(axis=0)).any():
        event("refused")
        with pytest.raises(PositivityError, match=r"needs P\(c\|s,t\), but P\(S = ., T = .\) = 0"):
            r.evaluate(joint, names=names, types=types)
        with pytest.raises(PositivityError, match=r"needs P\(c\|s,t\)"):
            _frontdoor_compiled()(joint)
        return
    event("answered with a zero" if (pst == 0).any() else "answered")
    want = np.asarray(m.query("P(C | do(S))"))
    got = np.asarray(r.evaluate(joint, names=names, types=types))
    np.testing.assert_allclose(got, want, atol=1e-9)
    np.testing.assert_allclose(np.asarray(_frontdoor_compiled()(joint)), got, atol=1e-12)
