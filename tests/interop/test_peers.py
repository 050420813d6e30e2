"""pgmpy and pyAgrum networks, both ways (issue 18, item 1): a model sent out and read back has
the same tables (to 1e-12), parents and labels; the peer's own inference on what was sent out
answers as the model does (pgmpy: do-queries by surgery and variable elimination, 1e-9;
pyAgrum: posteriors by LazyPropagation, 1e-9), and a network the peer built itself reads in and
answers as the peer does. What a peer cannot hold is refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import causaldsl
from causaldsl import CausalError, CausalModel
from causaldsl.core.types import show_label
from tests.interop.test_bif import EXAMPLES, assert_do_queries_agree

pytest.importorskip("pgmpy")

NETWORKS = ["asia", "sachs", "child", "insurance", "alarm"]
CAUSAL_EXAMPLES = Path(causaldsl.__file__).parents[2] / "examples"


def same_tables(a: CausalModel, b: CausalModel, labels: Any = lambda x: x) -> None:
    """The same variables, roles, parents, labels (as ``labels`` maps them) and tables, 1e-12."""
    assert sorted(a.variables) == sorted(b.variables)
    for v in a.variables.values():
        w = b[v.name]
        assert (w.role, w.parents) == (v.role, v.parents), v.name
        assert [(type(x), x) for x in w.type.values] == \
            [(type(labels(x)), labels(x)) for x in v.type.values], v.name
        np.testing.assert_allclose(w.mechanism.array, v.mechanism.array, rtol=0, atol=1e-12,
                                   err_msg=v.name)


# -- pgmpy --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NETWORKS)
def test_a_network_sent_to_pgmpy_comes_back_the_same_and_pgmpy_answers_as_we_do(name):
    model = causaldsl.read(EXAMPLES / f"{name}.bif.gz")
    net = causaldsl.to_pgmpy(model)
    assert net.check_model() and net.name == name
    same_tables(model, causaldsl.from_pgmpy(net))
    assert_do_queries_agree(model, net, name)


@pytest.mark.parametrize("seed", range(4))
def test_random_networks_keep_their_labels_integers_included(seed):
    from tests.backends.test_pgmpy_oracle import random_network

    _, model, _ = random_network(seed)
    net = causaldsl.to_pgmpy(model)
    same_tables(model, causaldsl.from_pgmpy(net, name=model.name))
    assert_do_queries_agree(model, net, model.name)


def test_latent_variables_are_pgmpys_latents():
    from tests.backends.test_pgmpy_oracle import assert_agrees

    smoking = causaldsl.load(CAUSAL_EXAMPLES / "smoking.causal").model
    net = causaldsl.to_pgmpy(smoking)
    assert net.latents == {"H"}
    back = causaldsl.from_pgmpy(net)
    assert back.latent == ("H",)
    same_tables(smoking, back)
    assert_agrees(smoking, net, ["C"], {"S": "yes"})
    assert_agrees(smoking, net, ["C"], {"S": "no"}, {"T": "yes"})


def test_what_pgmpy_cannot_hold_is_refused_by_name():
    linear = causaldsl.load(CAUSAL_EXAMPLES / "linear.causal").model
    with pytest.raises(CausalError, match=r"variable \w+ of model linear has no table \(its type "
                                          r"is Real.*\); a pgmpy network holds tables"):
        causaldsl.to_pgmpy(linear)
    smoking = causaldsl.load(CAUSAL_EXAMPLES / "smoking.causal").model
    with pytest.raises(CausalError, match="variable S of model smoking is an input"):
        causaldsl.to_pgmpy(smoking.cut("S"))


# -- pyAgrum ------------------------------------------------------------------------------------


def lazy_posterior(bn: Any, target: str, evidence: dict[str, str]) -> np.ndarray:
    import pyagrum as gum

    ie = gum.LazyPropagation(bn)
    ie.setEvidence(evidence)
    ie.makeInference()
    return np.asarray(ie.posterior(target).toarray())


def assert_posteriors_agree(model: CausalModel, bn: Any, seed: int) -> None:
    """Five seeded P(Y | Z = z), for a likely z, by pyAgrum's LazyPropagation and by us."""
    from tests.backends.test_pgmpy_oracle import lab

    rng = np.random.default_rng(seed)
    names = list(model.variables)
    for _ in range(5):
        y, z = (str(n) for n in rng.choice(names, 2, replace=False))
        p_z = np.asarray(model.query(f"P({z})").probs)
        zv = model[z].type.values[int(np.argmax(p_z))]
        want = lazy_posterior(bn, y, {z: show_label(zv)})
        text = f"P({y} | {z} = {lab(zv)})"
        np.testing.assert_allclose(np.asarray(model.query(text).probs), want, rtol=0, atol=1e-9,
                                   err_msg=text)


@pytest.mark.parametrize("name", NETWORKS)
def test_a_network_sent_to_pyagrum_comes_back_the_same_and_pyagrum_answers_as_we_do(name):
    pytest.importorskip("pyagrum")
    model = causaldsl.read(EXAMPLES / f"{name}.bif.gz")
    bn = causaldsl.to_pyagrum(model)
    assert bn.property("name") == name
    back = causaldsl.from_pyagrum(bn)
    assert back.name == name
    same_tables(model, back)
    assert_posteriors_agree(model, bn, sum(map(ord, name)))


@pytest.mark.parametrize("seed", range(4))
def test_random_networks_labels_become_names_in_pyagrum(seed):
    pytest.importorskip("pyagrum")
    from tests.backends.test_pgmpy_oracle import random_network

    _, model, _ = random_network(seed)
    bn = causaldsl.to_pyagrum(model)
    same_tables(model, causaldsl.from_pyagrum(bn), labels=show_label)
    assert_posteriors_agree(model, bn, seed)


@pytest.mark.parametrize("spec", ["A->B<-C", "A->B->C;A->C", "X{a|b|c}->Y{lo|hi}<-Z->X"])
def test_a_network_pyagrum_built_reads_in_and_answers_as_pyagrum_does(spec):
    gum = pytest.importorskip("pyagrum")
    gum.initRandom(7)
    bn = gum.fastBN(spec)
    model = causaldsl.from_pyagrum(bn, name="fast")
    for node in bn.nodes():  # each table as pyAgrum gives it, row by row
        v = model[bn.variable(node).name()]
        for idx in np.ndindex(*v.mechanism.shape[:-1]):
            row = {p: model[p].type.values[i] for p, i in zip(v.parents, idx, strict=True)}
            np.testing.assert_allclose(v.mechanism.array[idx],
                                       np.asarray(bn.cpt(node)[row]), rtol=0, atol=1e-15)
    assert_posteriors_agree(model, bn, 3)
    assert causaldsl.from_pyagrum(gum.BayesNet()).name == "bn"  # no name property: "bn"


def test_latent_variables_go_to_pyagrum_as_nodes_and_come_back_observed():
    pytest.importorskip("pyagrum")
    smoking = causaldsl.load(CAUSAL_EXAMPLES / "smoking.causal").model
    back = causaldsl.from_pyagrum(causaldsl.to_pyagrum(smoking))
    assert back.latent == () and back["H"].role is causaldsl.Role.OBSERVED
    np.testing.assert_array_equal(back["C"].mechanism.array, smoking["C"].mechanism.array)
    with pytest.raises(CausalError, match="a pyAgrum network holds variables with tables"):
        causaldsl.to_pyagrum(smoking.cut("S"))
