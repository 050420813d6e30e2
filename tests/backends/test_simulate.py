"""Drawing data from a model (``model.sample``, ``backends/simulate.py``) against the exact
answers of the query engine.

Frequencies are compared with the exact joint by Pearson's chi-square goodness-of-fit test,
with cells whose expected count is below 5 pooled into one, at the level p > 1e-3 fixed before
any run. Why that level: the seeds are fixed, so each test is deterministic; over the choice of
a seed a correct sampler fails a check with probability 1e-3, while each wrong implementation
named in the tests moves some cell's probability by 0.01 or more, which at n = 200,000 rows adds
at least n·0.01²/p ≥ 20 to the statistic for every such cell, far beyond the critical value
(a p-value below 1e-10 in every case we tried). Cells of probability zero must be empty.

Moments of continuous samples are checked within K = 4.5 known standard errors
(``tests/backends/montecarlo.py``), the arithmetic written in each test.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import causaldsl
from causaldsl import (
    CausalError,
    CausalModel,
    CausalTypeError,
    FiniteType,
    LatentQueryError,
    MechanismError,
    QueryError,
    Role,
    Table,
    UnknownVariableError,
    Variable,
)
from causaldsl.backends import simulate
from causaldsl.core.errors import NotDeterminedError
from causaldsl.syntax.query import show_value
from tests.backends.montecarlo import K

ROOT = Path(__file__).resolve().parents[2]
LEVEL = 1e-3
N = 200_000


def example(name: str) -> CausalModel:
    return list(causaldsl.load(ROOT / "examples" / f"{name}.causal").models.values())[-1]


def model_of(text: str) -> CausalModel:
    return list(causaldsl.parse(text).models.values())[-1]


def counts(frame: pd.DataFrame, columns: list[str], shape: tuple[int, ...]) -> np.ndarray:
    """The joint count table of finite columns, axes in the types' order."""
    codes = tuple(np.asarray(frame[c].cat.codes, dtype=np.intp) for c in columns)
    flat = np.ravel_multi_index(codes, shape)
    return np.bincount(flat, minlength=math.prod(shape)).reshape(shape)


def goodness_of_fit(observed: np.ndarray, probs: np.ndarray) -> float:
    """Pearson's chi-square p-value of ``observed`` counts against ``probs``: cells of
    probability zero must be empty (asserted), cells expected below 5 are pooled."""
    observed, probs = observed.ravel().astype(float), probs.ravel()
    assert observed[probs == 0].sum() == 0, "a draw landed in a cell of probability zero"
    n = observed.sum()
    keep = probs > 0
    observed, expected = observed[keep], n * probs[keep]
    small = expected < 5
    if small.any():
        observed = np.append(observed[~small], observed[small].sum())
        expected = np.append(expected[~small], expected[small].sum())
    if len(expected) < 2:
        return 1.0
    return float(stats.chisquare(observed, expected).pvalue)


def check_joint(model: CausalModel, frame: pd.DataFrame, columns: list[str], query: str) -> None:
    """The frame's joint frequencies of ``columns`` fit the exact answer of ``query``."""
    exact = model.query(query)
    assert list(exact.variables) == columns, exact.variables
    p = goodness_of_fit(counts(frame, columns, exact.probs.shape), exact.probs)
    assert p > LEVEL, f"chi-square p = {p:.3g} for {query}"


# -- finite models: frequencies against the exact joint ----------------------------------------

def test_smoking_frequencies_match_the_exact_joint():
    """Catches: the parents' index order swapped (C's table is keyed (T, H); read as (H, T) the
    joint moves by 0.05 in some cells), an off-by-one in the inverse CDF, and the latent H drawn
    apart for S and for C (the confounding that links S and C would vanish)."""
    m = example("smoking")
    frame = m.sample(N, seed=11)
    assert list(frame.columns) == ["S", "T", "C"] and len(frame) == N
    check_joint(m, frame, ["S", "T", "C"], "P(S, T, C)")


