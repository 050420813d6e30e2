"""The exact backend: pruning, planning limits, batching over values and parameter sets,
expectations, and answers on a network far too large for its joint."""

import math

import numpy as np
import pytest

from causaldsl import (
    Bool,
    CausalModel,
    FiniteType,
    ModelBuilder,
    QueryError,
    Table,
    Variable,
    ZeroProbabilityError,
)
from causaldsl.backends.exact import engine_for
from causaldsl.syntax.query import parse_query
from examples.smoking import smoking_model

B = FiniteType("B", ["0", "1"])


def chain_network(n: int, seed: int = 1, window: int = 12) -> CausalModel:
    """A random binary network, in-degree ≤ 3, parents among the previous `window` nodes, so the
    last node has most of the network as ancestors."""
    rng = np.random.default_rng(seed)
    vs = []
    for i in range(n):
        lo = max(0, i - window)
        k = min(int(rng.integers(1, 4)), i - lo)
        parents = tuple(f"X{j}" for j in rng.choice(np.arange(lo, i), k, replace=False)) if k else ()
        t = rng.dirichlet(np.ones(2), size=(2,) * len(parents))
        vs.append(Variable(f"X{i}", B, parents=parents, mechanism=Table(t, len(parents))))
    return CausalModel.from_variables(vs, f"chain{n}")


def test_do_query_on_200_nodes_never_builds_the_joint():
    m = chain_network(200)
    q = "P(X199 | do(X100 = 1), X150 = 0)"
    d = m.query(q)
    cq = engine_for(m).compile(parse_query(q))
    assert len(cq.table_vars) > 100            # most of the network is upstream of X199 ...
    assert cq.plan.largest_intermediate <= 2**12  # ... yet no table beyond a few thousand entries
    assert math.isclose(sum(d.probs), 1.0, abs_tol=1e-12)


def test_do_query_on_200_nodes_agrees_with_pgmpy_surgery_and_elimination():
    pgmpy = pytest.importorskip("pgmpy")
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination
    from pgmpy.models import DiscreteBayesianNetwork

    del pgmpy
    m = chain_network(200, seed=7)
    # surgery by hand for pgmpy: X100 loses its parents and becomes a point mass on 1
    bn = DiscreteBayesianNetwork()
    bn.add_nodes_from(m.variables)
    for v in m.variables.values():
        parents = () if v.name == "X100" else v.parents
        bn.add_edges_from((p, v.name) for p in parents)
    for v in m.variables.values():
        if v.name == "X100":
            cpd = TabularCPD("X100", 2, [[0.0], [1.0]], state_names={"X100": ["0", "1"]})
        else:
            arr = np.moveaxis(v.mechanism.array, -1, 0).reshape(2, -1)
            cpd = TabularCPD(v.name, 2, arr, evidence=list(v.parents) or None,
                             evidence_card=[2] * len(v.parents) or None,
                             state_names={n: ["0", "1"] for n in (v.name, *v.parents)})
        bn.add_cpds(cpd)
    ve = VariableElimination(bn)
    want = ve.query(["X199"], evidence={"X150": "0"}, show_progress=False).values
    got = m.query("P(X199 | do(X100 = 1), X150 = 0)").probs
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_nodes_that_are_not_ancestors_are_pruned():
    m = smoking_model()
    cq = engine_for(m).compile(parse_query("P(T | do(S = yes))"))
    assert cq.table_vars == ("T",)  # H and C are not upstream of T once S is cut
    # given S, the tables of H and S only scale P(T, S = yes) by P(S = yes): dropped
    cq = engine_for(m).compile(parse_query("P(T | S = yes)"))
    assert cq.table_vars == ("T",)
    # but C shares H with S's table, so nothing can go
    cq = engine_for(m).compile(parse_query("P(C | S = yes)"))
    assert set(cq.table_vars) == {"H", "S", "T", "C"}


def test_tables_with_zeros_are_kept_so_impossible_evidence_is_still_refused():
    b = ModelBuilder("zero")
    b.observed("A", ["no", "yes"], [1.0, 0.0])
    b.observed("B", ["no", "yes"], given="A", table=[[0.5, 0.5], [0.1, 0.9]])
    b.observed("C", ["no", "yes"], given="B", table=[[0.3, 0.7], [0.6, 0.4]])
    m = b.build()
    # A's table has a zero, so it is kept, and A = yes is seen to be impossible
    assert set(engine_for(m).compile(parse_query("P(C | A = yes)")).table_vars) == {"A", "B", "C"}
    with pytest.raises(ZeroProbabilityError):
        m.query("P(C | A = yes)")
    assert m.query("P(C = yes | A = no)") == pytest.approx(0.5 * 0.7 + 0.5 * 0.4, abs=1e-12)


