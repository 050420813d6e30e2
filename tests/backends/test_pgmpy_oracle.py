"""Agreement with pgmpy on observational and interventional queries.

The oracle is *surgery done by hand in pgmpy* followed by pgmpy's VariableElimination: copy the
network, remove the incoming edges of each intervened variable, replace its CPD by a point mass,
then condition on the evidence. (pgmpy's own ``CausalInference.query`` is not used: it is wrong on
some conditional do-queries, pgmpy issue #3543.)

Networks come from two places: random DAGs built here with a seeded numpy RNG, and the bnlearn
networks shipped inside pgmpy's wheel (``get_example_model``; no network access needed).
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

pgmpy = pytest.importorskip("pgmpy")

from pgmpy.factors.discrete import TabularCPD  # noqa: E402
from pgmpy.inference import VariableElimination  # noqa: E402
from pgmpy.models import DiscreteBayesianNetwork  # noqa: E402

from causaldsl import Distribution, QueryError  # noqa: E402
from causaldsl.interop.pgmpy import from_pgmpy  # noqa: E402

TOL = 1e-9
#: Evidence values rarer than this are skipped: dividing by a tiny P(z) amplifies rounding.
MIN_EVIDENCE = 1e-4
RESERVED = {"do", "P", "E", "true", "false"}


# -- the oracle ------------------------------------------------------------------------------

def states_of(bn: Any, var: str) -> list[Any]:
    return list(bn.get_cpds(var).state_names[var])


def mutilate(bn: Any, do: Mapping[str, Any]) -> Any:
    """Pearl's surgery in pgmpy terms: cut the incoming edges, put a point mass on the value."""
    net = bn.copy()
    for x, value in do.items():
        cpd = net.get_cpds(x)
        states = list(cpd.state_names[x])
        net.remove_cpds(cpd)
        for p in list(net.get_parents(x)):
            net.remove_edge(p, x)
        point = np.zeros((len(states), 1))
        point[states.index(value)] = 1.0
        net.add_cpds(TabularCPD(x, len(states), point, state_names={x: states}))
    return net


def oracle(bn: Any, targets: Sequence[str], do: Mapping[str, Any] | None = None,
           evidence: Mapping[str, Any] | None = None) -> np.ndarray:
    """P(targets | do(...), evidence) by surgery + VariableElimination, axes in target order and
    states in the network's order."""
    net = mutilate(bn, do) if do else bn
    f = VariableElimination(net).query(list(targets), evidence=dict(evidence) if evidence else None,
                                       joint=True, show_progress=False)
    arr = np.transpose(np.asarray(f.values), [f.variables.index(t) for t in targets])
    for axis, t in enumerate(targets):
        order = [list(f.state_names[t]).index(s) for s in states_of(bn, t)]
        arr = np.take(arr, order, axis=axis)
    return arr


def normalised(bn: Any) -> Any:
    """A copy whose CPD columns sum to one exactly (bnlearn files are off by up to 1e-7)."""
    net = bn.copy()
    for cpd in list(net.get_cpds()):
        vals = cpd.get_values()
        vals = vals / vals.sum(axis=0, keepdims=True)
        new = TabularCPD(cpd.variable, cpd.variable_card, vals, evidence=cpd.variables[1:] or None,
                         evidence_card=list(cpd.cardinality[1:]) or None,
                         state_names=dict(cpd.state_names))
        net.remove_cpds(cpd)
        net.add_cpds(new)
    return net


# -- query strings -----------------------------------------------------------------------------