def test_columns_come_out_as_labels_of_their_types():
    """Catches: codes (0, 1) written instead of labels, or categories not in the type's order
    (the data layer and `causal estimate` read labels back by position)."""
    m = example("smoking")
    frame = m.sample(50)
    for c in frame.columns:
        assert isinstance(frame[c].dtype, pd.CategoricalDtype)
        assert list(frame[c].cat.categories) == ["no", "yes"] and frame[c].cat.ordered
    b = model_of("type N = {0, 1, 2}\nmodel m {\n  A : N ~ [0.2, 0.3, 0.5]\n  B : Bool ~ "
                 "table(A) { 0: [1, 0], 1: [0, 1], 2: [0.5, 0.5] }\n}\n").sample(20)
    assert list(b["A"].cat.categories) == ["0", "1", "2"]
    assert list(b["B"].cat.categories) == ["false", "true"]


LABELS = {2: [["no", "yes"], [0, 1], [False, True]], 3: [["lo", "mid", "hi"], [0, 1, 2]],
          4: [["a", "b", "c", "d"], [1, 2, 3, 4]], 5: [["v", "w", "x", "y", "z"]]}


def random_model(seed: int) -> CausalModel:
    """Seven variables in a random causal order, 2 to 5 values each, up to 3 parents, two of
    them latent; tables random, with some entries exactly zero and one variable a function of
    its parents (a 0/1 table); declared in a random order."""
    rng = np.random.default_rng(seed)
    order = [f"V{i}" for i in rng.permutation(7)]
    sizes = {v: int(rng.integers(2, 6)) for v in order}
    types = {v: FiniteType(LABELS[sizes[v]][int(rng.integers(len(LABELS[sizes[v]])))])
             for v in order}
    function = order[int(rng.integers(2, 7))]
    variables = []
    for i, v in enumerate(order):
        k = int(rng.integers(0, min(3, i) + 1))
        parents = tuple(str(p) for p in rng.choice(order[:i], size=k, replace=False)) if k else ()
        rows = math.prod(sizes[p] for p in parents)
        table = rng.uniform(0.05, 1.0, (rows, sizes[v]))
        if v == function:
            table = np.eye(sizes[v])[rng.integers(0, sizes[v], rows)]
        else:
            zero = rng.random(table.shape) < 0.25
            zero[zero.all(axis=1), 0] = False
            table = np.where(zero, 0.0, table)
        table = (table / table.sum(axis=1, keepdims=True)).reshape(
            *(sizes[p] for p in parents), sizes[v])
        role = Role.LATENT if i in (1, 3) else Role.OBSERVED
        variables.append(Variable(v, types[v], role, parents, Table(table, len(parents))))
    rng.shuffle(variables)  # type: ignore[arg-type]
    return CausalModel.from_variables(variables, name=f"random{seed}")


@pytest.mark.parametrize("search", ["linear", "binary"])
@pytest.mark.parametrize("seed", range(4))
def test_random_model_frequencies_match_the_exact_joint(monkeypatch, seed, search):
    """Catches, on tables of 2 to 5 values with zeros: a wrong inverse CDF in either search
    (the binary search, used past LINEAR_SEARCH values, forced here), a value of probability
    zero drawn, the parents' row computed in the wrong order, a variable drawn before its
    parents (the declared order is not causal), and latents not shared by their children."""
    if search == "binary":
        monkeypatch.setattr(simulate, "LINEAR_SEARCH", 1)
    m = random_model(seed)
    frame = m.sample(N, seed=seed)
    obs = list(m.observed)
    assert list(frame.columns) == obs
    check_joint(m, frame, obs, f"P({', '.join(obs)})")


