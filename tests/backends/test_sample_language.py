"""The sampling backend on the language's finer points: if/else between label names, and the
bounds of ``Real in [low, high]`` checked on every sampled value.

Monte Carlo answers are checked against hand-computed ones with tolerances fixed from the known
standard deviations (tests/backends/montecarlo.py).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import causaldsl
from causaldsl import CausalModel, MechanismError, QueryError, Variable
from causaldsl.backends.jaxexpr import as_value, evaluate, to_index
from causaldsl.core.types import FiniteType
from causaldsl.ir.mechanism import ExprMechanism, Table
from causaldsl.lang.ast import Functional, ModelDef
from causaldsl.lang.parse import parse_module
from causaldsl.syntax.diagnostics import SourceError
from tests.backends.montecarlo import bernoulli_sd, check, check_cells


def model_of(text: str) -> CausalModel:
    return list(causaldsl.parse(text).models.values())[-1]


def phi(x: float) -> float:
    """The standard normal density."""
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def cdf(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


P_HIGH = 1 - cdf(1)  # P(Y > 1) for Y ~ Normal(0, 1)


def expressions_kept(text: str) -> CausalModel:
    """The model of ``text`` with each finite ``:=`` kept as an expression (as the sampling
    backend sees mechanisms with a continuous parent), where elaboration made it a table."""
    model = model_of(text)
    (md,) = [s for s in parse_module(text).statements if isinstance(s, ModelDef)]
    new = []
    for it in md.items:
        v = model.variables[it.name]
        if isinstance(it.mechanism, Functional) and isinstance(v.mechanism, Table):
            new.append(Variable(v.name, v.type, v.role, v.parents,
                                ExprMechanism("assign", it.mechanism.expr, "…")))
    assert new, "no := of a finite type to keep"
    return model.replace(new)


# -- if/else between label names -----------------------------------------------------------

GRADE = """
type Grade = {low, high}
model grade {
  Y : Real ~ Normal(0, 1)
  G : Grade := if Y > 1 then high else low
  Z : Real ~ Normal(if G == high then 3 else 0, 1)
}
"""


def test_if_else_chooses_a_label_by_a_continuous_condition():
    m = model_of(GRADE)
    p = m.query("P(G = high)", samples=20_000, seed=3)
    check(p, P_HIGH, sd=bernoulli_sd(P_HIGH), m=20_000)
    d = m.query("P(G)", samples=20_000, seed=3)
    assert np.allclose(np.asarray(d), [1 - float(p), float(p)], atol=1e-12)  # the same draws


def test_a_chosen_label_is_used_downstream():
    m = model_of(GRADE)
    # Z ~ Normal(3 [Y > 1], 1): Var(Z) = 1 + 9 p (1 - p)
    check(m.query("E[Z]", samples=20_000, seed=1), 3 * P_HIGH,
          sd=math.sqrt(1 + 9 * P_HIGH * (1 - P_HIGH)), m=20_000)
    check(m.query("E[Z | do(G = high)]", samples=5000), 3.0, sd=1.0, m=5000)
    # Bayes on the label: P(G = high | Z = 3) from the two Normal densities of Z
    prior = 1 - cdf(1)
    truth = prior * phi(0) / (prior * phi(0) + (1 - prior) * phi(3))
    # the weights φ(3 - 3 [G = high]) favour the draws with G = high, so the weighted error is
    # below sd/√ESS (about a quarter of it): the upper bound only
    check(m.query("P(G = high | Z = 3)", method="importance", samples=20_000, seed=2), truth,
          sd=bernoulli_sd(truth), lower=0.0)


FINITE = """
type YesNo = {no, yes}
type Three = {x, y, z}
model labels {
  A : YesNo ~ [0.3, 0.7]
  B : YesNo ~ table(A) { no: [0.6, 0.4], yes: [0.2, 0.8] }
  S : YesNo ~ [0.25, 0.75]
  T : YesNo := if S == yes then no else yes
  N : Three := if A == yes then x else if B == yes then y else z
  C : YesNo := if A == yes then S else if B != no then no else T
  E : Bool := (if A == yes then x else y) == N
}
"""


def test_label_choices_compile_as_the_exact_tables_say():
    """Every combination of parent values: the JAX evaluation gives the value that elaboration
    (NumPy, on the grid) put in the table."""
    exact = model_of(FINITE)
    kept = expressions_kept(FINITE)
    for name in ("T", "N", "C", "E"):
        v, table = kept.variables[name], exact.variables[name].mechanism
        assert isinstance(table, Table)
        ptypes = [kept.variables[p].type for p in v.parents]
        grids = np.meshgrid(*(np.arange(t.size) for t in ptypes), indexing="ij")
        env = {p: as_value(jnp.asarray(g.ravel()), t)
               for p, t, g in zip(v.parents, ptypes, grids, strict=True)}
        got = to_index(evaluate(v.mechanism.expr, env), v.type, name)
        want = table.array.reshape(-1, v.type.size).argmax(-1)
        assert np.array_equal(np.broadcast_to(got, want.shape), want), name


def test_label_choices_sample_as_the_exact_backend_answers():
    exact, kept = model_of(FINITE), expressions_kept(FINITE)
    assert isinstance(kept.variables["N"].mechanism, ExprMechanism)
    n = 20_000
    for q in ("P(T)", "P(N)", "P(C)", "P(E)", "P(N | do(B = no))"):
        want = np.asarray(exact.query(q))
        got = kept.query(q, samples=n, seed=5)
        check_cells(got, want, got.se, bernoulli_sd(want), m=n)
    # with evidence A = no (probability 0.3): ESS ≥ 0.3 n; weighting: the upper bound only
    want = np.asarray(exact.query("P(C | A = no)"))
    got = kept.query("P(C | A = no)", samples=n, seed=5)
    check_cells(got, want, got.se, bernoulli_sd(want), m=0.3 * n, lower=0.0)
    # and the table model, sampled
    got = exact.query("P(T)", backend="sample", samples=n)
    check_cells(got, [0.75, 0.25], got.se, bernoulli_sd([0.75, 0.25]), m=n)


def test_a_label_choice_compared_before_it_has_a_type():
    m = model_of("""
