"""The lazy tree (``backends/lazytree.py``): a new question answered on the junction tree by only
the messages its values change, the others kept from earlier questions. Its answers equal the
truncated factorisation (numpy, test_properties' reference) and the pruned contraction's, for
evidence, interventions, valued outcomes and several outcomes; impossible evidence, a cut input,
an over-budget question and an outcome no clique holds go to the pruned contraction; answers
kept for repeats are read-only."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from causaldsl import FiniteType, ModelBuilder, QueryError, ZeroProbabilityError, cut
from causaldsl.backends import exact
from causaldsl.backends.exact import ExactEngine
from causaldsl.backends.junction import JunctionTree
from causaldsl.syntax.query import parse_query
from examples.smoking import smoking_model as smoking
from tests.backends.test_junction import _is_junction_tree
from tests.backends.test_properties import MODEL_SETTINGS, TOL, lab, random_models

YesNo = FiniteType("YesNo", ["no", "yes"])


def lazy_engine(model):  # type: ignore[no-untyped-def]
    """An engine whose lazy tree is built from its first question (LAZY_AFTER 0)."""
    with mock.patch.object(exact, "LAZY_AFTER", 0):
        e = ExactEngine(model)
        e._lazy_tree()
    assert e._lazy_built
    return e


def answer(e, text):  # type: ignore[no-untyped-def]
    a = e.evaluate(parse_query(text))
    return np.asarray(a.probs if hasattr(a, "probs") else a)


def test_a_chain_by_hand():
    """A → B → C, P(A = yes) = 0.3, P(B = yes | A) = 0.2 / 0.9, P(C = yes | B) = 0.1 / 0.6.
    P(C = yes) = 0.3·(0.1·0.1 + 0.9·0.6) + 0.7·(0.8·0.1 + 0.2·0.6) = 0.165 + 0.14 = 0.305.
    P(A = yes | C = yes) = 0.165 / 0.305. With do(B = yes): P(C = yes) = 0.6 and A keeps its
    prior, 0.3 (B's table dropped, C's sliced at B = yes)."""
    m = ModelBuilder("chain")
    m.observed("A", YesNo, [0.7, 0.3])
    m.observed("B", YesNo, [[0.8, 0.2], [0.1, 0.9]], given="A")
    m.observed("C", YesNo, [[0.9, 0.1], [0.4, 0.6]], given="B")
    e = lazy_engine(m.build())
    assert answer(e, "P(C = yes)") == pytest.approx(0.305, abs=1e-15)
    assert answer(e, "P(A = yes | C = yes)") == pytest.approx(0.165 / 0.305, abs=1e-15)
    assert answer(e, "P(C = yes | do(B = yes))") == pytest.approx(0.6, abs=1e-15)
    assert answer(e, "P(A = yes | do(B = yes), C = yes)") == pytest.approx(0.3, abs=1e-15)
    assert e.lazy_answers == 4 and not e._compiled  # none planned for the pruned contraction


@MODEL_SETTINGS
@given(spec=random_models(min_vars=3, min_observed=3), data=st.data())
def test_the_lazy_tree_equals_the_pruned_contraction_and_the_factorisation(spec, data):
    """Several questions on one engine (kept messages reused across them) against an engine
    without the lazy tree and against numpy's truncated factorisation. A kept message used
    where a value changes it, a dropped table kept, a value sliced on the wrong axis or a
    missing normalisation would each disagree on some model."""
    obs = spec.observed
    lazy, plain = lazy_engine(spec.model), ExactEngine(spec.model)

    def planned(text):  # type: ignore[no-untyped-def]
        with mock.patch.object(exact, "LAZY_FLOPS", 0):
            return answer(plain, text)

    for _ in range(4):
        y, x, z = data.draw(st.permutations(obs), label="Y, X, Z")[:3]
        yv, xv, zv = (data.draw(st.sampled_from(spec.types[v].values)) for v in (y, x, z))
        joint_do = spec.joint(do={x: xv})
        texts = [f"P({y} | {z} = {lab(zv)})", f"P({y} | do({x} = {lab(xv)}))",
                 f"P({y} = {lab(yv)} | do({x} = {lab(xv)}), {z} = {lab(zv)})",
                 f"P({y}, {z} | do({x} = {lab(xv)}))"]
        wants = [spec.conditional(spec.joint(), [y], {z: zv}),
                 (spec.marginal(joint_do, [y]), 1.0),
                 spec.conditional(joint_do, [y], {z: zv}),
                 (spec.marginal(joint_do, [y, z]), 1.0)]
        for text, (want, pz) in zip(texts, wants, strict=True):
            if pz <= 0:
                with pytest.raises(ZeroProbabilityError):
                    answer(lazy, text)
                continue
            got = answer(lazy, text)
            np.testing.assert_allclose(got, planned(text), atol=TOL, rtol=0)
            if "=" in text.split("|")[0]:  # a valued outcome: its entry
                want = want[spec.types[y].index(yv)]
            np.testing.assert_allclose(got, want, atol=TOL, rtol=0)
    assert plain.lazy_answers == 0
    # a single outcome always has a clique, and these small cliques are within the budget
    assert lazy.lazy_answers > 0


def test_impossible_evidence_is_refused_as_before():
    """C = yes is impossible when B is always no: the lazy tree finds a zero normaliser and
    leaves the question to the pruned contraction, which names the evidence."""
    m = ModelBuilder("never")
    m.observed("A", YesNo, [0.5, 0.5])
    m.observed("B", YesNo, [[1.0, 0.0], [1.0, 0.0]], given="A")
    m.observed("C", YesNo, [[1.0, 0.0], [0.2, 0.8]], given="B")
    e = lazy_engine(m.build())
    with pytest.raises(ZeroProbabilityError, match="probability zero"):
        e.evaluate(parse_query("P(A | C = yes)"))
    assert e.lazy_answers == 0


def test_a_cut_input_is_refused_unless_set():
    """In the cut model S is an input: a question that leaves it open is refused by the pruned
    contraction's check; one that sets it is answered by the lazy tree, as before."""
    e = lazy_engine(cut(smoking(), "S"))
    with pytest.raises(QueryError, match="input"):
        e.evaluate(parse_query("P(C)"))
    with mock.patch.object(exact, "LAZY_FLOPS", 0):
        want = answer(ExactEngine(cut(smoking(), "S")), "P(C | do(S = yes))")
    np.testing.assert_allclose(answer(e, "P(C | do(S = yes))"), want, atol=1e-15, rtol=0)
    assert e.lazy_answers == 1


