"""NUTS's reduced likelihood (``bayes.sufficient``): a Normal equation linear in the
parameters read from sufficient statistics equals the sum of its rows' log densities; the
reduced potential differs from the row-by-row one by a constant only (the same posterior);
which equations are reduced and which factors dropped; and the mass matrix NUTS adapts."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from scipy.stats import bernoulli, norm

import causaldsl
from causaldsl.bayes import parametric
from causaldsl.bayes.gaussian import environment
from causaldsl.bayes.sufficient import Logistic, constant_factors, reductions
from causaldsl.core.errors import FitError

MODEL = """
type Bin = {0, 1}
model m {
  param b0 ~ Normal(0, 10)
  param b1 ~ Normal(0, 10)
  param b2 ~ Normal(0, 10)
  param s ~ HalfNormal(5)
  param a ~ Normal(0, 3)
  W : Real ~ Normal(0, 1)
  X : Bin ~ Bernoulli(sigmoid(a * W))
  Y : Real ~ Normal(b0 + b1 * X + b2 * W / 2, s)
  V : Real ~ Normal(W + b1 * X - b2, 0.5 + X)
  U : Real ~ Normal(0, 2 * s)
}
"""


def rows(n: int = 7, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n)
    x = (rng.random(n) < 0.5).astype(int)
    return pd.DataFrame({"W": w, "X": x, "Y": 1 + 2 * x - w + rng.normal(size=n),
                         "V": w + x + rng.normal(size=n), "U": 3 * rng.normal(size=n)})


def test_which_equations_are_reduced_and_which_factors_dropped():
    model = causaldsl.parse(MODEL).models["m"]
    cols = ("W", "X", "Y", "V", "U")
    found = {r.name: r for r in reductions(model, cols)}
    assert set(found) == {"X", "Y", "V", "U"}
    assert isinstance(found["X"], Logistic) and found["X"].params == ("a",)
    assert found["Y"].params == ("b0", "b1", "b2") and found["Y"].scale_reads_params
    assert found["V"].params == ("b1", "b2") and not found["V"].scale_reads_params
    assert found["U"].params == () and found["U"].scale_reads_params
    assert constant_factors(model, cols) == ("W",)
    # without W's column nothing that reads W is reduced, and W is no factor at all
    assert {r.name for r in reductions(model, ("X", "Y", "V", "U"))} == {"U"}
    assert constant_factors(model, ("X", "Y", "V", "U")) == ()
    # a logit not linear in the parameters, a probability not through sigmoid, a logit that
    # reads no parameter (a constant factor, not a reduction)
    for eq in ("Bernoulli(sigmoid(a * a * W))", "Bernoulli(sigmoid(exp(a) * W))",
               "Bernoulli(0.5 + 0 * a * W)", "Bernoulli(sigmoid(W))"):
        other = causaldsl.parse(MODEL.replace("Bernoulli(sigmoid(a * W))", eq)).models["m"]
        assert "X" not in {r.name for r in reductions(other, cols)}, eq
    # a mean not linear in the parameters, a scale per row that reads one, another family
    for eq in ("Normal(b0 * b1 + X, 1)", "Normal(exp(b0) + X, 1)", "Normal(b0, s * (1 + X))",
               "StudentT(3, b0 + b1 * X, s)"):
        other = causaldsl.parse(MODEL.replace("Normal(b0 + b1 * X + b2 * W / 2, s)", eq)
                                ).models["m"]
        assert "Y" not in {r.name for r in reductions(other, cols)}, eq


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_statistics_give_the_sum_of_the_rows_log_densities(seed: int):
    """At random parameter values each reduced equation's log-likelihood equals the sum of
    scipy's log densities of its rows (Normal; Bernoulli of the logistic function), the means,
    scales and logits written out by hand."""
    from causaldsl.backends import jax64

    jax64.jax()  # float64, as in a fit
    model = causaldsl.parse(MODEL).models["m"]
    df = rows(seed=seed)
    names, values, n, _ = parametric.observed_data(model, df, "error")
    env = environment(model, values)
    rng = np.random.default_rng(100 + seed)
    theta = {"b0": rng.normal(), "b1": rng.normal(), "b2": rng.normal(),
             "s": rng.uniform(0.3, 3), "a": rng.normal()}
    w, x = df["W"].to_numpy(), df["X"].to_numpy().astype(float)
    b0, b1, b2, s = theta["b0"], theta["b1"], theta["b2"], theta["s"]
    want = {"Y": norm.logpdf(df["Y"], b0 + b1 * x + b2 * w / 2, s).sum(),
            "V": norm.logpdf(df["V"], w + b1 * x - b2, 0.5 + x).sum(),
            "U": norm.logpdf(df["U"], 0, 2 * s).sum(),
            "X": bernoulli.logpmf(x, expit(theta["a"] * w)).sum()}
    assert {r.name for r in reductions(model, names)} == set(want)
    for r in reductions(model, names):
        stats = r.statistics(env, np.asarray(values[r.name]), n)
        assert stats is not None
        got = float(r.log_likelihood(theta, stats))
        assert abs(got - want[r.name]) < 1e-9 * max(1.0, abs(want[r.name])), r.name


def test_a_known_scale_that_is_not_positive_leaves_the_rows_as_they_are():
    text = MODEL.replace("0.5 + X)", "X)")  # zero in the rows where X = 0
    model = causaldsl.parse(text).models["m"]
    df = rows()
    names, values, n, _ = parametric.observed_data(model, df, "error")
    (v,) = [r for r in reductions(model, names) if r.name == "V"]
    assert v.statistics(environment(model, values), np.asarray(values["V"]), n) is None
    _, evidence, *_ = parametric._joint(model, df, "error", reduce=True)
    assert set(evidence[parametric.SUFFICIENT]) == {"X", "Y", "U"}


def test_the_reduced_potential_differs_by_a_constant():
    """NUTS's potential with the statistics and without the constant factors, against the
    row-by-row one at random points: equal gradients, and the same difference everywhere
    (a wrong factor, a dropped parameter's term or a row counted twice would show)."""
    from numpyro.infer.util import potential_energy

    from causaldsl.backends import jax64

    jax = jax64.jax()
    model = causaldsl.parse(MODEL).models["m"]
    df = rows(n=40)
    grads, values = [], []
    rng = np.random.default_rng(5)
    points = [{p: rng.uniform(-2, 2) for p in model.parameters} for _ in range(4)]
    for reduce in (False, True):
        joint, ev, *_ = parametric._joint(model, df, "error", reduce=reduce)
        vg = jax.jit(jax.value_and_grad(lambda u, d, j=joint: potential_energy(j, (d,), {}, u)))
        out = [vg({p: jax64.jnp().asarray(v) for p, v in u.items()}, ev) for u in points]
        values.append(np.array([float(v) for v, _ in out]))
        grads.append([{p: float(g[p]) for p in model.parameters} for _, g in out])
    shift = values[0] - values[1]
    assert np.ptp(shift) < 1e-8 * np.abs(values[0]).max()
    for g0, g1 in zip(*grads, strict=True):
        for p in model.parameters:
            assert abs(g0[p] - g1[p]) < 1e-9 * max(1.0, abs(g0[p])), p


HETERO = """
model h {
  param b0 ~ Normal(1, 2)
  param b1 ~ Normal(0, 3)
  X : Real ~ Normal(0, 1)
  Y : Real ~ Normal(X + b0 + b1 * X, 0.3 + X * X)
}
"""


@pytest.mark.slow
def test_nuts_on_known_row_scales_matches_the_closed_form():
    """The weighted branch (a known scale per row, an offset without a parameter) against
    the exact posterior: means within 4 Monte Carlo se and sds within 4 se of an sd, with
    the ESS of at least 500 asserted first (so the bounds are fixed in advance: 0.18 and
    0.13 posterior sds)."""
    model = causaldsl.parse(HETERO).models["h"]
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    df = pd.DataFrame({"X": x, "Y": x + 0.5 - x * 0.7 + (0.3 + x * x) * rng.normal(size=40)})
    exact = model.fit(df, "exact", draws=10).normal
    assert exact is not None
    fitted = model.fit(df, "nuts", draws=2000, warmup=500, chains=1, seed=3)
    assert fitted.diagnostics.ess is not None and fitted.diagnostics.ess >= 500
    for i, p in enumerate(exact.names):
        d, sd = fitted.draws[p], np.sqrt(exact.cov[i, i])
        assert abs(d.mean() - exact.mean[i]) < 4 * sd / np.sqrt(500), p
        assert abs(d.std() / sd - 1) < 4 / np.sqrt(2 * 500), p


def test_the_mass_matrix_is_dense_for_a_few_dimensions_only():
    init = {"b": np.zeros(()), "c": np.zeros(parametric.DENSE_MASS_MAX - 1)}
    assert parametric.dense_mass("auto", init, 1)
    assert not parametric.dense_mass("auto", {**init, "d": np.zeros(2)}, 1)
    chains = {k: np.zeros((4, *np.shape(v))) for k, v in init.items()}  # a chain axis first
    assert parametric.dense_mass("auto", chains, 4)
    assert not parametric.dense_mass("diagonal", init, 1)
    assert parametric.dense_mass("dense", {"d": np.zeros(500)}, 1)


class _Chosen(Exception):
    """Raised where the kernel is made: what was chosen is known, nothing is compiled."""


def test_a_fit_adapts_the_mass_matrix_it_is_given(monkeypatch: pytest.MonkeyPatch):
    """13 parameters: dense; the same with a hidden real variable per row (60 rows):
    diagonal; ``mass=`` overrides; an unknown name is a FitError."""
    asked: list[bool] = []

    def record(potential_of: object, data: object, dense: bool) -> None:
        asked.append(dense)
        raise _Chosen

    monkeypatch.setattr(parametric, "data_nuts", record)
    model = causaldsl.parse(MODEL).models["m"]
    df = rows(n=60)
    for data, mass in ((df, "auto"), (df.drop(columns="W"), "auto"), (df, "diagonal"),
                       (df.drop(columns="W"), "dense")):
        with pytest.raises(_Chosen):
            model.fit(data, "nuts", draws=5, warmup=5, chains=1, mass=mass)
    assert asked == [True, False, False, True]
    with pytest.raises(FitError, match="unknown mass matrix 'full'"):
        model.fit(df, "nuts", mass="full")


def test_the_statement_and_the_command_line_pass_the_mass_on(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch):
    """``mass = diagonal`` in a fit statement and ``--mass dense`` of ``causal fit`` reach
    the kernel (a model of 13 dimensions, dense by default, the first; one of 60 rows hidden
    per row, diagonal by default, the second); a wrong name is a located error."""
    from causaldsl.app.cli import main

    asked: list[bool] = []

    def record(potential_of: object, data: object, dense: bool) -> None:
        asked.append(dense)
        raise FitError("chosen")

    monkeypatch.setattr(parametric, "data_nuts", record)
    csv = tmp_path / "d.csv"
    rows(n=60).to_csv(csv, index=False)
    hidden = tmp_path / "h.csv"
    rows(n=60).drop(columns="W").to_csv(hidden, index=False)
    src = tmp_path / "m.causal"
    src.write_text(MODEL + f'fit m to "{csv}" by nuts with chains = 1, mass = diagonal\n')
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["run", str(src)]) == 1 and "chosen" in err.getvalue()
        assert main(["fit", str(src), "--data", str(hidden), "--method", "nuts",
                     "--chains", "1", "--mass", "dense"]) == 1
    assert asked == [False, True]
    src.write_text(MODEL + f'fit m to "{csv}" with mass = full\n')
    with contextlib.redirect_stderr(err):
        assert main(["check", str(src)]) != 0
    assert f"{src}:{MODEL.count(chr(10)) + 1}:" in err.getvalue()
    assert "mass = auto (the default" in err.getvalue()