type YesNo = {no, yes}
type Maybe = {maybe}
model c {
  Y : Real ~ Normal(0, 1)
  M : Real ~ Normal(if (if Y > 0 then yes else no) == yes then 5 else 0, 1)
  K : Real ~ Normal(if (if Y > 1 then yes else if Y > 0 then no else maybe) != maybe then 5 else 0, 1)
}
""")
    # M and K are Normal(5 [Y > 0], 1): Var = 1 + 25 / 4
    check(m.query("E[M]", samples=20_000), 2.5, sd=math.sqrt(7.25), m=20_000)
    check(m.query("E[K]", samples=20_000, seed=1), 2.5, sd=math.sqrt(7.25), m=20_000)


def test_a_label_outside_the_type_is_caught_by_check():
    bad = """
type Grade = {low, high}
type YesNo = {no, yes}
model e {
  Y : Real ~ Normal(0, 1)
  G : Grade := if Y > 1 then high else if Y > 0 then yes else low
  R : Real := if Y > 1 then high else 2
}
"""
    with pytest.raises(SourceError) as err:
        causaldsl.parse(bad)
    text = str(err.value)
    assert "6:54: error: G := … can give yes, which is not a value of Grade = {low, high}" in text
    assert "7:29: error: R := … can give the label high, but R : Real is a number" in text


LABEL_CASE = """
type Grade = {{low, high}}
type YesNo = {{no, yes}}
model e {{
  Y : Real ~ Normal(0, 1)
  S : YesNo ~ [0.5, 0.5]
  G : Grade := if Y > 1 then high else low
  {line}
}}"""


def test_label_choices_that_cannot_be_sampled_are_found_by_check():
    """Found at load time, located (they once surfaced only when a query ran)."""
    cases = {
        "H : YesNo := if Y > 0 then S else G":
            "8:16: error: if … then … else chooses between a value of YesNo = {no, yes} and a "
            "value of Grade = {low, high}",
        "H : YesNo := if Y > 0 then yes else 1":
            "8:16: error: if … then … else chooses between a label and a number",
        "H : Real := if Y > 0 then S else 1":
            "8:15: error: if … then … else chooses between a label and a number",
        "H : Real ~ Normal(if S == high then 1 else 0, 1)":
            "8:24: error: == compares a value of YesNo = {no, yes} with high, which is not one "
            "of its values",
    }
    for line, message in cases.items():
        with pytest.raises(SourceError, match=re.escape(message)):
            causaldsl.parse(LABEL_CASE.format(line=line))


def test_label_choices_in_a_model_built_in_python_fail_when_sampled():
    """A model built in Python skips the file checks; sampling still says what is wrong."""
    base = model_of(LABEL_CASE.format(line="H : Real ~ Normal(0, 1)"))
    cases = {
        "H : Real ~ Normal(if S == high then 1 else 0, 1)":
            "line 8: == compares a value of YesNo = {no, yes} with high, which is not one of "
            "its values",
        "H : Real := if Y > 0 then S else 1":
            "line 8: if … then … else chooses between a label and a number",
    }
    for line, message in cases.items():
        (md,) = [s for s in parse_module(LABEL_CASE.format(line=line)).statements
                 if isinstance(s, ModelDef)]
        mech = md.items[-1].mechanism
        kind, expr = ("assign", mech.expr) if isinstance(mech, Functional) else ("sample", mech)
        h = Variable("H", base.variables["H"].type, base.variables["H"].role, ("Y", "S"),
                     ExprMechanism(kind, expr, line))
        with pytest.raises(MechanismError, match=re.escape(message)):
            base.replace([h]).query("E[H]", samples=100)


def test_a_label_outside_the_type_at_run_time_is_a_mechanism_error():
    """A model built in Python skips the file checks; sampling still says what is wrong."""
    m = model_of(GRADE)
    g = m.variables["G"]
    assert isinstance(g.mechanism, ExprMechanism)
    other = FiniteType("Level", ["low", "mid"])
    m2 = m.replace([Variable("G", other, g.role, g.parents, g.mechanism)])
    with pytest.raises(MechanismError, match=r"variable G: high is not a value of Level = "
                                             r"\{low, mid\}"):
        m2.query("P(G)", samples=100)


# -- bounds of Real ------------------------------------------------------------------------

BOUNDED = """
model b {
  Y : Real ~ Normal(0, 1)
  W : Real in [0, inf) ~ Normal(1, 1)
  V : Real in [0, 2] := Y + 2
  L : Real in [0, inf) ~ LogNormal(0, 1)
  C : Real in [0, 1] := clip(Y, 0, 1)
  F : Real ~ Normal(L + C, 1)
}
"""


def test_sampled_values_outside_the_bounds_are_errors():
    m = model_of(BOUNDED)
    for _ in range(2):  # the first run compiles, the second reuses it
        with pytest.raises(MechanismError, match=(
                r"W : Real in \[0, inf\) ~ Normal\(1, 1\) took values outside its bounds "
                r"\(-\d\.\d+ < 0\) for some samples; its mechanism must keep it in range")):
            m.query("E[W]", samples=500)  # linear-Gaussian, but bounded: no closed form
    with pytest.raises(MechanismError, match=r"V : Real in \[0, 2\] := Y \+ 2 took values "
                                             r"outside its bounds \(\d\.\d+ > 2\)"):
        m.query("E[V]", samples=500)
    with pytest.raises(MechanismError, match=r"W : Real in \[0, inf\) ~ Normal\(1, 1\) took "):
        m.query("E[W | Y = 0.5]", method="importance", samples=500)  # also under evidence


def test_values_within_the_bounds_pass():
    m = model_of(BOUNDED)
    var_l = (math.e - 1) * math.e  # LogNormal(0, 1)
    check(m.query("E[L]", samples=20_000), math.exp(0.5), sd=math.sqrt(var_l), m=20_000)
    # E[clip(Y, 0, 1)] = (phi(0) - phi(1)) + P(Y > 1); E[C²] = (Φ(1) - 1/2 - φ(1)) + P(Y > 1)
    mean_c = phi(0) - phi(1) + P_HIGH
    var_c = cdf(1) - 0.5 - phi(1) + P_HIGH - mean_c**2
    check(m.query("E[C]", samples=20_000), mean_c, sd=math.sqrt(var_c), m=20_000)
    # F ~ Normal(L + C, 1), L and C independent
    check(m.query("E[F]", samples=20_000, seed=1), math.exp(0.5) + mean_c,
          sd=math.sqrt(1 + var_l + var_c), m=20_000)
    v = m.query("E[V | do(Y = -0.5)]", samples=100)  # Y cut: V = 1.5 on every draw, in range
    assert abs(v - 1.5) < 1e-12 and v.se < 1e-12


def test_query_values_outside_the_bounds_are_query_errors():
    m = model_of(BOUNDED)
    with pytest.raises(QueryError, match=r"L = -1 is outside the bounds of L : Real in \[0, inf\)"):
        m.query("E[F | do(L = -1)]")
    with pytest.raises(QueryError, match=r"C = 1.5 is outside the bounds of C : Real in \[0, 1\]"):
        m.query("E[F | C = 1.5]")
    with pytest.raises(QueryError, match="outside the bounds"):
        m.query("E[F[L = -0.5]]")
    ends = m.query("E[F | do(L = 0, C = 1)]", samples=2000)  # the ends are in: linear-Gaussian
    assert ends == 1.0 and "closed form" in str(ends)


@pytest.mark.slow
def test_nuts_checks_the_bounds_of_its_draws():
    m = model_of("""