def test_compiled_query_is_reused_across_values():
    m = smoking_model()
    eng = engine_for(m)
    m.query("P(C | do(S = yes), T = no)")
    n = len(eng._compiled)
    m.query("P(C | do(S = no), T = yes)")
    assert len(eng._compiled) == n


def test_batch_over_parameter_sets_equals_one_model_per_set():
    m = smoking_model()
    rng = np.random.default_rng(0)
    # 50 alternative tables for T given S
    tables = rng.dirichlet(np.ones(2), size=(50, 2))
    batch = m.query_batch("P(C = yes | do(S = yes))", tables={"T": tables})
    for i in (0, 17, 49):
        alt = m.intervene("T", tables[i])
        assert math.isclose(batch.probs[i], alt.query("P(C = yes | do(S = yes))"), abs_tol=1e-12)


def test_batch_over_interventions_and_evidence_at_once():
    m = smoking_model()
    rows = [{"S": s, "T": t} for s in ("no", "yes") for t in ("no", "yes")] * 3
    batch = m.query_batch("P(C | do(S), T)", rows)
    assert len(batch) == 12
    for i, r in enumerate(rows):
        want = m.query(f"P(C | do(S = {r['S']}), T = {r['T']})")
        np.testing.assert_allclose(batch.probs[i], want.probs, atol=1e-12)


def test_expectation_and_average_treatment_effect_on_bool():
    b = ModelBuilder("ate")
    Z = b.observed("Z", Bool, [0.6, 0.4])
    X = b.observed("X", Bool, given=Z, table={False: [0.7, 0.3], True: [0.2, 0.8]})
    b.observed("Y", Bool, given=(X, Z), table={(False, False): [0.9, 0.1], (False, True): [0.6, 0.4],
                                               (True, False): [0.5, 0.5], (True, True): [0.2, 0.8]})
    m = b.build()
    # E[Y | do(X=true)] = 0.6*0.5 + 0.4*0.8 = 0.62 ; E[Y | do(X=false)] = 0.6*0.1 + 0.4*0.4 = 0.22
    assert math.isclose(m.query("E[Y | do(X = true)]"), 0.62, abs_tol=1e-12)
    assert math.isclose(m.query("E[Y | do(X = true)] - E[Y | do(X = false)]"), 0.40, abs_tol=1e-12)


def test_plan_limit_refuses_instead_of_exhausting_memory(monkeypatch):
    from causaldsl.backends import plan

    m = chain_network(40, seed=3)
    monkeypatch.setattr(plan, "MAX_INTERMEDIATE", 4)
    with pytest.raises(QueryError, match="intermediate table"):
        engine_for(m).compile(parse_query("P(X39, X38, X37, X36 | X0 = 1)"))


