"""Benchmark (issue 15, the first-fit target): is a linear mean dearer term by term than as
one matrix-vector product? The gradient of a Normal outcome's log-likelihood in the
coefficients of ``b0 + c1 Z1 + ... + ck Zk`` over 10^4 rows, jitted, written three ways:

* term by term, as ``backends.jaxexpr`` evaluates a ``.causal`` mean (the columns separate);
* one mat-vec on a design matrix stacked once, outside the gradient (as a hand-written
  NumPyro model holds it);
* one mat-vec on the columns stacked inside the gradient (what rewriting the expression into
  a dot product, with the data still separate columns, compiles to).

The three are alternated (``--rounds`` rounds of ``--calls`` calls each); medians with min and
max of the microseconds per gradient, and the gradients checked equal to float64 rounding.
Prints a markdown section; run from the repository root::

    .venv/bin/python bench/bench_linear_gradient.py [--rows 10000 --terms 6 --rounds 15]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--terms", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=500)
    args = ap.parse_args()

    import jax
    import jax.numpy as jnp
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(0)
    cols = tuple(jnp.asarray(rng.normal(size=args.rows)) for _ in range(args.terms))
    design = jnp.stack(cols, axis=-1)
    y = jnp.asarray(rng.normal(size=args.rows))
    coef = jnp.asarray(rng.normal(size=args.terms + 1))

    def loglik(mean: jax.Array) -> jax.Array:
        return jnp.sum(-0.5 * (y - mean) ** 2)

    def terms(c: jax.Array, z: tuple[jax.Array, ...]) -> jax.Array:
        mean = c[0]
        for k, col in enumerate(z):
            mean = mean + c[k + 1] * col
        return loglik(mean)

    def stacked_once(c: jax.Array, d: jax.Array) -> jax.Array:
        return loglik(c[0] + d @ c[1:])

    def stacked_inside(c: jax.Array, z: tuple[jax.Array, ...]) -> jax.Array:
        return loglik(c[0] + jnp.stack(z, axis=-1) @ c[1:])

    forms = {"term by term (as compiled now)": (jax.jit(jax.grad(terms)), cols),
             "mat-vec, design stacked once": (jax.jit(jax.grad(stacked_once)), design),
             "mat-vec, stacked inside the gradient": (jax.jit(jax.grad(stacked_inside)), cols)}
    grads = {name: np.asarray(f(coef, data)) for name, (f, data) in forms.items()}
    ref = next(iter(grads.values()))
    scale = np.abs(ref).max()
    agree = max(float(np.abs(g - ref).max() / scale) for g in grads.values())
    times: dict[str, list[float]] = {name: [] for name in forms}
    order = list(forms)
    for r in range(args.rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            f, data = forms[name]
            f(coef, data).block_until_ready()
            t0 = time.perf_counter()
            for _ in range(args.calls):
                f(coef, data).block_until_ready()
            times[name].append((time.perf_counter() - t0) / args.calls * 1e6)
    base = statistics.median(times[order[0]])
    load = os.getloadavg()
    print(f"## The gradient of a linear mean, {args.rows} rows, {args.terms} terms\n")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}; "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end; "
          f"JAX {jax.__version__}, float64, CPU. Command: `bench/bench_linear_gradient.py "
          f"--rows {args.rows} --terms {args.terms} --rounds {args.rounds} --calls "
          f"{args.calls}`. Gradients agree to {agree:.1e} (relative to the largest).\n")
    print("| form | median µs | min | max | median / term by term |")
    print("|---|---:|---:|---:|---:|")
    for name, ts in times.items():
        print(f"| {name} | {statistics.median(ts):.1f} | {min(ts):.1f} | {max(ts):.1f} | "
              f"{statistics.median(ts) / base:.2f} |")


if __name__ == "__main__":
    main()