def test_the_logistic_reads_an_offset_and_stays_finite_far_out():
    """A logit with a part that reads no parameter (1.5 - W) and two coefficients, at logits
    up to ±10^3: the log-likelihood equals NumPy's Σ y η - logaddexp(0, η), and its gradient
    the hand-written Σ (y - sigmoid(η)) ∂η; a softplus without its max (overflow to inf), an
    offset dropped or the outcome's values swapped would all show."""
    from causaldsl.backends import jax64

    jax = jax64.jax()
    text = MODEL.replace("Bernoulli(sigmoid(a * W))", "Bernoulli(sigmoid(1.5 - W + a * W + b2 * U))")
    model = causaldsl.parse(text).models["m"]
    df = rows(n=30, seed=4)
    names, values, n, _ = parametric.observed_data(model, df, "error")
    (r,) = [r for r in reductions(model, names) if r.name == "X"]
    assert isinstance(r, Logistic) and r.params == ("b2", "a")
    stats = r.statistics(environment(model, values), np.asarray(values["X"]), n)
    assert stats is not None
    w, u, x = (df[c].to_numpy(dtype=float) for c in ("W", "U", "X"))
    for a, b2 in ((0.3, -0.2), (400.0, 0.0), (-300.0, 90.0)):
        eta = 1.5 - w + a * w + b2 * u
        want = float(np.sum(x * eta - np.logaddexp(0.0, eta)))
        got = float(r.log_likelihood({"a": a, "b2": b2}, stats))
        assert np.isfinite(got) and abs(got - want) < 1e-9 * max(1.0, abs(want)), (a, b2)
        grad = jax.grad(lambda t: r.log_likelihood(t, stats))({"a": a, "b2": b2})
        resid = x - expit(eta)
        assert abs(float(grad["a"]) - resid @ w) < 1e-9 * max(1.0, abs(resid @ w))
        assert abs(float(grad["b2"]) - resid @ u) < 1e-9 * max(1.0, abs(resid @ u))
