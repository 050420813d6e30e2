"""Where one bootstrap replicate of the AIPW benchmark spends its time (``bench_estimation.py``'s
data: 10^5 rows, 10 covariates), piece by piece, vmapped in chunks of 16 as
``Estimator.bootstrap`` runs them; milliseconds per replicate, median and range of 3 rounds.

    PYTHONPATH=src .venv/bin/python bench/profile_estimation.py

It reaches into ``causaldsl.estimation.estimators`` (the Estimator the call builds), so it
follows the code, not a public API."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import causaldsl
from bench_estimation import ATE, ZS, simulate
from causaldsl.estimation import estimators, glm
from causaldsl.model.graph import ADMG

B = 16


def main() -> None:
    z, t, y, _ = simulate(100_000, 0)
    df = pd.DataFrame({c: z[:, i] for i, c in enumerate(ZS)})
    for c in ZS[6:]:
        df[c] = df[c].astype(np.int64)
    df["T"], df["Y"] = t, y
    g = ADMG([*ZS, "T", "Y"], [(c, "T") for c in ZS] + [(c, "Y") for c in ZS] + [("T", "Y")])
    built = []
    init = estimators.Estimator.__init__

    def keep(self, problem):
        init(self, problem)
        built.append(self)

    estimators.Estimator.__init__ = keep  # type: ignore[method-assign]
    causaldsl.estimate(g, ATE, df, method="aipw")
    est = built[-1]
    a, n, starts = est.arrays, est.n, est._betas
    prop, lin = est.p.prop_family, est.p.families[0]
    x, treat = a["prop_design"], a["treatment_fit"]

    def weights(key):
        idx = jax.random.randint(key, (n,), 0, n)
        return jnp.bincount(idx, length=n).astype(jnp.float64)

    keys = jax.random.split(jax.random.PRNGKey(0), B)
    w = jax.jit(jax.vmap(weights))(keys)

    def before(wi):  # the fit before the speed changes: 30 steps, (X^T v) X
        def step(_, b):
            grad = (wi[:, None] * prop.score(x, treat, b)).sum(0)
            return b + jnp.linalg.solve(prop.information(x, wi, b), grad)
        return jax.lax.fori_loop(0, 30, step, jnp.zeros(x.shape[1]))

    def one_step(wi):
        mu = prop.mean(x, starts[-1] + wi[:x.shape[1]] * 1e-12)  # per replicate, not hoisted
        info = glm.weighted_gram(x, wi * mu * (1 - mu), a["prop_gram"])
        return jnp.linalg.solve(info, x.T @ (wi * (treat - mu)))

    pieces = {
        "resampling weights (randint + bincount)": (weights, keys),
        "outcome OLS (Gram from row products)":
            (lambda wi: lin.fit(a["design"], a["outcomes"][0], wi, None, a["design_gram"]), w),
        "propensity logistic, Newton from the full data's fit":
            (lambda wi: prop.fit(x, treat, wi, starts[-1], a["prop_gram"]), w),
        "propensity logistic, Newton from zero":
            (lambda wi: prop.fit(x, treat, wi, None, a["prop_gram"]), w),
        "propensity logistic before: 30 steps, (X^T v) X": (before, w),
        "one Newton step (mean, gradient, Gram, solve)": (one_step, w),
        "the whole replicate": (lambda k: est.point(weights(k), starts)[0], keys),
    }
    times: dict[str, list[float]] = {k: [] for k in pieces}
    loads = []
    for _ in range(3):
        for name, (fn, arg) in pieces.items():
            f = jax.jit(jax.vmap(fn))
            jax.block_until_ready(f(arg))
            s = time.perf_counter()
            for _ in range(5):
                jax.block_until_ready(f(arg))
            times[name].append((time.perf_counter() - s) / 5 / B * 1e3)
        loads.append(os.getloadavg()[0])
    print(f"load average (1 min) {min(loads):.2f}–{max(loads):.2f}\n")
    print("| piece | ms per replicate | min–max |\n|---|---:|---:|")
    for name, ts in times.items():
        print(f"| {name} | {np.median(ts):.2f} | {min(ts):.2f}–{max(ts):.2f} |")


if __name__ == "__main__":
    main()
