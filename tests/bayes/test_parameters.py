"""Unknown parameters in equations: NUTS against the closed-form posterior of a Bayesian
linear regression (its arithmetic written out), queries of the fitted model draw by draw, the
language's ``param``, and the errors."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl.app.cli import main
from causaldsl.core.errors import FitError, QueryError
from causaldsl.syntax.diagnostics import SourceError

LINEAR = """
model lin {
  param b0 ~ Normal(0, 10)
  param b1 ~ Normal(0, 10)
  X : Real ~ Normal(0, 1)
  Y : Real ~ Normal(b0 + b1 * X, 1)
}
"""


def regression_data(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"X": x, "Y": 1.0 + 2.0 * x + rng.normal(size=n)})


def test_nuts_matches_the_closed_form_regression_posterior():
    df = regression_data()
    fitted = causaldsl.parse(LINEAR).models["lin"].fit(df, "nuts", draws=2000, seed=1)
    # σ = 1 known and priors N(0, 10²): the posterior of β = (b0, b1) is normal with
    # precision A = DᵀD + I/100 (D = [1, x]) and mean A⁻¹ Dᵀy.
    d = np.column_stack([np.ones(len(df)), df["X"]])
    a = d.T @ d + np.eye(2) / 100
    cov = np.linalg.inv(a)
    mean = cov @ d.T @ df["Y"].to_numpy()
    # E[Y | do(X = 1)] = b0 + b1 in every draw, no Monte Carlo error in it (Y's mean is read,
    # not sampled): posterior mean (1, 1)·mean, variance (1, 1) cov (1, 1)ᵀ
    want_mean, want_sd = mean.sum(), np.sqrt(cov.sum())
    post = fitted.query("E[Y | do(X = 1)]")
    assert post.ess is not None and post.ess > 400
    assert abs(post.mean - want_mean) < 5 * want_sd / np.sqrt(post.ess)
    assert abs(post.sd / want_sd - 1) < 5 / np.sqrt(2 * post.ess)
    np.testing.assert_allclose(post.draws, fitted.draws["b0"] + fitted.draws["b1"], atol=1e-9)
    assert post.mc_error == 0.0  # linear all the way up: the mean passes through, exactly
    # the slope alone: E[Y | do(X = 1)] - E[Y | do(X = 0)] = b1
    slope = fitted.query("E[Y | do(X = 1)] - E[Y | do(X = 0)]")
    np.testing.assert_allclose(slope.draws, fitted.draws["b1"], atol=1e-9)
    assert abs(slope.mean - mean[1]) < 5 * np.sqrt(cov[1, 1]) / np.sqrt(post.ess)
    assert post.identified and not fitted.diagnostics.warnings


LOGIT = """
type Bin = {0, 1}
model lg {
  param a ~ Normal(0, 3)
  Z : Real ~ Normal(0, 1)
  X : Bin ~ Bernoulli(sigmoid(a * Z))
}
"""


def test_queries_of_a_finite_outcome():
    rng = np.random.default_rng(2)
    z = rng.normal(size=300)
    x = (rng.random(300) < 1 / (1 + np.exp(-1.5 * z))).astype(int)
    fitted = causaldsl.parse(LOGIT).models["lg"].fit(pd.DataFrame({"Z": z, "X": x}),
                                                     draws=400, warmup=300, seed=3)
    table = fitted.query("P(X)")
    np.testing.assert_allclose(table.draws.sum(axis=1), 1.0, atol=1e-12)
    one = fitted.query("P(X = 1)")
    np.testing.assert_allclose(one.draws, table.draws[:, 1], atol=1e-12)  # same random numbers
    # E[sigmoid(a Z)] = 1/2 for every a (Z is symmetric): the draws scatter around 1/2 by their
    # Monte Carlo error alone, sd(sigmoid(aZ)) / sqrt(4096) < 0.5 / 64
    assert abs(one.mean - 0.5) < 5 * 0.5 / 64 / np.sqrt(len(one))
    lo, hi = one.interval
    assert lo < 0.5 < hi
    # that scatter is no posterior uncertainty, and the answer says how much of it there is:
    # all of it, nearly (E[sigmoid(aZ)] is 1/2 for every a)
    assert one.mc_error is not None and one.mc_error > 0
    assert "Monte Carlo error of each draw's value" in str(one)
    # the slope is learned: 1.5 within 4 posterior sds
    a = fitted.draws["a"]
    assert abs(a.mean() - 1.5) < 4 * a.std()
    # evidence on a finite variable: E[Z | X = 1] > 0 when a > 0
    assert fitted.query("E[Z | X = 1]").mean > 0.2


def test_in_a_file(tmp_path: Path):
    regression_data(100).to_csv(tmp_path / "d.csv", index=False)
    f = tmp_path / "m.causal"
    f.write_text(LINEAR + 'fit lin to "d.csv" with draws = 400, warmup = 300\n'
                 "query E[Y | do(X = 1)]\n")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", str(f)])
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert "fitted lin: b0, b1 learned from 100 rows" in text
    assert "E[Y | do(X = 1)]  [lin]\n= 3." in text or "E[Y | do(X = 1)]  [lin]\n= 2.9" in text


@pytest.mark.parametrize("text, message", [
    (LINEAR + "query E[Y]\n", "unknown parameters (b0, b1): learn them first"),
    (LINEAR.replace("Normal(0, 10)\n  param b1", "Bernoulli(0.5)\n  param b1"),
     "the prior of b0 is a continuous distribution"),
    (LINEAR.replace("param b1 ~ Normal(0, 10)", "param b1 ~ Normal(X, 10)"),
     "the prior of parameter b1 reads X"),
    (LINEAR.replace("param b1", "param X"), "X is a parameter of model lin"),
    (LINEAR.replace("Normal(0, 10)\n  param b1", "Normal(0)\n  param b1"), "Normal takes 2"),
])
def test_language_errors(text: str, message: str):
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        causaldsl.parse(text)


def test_errors():
    model = causaldsl.parse(LINEAR).models["lin"]
    df = regression_data(50)
    with pytest.raises(QueryError, match="unknown parameters"):
        model.query("E[Y | do(X = 1)]")
    fitted = model.fit(df, "exact", draws=100)
    with pytest.raises(QueryError, match="name the value of X"):
        fitted.query("E[Y | do(X)]")


MIXED = """type B = {0, 1}
model mixed {
  param b ~ Normal(0, 10)
  T : B ~ unknown
  Y : Real ~ Normal(b * T, 1)
}
"""


def test_unknown_tables_and_parameters_together():
    rng = np.random.default_rng(8)
    t = (rng.random(120) < 0.25).astype(int)
    df = pd.DataFrame({"T": t, "Y": 1.5 * t + rng.normal(size=120)})
    fitted = causaldsl.parse(MIXED).models["mixed"].fit(df, "nuts", draws=1000,
                                                            warmup=400, seed=2)
    # T's table is observed with its family: its posterior is Beta(1 + k, 1 + 120 - k), apart
    # from b's; the mean within 5 Monte Carlo se (sd / sqrt(ESS), ESS at least 200)
    k = int(t.sum())
    p1 = fitted.query("P(T = 1)")
    a, bb = 1 + k, 1 + 120 - k
    mean, sd = a / (a + bb), np.sqrt(a * bb / ((a + bb) ** 2 * (a + bb + 1)))
    assert abs(p1.mean - mean) < 5 * sd / np.sqrt(200)
    # E[Y | do(T = 1)] = b: 1.5 within 4 posterior sds
    eff = fitted.query("E[Y | do(T = 1)]")
    np.testing.assert_allclose(eff.draws, fitted.draws["b"], atol=1e-9)
    assert abs(eff.mean - 1.5) < 4 * eff.sd
    # the posterior predictive draws T from a posterior table per row: P(T = 1) within 5
    # binomial se at 8,000 rows (0.0048); labels come back as written, "1"
    rows = fitted.sample(8000, seed=4)
    assert abs((rows["T"] == "1").mean() - p1.mean) < 5 * 0.0048


def test_a_model_with_parameters_is_written_as_it_reads():
    from causaldsl.lang.writer import model_source

    model = causaldsl.parse(LOGIT).models["lg"]
    text = model_source(model)
    assert "param a ~ Normal(0, 3)" in text
    assert causaldsl.parse(text).models["lg"] == model


ADJUSTED = """
type Bin = {0, 1}
model lin {
  param b0 ~ Normal(0, 10)
  param bx ~ Normal(0, 10)
  param c ~ Normal(0, 10)
  param s ~ HalfNormal(5)
  param a ~ Normal(0, 3)
  Z : Real ~ Normal(0, 1)
  X : Bin ~ Bernoulli(sigmoid(a * Z))
  Y : Real ~ Normal(b0 + bx * X + c * Z, s)
}
"""


def test_mle_of_regression_equations_is_the_g_formula():
    """By maximum likelihood the outcome equation is least squares, so the effect bx equals
    the g-formula's estimate of `estimate` (main-effects outcome model, adjusting for Z)."""
    from causaldsl.estimation.estimate import estimate

    rng = np.random.default_rng(5)
    z = rng.normal(size=1000)
    x = (rng.random(1000) < 1 / (1 + np.exp(-0.8 * z))).astype(int)
    df = pd.DataFrame({"Z": z, "X": x, "Y": 1 + 2 * x + 0.5 * z + rng.normal(size=1000)})
    model = causaldsl.parse(ADJUSTED).models["lin"]
    fitted = model.fit(df, "mle", bootstrap=200, seed=2)
    ate = fitted.query("E[Y | do(X = 1)] - E[Y | do(X = 0)]")
    g = estimate(model, "E[Y | do(X = 1)] - E[Y | do(X = 0)]", df, method="gformula")
    # BFGS stops at a gradient of the mean log-likelihood under 1e-4; the curvature in bx is
    # about var(X) / s² ≈ 0.25, so the point is within 4e-4 of the maximum
    assert abs(ate.estimate - float(g)) < 4e-4
    # 200 replicates: the bootstrap sd is within about 5% of its limit, which is the
    # sandwich se up to the model's homoscedastic normal errors: 20% covers both
    assert abs(ate.sd / g.se - 1) < 0.2
    assert ate.kind == "bootstrap" and not fitted.diagnostics.warnings