def test_each_tier_waits_until_the_calls_before_it_have_paid_for_it(monkeypatch):
    """The answer table is built once its cost (flops, and a set-up cost a step) is no more than
    the NumPy calls' (so not on the second call when it costs more than a first call), and a shape
    with no table is jitted only after the NumPy calls took JIT_SECONDS. An engine that built
    the table or compiled on the second call regardless would fail here."""
    from causaldsl.backends import exact

    monkeypatch.setattr(exact, "TABLE_FLOPS_FREE", 0)
    m = chain_network(60, seed=3)
    given = tuple(f"X{i}" for i in range(42, 58))  # the table has 2^16 settings

    def q(*values: int) -> str:
        values = values + (0,) * (len(given) - len(values))
        return "P(X59 | " + ", ".join(f"{v} = {x}" for v, x in zip(given, values, strict=True)) + ")"

    cq = engine_for(m).compile(parse_query(q()))
    table = cq.every_value_table.plan()
    assert table is not None
    calls = -(-exact._cost(table) // cq.numpy_cost)  # the calls that pay for the table
    assert calls > 2, (table.flops, cq.numpy_cost)  # a test of the rule needs a costly table
    rng = np.random.default_rng(0)
    ones = (1,) * len(given)
    settings = {tuple(int(x) for x in rng.integers(0, 2, len(given))) for _ in range(100)}
    for i, values in zip(range(1, calls + 1), sorted(settings - {ones}), strict=False):
        assert cq.shape_table is None and cq.jitted is None, i
        m.query(q(*values))
    m.query(q(*ones))
    assert cq.shape_table is not None and cq.jitted is None
    # no table possible: NumPy until JIT_SECONDS are spent, then jit
    monkeypatch.setattr(exact, "SHAPE_TABLE_LIMIT", 1)
    monkeypatch.setattr(exact, "JIT_SECONDS", 3600.0)
    m2 = chain_network(60, seed=3)
    for a in (0, 1, 0, 1):
        m2.query(q(a, a))
    cq2 = engine_for(m2).compile(parse_query(q()))
    assert cq2.jitted is None and cq2.shape_table is None and cq2.evaluations == 4
    monkeypatch.setattr(exact, "JIT_SECONDS", 0.0)
    m2.query(q(1, 0, 1))
    assert cq2.jitted is not None


@pytest.mark.parametrize("limit", [0, 2**20])
def test_every_tier_gives_the_same_answers(monkeypatch, limit):
    """NumPy first call, then the answer table (limit 2^20) or jit (limit 0); batches likewise
    through the table lookup or jit(vmap)."""
    from causaldsl.backends import exact

    monkeypatch.setattr(exact, "SHAPE_TABLE_LIMIT", limit)
    monkeypatch.setattr(exact, "JIT_SECONDS", 0.0)  # jit as soon as there is no table
    m = smoking_model()
    ref = smoking_model()  # a fresh engine: every answer below comes from its first (NumPy) tier
    q = "P(C | do(S = {s}), T = {t})"
    settings = [(s, t) for s in ("no", "yes") for t in ("no", "yes")]
    for s, t in settings * 2:
        got = m.query(q.format(s=s, t=t))
        want = smoking_model().query(q.format(s=s, t=t))
        np.testing.assert_allclose(got.probs, want.probs, atol=1e-12)
    cq = engine_for(m).compile(parse_query(q.format(s="no", t="no")))
    assert (cq.shape_table is None) == (limit == 0)
    assert (cq.jitted is None) == (limit != 0)
    rows = [{"S": s, "T": t} for s, t in settings]
    batch = m.query_batch("P(C | do(S), T)", rows)
    for i, (s, t) in enumerate(settings):
        np.testing.assert_allclose(batch.probs[i], ref.query(q.format(s=s, t=t)).probs, atol=1e-12)


def test_values_given_apart_from_the_text():
    m = smoking_model()
    assert m.query("P(C = yes | do(S), T)", S="yes", T="no") == pytest.approx(
        m.query("P(C = yes | do(S = yes), T = no)"), abs=1e-15)
    with pytest.raises(QueryError, match="not an open intervention or evidence"):
        m.query("P(C | do(S))", T="no")
    with pytest.raises(QueryError, match="already has a value"):
        m.query("P(C | do(S = no))", S="yes")


def test_a_batch_of_tables_is_renormalised_like_one_table():
    """Rows within 1e-6 of one are divided by their sum in a batch too (issue 17)."""
    m = smoking_model()
    stack = np.array([[[0.9, 0.1], [0.2, 0.8 + 1e-7]], [[0.9, 0.1 - 5e-7], [0.2, 0.8]]])
    batch = m.query_batch("P(C = yes | do(S = yes))", tables={"T": stack})
    for i in range(2):
        alt = m.intervene("T", stack[i])  # a table renormalises its rows when it is made
        assert np.allclose(alt["T"].mechanism.array.sum(axis=-1), 1.0, atol=1e-15, rtol=0)
        assert math.isclose(batch.probs[i], alt.query("P(C = yes | do(S = yes))"),
                            abs_tol=1e-15)


def test_a_hub_with_more_children_than_one_einsum_takes():
    """H with 70 children: summing H joins 70 tables, and P(H | 70 children) multiplies 70
    vectors, more operands than NumPy's einsum takes (63), so the bucket plan joins them 32 at
    a time. With P(H = 1) = 0.3 and P(C = 1 | H) = 0.2 or 0.6: P(H = 1 | all 70 = 1) =
    0.3·0.6^70 / (0.3·0.6^70 + 0.7·0.2^70) = 1 / (1 + (7/3)·3^-70); and P(C0 = 1 | the other
    69 = 1) = (0.3·0.6^70 + 0.7·0.2^70) / (0.3·0.6^69 + 0.7·0.2^69)."""
    b = ModelBuilder("hub")
    b.observed("H", B, [0.7, 0.3])
    for i in range(70):
        b.observed(f"C{i}", B, given="H", table={"0": [0.8, 0.2], "1": [0.4, 0.6]})
    m = b.build()
    everyone = ", ".join(f"C{i} = 1" for i in range(70))
    cq = engine_for(m).compile(parse_query(f"P(H | {everyone})"))
    assert cq.bucket is not None  # joined in chunks, not left to the staged plan
    assert m.query(f"P(H = 1 | {everyone})") == pytest.approx(1 / (1 + 7 / 3 * 3.0**-70),
                                                              rel=1e-12)
    others = ", ".join(f"C{i} = 1" for i in range(1, 70))
    want = (0.3 * 0.6**70 + 0.7 * 0.2**70) / (0.3 * 0.6**69 + 0.7 * 0.2**69)
    assert m.query(f"P(C0 = 1 | {others})") == pytest.approx(want, rel=1e-12)