def test_over_budget_questions_and_open_values_go_to_the_pruned_contraction():
    e = lazy_engine(smoking())
    with mock.patch.object(exact, "LAZY_FLOPS", 1):  # every clique costs more than that
        e.evaluate(parse_query("P(C | T = yes)"))
    e.evaluate(parse_query("P(C | do(S))"))  # a free intervention: a table over S
    assert e.lazy_answers == 0 and len(e._compiled) == 2
    e.evaluate(parse_query("P(C | T = no)"))  # the same shape as one planned: planned path
    assert e.lazy_answers == 0


def test_repeats_are_look_ups_that_the_caller_cannot_change():
    e = lazy_engine(smoking())
    first = e.evaluate(parse_query("P(C | S = yes)"))
    with pytest.raises(ValueError, match="read-only"):
        first.probs[:] = 0.0  # a Distribution's table is read-only, the kept joint too
    again = e.evaluate(parse_query("P(C | S = yes)"))
    assert e.lazy_answers == 1  # the second was the kept answer
    np.testing.assert_array_equal(again.probs, first.probs)
    assert again.probs.sum() == pytest.approx(1.0, abs=1e-15)


def test_the_tree_is_built_only_after_lazy_after_questions():
    """A command asking a handful of questions never builds the tree (nor imports networkx)."""
    e = ExactEngine(smoking())
    for text in ("P(C)", "P(C | S = yes)", "P(T | do(S = no))"):
        e.evaluate(parse_query(text))
    assert not e._lazy_built and e.lazy_answers == 0
    with mock.patch.object(exact, "LAZY_AFTER", 3):
        e.evaluate(parse_query("P(S | C = yes)"))
    assert e._lazy_built and e.lazy_answers == 1


@MODEL_SETTINGS
@given(spec=random_models(min_vars=3, max_vars=8), data=st.data())
def test_the_elimination_tree_is_a_junction_tree(spec, data):
    """``JunctionTree.from_order`` (no networkx) for any elimination order: a tree (leaves
    first, towards clique 0) with the running-intersection property, each table held once by a
    clique that holds its family. A parent taken from the wrong side of the order, or a fill-in
    edge left out, breaks the running intersection on some model."""
    families = {v: (*spec.parents[v], v) for v in spec.order}
    ranked = data.draw(st.permutations(spec.order), label="order")
    rank = {v: k for k, v in enumerate(ranked[:data.draw(st.integers(0, len(ranked)))])}
    _is_junction_tree(JunctionTree.from_order(families, rank), families)


def test_a_hub_past_numpys_einsum_limits_leaves_the_tree_unused():
    """A root with 40 children: eliminated last, its clique reads 40 messages and a table, past
    the 32 operands one einsum takes; every clique's subtree then holds it, so no question can
    use the tree (as on pathfinder) and the engine does not keep one."""
    m = ModelBuilder("star")
    m.observed("H", YesNo, [0.4, 0.6])
    for k in range(40):
        m.observed(f"X{k}", YesNo, [[0.9, 0.1], [0.3, 0.7]], given="H")
    e = lazy_engine(m.build())
    assert e._lazy is None
    # P(X0 = yes | X1 = yes) = Σ_h P(h) P(X1 = yes | h) P(X0 = yes | h) / P(X1 = yes)
    #   = (0.4·0.1·0.1 + 0.6·0.7·0.7) / (0.4·0.1 + 0.6·0.7) = 0.298 / 0.46
    assert answer(e, "P(X0 = yes | X1 = yes)") == pytest.approx(0.298 / 0.46, abs=1e-15)
    assert e.lazy_answers == 0