def lab(v: Any) -> str:
    """A label as it is written in a query: quoted unless a plain identifier or an integer."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    return s if s.isidentifier() and s not in RESERVED else json.dumps(s)


def query_text(targets: Sequence[str], do: Mapping[str, Any] | None = None,
               evidence: Mapping[str, Any] | None = None) -> str:
    conds = []
    if do:
        conds.append("do(" + ", ".join(f"{x} = {lab(v)}" for x, v in do.items()) + ")")
    conds += [f"{z} = {lab(v)}" for z, v in (evidence or {}).items()]
    return f"P({', '.join(targets)}" + (f" | {', '.join(conds)}" if conds else "") + ")"


def probs(answer: Distribution | float) -> np.ndarray:
    return np.asarray(answer.probs if isinstance(answer, Distribution) else answer)


def assert_agrees(model: Any, bn: Any, targets: Sequence[str],
                  do: Mapping[str, Any] | None = None,
                  evidence: Mapping[str, Any] | None = None, tol: float = TOL) -> None:
    text = query_text(targets, do, evidence)
    got = probs(model.query(text))
    want = oracle(bn, targets, do, evidence)
    assert got.shape == want.shape, text
    np.testing.assert_allclose(got, want, atol=tol, rtol=0, err_msg=text)


def positive_evidence(bn: Any, zs: Sequence[str], do: Mapping[str, Any] | None,
                      rng: np.random.Generator) -> dict[str, Any] | None:
    """A random evidence setting for ``zs`` with P(zs | do) above MIN_EVIDENCE, or None."""
    p = oracle(bn, zs, do)
    ok = np.argwhere(p > MIN_EVIDENCE)
    if len(ok) == 0:
        return None
    idx = ok[rng.integers(len(ok))]
    return {z: states_of(bn, z)[i] for z, i in zip(zs, idx, strict=True)}


# -- random networks -------------------------------------------------------------------------

LABEL_POOLS: list[list[Any] | None] = [
    None,  # pgmpy's default: the integers 0, 1, 2
    ["no", "yes", "maybe"],
    ["LOW", "NORMAL", "HIGH"],
    ["0-5", "5-10", "10+"],  # not identifiers: quoted in queries
    ["0", "1", "2"],  # strings that look like integers
]

_RANDOM: dict[int, tuple[Any, Any, list[str]]] = {}


def random_network(seed: int) -> tuple[Any, Any, list[str]]:
    """A random DAG of 5–10 nodes (in-degree ≤ 3, cardinality 2–3, positive CPDs), its causaldsl
    model, and its topological order. Nodes are added in name order, not causal order."""
    if seed in _RANDOM:
        return _RANDOM[seed]
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 11))
    order = [f"V{i}" for i in rng.permutation(n)]
    card = {v: int(rng.integers(2, 4)) for v in order}
    states: dict[str, list[Any]] = {}
    for v in order:
        pool = LABEL_POOLS[int(rng.integers(len(LABEL_POOLS)))]
        states[v] = list(range(card[v])) if pool is None else pool[: card[v]]
    parents: dict[str, list[str]] = {}
    for i, v in enumerate(order):
        k = int(rng.integers(0, min(3, i) + 1))
        parents[v] = [str(p) for p in rng.choice(order[:i], size=k, replace=False)] if k else []
    bn = DiscreteBayesianNetwork()
    bn.add_nodes_from(sorted(order))
    bn.add_edges_from([(p, v) for v in order for p in parents[v]])
    for v in order:
        cols = int(np.prod([card[p] for p in parents[v]])) if parents[v] else 1
        vals = rng.dirichlet(np.full(card[v], 2.0), size=cols).T
        bn.add_cpds(TabularCPD(
            v, card[v], vals, evidence=parents[v] or None,
            evidence_card=[card[p] for p in parents[v]] or None,
            state_names={u: states[u] for u in (v, *parents[v])}))
    bn.check_model()
    out = (bn, from_pgmpy(bn, name=f"random{seed}"), order)
    _RANDOM[seed] = out
    return out


def descendants(bn: Any, x: str) -> list[str]:
    import networkx as nx

    return sorted(nx.descendants(bn, x))


def pick_cause_effect(bn: Any, order: Sequence[str], rng: np.random.Generator
                      ) -> tuple[str, str]:
    """An intervened variable X and an outcome Y, Y downstream of X when X has descendants."""
    causes = [v for v in order if descendants(bn, v)]
    if not causes:
        x = order[0]
        return x, str(rng.choice([v for v in order if v != x]))
    x = str(rng.choice(causes))
    return x, str(rng.choice(descendants(bn, x)))


SEEDS = range(10)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_marginals(seed):
    bn, model, order = random_network(seed)
    rng = np.random.default_rng(1000 + seed)
    y = str(rng.choice(order))
    assert_agrees(model, bn, [y])
    y1, y2 = (str(v) for v in rng.choice(order, size=2, replace=False))
    assert_agrees(model, bn, [y1, y2])


@pytest.mark.parametrize("seed", SEEDS)
def test_random_conditionals(seed):
    bn, model, order = random_network(seed)
    rng = np.random.default_rng(2000 + seed)
    y, z = (str(v) for v in rng.choice(order, size=2, replace=False))
    for zv in states_of(bn, z):  # one compiled shape, every value
        assert_agrees(model, bn, [y], evidence={z: zv})
    # the whole conditional table at once
    table = probs(model.query(f"P({y} | {z})"))
    for i, zv in enumerate(states_of(bn, z)):
        np.testing.assert_allclose(table[i], oracle(bn, [y], evidence={z: zv}), atol=TOL, rtol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_interventions(seed):
    bn, model, order = random_network(seed)
    rng = np.random.default_rng(3000 + seed)
    x, y = pick_cause_effect(bn, order, rng)
    for xv in states_of(bn, x):
        assert_agrees(model, bn, [y], do={x: xv})
    channel = probs(model.query(f"P({y} | do({x}))"))
    for i, xv in enumerate(states_of(bn, x)):
        np.testing.assert_allclose(channel[i], oracle(bn, [y], do={x: xv}), atol=TOL, rtol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_conditional_interventions(seed):
    bn, model, order = random_network(seed)
    rng = np.random.default_rng(4000 + seed)
    x, y = pick_cause_effect(bn, order, rng)
    z = str(rng.choice([v for v in order if v not in (x, y)]))
    for xv, zv in itertools.product(states_of(bn, x), states_of(bn, z)):
        if oracle(bn, [z], do={x: xv})[states_of(bn, z).index(zv)] > MIN_EVIDENCE:
            assert_agrees(model, bn, [y], do={x: xv}, evidence={z: zv})


@pytest.mark.parametrize("seed", SEEDS)
def test_random_several_interventions_and_evidence(seed):
    bn, model, order = random_network(seed)
    rng = np.random.default_rng(5000 + seed)
    x1, x2, y1, y2, z1 = (str(v) for v in rng.choice(order, size=5, replace=False))
    for _ in range(3):  # same shape, different values
        do = {x1: rng.choice(states_of(bn, x1)).item(), x2: rng.choice(states_of(bn, x2)).item()}
        ev = positive_evidence(bn, [z1], do, rng)
        assert ev is not None
        assert_agrees(model, bn, [y1, y2], do=do, evidence=ev)


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_random_query_batch_with_tables_matches_pgmpy(seed):
    """query_batch over stacked tables of one variable equals swapping that CPD in pgmpy."""
    bn, model, order = random_network(seed)
    rng = np.random.default_rng(6000 + seed)
    x, y = pick_cause_effect(bn, order, rng)
    v = str(rng.choice([u for u in order if u != x]))
    cpd = bn.get_cpds(v)
    shape = (*(int(c) for c in cpd.cardinality[1:]), int(cpd.cardinality[0]))
    stack = rng.dirichlet(np.full(shape[-1], 2.0), size=(5, *shape[:-1]))
    xv = states_of(bn, x)[0]
    batch = model.query_batch(f"P({y} | do({x} = {lab(xv)}))", tables={v: stack})
    for i in range(5):
        net = bn.copy()
        net.remove_cpds(net.get_cpds(v))
        net.add_cpds(TabularCPD(v, shape[-1], np.moveaxis(stack[i], -1, 0).reshape(shape[-1], -1),
                                evidence=cpd.variables[1:] or None,
                                evidence_card=list(cpd.cardinality[1:]) or None,
                                state_names=dict(cpd.state_names)))
        np.testing.assert_allclose(np.asarray(batch)[i], oracle(net, [y], do={x: xv}),
                                   atol=TOL, rtol=0)


# -- bnlearn networks shipped with pgmpy ---------------------------------------------------------

_BNLEARN: dict[str, tuple[Any, Any, Any, list[str]]] = {}


def bnlearn(name: str) -> tuple[Any, Any, Any, list[str]]:
    """(raw network, normalised network, causaldsl model of the normalised one, topo order),
    loaded once per worker: parsing alarm's BIF file takes seconds."""
    if name not in _BNLEARN:
        from pgmpy.utils import get_example_model

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = get_example_model(name)
        import networkx as nx

        net = normalised(raw)
        _BNLEARN[name] = (raw, net, from_pgmpy(net, name=name), list(nx.topological_sort(net)))
    return _BNLEARN[name]


