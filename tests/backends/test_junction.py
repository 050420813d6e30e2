"""Junction trees: every posterior from one propagation equals the truncated factorisation
computed by numpy (the reference of test_properties), one setting or many at once; the tree is a
tree with the running-intersection property; new questions are routed to it only when it is
calibrated for their values."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from causaldsl import (
    FiniteType,
    LatentQueryError,
    ModelBuilder,
    QueryError,
    UnknownVariableError,
    ZeroProbabilityError,
    cut,
)
from causaldsl.backends import junction
from causaldsl.backends.exact import AUTO_CALIBRATE, engine_for
from examples.smoking import smoking_model as smoking
from tests.backends.test_properties import MODEL_SETTINGS, TOL, lab, random_models

YesNo = FiniteType("YesNo", ["no", "yes"])


def test_smoking_posteriors_by_hand():
    e = engine_for(smoking())
    # P(H = yes | S = yes) = 0.5·0.7 / (0.5·0.2 + 0.5·0.7) = 7/9
    # P(C = yes | S = yes) = Σ_t P(t | S = yes) Σ_h P(h | S = yes) P(C = yes | t, h)
    #   = 0.2·(2/9·0.1 + 7/9·0.4) + 0.8·(2/9·0.3 + 7/9·0.8) = 0.6/9 + 4.96/9 = 5.56/9
    post = e.posteriors({"S": "yes"})
    assert set(post) == {"T", "C"}  # H is latent, S is set
    assert post["C"]["yes"] == pytest.approx(5.56 / 9, abs=1e-15)
    assert post["T"]["yes"] == pytest.approx(0.8, abs=1e-15)
    # do(S = yes): H keeps its prior, so P(C = yes) = 0.2·0.25 + 0.8·0.55 = 0.49
    assert e.posteriors(do={"S": "yes"})["C"]["yes"] == pytest.approx(0.49, abs=1e-15)
    # no evidence: the prior marginal, by H (confounded, so not Σ_s P(s) P(C | do(s))):
    # H = no: P(S = yes) = 0.2, P(T = yes) = 0.8·0.1 + 0.2·0.8 = 0.24,
    #         P(C = yes) = 0.76·0.1 + 0.24·0.3 = 0.148
    # H = yes: P(S = yes) = 0.7, P(T = yes) = 0.3·0.1 + 0.7·0.8 = 0.59,
    #         P(C = yes) = 0.41·0.4 + 0.59·0.8 = 0.636;  so P(C = yes) = (0.148 + 0.636) / 2
    assert e.posteriors()["C"]["yes"] == pytest.approx(0.392, abs=1e-15)


def _is_junction_tree(tree: junction.JunctionTree, families: dict[str, tuple[str, ...]]) -> None:
    g = nx.Graph()
    g.add_nodes_from(range(len(tree.cliques)))
    g.add_edges_from(tree.schedule)
    assert nx.is_tree(g)
    # the schedule sends a clique's message only after all of its children's
    sent: set[int] = set()
    for child, _parent in tree.schedule:
        assert all(k in sent for k, p in tree.schedule if p == child)
        sent.add(child)
    for v in {w for fam in families.values() for w in fam}:  # running intersection
        assert nx.is_connected(g.subgraph([i for i, c in enumerate(tree.cliques) if v in c]))
    held = [v for h in tree.holds for v in h]
    assert sorted(held) == sorted(families)  # each table held once, by a clique of its family
    for i, h in enumerate(tree.holds):
        assert all(set(families[v]) <= tree.cliques[i] for v in h)


@MODEL_SETTINGS
@given(spec=random_models(min_vars=3, max_vars=8), data=st.data())
def test_posteriors_equal_the_truncated_factorisation(spec, data):
    e = engine_for(spec.model)
    families = {v: (*spec.parents[v], v) for v in spec.order}
    _is_junction_tree(e.junction_tree, families)
    obs = spec.observed
    chosen = data.draw(st.permutations(obs), label="order")
    n_do = data.draw(st.integers(0, min(2, len(obs) - 1)), label="#do")
    n_ev = data.draw(st.integers(0, min(2, len(obs) - 1 - n_do)), label="#evidence")
    do_vars, ev_vars = chosen[:n_do], chosen[n_do:n_do + n_ev]
    do_vals = {v: data.draw(st.sampled_from(spec.types[v].values)) for v in do_vars}
    ev_vals = {v: data.draw(st.sampled_from(spec.types[v].values)) for v in ev_vars}
    joint = spec.joint(do=do_vals)
    targets = [v for v in obs if v not in do_vals and v not in ev_vals]
    pz = spec.conditional(joint, [targets[0]], ev_vals)[1]
    labelled_do = {v: lab(x) for v, x in do_vals.items()}
    labelled_ev = {v: lab(x) for v, x in ev_vals.items()}
    if pz == 0:
        with pytest.raises(ZeroProbabilityError):
            e.posteriors(labelled_ev, labelled_do)
        return
    post = e.posteriors(labelled_ev, labelled_do)
    assert set(post) == set(targets)
    for v in targets:
        want, _ = spec.conditional(joint, [v], ev_vals)
        np.testing.assert_allclose(post[v].probs, want, atol=TOL, rtol=0)


@MODEL_SETTINGS
@given(spec=random_models(min_vars=3, max_vars=7), data=st.data())
def test_a_batch_is_every_setting_at_once(spec, data):
    obs = spec.observed
    x, z = data.draw(st.permutations(obs), label="do X, observe Z")[:2]
    settings = list(itertools.product(spec.types[x].values, spec.types[z].values))
    targets = [v for v in obs if v not in (x, z)]
    possible = [(xv, zv) for xv, zv in settings
                if spec.conditional(spec.joint(do={x: xv}), [z], {})[0][spec.types[z].index(zv)]
                > 0]
    if not targets or not possible:
        return
    e = engine_for(spec.model)
    batch = e.posteriors_batch({z: [lab(zv) for _, zv in possible]},
                               do={x: [lab(xv) for xv, _ in possible]})
    for k, (xv, zv) in enumerate(possible):
        joint = spec.joint(do={x: xv})
        for v in targets:
            want, _ = spec.conditional(joint, [v], {z: zv})
            np.testing.assert_allclose(batch[v].probs[k], want, atol=TOL, rtol=0)
    assert batch[targets[0]].settings == {x: [lab(xv) for xv, _ in possible],
                                          z: [lab(zv) for _, zv in possible]}


def test_a_batch_names_the_setting_whose_evidence_is_impossible():
    m = ModelBuilder("m")
    m.observed("A", YesNo, [1.0, 0.0])
    m.observed("B", YesNo, given="A", table={"no": [0.5, 0.5], "yes": [0.5, 0.5]})
    e = engine_for(m.build())
    with pytest.raises(ZeroProbabilityError, match="setting 1"):
        e.posteriors_batch({"A": ["no", "yes"]})
    with pytest.raises(ZeroProbabilityError):
        e.posteriors({"A": "yes"})


def test_new_questions_go_to_the_tree_once_it_pays():
    e = engine_for(smoking())
    questions = ["P(T | C = yes)", "P(S | C = yes)", "P(S, T | C = yes)", "P(T = yes | C = yes)"]
    for k, q in enumerate(questions, start=1):
        got = e.query(q)
        assert e.tree_answers == max(0, k - AUTO_CALIBRATE + 1)
        want = _by_contraction(q)
        np.testing.assert_allclose(np.asarray(getattr(got, "probs", got)),
                                   np.asarray(getattr(want, "probs", want)), atol=1e-14)
    # a shape already compiled keeps its own (cheaper) tiers
    before = e.tree_answers
    e.query("P(T | C = no)")
    assert e.tree_answers == before


def _by_contraction(q: str):
    """The answer with the tree turned off."""
    e = engine_for(smoking())
    e._from_tree = lambda prob: None  # type: ignore[method-assign]
    return e.query(q)


def test_posteriors_make_later_questions_one_marginal_each():
    e = engine_for(smoking())
    e.posteriors({"S": "yes"})
    n = e.tree_answers
    assert e.query("P(C | S = yes)")["yes"] == pytest.approx(5.56 / 9, abs=1e-15)
    assert e.tree_answers == n + 1
    with pytest.raises(ZeroProbabilityError):
        engine_for(_impossible()).posteriors({"A": "yes"})


def _impossible():
    m = ModelBuilder("m")
    m.observed("A", YesNo, [1.0, 0.0])
    m.observed("B", YesNo, given="A", table={"no": [0.5, 0.5], "yes": [0.5, 0.5]})
    return m.build()


def test_bad_settings_are_refused_like_queries():
    e = engine_for(smoking())
    with pytest.raises(LatentQueryError):
        e.posteriors({"H": "yes"})
    with pytest.raises(UnknownVariableError):
        e.posteriors({"Q": "yes"})
    with pytest.raises(QueryError):
        e.posteriors({"S": "maybe"})
    with pytest.raises(QueryError, match="nothing is left"):
        e.posteriors({"S": "yes", "T": "no", "C": "no"})


def test_a_cut_model_needs_its_inputs_set():
    model = cut(smoking(), "T")  # T becomes an input
    e = engine_for(model)
    post = e.posteriors(do={"T": "yes"})
    # P(C = yes | do(T = yes)) = Σ_h P(h) P(C = yes | T = yes, h) = 0.5·0.3 + 0.5·0.8
    assert post["C"]["yes"] == pytest.approx(0.55, abs=1e-15)
    with pytest.raises(QueryError, match="input"):
        e.posteriors()


def test_messages_too_large_fall_back_to_contractions(monkeypatch):
    monkeypatch.setattr(junction, "MAX_MESSAGE_ENTRIES", 1)
    e = engine_for(smoking())
    post = e.posteriors({"S": "yes"})
    assert e.tree_answers == 0
    assert post["C"]["yes"] == pytest.approx(5.56 / 9, abs=1e-15)
    batch = e.posteriors_batch({"S": ["no", "yes"]})  # setting by setting, no tree
    assert e.tree_answers == 0 and batch["C"].settings == {"S": ["no", "yes"]}
    assert batch["C"].probs[1, 1] == pytest.approx(5.56 / 9, abs=1e-15)
    # P(C = yes | S = no): P(H = yes | S = no) = 0.5·0.3 / (0.5·0.8 + 0.5·0.3) = 3/11; by T:
    # 0.9·(8/11·0.1 + 3/11·0.4) + 0.1·(8/11·0.3 + 3/11·0.8) = 0.9·2/11 + 0.1·4.8/11 = 2.28/11
    assert batch["C"].probs[0, 1] == pytest.approx(2.28 / 11, abs=1e-15)


def test_evidence_below_the_smallest_float_is_not_impossible():
    """35 children of H each observed at 1e-10 or 2e-10: P(evidence) is about 1e-350 (below
    float64's 1e-308), but the messages are rescaled, so the posterior is answered, not refused:
    P(H = yes | E) = 2^35 / (1 + 2^35) by Bayes' rule with equal priors."""
    m = ModelBuilder("faint")
    m.observed("H", YesNo, [0.5, 0.5])
    for i in range(35):
        m.observed(f"E{i}", YesNo, given="H",
                   table={"no": [1 - 1e-10, 1e-10], "yes": [1 - 2e-10, 2e-10]})
    model = m.build()
    e = engine_for(model)
    post = e.posteriors({f"E{i}": "yes" for i in range(35)})
    assert post["H"]["yes"] == pytest.approx(2**35 / (1 + 2**35), rel=1e-9)
    # a question's own contraction underflows to P(evidence) = 0, and the tree answers it
    fresh = engine_for(m.build())
    q = "P(H = yes | " + ", ".join(f"E{i} = yes" for i in range(35)) + ")"
    assert fresh.query(q) == pytest.approx(2**35 / (1 + 2**35), rel=1e-9)
    assert fresh.tree_answers == 1
    # truly impossible evidence is still refused
    m.observed("F", YesNo, given="H", table={"no": [1.0, 0.0], "yes": [1.0, 0.0]})
    with pytest.raises(ZeroProbabilityError):
        m.build().query(q.replace(")", ", F = yes)"))


def test_single_values_hold_in_every_setting_of_a_batch():
    model = smoking()
    batch = model.posteriors({"T": ["no", "yes"]}, do={"S": "yes"})
    assert batch["C"].settings == {"S": ["yes", "yes"], "T": ["no", "yes"]}
    assert batch["C"][1].allclose(model.query("P(C | do(S = yes), T = yes)"))
    with pytest.raises(QueryError, match="one length, not empty"):
        model.posteriors({"T": []})
    with pytest.raises(QueryError, match="one length"):
        model.posteriors({"T": ["no"]}, do={"S": ["no", "yes"]})


def test_a_batch_with_evidence_below_the_smallest_float_is_answered():
    """The batch form of the test above: the settings' contraction underflows to P(evidence) =
    0 where all 35 children are observed yes, and those rows are answered from the tree (Bayes'
    rule: P(H = yes | E) = 2^35 / (1 + 2^35)); a row with ordinary evidence keeps its
    contraction's answer, P(H = yes | all no) = (1 - 2e-10)^35 / ((1 - 1e-10)^35 + (1 - 2e-10)^35);
    an impossible setting is still refused, naming it."""
    m = ModelBuilder("faint")
    m.observed("H", YesNo, [0.5, 0.5])
    for i in range(35):
        m.observed(f"E{i}", YesNo, given="H",
                   table={"no": [1 - 1e-10, 1e-10], "yes": [1 - 2e-10, 2e-10]})
    m.observed("F", YesNo, given="H", table={"no": [1.0, 0.0], "yes": [1.0, 0.0]})
    model = m.build()
    given = ", ".join(f"E{i}" for i in range(35))
    batch = model.query_batch(f"P(H | {given})", {f"E{i}": ["yes", "no", "yes"]
                                                   for i in range(35)})
    yes = 2**35 / (1 + 2**35)
    no = (1 - 2e-10) ** 35 / ((1 - 1e-10) ** 35 + (1 - 2e-10) ** 35)
    np.testing.assert_allclose(batch.probs[:, 1], [yes, no, yes], rtol=1e-9)
    with pytest.raises(ZeroProbabilityError, match="setting 1"):
        model.query_batch(f"P(H | F, {given})", {"F": ["no", "yes"],
                                                 **{f"E{i}": ["no", "no"] for i in range(35)}})