def test_sampling_under_do_matches_surgery():
    """Catches: do ignored (the observational P(T, C) differs from P(T, C | do(S = yes)) by
    0.2 in a cell), and do applied as conditioning (S = yes selects H, surgery does not)."""
    m = example("smoking")
    for do in ({"S": "yes"}, "S = yes", "do(S = yes)"):
        frame = m.sample(N, seed=3, do=do, columns=["T", "C"])
        check_joint(m, frame, ["T", "C"], "P(T, C | do(S = yes))")
    frame = m.sample(1000, do={"S": "yes"})
    assert (frame["S"] == "yes").all()


@pytest.mark.parametrize("seed", range(3))
def test_sampling_under_do_matches_surgery_on_random_models(seed):
    m = random_model(seed)
    x = m.observed[0]
    value = m[x].type.values[-1]
    rest = [v for v in m.observed if v != x]
    frame = m.sample(N, seed=seed, do={x: value}, columns=rest)
    check_joint(m, frame, rest, f"P({', '.join(rest)} | do({x} = {show_value(value)}))")


# -- counterfactual columns ---------------------------------------------------------------------

def test_counterfactual_columns_match_the_exact_counterfactual_joint():
    """Firing squad (docs/language.md): D and D[A = false] sampled jointly. Catches: the worlds
    drawn with noise of their own instead of shared U and W (then P(D = true, D[A = false] =
    true) would be 0.73 · 0.7 = 0.511, not 0.7; and (false, true), impossible, would occur)."""
    m = example("firing_squad")
    frame = m.sample(N, seed=5, columns=["D", "D[A = false]", "A", "D[C = false]"])
    assert list(frame.columns) == ["D", "D[A = false]", "A", "D[C = false]"]
    check_joint(m, frame, ["D", "D[A = false]"], "P(D, D[A = false])")
    check_joint(m, frame, ["D", "D[A = false]", "A", "D[C = false]"],
                "P(D, D[A = false], A, D[C = false])")


def test_counterfactual_columns_of_a_response_function_model():
    """Stochastic tables made functions of exogenous response variables (16 values for C): the
    worlds share the responses and the latent H. Catches the same unshared noise, on noise of
    many values, and a factual column read from the wrong world."""
    m = example("smoking").with_response_functions()
    frame = m.sample(N, seed=7, columns="T, C, C[S = yes]")
    check_joint(m, frame, ["T", "C", "C[S = yes]"], "P(T, C, C[S = yes])")


def test_counterfactual_columns_under_do():
    """do applies in every world; the world's own setting overrides it."""
    m = example("firing_squad")
    frame = m.sample(N, seed=2, do={"B": False}, columns=["D", "D[A = false]", "A"])
    check_joint(m, frame, ["D", "D[A = false]", "A"], "P(D, D[A = false], A | do(B = false))")


def test_an_undetermined_counterfactual_is_refused_as_the_query_is():
    """Smoking's tables do not say how T's and C's noise is shared between worlds: sample gives
    the query's error, word for word (catches sampling it with some arbitrary coupling)."""
    m = example("smoking")
    with pytest.raises(NotDeterminedError) as asked:
        m.query("P(C, C[S = yes])")
    with pytest.raises(NotDeterminedError) as drawn:
        m.sample(10, columns=["C", "C[S=yes]"])
    assert str(drawn.value) == str(asked.value)
    with pytest.raises(NotDeterminedError) as asked:
        m.query("P(T, T[S = yes] | do(C = no))")
    with pytest.raises(NotDeterminedError) as drawn:
        m.sample(10, do={"C": "no"}, columns="T, T[S = yes]")
    assert str(drawn.value) == str(asked.value)
    # with T set, S no longer reaches C: one copy of C, determined, and drawn
    frame = m.sample(N, seed=8, do={"T": "no"}, columns="C, C[S = yes]")
    check_joint(m, frame, ["C", "C[S = yes]"], "P(C, C[S = yes] | do(T = no))")


# -- continuous models: moments ------------------------------------------------------------------

LINEAR = """
model linear {
  exogenous Ux : Real ~ Normal(0, 1)
  exogenous Uy : Real ~ Normal(0, 1)
  X : Real := Ux
  Y : Real := 2 * X + Uy
}
"""


