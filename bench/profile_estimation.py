"""Where one bootstrap replicate of the AIPW benchmark spends its time (``bench_estimation.py``'s
data: 10^5 rows, 10 covariates), piece by piece, vmapped in chunks of 16 as
``Estimator.bootstrap`` runs them; milliseconds per replicate (wall), median and range of 3
rounds. The pieces marked "before" are the previous way, for comparison.

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

    rng = np.random.default_rng(0)

    def counts():  # as Estimator.bootstrap draws them, on the host
        idx = rng.integers(0, n, size=(B, n)) + np.arange(B)[:, None] * n
        return np.bincount(idx.ravel(), minlength=B * n).reshape(B, n).astype(np.float64)

    w = jnp.asarray(counts())

    def weights(key):  # before: drawn in XLA (a scatter)
        idx = jax.random.randint(key, (n,), 0, n)
        return jnp.bincount(idx, length=n).astype(jnp.float64)

    keys = jax.random.split(jax.random.PRNGKey(0), B)

    def one_step(wi):
        mu = prop.mean(x, starts[-1] + wi[:x.shape[1]] * 1e-12)  # per replicate, not hoisted
        info = glm.weighted_gram(x, wi * mu * (1 - mu), a["prop_gram"])
        return jnp.linalg.solve(info, x.T @ (wi * (treat - mu)))

    def gradient(wi):
        return prop.gradient(x, treat, wi, starts[-1] + wi[:x.shape[1]] * 1e-12)

    pieces = {
        "resampling counts in XLA (randint + bincount; before)": (weights, keys),
        "outcome OLS (Gram from row products)":
            (lambda wi: lin.fit(a["design"], a["outcomes"][0], wi, None, a["design_gram"]), w),
        "propensity logistic, fixed-step refit (Family.refit; now)":
            (lambda wi: prop.refit(x, treat, wi, starts[-1], a["prop_gram"]), w),
        "propensity logistic, Newton to convergence from the full fit (before)":
            (lambda wi: prop.fit(x, treat, wi, starts[-1], a["prop_gram"]), w),
        "one Newton step (mean, gradient, Gram product, solve)": (one_step, w),
        "one gradient (a chord step's cost)": (gradient, w),
        "the whole replicate, as Estimator.bootstrap runs it (now)":
            (lambda wi: est.replicate(wi, starts), w),
        "the whole replicate before (Newton, counts in XLA)":
            (lambda k: est.point(weights(k), starts)[0], keys),
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
    reps = 20
    start = time.perf_counter()
    for _ in range(reps):
        counts()
    host = (time.perf_counter() - start) / reps / B * 1e3
    print(f"load average (1 min) {min(loads):.2f}–{max(loads):.2f}\n")
    print(f"resampling counts on the host (NumPy integers + bincount; now): {host:.2f} ms "
          "per replicate, overlapped with the previous chunk\n")
    print("| piece | ms per replicate | min–max |\n|---|---:|---:|")
    for name, ts in times.items():
        print(f"| {name} | {np.median(ts):.2f} | {min(ts):.2f}–{max(ts):.2f} |")


if __name__ == "__main__":
    main()