def test_mle_needs_every_variable_as_a_column():
    model = causaldsl.parse(ADJUSTED).models["lin"]
    df = pd.DataFrame({"X": [0, 1, 1, 0], "Y": [0.1, 2.0, 2.2, 0.3]})
    with pytest.raises(FitError, match="Z is not"):
        model.fit(df, "mle", bootstrap=10)


def test_continuous_evidence_and_counterfactuals_draw_by_draw():
    df = regression_data(200, seed=4)
    fitted = causaldsl.parse(LINEAR).models["lin"].fit(df, "nuts", draws=400, warmup=300,
                                                       seed=5)
    b0, b1 = fitted.draws["b0"], fitted.draws["b1"]
    # Y[X = 1] given X = 0, Y = 0.5: the noise is abducted exactly, U = 0.5 - b0, so the
    # counterfactual is 0.5 + b1 in every sample of every draw (a coefficient or a noise not
    # shared between the worlds would break it)
    cf = fitted.query("E[Y[X = 1] | X = 0, Y = 0.5]")
    np.testing.assert_allclose(cf.draws, 0.5 + b1, atol=1e-9)
    # X given Y = 3 is normal, mean b1 (3 - b0) / (b1² + 1), sd 1 / sqrt(b1² + 1) ≈ 0.447 at
    # b1 ≈ 2: each draw is an importance-weighted mean of at least MIN_WEIGHT_ESS = 20
    # effective samples, so over 400 independent draws the mean error is under
    # 5 · 0.447 / sqrt(20 · 400) = 0.025
    seen = fitted.query("E[X | Y = 3]")
    exact = b1 * (3 - b0) / (b1 ** 2 + 1)
    assert abs(np.mean(seen.draws - exact)) < 0.025
    assert seen.identified


