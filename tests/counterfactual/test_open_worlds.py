"""Open worlds: ``Y[X]`` reads Y in the world where X is set to each of its values, so one query
is a table over them, computed in one contraction (X in that world is a uniform root ``[X]``
the query is conditioned on). Each cell equals the query with the value written in."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import causaldsl
from causaldsl import FiniteType, ModelBuilder, QueryError, ZeroProbabilityError, parse_query
from causaldsl.graph import ADMG
from causaldsl.identify import identify

SQUAD = causaldsl.parse("""
model firing_squad {
  exogenous U : Bool ~ Bernoulli(0.7)
  exogenous W : Bool ~ Bernoulli(0.1)
  C : Bool := U
  A : Bool := C or W
  B : Bool := C
  D : Bool := A or B
}
""").model


def test_firing_squad_by_hand():
    # D[A = false] = B = U, so P(D[A = false] | D) = P(U | D) = 0.7 / 0.73; D[A = true] = true
    t = SQUAD.query("P(D[A] = true | D = true)")
    assert t.given == ("[A]",)
    assert np.allclose(t.probs, [0.7 / 0.73, 1.0])
    both = SQUAD.query("P(D[A, B] = true)")     # D[A = a, B = b] = a or b
    assert np.allclose(both.probs, [[0, 1], [1, 1]])
    e = SQUAD.query("E[D[A] | D = true]")
    assert np.allclose(np.asarray(e), [0.7 / 0.73, 1.0])


@st.composite
def models(draw):
    """Z → X → M → Y, Z → Y, X → Y over 2-3 values, every variable a function of one shared
    noise U (so every counterfactual is determined)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sizes = {v: int(draw(st.integers(2, 3))) for v in "ZXMY"}
    k = 5
    b = ModelBuilder("scm")
    b.exogenous("U", FiniteType(list(range(k))), rng.dirichlet(np.ones(k)))
    parents = {"Z": (), "X": ("Z",), "M": ("X",), "Y": ("Z", "X", "M")}
    for v, ps in parents.items():
        shape = (*(sizes[p] for p in ps), k)
        b.observed(v, FiniteType(list(range(sizes[v]))),
                   np.eye(sizes[v])[rng.integers(0, sizes[v], size=shape)], given=(*ps, "U"))
    return b.build()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_each_cell_is_the_query_with_the_value_written_in(m):
    xs = m["X"].type.values
    zs = [z for z, p in zip(m["Z"].type.values, m.query("P(Z)").probs, strict=True) if p > 0]
    open_ = m.query(f"P(Y[X] | Z = {zs[0]})")
    assert open_.given == ("[X]",) and open_.variables == ("Y[X]",)
    for i, x in enumerate(xs):
        assert np.allclose(open_.probs[i], m.query(f"P(Y[X = {x}] | Z = {zs[0]})").probs,
                           atol=1e-12)
    two = m.query("P(Y[X, M] = 1)")
    for i, x in enumerate(xs):
        for j, mv in enumerate(m["M"].type.values):
            assert two.probs[i, j] == pytest.approx(m.query(f"P(Y[X = {x}, M = {mv}] = 1)"),
                                                    abs=1e-12)
    # the open setting in the evidence too: both read the same value of X
    try:
        cond = m.query("P(Y[X] = 1 | M[X] = 0)")
    except ZeroProbabilityError as e:
        assert "[X] = " in str(e)   # it names the value whose evidence is impossible
    else:
        for i, x in enumerate(xs):
            assert cond.probs[i] == pytest.approx(
                m.query(f"P(Y[X = {x}] = 1 | M[X = {x}] = 0)"), abs=1e-12)
    # batched over evidence values, each a table over X
    batch = m.query_batch("P(Y[X] = 1 | Z)", {"Z": list(zs)})
    for k, z in enumerate(zs):
        want = [m.query(f"P(Y[X = {x}] = 1 | Z = {z})") for x in xs]
        assert np.allclose(np.asarray(batch)[k], want, atol=1e-12)


def test_syntax_round_trips():
    for text in ("P(Y[X] = 1 | X = 0)", "E[Y[X, M = 1] | Z = 0]", "P(Y[X], M[X] = 1)"):
        assert str(parse_query(text)) == text


def test_refused_where_no_table_can_be_made():
    lin = causaldsl.parse("""
model lin {
  exogenous U : Real ~ Normal(0, 1)
  X : Real := U
  Y : Real := 2 * X + U
}
""").model
    with pytest.raises(QueryError, match=r"leaves X open .* X : Real is not finite"):
        lin.query("E[Y[X] | X = 1.0]")
    with pytest.raises(QueryError, match="ID\\* takes settings to values: identify one value"):
        identify(ADMG(["X", "Y"], [("X", "Y")]), "P(Y[X] = 1 | X = 0)")
