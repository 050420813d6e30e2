"""Comb disintegration, the founding paper's method: shape check, the two kernels, their
composition, and agreement with surgery on the true model."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causaldsl import CausalModel, FiniteType, Role, Table, Variable
from causaldsl.analysis.comb import comb_shape
from causaldsl.analysis.identify import identify
from causaldsl.backends.comb import comb_kernels, compose
from causaldsl.core.errors import PositivityError, QueryError
from causaldsl.model.graph import ADMG
from examples.smoking import smoking_model

PAPER = np.array([0.5, 0.1, 0.01, 0.02, 0.1, 0.05, 0.02, 0.2]).reshape(2, 2, 2)  # S, T, C
FRONTDOOR = ADMG(["S", "T", "C"], [("S", "T"), ("T", "C")], [("S", "C")])
YN = FiniteType("YN", ["no", "yes"])


def test_paper_kernels_by_hand():
    comb = comb_shape(FRONTDOOR, ["S"], ["C"])
    assert (comb.treatment, comb.between, comb.outcome) == (("S",), ("T",), ("C",))
    g, f = comb_kernels(comb, PAPER, names=["S", "T", "C"], types={v: YN for v in "STC"})
    # g(t | s) = P(t | s): P(S=no) = 0.63, P(T=yes, S=no) = 0.03 → 0.03 / 0.63
    assert g["no", "yes"] == pytest.approx(0.03 / 0.63)
    assert g["yes", "yes"] == pytest.approx(0.22 / 0.37)  # (0.02 + 0.2) / (0.1 + 0.05 + 0.02 + 0.2)
    # f(s, c | t) = P(s) P(c | s, t): t = yes, s = no, c = yes: 0.63 · 0.02 / 0.03
    assert f["yes", "no", "yes"] == pytest.approx(0.63 * 0.02 / 0.03)
    for t in ("no", "yes"):  # each f(· | t) is a distribution over (S, C)
        assert np.asarray(f[t]).sum() == pytest.approx(1.0)
    channel = compose(g, f, 1)  # Σ_t g(t|s) Σ_s' f(s', c | t)
    assert channel[1, 1] == pytest.approx(4013 / 7400)   # P(C = yes | do(S = yes)), exact
    assert channel[0, 1] == pytest.approx(8783 / 34650)  # P(C = yes | do(S = no))
    by_id = identify(FRONTDOOR, "P(C | do(S))", method="id").evaluate(
        PAPER, names=["S", "T", "C"], types={v: YN for v in "STC"})
    np.testing.assert_allclose(channel, by_id.probs, atol=1e-12)


def test_comb_on_the_smoking_model_equals_surgery():
    m = smoking_model()
    ident = m.identify("P(C | do(S))", method="comb")
    assert ident.method == "comb" and ident.adjustment == frozenset({"T"})
    np.testing.assert_allclose(ident.evaluate(m).probs, m.query("P(C | do(S))").probs,
                               atol=1e-12)
    g, f = comb_kernels(comb_shape(m.admg(), ["S"], ["C"]), m)
    np.testing.assert_allclose(compose(g, f, 1), m.query("P(C | do(S))").probs, atol=1e-12)


@pytest.mark.parametrize("graph,why", [
    (ADMG(["W", "Z", "X", "Y"], [("W", "Z"), ("Z", "X"), ("X", "Y")], [("W", "X"), ("W", "Y")]),
     "the treatment X has observed parents"),
    (ADMG(["X", "Y"], [("X", "Y")], [("X", "Y")]), "nothing lies between"),
    (ADMG(["X", "M", "Y"], [("X", "M"), ("M", "Y"), ("X", "Y")], [("X", "Y")]),
     "acts on Y directly"),
    (ADMG(["X", "M", "Y"], [("X", "M"), ("M", "Y")], [("M", "Y")]),
     "shares a hidden cause"),
])
def test_shapes_that_are_not_combs(graph, why):
    with pytest.raises(QueryError, match="does not have the comb shape") as e:
        comb_shape(graph, ["X"] if "X" in graph else ["S"], ["Y"])
    assert why in str(e.value)


def test_without_full_support_the_comb_is_refused():
    joint = PAPER.copy()
    joint[1, 0, :] = 0.0  # S = yes, T = no never happens
    joint /= joint.sum()
    comb = comb_shape(FRONTDOOR, ["S"], ["C"])
    with pytest.raises(PositivityError, match=r"P\(S = yes, T = no\) = 0"):
        comb_kernels(comb, joint, names=["S", "T", "C"], types={v: YN for v in "STC"})


@st.composite
def comb_models(draw):
    """Random models of the comb shape: hidden H → S, H → C; S → T1 (→ T2) → C."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sizes = {v: draw(st.integers(2, 3)) for v in ("H", "S", "T1", "T2", "C")}
    two = draw(st.booleans())
    types = {v: FiniteType([f"{v.lower()}{i}" for i in range(k)]) for v, k in sizes.items()}

    def table(parents, v):
        shape = (*(sizes[p] for p in parents), sizes[v])
        return Table(rng.dirichlet(np.ones(sizes[v]), size=shape[:-1]), len(parents))

    vs = [Variable("H", types["H"], Role.LATENT, (), table((), "H")),
          Variable("S", types["S"], Role.OBSERVED, ("H",), table(("H",), "S")),
          Variable("T1", types["T1"], Role.OBSERVED, ("S",), table(("S",), "T1"))]
    last = ("T1",)
    if two:
        vs.append(Variable("T2", types["T2"], Role.OBSERVED, ("S", "T1"),
                           table(("S", "T1"), "T2")))
        last = ("T1", "T2")
    vs.append(Variable("C", types["C"], Role.OBSERVED, (*last, "H"), table((*last, "H"), "C")))
    return CausalModel.from_variables(vs, "comb")


@settings(max_examples=25, deadline=None)
@given(comb_models())
def test_comb_equals_surgery_on_random_models(m):
    ident = m.identify("P(C | do(S))", method="comb")
    want = m.query("P(C | do(S))").probs
    np.testing.assert_allclose(ident.evaluate(m).probs, want, atol=1e-9)
    g, f = comb_kernels(comb_shape(m.admg(), ["S"], ["C"]), m)
    np.testing.assert_allclose(compose(g, f, 1), want, atol=1e-9)
