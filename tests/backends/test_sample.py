"""The sampling backend: compiled NumPyro programs against closed forms and the exact backend.

Monte Carlo answers are checked against the truth with tolerances fixed from the known standard
deviation of what is averaged (tests/backends/montecarlo.py): within 4.5 known standard errors,
and the reported error within a factor 2 of the known one; closed forms are exact.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import causaldsl
from causaldsl import (
    CausalModel,
    FiniteType,
    MechanismError,
    QueryError,
    Role,
    Table,
    Variable,
    ZeroProbabilityError,
)
from causaldsl.backends.sample import engine_for
from causaldsl.model.distribution import Expectations
from causaldsl.model.estimate import (
    Estimate,
    SampledBatch,
    SampledDistribution,
    SampledExpectations,
)
from tests.backends.compiles import compiled
from tests.backends.montecarlo import bernoulli_sd, check, check_cells

LINEAR = """
model linear {
  exogenous Ux : Real ~ Normal(0, 1)
  exogenous Uy : Real ~ Normal(0, 1)
  X : Real := Ux
  Y : Real := 2 * X + Uy
}
"""

MIXED = """
type YesNo = {no, yes}
model mixed {
  S : YesNo ~ [0.5, 0.5]
  Y : Real ~ Normal(if S == yes then 2 else 0, 1)
  B : Bool := Y > 1
}
"""

LATENT = """
model hidden {
  latent Z : Real ~ Normal(0, 1)
  X : Real ~ Normal(Z, 1)
  W : Real := exp(Z)
}
"""


def model_of(text: str) -> CausalModel:
    return list(causaldsl.parse(text).models.values())[-1]


# -- closed forms ------------------------------------------------------------------------------

def test_linear_gaussian_closed_form():
    m = model_of(LINEAR)
    assert m.query("E[Y | do(X = 1)]") == 2.0
    # E[X | Y = y] = Cov(X, Y) / Var(Y) * y = 2 / 5 * 1.5
    x = m.query("E[X | Y = 1.5]")
    assert isinstance(x, Estimate) and x.se == 0 and "closed form" in str(x)
    assert abs(x - 0.6) < 1e-12 and abs(x.details["sd"] - math.sqrt(1 / 5)) < 1e-12
    assert m.query("E[Y | do(X = 1)] - E[Y | do(X = 0)]") == 2.0
    assert abs(m.query("E[Y | X = 0.5]") - 1.0) < 1e-12


def test_closed_form_refuses_impossible_evidence():
    m = model_of("model d { exogenous U : Real ~ Normal(0, 1)\n X : Real := U\n Y : Real := 2 * X\n"
                 " Z : Real := X + 1 }")
    with pytest.raises(ZeroProbabilityError, match="impossible"):
        m.query("E[Z | X = 1, Y = 3]")
    assert abs(m.query("E[Z | X = 1, Y = 2]") - 2.0) < 1e-12


# -- sampling routes ---------------------------------------------------------------------------

def test_forward_and_importance_agree_with_closed_form():
    m = model_of(LINEAR)
    e = m.query("E[Y | do(X = 1)]", method="forward", samples=4000)
    assert e.route == "forward sampling" and e.details["samples"] == 4000
    check(e, 2.0, sd=1.0)  # Y = 2 + Uy
    # X and Y are := over explicit noise: both noises are abducted exactly
    c = m.query("E[X | Y = 1.5]", method="importance", samples=4000)
    assert "abducted exactly" in str(c) and "ESS" in str(c)
    check(c, 0.6, sd=math.sqrt(0.2))  # X | Y = 1.5 ~ Normal(0.6, 1/5)


def test_mixed_discrete_and_continuous():
    m = model_of(MIXED)
    check(m.query("E[Y | do(S = yes)]", samples=4000), 2.0, sd=1.0)
    # Bayes: P(S = yes | Y = 1.5) = 1 / (1 + exp(-(1.5 * 2 - 2)))
    p = m.query("P(S = yes | Y = 1.5)", samples=4000)
    assert p.route == "importance sampling"
    check(p, 1 / (1 + math.exp(-1.0)), sd=bernoulli_sd(1 / (1 + math.exp(-1.0))))
    # P(B) = P(Y > 1) = 0.5 * (1 - Phi(1)) + 0.5 * (1 - Phi(-1)) = 0.5
    d = m.query("P(B)", samples=4000)
    assert isinstance(d, SampledDistribution)
    check(d.estimate(True), 0.5, sd=0.5, m=4000)
    assert "±" in str(d)
    table = m.query("P(B | do(S))", samples=2000)
    assert table.given == ("do(S)",) and np.asarray(table).shape == (2, 2)


def test_nuts_on_a_continuous_latent():
    m = model_of(LATENT)
    # Z | X = x is Normal(x / 2, 1 / 2)
    with compiled() as first:
        e = engine_for(m).query("E[W | X = 1]", method="nuts", samples=300, warmup=200)
    # E[exp(Z)] for Z ~ Normal(0.5, 0.5): exp(0.5 + 0.25)
    assert e.route == "NUTS" and "r-hat" in str(e) and e.details["rhat"] < 1.1
    # Var(exp Z) = (e^{1/2} - 1) e^{2 * 0.5 + 0.5}
    check(e, math.exp(0.75), sd=math.sqrt((math.exp(0.5) - 1) * math.exp(1.5)))
    # the whole run (warm-up, sampling, the statistic) is one program, compiled once per shape:
    # NumPyro's MCMC.run alone compiles its sampling loop again on every call
    with compiled() as later:
        again = engine_for(m).query("E[W | X = 1]", method="nuts", samples=300, warmup=200)
        other = engine_for(m).query("E[W | X = -1]", method="nuts", samples=300, warmup=200,
                                    seed=3)
    assert first == ["jit(run)"] and later == []
    assert float(again) == float(e) and again.se == e.se    # the same seed, the same draws
    # Z | X = -1 is Normal(-0.5, 0.5): E[exp Z] = exp(-0.25), Var = (e^{1/2} - 1) e^{-1 + 0.5}
    check(other, math.exp(-0.25), sd=math.sqrt((math.exp(0.5) - 1) * math.exp(-0.5)))


@pytest.mark.slow
def test_the_default_route_for_continuous_latents_is_nuts():
    m = model_of(LATENT)
    assert engine_for(m).query("E[W | X = 1]", samples=200, warmup=100).route == "NUTS"
    assert m.query("E[W | X = 1]", method="importance", samples=2000).route == "importance sampling"


def test_seed_reproduces_and_shapes_compile_once():
    m = model_of(MIXED)
    eng = engine_for(m)
    with compiled() as first:
        a = m.query("E[Y | do(S = yes)]", backend="sample", seed=1, samples=1000)
    with compiled() as later:
        b = m.query("E[Y | do(S = yes)]", seed=1, samples=1000)
        c = m.query("E[Y | do(S = no)]", seed=2, samples=1000)
    assert float(a) == float(b) and a.se == b.se > 0 and abs(c) < 0.2   # the same draws
    # one compiled sampler serves every value and seed: compiled on the first call, never again
    assert first == ["jit(packed)"] and later == [] and len(eng._draws) == 1
    lin = model_of(NONLINEAR)
    with compiled() as first:
        lin.query("E[Y | X = 0.5]", method="importance", samples=1000)
        lin.query_batch("E[Y | do(X)]", {"X": [0.0, 1.0]}, method="forward", samples=1000)
    with compiled() as later:
        lin.query("E[Y | X = -0.5]", method="importance", samples=1000, seed=4)
        lin.query_batch("E[Y | do(X)]", {"X": [2.0, -1.0]}, method="forward", samples=1000)
    assert first == ["jit(packed)", "jit(run)"] and later == []


def test_seeds_are_checked_and_the_last_one_wraps_around(capsys, tmp_path):
    from causaldsl.app.cli import main
    from causaldsl.backends.sample import Options

    m = model_of(MIXED)
    for bad in (-1, 2**32, 10**20, 1.5, "1", True):
        with pytest.raises(QueryError, match="the seed must be an integer"):
            m.query("E[Y | do(S = yes)]", seed=bad, samples=100)
        with pytest.raises(QueryError, match="the seed must be an integer"):
            engine_for(m).query("E[Y | do(S = yes)]", seed=bad, samples=100)
        with pytest.raises(QueryError, match="the seed must be an integer"):
            Options(seed=bad)
    with pytest.raises(QueryError, match="from 0 to 4294967295, got -1"):
        m.query_batch("E[Y | do(S)]", {"S": ["no", "yes"]}, seed=-1, samples=100)
    # a sum's terms and a table's cells take the seeds after it, wrapped to 0, 1, ...
    last = m.query("E[Y | do(S = yes)] - E[Y | do(S = no)]", seed=2**32 - 1, samples=1000,
                   method="forward")
    assert abs(float(last) - 2) < 0.5
    src = tmp_path / "m.causal"
    src.write_text(MIXED + "query E[Y | do(S = yes)]\n")
    for bad in ("-1", "4294967296", "99999999999999999999", "1.5"):
        assert main(["run", str(src), "--seed", bad, "--samples", "100"]) == 2
        err = capsys.readouterr().err
        assert "argument --seed: the seed must be an integer" in err and "Traceback" not in err
    assert main(["run", str(src), "--seed", str(2**32 - 1), "--samples", "100"]) == 0


def test_backend_choice():
    from examples.smoking import smoking_model

    smoking = smoking_model()
    exact = smoking.query("P(C = yes | do(S = yes))")
    assert type(exact) is float
    sampled = smoking.query("P(C = yes | do(S = yes))", backend="sample", samples=4000)
    assert isinstance(sampled, Estimate)
    check(sampled, exact, sd=bernoulli_sd(exact))
    with pytest.raises(QueryError, match="are for sampling"):
        smoking.query("P(C)", seed=3)
    with pytest.raises(QueryError, match="unknown backend"):
        smoking.query("P(C)", backend="magic")
    with pytest.raises(QueryError, match="unknown sampling method"):
        smoking.query("P(C)", backend="sample", method="magic")


# -- errors ------------------------------------------------------------------------------------

def test_deterministic_evidence_without_noise_is_explained():
    m = model_of("model d { exogenous U : Real ~ Normal(0, 1)\n X : Real := U\n"
                 " Y : Real := exp(X) }")
    with pytest.raises(QueryError, match="has no density"):
        m.query("E[X | Y = 2]", method="importance")


def test_zero_probability_evidence_is_reported():
    m = model_of("""