def test_svi_is_near_the_closed_form_regression_posterior():
    df = regression_data()
    fitted = causaldsl.parse(LINEAR).models["lin"].fit(df, "svi", draws=2000, steps=3000,
                                                       seed=2)
    d = np.column_stack([np.ones(len(df)), df["X"]])
    cov = np.linalg.inv(d.T @ d + np.eye(2) / 100)
    mean = cov @ d.T @ df["Y"].to_numpy()
    post = fitted.query("E[Y | do(X = 1)] - E[Y | do(X = 0)]")
    # a mean-field normal guide on a normal posterior: the mean is exact at the optimum (Adam
    # stops near it: within a fifth of an sd), the sd of b1 too for a diagonal-ish covariance
    sd = np.sqrt(cov[1, 1])
    assert abs(post.mean - mean[1]) < 0.2 * sd
    assert 0.7 < post.sd / sd < 1.3


def test_a_finite_variable_without_a_column_is_summed_out():
    """A two-component mixture: K has no column, so each row's likelihood sums over it; a
    fit that ignored K (or fixed it) would put mu near the data's mean, 1 + 2 · 0.3 = 1.6."""
    model = causaldsl.parse("""type B = {0, 1}
model mix {
  param mu ~ Normal(0, 5)
  latent K : B ~ Bernoulli(0.3)
  Y : Real ~ Normal(mu + 2 * K, 1)
}""").models["mix"]
    rng = np.random.default_rng(0)
    k = rng.random(400) < 0.3
    df = pd.DataFrame({"Y": 1 + 2 * k + rng.normal(size=400)})
    mu = model.fit(df, draws=300, warmup=200, chains=1, seed=1).draws["mu"]
    # the posterior sd of mu is about 1 / sqrt(400 · 0.7) ≈ 0.06 or a little more: 1 is
    # within 4 of them, 1.6 is ten away
    assert abs(mu.mean() - 1) < 4 * mu.std()
    assert abs(mu.mean() - 1.6) > 4 * mu.std()


