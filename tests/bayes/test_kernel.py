"""NUTS's run (bayes/kernel.py): each chain one compiled program that gives the draws NumPyro's
``MCMC`` gives from the same keys and starting points; the starting points drawn on the host;
only the sites off the real line mapped back by a program."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl import ModelBuilder
from causaldsl.bayes import inference, kernel, parametric
from causaldsl.bayes.patterns import observed_patterns

# b0, b1, a on the real line, s positive (HalfNormal: exp maps it back); a logistic X
MODEL = """
type Bin = {0, 1}
model m {
  param b0 ~ Normal(0, 10)
  param b1 ~ Normal(0, 10)
  param s ~ HalfNormal(5)
  param a ~ Normal(0, 3)
  W : Real ~ Normal(0, 1)
  X : Bin ~ Bernoulli(sigmoid(a * W))
  Y : Real ~ Normal(b0 + b1 * X, s)
}
"""


def rows(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n)
    x = (rng.random(n) < 1 / (1 + np.exp(-0.8 * w))).astype(int)
    return pd.DataFrame({"W": w, "X": x, "Y": 1 + 2 * x + 0.7 * rng.normal(size=n)})


@pytest.mark.parametrize("chains", [1, 3])
def test_each_chain_as_one_program_gives_mcmcs_draws(chains: int):
    """``run_chains`` (no progress bar) against NumPyro's ``MCMC`` (the progress path) on the
    same model, keys and starting points: the same draws and divergences. Warm-up kept among
    the draws, a chain given another's key or starting point, or steps off by one would
    all move draws by about a posterior sd (~0.1 here), against 1e-9 allowed (the two
    programs are compiled apart, so the last bits may differ)."""
    model = causaldsl.parse(MODEL).models["m"]
    df = rows(150)
    ours = parametric.nuts_parameters(model, df, 60 * chains, 40, chains, 7, "error", False)
    mcmc = parametric.nuts_parameters(model, df, 60 * chains, 40, chains, 7, "error", True)
    assert set(ours[0]) == set(mcmc[0]) == {"b0", "b1", "s", "a"}
    for name in ours[0]:
        assert ours[0][name].shape == (60 * chains,)
        np.testing.assert_allclose(ours[0][name], mcmc[0][name], rtol=0, atol=1e-9)
    assert ours[1].divergences == mcmc[1].divergences
    assert ours[1].ess == pytest.approx(mcmc[1].ess, rel=1e-6)
    # the chains differ from one another (each its own key and starting point)
    if chains > 1:
        b1 = ours[0]["b1"].reshape(chains, -1)
        assert not np.allclose(b1[0], b1[1])
    assert np.all(ours[0]["s"] > 0)  # mapped back through exp


def test_the_tables_path_runs_its_chains_the_same_way():
    """A hidden H behind two observed tables (no closed form: NUTS on the tables' logits): the
    chains as one program each and NumPyro's ``MCMC`` give the same draws."""
    m = ModelBuilder("hab")
    m.latent("H", ["no", "yes"], [0.5, 0.5])
    m.observed("A", ["no", "yes"], given="H", unknown=True)
    m.observed("B", ["no", "yes"], given="H", unknown=True)
    rng = np.random.default_rng(1)
    h = rng.random(80) < 0.5
    df = pd.DataFrame({"A": np.where(rng.random(80) < np.where(h, 0.8, 0.3), "yes", "no"),
                       "B": np.where(rng.random(80) < np.where(h, 0.7, 0.2), "yes", "no")})
    model = m.build()
    patterns = observed_patterns(model, df, "error")
    ours = inference.nuts(model, patterns, 60, 30, 2, 3, progress=False)
    mcmc = inference.nuts(model, patterns, 60, 30, 2, 3, progress=True)
    assert set(ours[0]) == set(mcmc[0]) == {"A", "B"}
    for name in ours[0]:
        assert ours[0][name].shape == (60, 2, 2)
        np.testing.assert_allclose(ours[0][name], mcmc[0][name], rtol=0, atol=1e-9)
    assert ours[1].divergences == mcmc[1].divergences


def test_starting_points_are_numpyros_default_range_drawn_on_the_host():
    """Uniform in (-2, 2), one array a site, a leading chain axis for several chains, and the
    same points for the same key (a fit is reproducible from its seed)."""
    import jax

    shapes = {"a": (), "t": (3, 2)}
    key = jax.random.PRNGKey(5)
    one = kernel.starting_points(key, shapes, 1)
    assert {k: np.shape(v) for k, v in one.items()} == shapes
    many = kernel.starting_points(key, shapes, 4)
    assert np.shape(many["a"]) == (4,) and np.shape(many["t"]) == (4, 3, 2)
    flat = np.concatenate([np.ravel(v) for v in many.values()])
    assert np.all((flat > -2) & (flat < 2)) and flat.std() > 0.5  # spread, not a constant
    again = kernel.starting_points(key, shapes, 4)
    assert all(np.array_equal(many[k], again[k]) for k in shapes)
    other = kernel.starting_points(jax.random.PRNGKey(6), shapes, 4)
    assert not np.array_equal(many["t"], other["t"])