type YesNo = {no, yes}
model z { A : YesNo ~ [1, 0]
 X : Real ~ Normal(if A == yes then 1 else 0, 1) }""")
    with pytest.raises(ZeroProbabilityError, match="probability zero"):
        m.query("E[X | A = yes]", samples=500)


def test_bad_parameters_are_reported_not_averaged():
    m = model_of("model bad { X : Real ~ Normal(0, -1)\n Y : Real := X + 1\n}")
    for _ in range(2):   # the first run compiles, the second reuses it
        with pytest.raises(MechanismError, match="distribution of X is outside its range"):
            m.query("E[Y]", method="forward", samples=100)


def test_continuous_outcomes_need_expectations():
    m = model_of(LINEAR)
    with pytest.raises(QueryError, match="ask for E"):
        m.query("P(Y)")
    with pytest.raises(QueryError, match="must be a number"):
        m.query("E[Y | do(X = yes)]")


def test_expectations_given_each_value_of_an_open_variable():
    m = model_of("type YesNo = {no, yes}\nmodel m {\n  S : YesNo ~ [0.3, 0.7]\n"
                 "  N : {0, 1, 2} ~ table(S) { no: [0.5, 0.3, 0.2], yes: [0.1, 0.2, 0.7] }\n}")
    e = m.query("E[N | S]")
    # no: 0 * 0.5 + 1 * 0.3 + 2 * 0.2 = 0.7; yes: 1 * 0.2 + 2 * 0.7 = 1.6
    assert isinstance(e, Expectations) and e.given == ("S",)
    assert abs(e["no"] - 0.7) < 1e-12 and abs(e["yes"] - 1.6) < 1e-12
    assert str(e).splitlines()[0] == "E[N | S]" and "yes  |  1.6" in str(e)
    channel = m.query("E[N | do(S)]")
    assert channel.given == ("do(S)",) and np.allclose(channel, [0.7, 1.6])
    batch = m.query_batch("E[N | do(S)]", {"S": ["yes", "no", "yes"]})
    assert np.allclose(batch, [1.6, 0.7, 1.6]) and batch[1] == pytest.approx(0.7)
    two = model_of("type YesNo = {no, yes}\nmodel m {\n  S : YesNo ~ [0.3, 0.7]\n"
                   "  T : YesNo ~ [0.5, 0.5]\n  N : {0, 1} ~ table(S, T) { (no, no): [1, 0], "
                   "(no, yes): [0.5, 0.5], (yes, no): [0.5, 0.5], (yes, yes): [0, 1] }\n}")
    with pytest.raises(QueryError, match=r"needs a value .* for T"):
        two.query_batch("E[N | do(S), T]", {"S": ["yes"]})
    sampled = m.query("E[N | S]", backend="sample", samples=4000, seed=3)
    assert isinstance(sampled, SampledExpectations)
    # Var(N | S = no) = 0.3 + 4 * 0.2 - 0.7^2 = 0.61; Var(N | S = yes) = 0.2 + 4 * 0.7 - 1.6^2 = 0.44
    check(sampled["no"], 0.7, sd=math.sqrt(0.61), m=4000)
    check(sampled["yes"], 1.6, sd=math.sqrt(0.44), m=4000)
    with pytest.raises(QueryError, match="every term of a sum must be a number"):
        m.query("E[N | S] - E[N | S = no]")

    mixed = model_of(MIXED)  # Y ~ Normal(0 or 2, 1) by S
    by_s = mixed.query("E[Y | do(S)]", samples=4000)
    check(by_s["no"], 0.0, sd=1.0, m=4000)
    check(by_s["yes"], 2.0, sd=1.0, m=4000)
    assert by_s.se.shape == (2,) and "forward sampling" in str(by_s)
    # Y := m(S) + U with U ~ Normal(0, 1) shared between the worlds and B = (Y > 1):
    # given B, S = no needs U > 1 and S = yes needs U > -1, each with prior 1/2, so
    # E[U | B] = (φ(1) + φ(-1)) / (1 - Φ(1) + 1 - Φ(-1)) = 2 φ(1) = 0.48394 and
    # E[Y[S = yes] | B] = 2 + 0.48394 (and 2 - 0.48394 given not B)
    cf = mixed.query("E[Y[S = yes] | B]", samples=20_000, seed=1)
    phi1 = math.exp(-0.5) / math.sqrt(2 * math.pi)
    # E[U^2 | B] = (φ(1) + 1 - Φ(1)) + (Φ(1) - φ(1)) = 1, so sd(U | B) = √(1 - 4 φ(1)^2); B (and
    # not B) has probability 1/2: at least half of the 20,000 draws count (likelihood weights ≤ 1)
    sd = math.sqrt(1 - 4 * phi1**2)
    check(cf[True], 2 + 2 * phi1, sd=sd, m=10_000)
    check(cf[False], 2 - 2 * phi1, sd=sd, m=10_000)
    assert cf.heading == "E[Y[S = yes] | B]" and "reparameterised" in cf.route
    with pytest.raises(QueryError, match="Y is continuous; give it a value"):
        mixed.query("E[B | Y]")


def test_cli_answers_tables_of_expectations_and_sampled_tables(capsys, tmp_path):
    from causaldsl.app.cli import main

    src = tmp_path / "m.causal"
    src.write_text(MIXED.replace("model mixed {", "model mixed {\n  N : {0, 1} ~ [0.25, 0.75]"))
    assert main(["query", str(src), "E[N | do(S)]", "--backend", "exact", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["axes"] == ["do(S)"] and [r["E"] for r in out["table"]] == [0.75, 0.75]
    assert main(["query", str(src), "E[Y | S]", "--method", "importance", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("E[Y | S]  [mixed]  (importance sampling") and "± " in text
    assert main(["query", str(src), "P(B | do(S = yes))", "--samples", "500", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)["table"]
    assert [r["values"] for r in table] == [["false"], ["true"]]
    assert all(r["se"] > 0 for r in table) and abs(sum(r["p"] for r in table) - 1) < 1e-9


def test_query_batch_samples_every_setting_in_one_call():
    lin = model_of(LINEAR)
    closed = lin.query_batch("E[Y | do(X)]", {"X": [0, 0.5, 1]})  # 2x, exactly
    assert isinstance(closed, SampledBatch) and np.allclose(closed, [0, 1, 2], atol=1e-12)
    assert "closed form" in closed.route and "0.5  |  1 ± 0" in str(closed)
    fwd = lin.query_batch("E[Y | do(X)]", {"X": [0, 0.5, 1]}, method="forward", samples=4000)
    assert fwd.route.startswith("forward sampling, 4000 samples per setting")
    for i, x in enumerate([0, 0.5, 1]):
        check(fwd[i], 2 * x, sd=1.0, m=4000)
    # Y[X = 1] = 2 + Uy whatever X was seen: 2 for every setting, Ux abducted from X
    cf = lin.query_batch("E[Y[X = 1] | X]", [{"X": -1.0}, {"X": 0.5}], method="importance",
                         samples=4000)
    assert "abducted" in cf.route
    for i in range(2):
        check(cf[i], 2.0, sd=1.0, m=4000)  # Uy keeps its prior
    assert cf.title == "E[Y[X = 1] | X]"

    mixed = model_of(MIXED)
    # Bayes: P(S = yes | Y = y) = φ(y - 2) / (φ(y - 2) + φ(y)) = 1 / (1 + exp(2 - 2y))
    ys = np.linspace(-1, 3, 5)
    post = mixed.query_batch("P(S = yes | Y)", {"Y": ys}, samples=4000, seed=1)
    truth = 1 / (1 + np.exp(2 - 2 * ys))
    # the likelihood weights φ(y - 2 S) have Kish ESS ≥ n/2 for every y here (n/2 at y = -1, 3);
    # S is weighted, not drawn as an indicator, which may beat plain draws: upper bound only
    check_cells(post, truth, post.se, bernoulli_sd(truth), m=2000, lower=0.0)
    table = mixed.query_batch("P(B | do(S))", {"S": ["no", "yes"]}, samples=2000, seed=5)
    assert np.asarray(table).shape == (2, 2) and table[1].variables == ("B",)
    for i, s in enumerate(["no", "yes"]):  # setting i is drawn as query would with seed 5 + i
        one = mixed.query("P(B | do(S))", S=s, samples=2000, seed=5 + i)
        assert np.allclose(np.asarray(one), np.asarray(table[i]), atol=1e-12)


def test_query_batch_by_sampling_refuses_what_it_cannot_do():
    mixed = model_of(MIXED)
    with pytest.raises(QueryError, match="must appear in the query's condition"):
        mixed.query_batch("E[Y | do(S = yes)]", {"B": [True]})
    with pytest.raises(QueryError, match="batches over tables are answered exactly"):
        mixed.query_batch("E[Y | do(S)]", {"S": ["yes"]}, tables={"S": np.array([[0.5, 0.5]])})
    with pytest.raises(QueryError, match="ask each setting with query"):
        mixed.query_batch("E[Y | S]", {"S": ["yes"]}, method="nuts")
    with pytest.raises(QueryError, match="give B a value or batch over it"):
        mixed.query_batch("E[Y | S, B]", {"S": ["yes"]})
    with pytest.raises(QueryError, match="'maybe' is not a value of S"):
        mixed.query_batch("E[Y | do(S)]", {"S": ["yes", "maybe"]})
    never = model_of("type YesNo = {no, yes}\nmodel n {\n  A : YesNo ~ [1, 0]\n"
                     "  X : Real ~ Normal(if A == yes then 1 else 0, 1)\n}")
    with pytest.raises(ZeroProbabilityError, match="setting 1"):
        never.query_batch("E[X | A]", {"A": ["no", "yes"]}, samples=200)


def test_cli_backends(capsys):
    from causaldsl.app.cli import main

    root = Path(__file__).resolve().parents[2]
    assert main(["run", str(root / "examples/linear.causal")]) == 0
    out = capsys.readouterr().out
    assert "closed form" in out and "= 0.6" in out
    assert main(["query", str(root / "examples/smoking.causal"), "P(C = yes | do(S = yes))",
                 "--backend", "sample", "--samples", "1000", "--seed", "4"]) == 0
    assert "forward sampling, 1000 samples" in capsys.readouterr().out
    assert main(["query", str(root / "examples/smoking.causal"), "P(C)", "--seed", "4"]) == 1
    assert "are for sampling" in capsys.readouterr().err


# -- sampling agrees with exact on random discrete models --------------------------------------

@st.composite
def discrete_models(draw, most: int = 4, largest: int = 3):
    """A random discrete model of 3 to ``most`` variables with full-support tables."""
    n = draw(st.integers(3, most))
    names = [f"V{i}" for i in range(n)]
    types = [FiniteType([f"v{k}" for k in range(draw(st.integers(2, largest)))]) for _ in names]
    variables = []
    for i, name in enumerate(names):
        parents = tuple(p for j, p in enumerate(names[:i]) if draw(st.booleans()) or j == i - 1)
        shape = (*(types[names.index(p)].size for p in parents), types[i].size)
        raw = np.array(draw(st.lists(st.floats(0.1, 1.0), min_size=math.prod(shape),
                                     max_size=math.prod(shape)))).reshape(shape)
        variables.append(Variable(name, types[i], Role.OBSERVED, parents,
                                  Table(raw / raw.sum(-1, keepdims=True), len(parents))))
    return CausalModel.from_variables(variables, "random")


def _agrees(model: CausalModel, text: str, samples: int, evidence: str | None = None) -> None:
    """Sampling against exact, cell by cell; ``evidence``: the query of P(evidence) (under the
    same interventions), which bounds the effective draws from below: ESS ≥ n P(e)."""
    exact = np.asarray(model.query(text))
    got = model.query(text, backend="sample", samples=samples)
    assert isinstance(got, SampledDistribution)
    m = samples * (float(model.query(evidence)) if evidence else 1.0)
    # forward sampling cannot beat plain draws; weighting may, so it checks the upper bound only
    check_cells(got, exact, got.se, bernoulli_sd(exact), m=m, lower=0.0 if evidence else 0.5)


PROPERTY = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(discrete_models())
def test_sampling_agrees_with_exact_on_random_models(model):
    names = list(model.variables)
    first, last = names[0], names[-1]
    _agrees(model, f"P({last})", 3000)
    _agrees(model, f"P({last} | do({first} = v1))", 3000)
    _agrees(model, f"P({first} | {last} = v0)", 3000, f"P({last} = v0)")


@PROPERTY
@given(discrete_models(most=3, largest=2))
def test_sampling_agrees_with_exact_on_random_counterfactuals(model):
    scm = model.with_response_functions()   # every table a function of explicit noise
    first, last = list(model.variables)[0::2]
    _agrees(scm, f"P({last}[{first} = v1] | {first} = v0, {last} = v0)", 3000,
            f"P({first} = v0, {last} = v0)")


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(discrete_models(), st.data())
def test_sampling_agrees_with_exact_on_many_random_models(model, data):
    names = list(model.variables)
    y = data.draw(st.sampled_from(names[1:]))
    x = data.draw(st.sampled_from([n for n in names if n != y]))
    z = data.draw(st.sampled_from([n for n in names if n not in (x, y)]))
    _agrees(model, f"P({y} | do({x} = v0))", 5000)
    _agrees(model, f"P({y} | {z} = v1)", 5000, f"P({z} = v1)")
    _agrees(model, f"P({y} | do({x} = v1), {z} = v0)", 5000, f"P({z} = v0 | do({x} = v1))")


# -- several devices ---------------------------------------------------------------------------

SHARDED = """
import jax
import causaldsl
assert len(jax.devices()) == 4
m = list(causaldsl.parse('''MODEL''').models.values())[-1]
e = m.query("E[Y | do(X = 1)]", method="forward", samples=4000)
assert e.details["devices"] == 4, e.details
error = 1 / 4000 ** 0.5  # Y = 2 + Uy: sd 1
assert abs(e - 2.0) <= 4.5 * error and 0.5 * error <= e.se <= 2 * error, e
print(e)
""".replace("MODEL", LINEAR)


def test_the_sample_plate_is_sharded_over_devices():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SHARDED], env=env, capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert "on 4 devices" in out.stdout


# -- counterfactuals through the multi-world rewrite -------------------------------------------

NONLINEAR = """
model nonlinear {
  latent Z : Real ~ Normal(0, 1)
  exogenous Ux : Real ~ Normal(0, 1)
  exogenous Uy : Real ~ Normal(0, 1)
  X : Real := Z + Ux
  Y : Real := X + exp(Z) + Uy
}
"""
#: sd of Y[X = 1] = 1 + exp(Z) + Uy given X = 0.5, where Z | X ~ Normal(1/4, 1/2):
#: Var(exp Z) = (e^{1/2} - 1) e^{2 * 0.25 + 0.5}, plus Var(Uy) = 1
NONLINEAR_SD = math.sqrt((math.exp(0.5) - 1) * math.exp(1.0) + 1)


def test_linear_counterfactual_by_closed_form_and_by_abduction():
    m = model_of(LINEAR)
    # abduction: Ux = 0.5, Uy = 1.5 - 2 * 0.5 = 0.5; prediction: Y[X = 1] = 2 * 1 + 0.5
    exact = m.query("E[Y[X = 1] | X = 0.5, Y = 1.5]")
    assert abs(exact - 2.5) < 1e-12 and "closed form" in str(exact)
    nuts = m.query("E[Y[X = 1] | X = 0.5, Y = 1.5]", method="nuts")
    assert abs(nuts - 2.5) < 1e-9 and "no continuous latent left for NUTS" in str(nuts)
    assert "Uy abducted exactly from Y" in str(nuts)


@pytest.mark.slow
def test_linear_counterfactual_by_nuts_with_a_latent_left():
    m = model_of(LINEAR)
    # Only Y = 1.5 is seen, so Ux is left to NUTS: (Ux, Y) is Gaussian with Cov = 2, Var(Y) = 5,
    # so Ux | Y = 1.5 ~ Normal(2 / 5 * 1.5, 1 - 4 / 5) = Normal(0.6, 0.2), and Uy = 1.5 - 2 Ux:
    # E[Y[X = 1] | Y = 1.5] = 2 + E[Uy | Y] = 2 + 1.5 - 2 * 0.6 = 2.3
    exact = m.query("E[Y[X = 1] | Y = 1.5]")
    assert abs(exact - 2.3) < 1e-12 and "closed form" in str(exact)
    nuts = m.query("E[Y[X = 1] | Y = 1.5]", method="nuts", samples=800, warmup=300, seed=2)
    assert nuts.route == "NUTS" and nuts.details["rhat"] < 1.05
    check(nuts, 2.3, sd=math.sqrt(4 * 0.2))  # Y[X = 1] = 3.5 - 2 Ux, Var(Ux | Y) = 1/5


@pytest.mark.slow
def test_nuts_reads_a_variable_recovered_from_evidence():
    m = model_of("model n {\n  X : Real ~ Normal(0, 1)\n  exogenous U : Real ~ Normal(0, 1)\n"
                 "  Y : Real := X + U\n}")
    # X is recovered from Y = 0.5 given U (X = 0.5 - U); E[X | X + U = y] = y / 2
    got = m.query("E[X | Y = 0.5]", method="nuts", samples=300, warmup=200, seed=1)
    assert got.route == "NUTS" and "X abducted exactly from Y" in str(got)
    check(got, 0.25, sd=math.sqrt(0.5))  # X | X + U = 0.5 ~ Normal(1/4, 1/2)


def test_nonlinear_counterfactual_within_monte_carlo_error():
    m = model_of(NONLINEAR)
    # X = Z + Ux with X = 0.5 gives Z | X ~ Normal(0.25, 1/2); Uy keeps its prior, so
    # E[Y[X = 1] | X = 0.5] = 1 + E[exp(Z) | X = 0.5] = 1 + exp(0.25 + 0.25)
    truth = 1 + math.exp(0.5)
    by_weights = m.query("E[Y[X = 1] | X = 0.5]", method="importance", samples=4000)
    check(by_weights, truth, sd=NONLINEAR_SD)


@pytest.mark.slow
def test_nonlinear_counterfactual_by_nuts():
    m = model_of(NONLINEAR)
    by_nuts = engine_for(m).query("E[Y[X = 1] | X = 0.5]", samples=400, warmup=200)
    assert by_nuts.route == "NUTS"
    check(by_nuts, 1 + math.exp(0.5), sd=NONLINEAR_SD)


def test_stochastic_mechanisms_are_reparameterised_for_counterfactuals():
    m = model_of("model s { exogenous Ux : Real ~ Normal(0, 1)\n X : Real := Ux\n"
                 " Y : Real ~ Normal(2 * X, 1)\n}")
    got = m.query("E[Y[X = 1] | X = 0.5, Y = 1.5]")
    assert abs(got - 2.5) < 1e-12
    assert "Y ~ Normal(2 * X, 1) reparameterised as Y := 2 * X + 1 * U_Y" in str(got)


def test_checking_a_continuous_model_imports_neither_jax_nor_numpyro():
    code = ("import sys\nfrom causaldsl.app.cli import main\n"
            "assert main(['check', 'examples/linear.causal']) == 0\n"
            "assert 'jax' not in sys.modules and 'numpyro' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


@pytest.mark.slow
def test_nuts_enumerates_discrete_latents():
    pytest.importorskip("funsor")
    m = model_of("""