def within(got: float, truth: float, sd: float, n: int) -> None:
    error = sd / math.sqrt(n)
    assert abs(got - truth) <= K * error, f"{got} is {abs(got - truth) / error:.1f} errors " \
                                          f"from {truth}"


def test_linear_gaussian_moments():
    """X = Ux, Y = 2X + Uy with Ux, Uy ~ N(0, 1): E X = E Y = 0, Var X = 1, Var Y = 4 + 1 = 5,
    Cov(X, Y) = 2. Standard errors at n rows: a mean, sd/√n (1/√n, √5/√n); a sample variance
    of a normal, σ²·√(2/n) (√2/√n, 5√2/√n); a sample covariance, √((σx²σy² + σxy²)/n) =
    √((5 + 4)/n) = 3/√n. Catches: Y drawn without X (Cov 0), a wrong scale (Var Y 5 → 4 or 6
    is hundreds of errors at n = 200,000)."""
    m = model_of(LINEAR)
    frame = m.sample(N, seed=1)
    assert list(frame.columns) == ["X", "Y"] and (frame.dtypes == np.float64).all()
    x, y = frame["X"].to_numpy(), frame["Y"].to_numpy()
    within(x.mean(), 0.0, 1.0, N)
    within(y.mean(), 0.0, math.sqrt(5), N)
    within(x.var(ddof=1), 1.0, math.sqrt(2), N)
    within(y.var(ddof=1), 5.0, 5 * math.sqrt(2), N)
    within(np.cov(x, y)[0, 1], 2.0, 3.0, N)


def test_linear_gaussian_under_do():
    """do(X = 1): X is 1 in every row, Y = 2 + Uy: mean 2 (se 1/√n), variance 1 (se √2/√n).
    Catches do ignored (mean 0, variance 5)."""
    m = model_of(LINEAR)
    frame = m.sample(N, seed=2, do={"X": 1})
    assert (frame["X"] == 1.0).all()
    within(frame["Y"].mean(), 2.0, 1.0, N)
    within(frame["Y"].var(ddof=1), 1.0, math.sqrt(2), N)


def test_continuous_potential_outcomes_share_the_noise():
    """Y[X = 1] = 2 + Uy and Y = 2X + Uy in one row, so Y[X = 1] - Y = 2 - 2X exactly.
    Catches a world with noise of its own (the difference would have variance 2 beyond it).
    ``Y ~ Normal(2 * X, 1)`` is first written over explicit noise, as counterfactual queries
    do (without that it is refused, as not determined)."""
    for text in (LINEAR, LINEAR.replace("Y : Real := 2 * X + Uy", "Y : Real ~ Normal(2 * X, 1)")):
        frame = model_of(text).sample(10_000, seed=4, columns=["X", "Y", "Y[X = 1]"])
        x, y, y1 = (frame[c].to_numpy() for c in ("X", "Y", "Y[X = 1]"))
        np.testing.assert_allclose(y1 - y, 2 - 2 * x, atol=1e-9)


MIXED = """
type YesNo = {no, yes}
model mixed {
  S : YesNo ~ [0.5, 0.5]
  Y : Real ~ Normal(if S == yes then 2 else 0, 1)
  B : Bool := Y > 1
}
"""


def test_mixed_models_draw_finite_and_real_columns_of_one_unit():
    """P(S = yes) = 0.5 and P(B = true) = 0.5·P(N(2, 1) > 1) + 0.5·P(N(0, 1) > 1) = 0.5·Φ(1) +
    0.5·(1 - Φ(1)) = 0.5, each within 4.5·0.5/√n. B = (Y > 1) in every row: catches columns
    whose rows are not aligned (a column drawn on its own)."""
    frame = model_of(MIXED).sample(N, seed=6)
    assert list(frame["S"].cat.categories) == ["no", "yes"]
    assert list(frame["B"].cat.categories) == ["false", "true"]
    assert frame["Y"].dtype == np.float64
    within(float((frame["S"] == "yes").mean()), 0.5, 0.5, N)
    within(float((frame["B"] == "true").mean()), 0.5, 0.5, N)
    np.testing.assert_array_equal(frame["B"] == "true", frame["Y"] > 1)