model n {
  latent W : Real in [0, inf) ~ Normal(0, 1)
  X : Real ~ Normal(W, 1)
  Z : Real := W
  latent L : Real in [0, inf) ~ LogNormal(0, 1)
  Y : Real ~ Normal(L, 1)
  K : Real := L
}
""")
    with pytest.raises(MechanismError, match=r"W : Real in \[0, inf\) ~ Normal\(0, 1\) took "
                                             r"values outside its bounds \(-\d"):
        m.query("E[Z | X = 1]", method="nuts", samples=200, warmup=200)
    nuts = m.query("E[K | Y = 1]", method="nuts", samples=500, warmup=300)
    weighted = m.query("E[K | Y = 1]", method="importance", samples=20_000)
    assert abs(float(nuts) - float(weighted)) <= 4 * math.hypot(nuts.se, weighted.se)


ABDUCTED = """
model a {
  X : Real ~ Normal(0, 1)
  exogenous U : Real in [0, inf) ~ Exponential(1)
  Y : Real := U + X
  exogenous V : Real in [0, inf) ~ Normal(0, 1)
  Y2 : Real := V + X
}
"""
# X | X + U = 0.5 has density ∝ exp(-(x - 1)² / 2) for x ≤ 0.5: N(1, 1) cut at 0.5
ABDUCTED_TRUTH = 1 - phi(-0.5) / cdf(-0.5)
#: its sd: a Normal cut above at β = -0.5 standard deviations has variance 1 - βλ - λ², λ = φ(β)/Φ(β)
ABDUCTED_SD = math.sqrt(1 + 0.5 * (phi(-0.5) / cdf(-0.5)) - (phi(-0.5) / cdf(-0.5)) ** 2)


def test_an_abducted_noise_is_weighted_by_its_support_and_checked_against_its_bounds():
    m = model_of(ABDUCTED)
    got = m.query("E[X | Y = 0.5]", method="importance", samples=4000)
    assert "U abducted exactly from Y" in str(got), got
    check(got, ABDUCTED_TRUTH, sd=ABDUCTED_SD, lower=0.0)
    with pytest.raises(MechanismError, match=r"V : Real in \[0, inf\) ~ Normal\(0, 1\) took "
                                             "values outside its bounds"):
        m.query("E[X | Y2 = 0.5]", method="importance", samples=500)


def test_values_filling_their_closed_bounds_pass():
    m = model_of("model p { A : Real in [0, 2] ~ Uniform(0, 2)\n B : Real in (-inf, 1] := 1 - A\n"
                 " C : Real in [0, 1] := clip(A, 0, 1) }")
    # B = 1 - A with A ~ Uniform(0, 2): Var = 4 / 12
    check(m.query("E[B]", samples=5000), 0.0, sd=math.sqrt(1 / 3), m=5000)
    # C = 1 for half of the samples, else Uniform(0, 1): E[C²] = 1/6 + 1/2
    check(m.query("E[C]", samples=5000), 0.75, sd=math.sqrt(2 / 3 - 0.75**2), m=5000)


def test_the_cli_reports_a_bounds_breach_without_a_trace(tmp_path: Path, capsys):
    from causaldsl.app.cli import main

    f = tmp_path / "b.causal"
    f.write_text(BOUNDED)
    assert main(["query", str(f), "E[W]", "--samples", "200"]) == 1
    err = capsys.readouterr().err
    assert "took values outside its bounds" in err and "Traceback" not in err
    assert main(["query", str(f), "E[F | do(L = -1)]"]) == 1
    err = capsys.readouterr().err
    assert "outside the bounds of L" in err and "Traceback" not in err
    g = tmp_path / "g.causal"
    g.write_text(GRADE)
    assert main(["query", str(g), "P(G = high)", "--samples", "2000"]) == 0
    assert "forward sampling" in capsys.readouterr().out


def test_uniform_parameters_are_checked_against_each_other():
    m = model_of("model u { A : Real ~ Uniform(-1, 3)\n B : Real ~ Uniform(3, 1) }")
    check(m.query("E[A]", samples=5000), 1.0, sd=math.sqrt(16 / 12), m=5000)
    with pytest.raises(MechanismError, match="distribution of B is outside its range"):
        m.query("E[B]", samples=100)


@pytest.mark.slow
def test_nuts_weights_an_abducted_noise_by_its_support():
    got = model_of(ABDUCTED).query("E[X | Y = 0.5]", method="nuts", samples=500, warmup=300)
    assert "U abducted exactly from Y" in str(got), got
    check(got, ABDUCTED_TRUTH, sd=ABDUCTED_SD, lower=0.0)


def test_a_number_outside_a_finite_type_is_an_error_not_its_first_value():
    with pytest.raises(SourceError, match=r"2:40: error: N := … can give 5, which is not a value "
                                          r"of \{0, 1, 2\}"):
        causaldsl.parse("model p { Y : Real ~ Normal(0, 1)\n N : {0, 1, 2} := if Y > 0 then 1 else 5 }")
    m = model_of("model p { Y : Real ~ Normal(0, 1)\n N : {0, 1, 2} := round(Y)\n"
                 " K : {0, 1, 2} := clip(round(Y), 0, 2)\n B : Bool := Y > 0 }")
    for _ in range(2):
        with pytest.raises(MechanismError, match=r"N : \{0, 1, 2\} := round\(Y\) gave a number "
                                                 "that is not one of its values"):
            m.query("P(N)", samples=500)
    # round half to even: K = 1 on (0.5, 1.5), 2 on [1.5, inf)
    p1, p2 = cdf(1.5) - cdf(0.5), 1 - cdf(1.5)
    check(m.query("E[K]", samples=20_000), p1 + 2 * p2, sd=math.sqrt(p1 + 4 * p2 - (p1 + 2 * p2) ** 2),
          m=20_000)
    check(m.query("P(B = true)", samples=20_000), 0.5, sd=0.5, m=20_000)