type YesNo = {no, yes}
model m {
  S : YesNo ~ [0.5, 0.5]
  Z : Real ~ Normal(if S == yes then 1 else -1, 1)
  Y : Real ~ Normal(Z, 1)
}""")
    # Y | S ~ Normal(±1, 2): P(S = yes | Y = y) = 1 / (1 + exp(-y)); here y = 1.5
    p = engine_for(m).query("P(S = yes | Y = 1.5)", method="nuts", samples=500, warmup=300)
    assert p.route == "NUTS"
    # enumerating S averages its posterior probabilities, which may beat indicator draws
    check(p, 1 / (1 + math.exp(-1.5)), sd=bernoulli_sd(1 / (1 + math.exp(-1.5))), lower=0.0)
    # Z | Y, S ~ Normal((±1 + 1.5) / 2, 1/2)
    z = engine_for(m).query("E[Z | Y = 1.5]", method="nuts", samples=500, warmup=300)
    truth = 1.25 / (1 + math.exp(-1.5)) + 0.25 / (1 + math.exp(1.5))
    # Var(Z | Y) = 1/2 + p (1 - p) (1.25 - 0.25)^2 with p = P(S = yes | Y)
    p_yes = 1 / (1 + math.exp(-1.5))
    check(z, truth, sd=math.sqrt(0.5 + p_yes * (1 - p_yes)), lower=0.0)


def test_sample_counts_are_checked_and_memory_is_not_exhausted(monkeypatch):
    import jax

    from causaldsl.backends import sample

    lin = model_of(LINEAR)
    for bad, why in [(10**10, "samples must be an integer from 2 to 2147483647"),
                     (True, "samples must be an integer from 2"),
                     (1.5, "samples must be an integer, not 1.5")]:
        with pytest.raises(QueryError, match=why):
            lin.query("E[Y | do(X = 1)]", method="forward", samples=bad)
    with pytest.raises(QueryError, match="chains must be an integer from 1"):
        lin.query("E[Y[X = 1] | X = 0.5]", method="nuts", chains=0)
    # 10^7 samples of the 4 variables take 8 * 10^7 * (4 + 2) bytes = 0.45 GiB (above the
    # 256 MiB under which free memory is not looked up): refused with 10 MiB free, before
    # anything is drawn (the OS would otherwise kill the process)
    monkeypatch.setattr(sample, "_available_memory", lambda: 10 * 2**20)
    with pytest.raises(QueryError, match=r"10,000,000 samples of 4 variables need about 0\.4 GiB, "
                                         r"more than the 0\.0 GiB free; ask for fewer"):
        lin.query("E[Y | do(X = 1)]", method="forward", samples=10**7)
    with pytest.raises(QueryError, match="ask for fewer samples"):
        lin.query_batch("E[Y | do(X)]", {"X": [0, 1]}, method="forward", samples=10**7)
    lin.query("E[Y | do(X = 1)]", method="forward", samples=10**6)  # 46 MiB: not looked up
    monkeypatch.undo()
    assert lin.query("E[Y | do(X = 1)]", method="forward", samples=1000) is not None
    # XLA running out of memory while it runs is a QueryError too
    with (pytest.raises(QueryError, match="not enough memory to draw 5 samples"),
          sample._memory_guard(sample.Options(samples=5))):
        raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating")
    with (pytest.raises(jax.errors.JaxRuntimeError, match="INTERNAL"),  # other errors pass
          sample._memory_guard(sample.Options(samples=5))):
        raise jax.errors.JaxRuntimeError("INTERNAL: something else")
