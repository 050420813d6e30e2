"""The benchmark models of the sampling backend: each as `.causal` text for us and written by
hand in NumPyro (the same plate model, the abduction done by hand, the estimate computed inside
one ``jax.jit`` function), with the truth of its query. Used by ``bench_sample.py`` (time per
call) and ``bench_sample_first.py`` (the first answer of a fresh process), which imports it
without importing causaldsl."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as ndist
from numpyro.handlers import seed, trace

LINEAR = """model linear {
  exogenous Ux : Real ~ Normal(0, 1)
  exogenous Uy : Real ~ Normal(0, 1)
  X : Real := Ux
  Y : Real := 2 * X + Uy
}"""
NONLINEAR = """model nonlinear {
  latent Z : Real ~ Normal(0, 1)
  exogenous Ux : Real ~ Normal(0, 1)
  exogenous Uy : Real ~ Normal(0, 1)
  X : Real := Z + Ux
  Y : Real := X + exp(Z) + Uy
}"""
CF_TRUTH = 1 + math.exp(0.5)
K = 30  # the chain X0 -> X1 -> ... -> X29, each Xi := 0.5 * X(i-1) + Ui
CHAIN = "model chain {\n  X0 : Real ~ Normal(0, 1)\n" + "".join(
    f"  exogenous U{i} : Real ~ Normal(0, 1)\n  X{i} : Real := 0.5 * X{i - 1} + U{i}\n"
    for i in range(1, K)) + "}"
CHAIN_TRUTH = 0.5 ** (K - 1)


def hand_do(n: int) -> Callable[[int], float]:
    def model() -> None:
        with numpyro.plate("n", n):
            numpyro.sample("Ux", ndist.Normal(0.0, 1.0))
            uy = numpyro.sample("Uy", ndist.Normal(0.0, 1.0))
            numpyro.deterministic("Y", 2.0 * 1.0 + uy)

    @jax.jit
    def run(key: jax.Array) -> jax.Array:
        return trace(seed(model, key)).get_trace()["Y"]["value"].mean()

    return lambda i: float(run(jax.random.PRNGKey(i)))


def hand_cf(n: int) -> Callable[[int], float]:
    def model() -> None:
        with numpyro.plate("n", n):
            z = numpyro.sample("Z", ndist.Normal(0.0, 1.0))
            numpyro.sample("Ux", ndist.Normal(0.0, 1.0), obs=0.5 - z)   # abduction by hand
            uy = numpyro.sample("Uy", ndist.Normal(0.0, 1.0))
            numpyro.deterministic("Y1", 1.0 + jnp.exp(z) + uy)

    @jax.jit
    def run(key: jax.Array) -> jax.Array:
        tr = trace(seed(model, key)).get_trace()
        logw = tr["Ux"]["fn"].log_prob(tr["Ux"]["value"])
        return (jax.nn.softmax(logw) * tr["Y1"]["value"]).sum()

    return lambda i: float(run(jax.random.PRNGKey(i)))


def hand_chain(n: int) -> Callable[[int], float]:
    def model() -> None:
        with numpyro.plate("n", n):
            x = numpyro.deterministic("X0", jnp.ones(n))       # do(X0 = 1)
            for i in range(1, K):
                u = numpyro.sample(f"U{i}", ndist.Normal(0.0, 1.0))
                x = numpyro.deterministic(f"X{i}", 0.5 * x + u)

    @jax.jit
    def run(key: jax.Array) -> jax.Array:
        return trace(seed(model, key)).get_trace()[f"X{K - 1}"]["value"].mean()

    return lambda i: float(run(jax.random.PRNGKey(i)))