FAST_NETS = ["asia", "sachs", "child", "insurance", "alarm"]
SLOW_NETS = ["hepar2", "win95pts"]
NETS = [*FAST_NETS, *(pytest.param(n, marks=pytest.mark.slow) for n in SLOW_NETS)]


def test_from_pgmpy_keeps_structure_and_tables():
    raw, _, _, _ = bnlearn("asia")
    model = from_pgmpy(raw)
    assert set(model.variables) == set(raw.nodes())
    assert all(not v.is_input for v in model.variables.values())
    for cpd in raw.get_cpds():
        v = model[cpd.variable]
        assert v.parents == tuple(cpd.variables[1:])
        assert list(v.type.values) == list(cpd.state_names[cpd.variable])
        np.testing.assert_array_equal(v.mechanism.array, np.moveaxis(cpd.values, 0, -1))


def test_from_pgmpy_reorders_a_parents_states_listed_in_another_order():
    """pgmpy lets a CPD list a parent's states in its own order (check_model rejects that, but
    the network can still be built); the conversion must follow the labels, not positions."""
    bn = DiscreteBayesianNetwork([("X", "Y")])
    bn.add_cpds(TabularCPD("X", 2, [[0.3], [0.7]], state_names={"X": ["a", "b"]}),
                TabularCPD("Y", 2, [[0.1, 0.6], [0.9, 0.4]], evidence=["X"], evidence_card=[2],
                           state_names={"X": ["b", "a"], "Y": ["u", "v"]}))
    model = from_pgmpy(bn)
    np.testing.assert_allclose(probs(model.query("P(Y | X = a)")), [0.6, 0.4], atol=TOL)
    np.testing.assert_allclose(probs(model.query("P(Y | do(X = b))")), [0.1, 0.9], atol=TOL)
    np.testing.assert_allclose(probs(model.query("P(Y)")), [0.3 * 0.6 + 0.7 * 0.1,
                                                             0.3 * 0.4 + 0.7 * 0.9], atol=TOL)