def test_posterior_predictive_rows():
    df = regression_data(200, seed=6)
    fitted = causaldsl.parse(LINEAR).models["lin"].fit(df, draws=200, warmup=200, seed=7)
    rows = fitted.sample(20000, seed=3, do={"X": 1})
    # under do(X = 1), Y = b0 + b1 + noise with a draw per row: its mean is the posterior
    # mean of b0 + b1 within 5 se, se = sqrt((1 + var(b0 + b1)) / 20000) ≈ 0.0071
    want = (fitted.draws["b0"] + fitted.draws["b1"]).mean()
    assert abs(rows["Y"].mean() - want) < 5 * 0.0072
    # each row's parameters are a posterior draw, not the mean: the spread of Y is
    # 1 + var(b0 + b1) (≥ 1), never less
    assert rows["Y"].var() > 0.97


def test_posterior_predictive_rows_of_tables():
    from causaldsl.model.builder import ModelBuilder

    b = ModelBuilder("xy")
    b.observed("X", ["no", "yes"], unknown=True)
    b.observed("Y", ["no", "yes"], given="X", unknown=True)
    df = pd.DataFrame({"X": ["no"] * 30 + ["yes"] * 70,
                       "Y": ["no"] * 20 + ["yes"] * 10 + ["no"] * 20 + ["yes"] * 50})
    fitted = b.build().fit(df, draws=500, seed=1)
    rows = fitted.sample(20000, seed=2)
    # P(Y = yes) over the posterior: 31/102 · 11/32 + 71/102 · 51/72 (Dirichlet(1) priors,
    # independent rows) = 0.59755; binomial se at 20,000 rows 0.0035, 5 se
    want = 31 / 102 * 11 / 32 + 71 / 102 * 51 / 72
    assert abs((rows["Y"] == "yes").mean() - want) < 5 * 0.0035
    assert list(rows.columns) == ["X", "Y"] and len(rows) == 20000


def test_one_chain_gives_one_value_per_draw():
    """NumPyro reads a chain axis in the starting points only for several chains: with one,
    a stray axis would make every parameter an array of one (and the exact mean path fail)."""
    from causaldsl.model.builder import ModelBuilder

    fitted = causaldsl.parse(LINEAR).models["lin"].fit(regression_data(50), "nuts", draws=60,
                                                       warmup=60, chains=1)
    assert {a.shape for a in fitted.draws.values()} == {(60,)}
    assert fitted.query("E[Y | do(X = 1)]").mc_error == 0.0
    b = ModelBuilder("t")
    b.latent("H", ["no", "yes"], [0.5, 0.5])
    b.observed("A", ["no", "yes"], given="H", unknown=True)
    tables = b.build().fit(pd.DataFrame({"A": ["no", "yes", "yes"]}), "nuts", draws=40,
                           warmup=40, chains=1)
    assert tables.draws["A"].shape == (40, 2, 2)



#: A fresh process fits LINEAR by NUTS to rows drawn with the seed given, and says what JAX
#: compiled and how many of those programs came from its persistent cache.
FIT_CHILD = """
import json, sys
import numpy as np, pandas as pd
import causaldsl
from tests.backends.compiles import compiled
import jax
hits = []
jax.monitoring.register_event_listener(
    lambda event, **kw: hits.append(event) if event.endswith("/cache_hits") else None)
rng = np.random.default_rng(int(sys.argv[1]))
x = rng.normal(size=60)
df = pd.DataFrame({"X": x, "Y": 1.0 + 2.0 * x + rng.normal(size=60)})
model = causaldsl.parse(sys.argv[2]).models["lin"]
with compiled() as names:
    fitted = model.fit(df, "nuts", draws=50, warmup=50, chains=1, seed=4)
print(json.dumps({"compiled": names, "hits": len(hits),
                  "b1": float(np.mean(fitted.draws["b1"]))}))
"""


@pytest.mark.slow
def test_a_new_data_set_of_the_same_shape_loads_the_compiled_sampler(tmp_path):
    """The data are an argument of the compiled NUTS program, not constants in it: a new
    process fitting other rows of the same shape loads every program from JAX's persistent
    cache (counted, not timed) and builds none, yet finds the other data's posterior."""
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items()
           if k not in ("CAUSALDSL_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "xdg"),
               PYTHONPATH=os.pathsep.join([str(root / "src"), str(root)]))

    def fit(seed: int) -> dict:
        done = subprocess.run([sys.executable, "-c", FIT_CHILD, str(seed), LINEAR], cwd=root,
                              env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.splitlines()[-1])

    first, second = fit(1), fit(2)
    assert any("nuts_chain" in n for n in second["compiled"])  # the sampler, loaded …
    assert second["hits"] == len(second["compiled"]), second     # … like every program
    assert first["b1"] != second["b1"]