def test_bounds_are_checked_as_queries_check_them():
    m = model_of("model m {\n  Z : Real in [0, inf) ~ Normal(1, 1)\n}\n")
    with pytest.raises(MechanismError, match="outside its bounds"):
        m.sample(1000)


# -- seeds ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["smoking", "linear"])
def test_same_seed_same_rows_another_seed_other_rows(name):
    """Catches a seed ignored (a fixed stream, or fresh entropy on every call)."""
    m = example(name)
    a, b = m.sample(2000, seed=9), m.sample(2000, seed=9)
    pd.testing.assert_frame_equal(a, b)
    c = m.sample(2000, seed=10)
    assert not a.equals(c)
    assert not m.sample(2000).equals(c)  # the default seed is 0


def test_finite_rows_do_not_depend_on_other_columns_or_on_n():
    """Each variable draws from a stream of its own: asking for fewer columns, or fewer rows,
    keeps the rows of the others. Catches one stream shared in order (pruning C would shift
    the uniforms of every variable drawn after it)."""
    m = example("smoking")
    full = m.sample(5000, seed=3)
    pd.testing.assert_series_equal(m.sample(5000, seed=3, columns=["T"])["T"], full["T"])
    pd.testing.assert_frame_equal(m.sample(100, seed=3), full.iloc[:100])


# -- what may be asked ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [-1, 1.5, "10", True, None, 2**31])
def test_bad_counts_are_query_errors(n):
    with pytest.raises(QueryError, match="number of rows"):
        example("smoking").sample(n)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", None])
def test_bad_seeds_are_query_errors(seed):
    with pytest.raises(QueryError, match="seed"):
        example("smoking").sample(10, seed=seed)


@pytest.mark.parametrize(("kw", "error", "message"), [
    ({"do": {"Ss": "yes"}}, UnknownVariableError, "did you mean 'S'"),
    ({"do": "Ss = yes"}, UnknownVariableError, "did you mean 'S'"),
    ({"do": {"S": "maybe"}}, CausalTypeError, "not a value of YesNo"),
    ({"do": {1: "yes"}}, CausalTypeError, "must be a name"),
    ({"do": 3}, CausalTypeError, "variables and their values"),
    ({"do": "S =="}, QueryError, "NAME = VALUE"),
    ({"do": "S = yes, S = no"}, QueryError, "set twice"),
    ({"columns": ["Cc"]}, UnknownVariableError, "did you mean 'C'"),
    ({"columns": "S, Tt"}, UnknownVariableError, "did you mean 'T'"),
    ({"columns": ["C[Ss = yes]"]}, UnknownVariableError, "did you mean 'S'"),
    ({"columns": ["C[S = maybe]"]}, QueryError, "not a value"),
    ({"columns": [3]}, CausalTypeError, "holds int 3"),
    ({"columns": 3}, CausalTypeError, "list of variables"),
    ({"columns": "C = yes"}, QueryError, "gives a value"),
    ({"columns": "C | S"}, QueryError, "separated by commas"),
    ({"columns": ["C", "C"]}, QueryError, "twice"),
    ({"columns": ["S, T"]}, QueryError, "one per item"),
    ({"columns": []}, QueryError, "empty"),
])
def test_bad_arguments_are_causal_errors(kw, error, message):
    with pytest.raises(error, match=message.replace("|", r"\|")):
        example("smoking").sample(10, **kw)