# One test per network, so that under xdist each network is parsed by one worker only.

@pytest.mark.parametrize("name", NETS)
def test_bnlearn_network_agrees_with_surgery_oracle(name):
    _, bn, model, order = bnlearn(name)
    rng = np.random.default_rng(sum(map(ord, name)))

    # marginals, one and two variables
    y1, y2 = (str(v) for v in rng.choice(order, size=2, replace=False))
    assert_agrees(model, bn, [y1])
    assert_agrees(model, bn, [y1, y2])

    # conditionals: every value of the evidence with positive probability
    y, z = (str(v) for v in rng.choice(order, size=2, replace=False))
    pz = oracle(bn, [z])
    for i, zv in enumerate(states_of(bn, z)):
        if pz[i] > MIN_EVIDENCE:
            assert_agrees(model, bn, [y], evidence={z: zv})

    # interventions, outcome downstream of the intervened variable
    for _ in range(2):
        x, y = pick_cause_effect(bn, order, rng)
        for xv in states_of(bn, x):
            assert_agrees(model, bn, [y], do={x: xv})

    # conditional interventions, evidence downstream of X where possible (do ≠ see there)
    x, y = pick_cause_effect(bn, order, rng)
    downstream = [v for v in descendants(bn, x) if v != y]
    z = str(rng.choice(downstream or [v for v in order if v not in (x, y)]))
    checked = 0
    for xv in states_of(bn, x):
        ev = positive_evidence(bn, [z], {x: xv}, rng)
        if ev is not None:
            assert_agrees(model, bn, [y], do={x: xv}, evidence=ev)
            checked += 1
    assert checked

    # several interventions and several pieces of evidence
    x1, x2, y, z1, z2 = (str(v) for v in rng.choice(order, size=5, replace=False))
    do = {x1: states_of(bn, x1)[0], x2: states_of(bn, x2)[-1]}
    ev = positive_evidence(bn, [z1, z2], do, rng)
    assert ev is not None
    assert_agrees(model, bn, [y], do=do, evidence=ev)

    check_batch_against_pgmpy_loop(name)