def test_a_latent_column_gets_the_message_a_query_gets():
    m = example("smoking")
    with pytest.raises(LatentQueryError) as asked:
        m.query("P(H)")
    with pytest.raises(LatentQueryError) as drawn:
        m.sample(10, columns=["H"])
    assert str(drawn.value).split(": ", 1)[1] == str(asked.value).split(": ", 1)[1]
    assert str(drawn.value).startswith("columns H: H is latent in model smoking")


def test_a_variable_without_a_mechanism_or_a_value_is_refused():
    """A graph has no tables; a cut variable is an input until do sets it."""
    with pytest.raises(MechanismError, match="has no mechanism"):
        example("frontdoor").sample(10)
    cut = example("smoking").cut("S")
    with pytest.raises(QueryError, match="input"):
        cut.sample(10)
    with pytest.raises(MechanismError, match="input"):
        cut.sample(10, columns=["C"])
    assert (cut.sample(10, do={"S": "no"})["S"] == "no").all()


def test_no_rows():
    frame = example("firing_squad").sample(0, columns="D, D[A = false]")
    assert frame.shape == (0, 2) and list(frame["D"].cat.categories) == ["false", "true"]
    assert model_of(LINEAR).sample(0)["Y"].dtype == np.float64


def test_a_sample_too_large_for_memory_is_refused_before_it_is_drawn(monkeypatch):
    monkeypatch.setattr(simulate, "available_memory", lambda: 2**20)
    with pytest.raises(QueryError, match="GiB, more than"):
        example("smoking").sample(10**9)


def test_every_error_is_a_causal_error():
    """The classes the tests above name are the package's (never a raw exception)."""
    for cls in (QueryError, LatentQueryError, UnknownVariableError, CausalTypeError,
                MechanismError, NotDeterminedError):
        assert issubclass(cls, CausalError)


# -- speed and start-up --------------------------------------------------------------------------

def test_a_million_rows_of_a_forty_variable_network_in_seconds():
    """10^6 rows of 40 variables of 2 to 4 values, up to 3 parents each: about 0.4 s on one
    core of the machine this was written on; the bound leaves room for a loaded machine.
    Catches a per-row loop in Python (minutes)."""
    rng = np.random.default_rng(0)
    sizes = [int(rng.integers(2, 5)) for _ in range(40)]
    variables = []
    for i, k in enumerate(sizes):
        ps = tuple(f"V{j}" for j in rng.choice(i, size=min(i, int(rng.integers(0, 4))),
                                                replace=False))
        shape = (*(sizes[int(p[1:])] for p in ps), k)
        table = rng.dirichlet(np.ones(k), size=math.prod(shape[:-1])).reshape(shape)
        variables.append(Variable(f"V{i}", FiniteType([f"s{j}" for j in range(k)]),
                                  Role.OBSERVED, ps, Table(table, len(ps))))
    m = CausalModel.from_variables(variables, "forty")
    start = time.perf_counter()
    frame = m.sample(10**6, seed=1)
    assert time.perf_counter() - start < 10
    assert frame.shape == (10**6, 40)


FINITE_WITHOUT_JAX = """
import sys
import causaldsl
from causaldsl.app.cli import main
m = causaldsl.load("examples/smoking.causal").models["smoking"]
m.sample(1000, seed=1)
m.sample(1000, do={"S": "yes"}, columns=["C"])
m.with_response_functions().sample(1000, columns=["C", "C[S = yes]"])
f = list(causaldsl.load("examples/firing_squad.causal").models.values())[-1]
f.sample(1000, columns="D, D[A = false]")
assert main(["sample", "examples/firing_squad.causal", "-n", "10", "--columns", "D, D[A = false]",
             "-o", "-"]) == 0
assert "jax" not in sys.modules, sorted(k for k in sys.modules if k.startswith("jax"))[:5]
"""


def test_finite_sampling_does_not_import_jax():
    """Finite models are drawn by NumPy: catches a route through the NumPyro program (or an
    import of the sampling backend) for them, which costs a second of start-up."""
    done = subprocess.run([sys.executable, "-c", FINITE_WITHOUT_JAX], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