def check_batch_against_pgmpy_loop(name: str) -> None:
    """20 settings of do-value and evidence, batched through vmap, against a pgmpy loop."""
    _, bn, model, order = bnlearn(name)
    rng = np.random.default_rng(4 + sum(map(ord, name)))
    x, y = pick_cause_effect(bn, order, rng)
    z = str(rng.choice([v for v in order if v not in (x, y)]))
    rows = []
    while len(rows) < 20:
        xv = states_of(bn, x)[int(rng.integers(len(states_of(bn, x))))]
        ev = positive_evidence(bn, [z], {x: xv}, rng)
        if ev is not None:
            rows.append({x: xv, z: ev[z]})
    first = rows[0]
    text = query_text([y], {x: first[x]}, {z: first[z]})  # values in the text are overridden
    columns = {x: [r[x] for r in rows], z: [r[z] for r in rows]}
    by_columns = np.asarray(model.query_batch(text, columns))
    by_rows = np.asarray(model.query_batch(text, rows))
    assert by_columns.shape == (20, len(states_of(bn, y)))
    for i, r in enumerate(rows):
        want = oracle(bn, [y], {x: r[x]}, {z: r[z]})
        np.testing.assert_allclose(by_columns[i], want, atol=TOL, rtol=0)
        np.testing.assert_allclose(by_rows[i], want, atol=TOL, rtol=0)

    # bnlearn's own tables (columns off by up to 1e-7) are accepted as they are: they then
    # agree with pgmpy (which normalises its answers) only to about that rounding
    raw = _BNLEARN[name][0]
    raw_model = from_pgmpy(raw)
    assert_agrees(raw_model, raw, [y], do={x: first[x]}, tol=1e-6)
    assert_agrees(raw_model, raw, [y], do={x: first[x]}, evidence={z: first[z]}, tol=1e-6)


def test_bnlearn_query_batch_unvalued_form_on_a_fresh_model():
    """Regression: the documented form 'P(Y | do(X), Z)' once failed with "'?' is not a value
    of X" unless the same query shape had been compiled before."""
    _, bn, _, _ = bnlearn("asia")
    model = from_pgmpy(bn, name="fresh")  # a new model: nothing compiled yet
    rows = [{"smoke": s, "xray": xr} for s in ("yes", "no") for xr in ("yes", "no")]
    got = np.asarray(model.query_batch("P(dysp | do(smoke), xray)", rows))
    for i, r in enumerate(rows):
        want = oracle(bn, ["dysp"], {"smoke": r["smoke"]}, {"xray": r["xray"]})
        np.testing.assert_allclose(got[i], want, atol=TOL, rtol=0)


# -- names and labels that collide with the query language -----------------------------------

def test_survey_variable_named_E_can_be_queried():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgmpy.utils import get_example_model

        bn = get_example_model("survey")
    model = from_pgmpy(bn)
    assert_agrees(model, bn, ["T"], do={"E": "high"})


def test_quoted_reserved_labels_work():
    """Labels spelled like keywords or booleans are reachable by quoting them."""
    bn = DiscreteBayesianNetwork([("A", "B")])
    bn.add_cpds(TabularCPD("A", 3, [[0.2], [0.3], [0.5]], state_names={"A": ["do", "P", "true"]}),
                TabularCPD("B", 2, [[0.1, 0.6, 0.3], [0.9, 0.4, 0.7]], evidence=["A"],
                           evidence_card=[3], state_names={"A": ["do", "P", "true"],
                                                           "B": ["false", "true"]}))
    model = from_pgmpy(bn)
    for a in ("do", "P", "true"):
        assert_agrees(model, bn, ["B"], evidence={"A": a})
        assert_agrees(model, bn, ["B"], do={"A": a})
    assert model.query('P(B = "true" | A = "P")') == pytest.approx(0.4, abs=1e-12)


def test_unquoted_true_matches_string_label_true():
    bn = DiscreteBayesianNetwork([("X", "Y")])
    bn.add_cpds(TabularCPD("X", 2, [[0.3], [0.7]], state_names={"X": ["false", "true"]}),
                TabularCPD("Y", 2, [[0.1, 0.5], [0.9, 0.5]], evidence=["X"], evidence_card=[2],
                           state_names={"X": ["false", "true"], "Y": ["a", "b"]}))
    model = from_pgmpy(bn)
    got = model.query("P(Y | X = true)")
    np.testing.assert_allclose(probs(got), [0.5, 0.5], atol=TOL)


def test_unknown_label_is_a_query_error():
    _, _, model, _ = bnlearn("asia")
    with pytest.raises(QueryError, match="maybe"):
        model.query("P(dysp | smoke = maybe)")
