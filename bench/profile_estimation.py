"""Where one bootstrap replicate of the AIPW benchmark spends its time (``bench_estimation.py``'s
data: 10^5 rows, 10 covariates), piece by piece, in chunks of 32 as ``Estimator.bootstrap``
runs them (weights (n, 32)); CPU milliseconds per replicate, median and range of 5 rounds
(CPU, not wall: the 2 cores here are shared, and CPU time moves less with the load).

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

B = 32


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
    prop = est.p.prop_family
    x, treat = a["prop_design"], a["treatment_fit"]

    rng = np.random.default_rng(0)

    def counts():  # as Estimator.bootstrap draws them, on the host
        out = np.ones((B, n), dtype=np.min_scalar_type(n))
        for j in range(B):
            out[j] = np.bincount(rng.integers(0, n, size=n), minlength=n)
        return out

    drawn = counts()
    w = jnp.asarray(drawn.T.astype(np.float64))  # the weights (n, B) the pieces read
    held = est._jit("held", lambda e: e.held)(starts)
    rows, xt = held["rows"], held["designs"][-1]
    gam = jnp.tile(starts[-1], (B, 1)) + 1e-4
    betas = [jnp.tile(starts[0], (B, 1)), gam]
    linear = (rows @ w).T[:, est.n_step_rows() - est._mean_layout()[1]:]  # the means' sums
    pieces = {
        "every model's first step and the means' linear sums: one product of the rows' terms "
        "and the weights":
            (jax.jit(glm.over_rows), (rows, w)),
        "one chord step's gradient (the propensity; 4 per replicate at 10^5 rows)":
            (jax.jit(lambda wi, g: prop.gradient_batch(x, treat, wi, g, xt)), (w, gam)),
        "the means (outcome predictions, propensities, weighted sums)":
            (est._jit("profile_means", lambda e: e._means_batch),
             (w, betas, linear, held["fixed"])),
        "the whole chunk (Estimator.replicates)":
            (est._jit("replicates", lambda e: e.replicates), (drawn, held, starts)),
        "resampling counts on the host (overlapped with the chunk before)":
            (counts, ()),
    }
    times: dict[str, list[float]] = {k: [] for k in pieces}
    loads = []
    for f, arg in pieces.values():
        jax.block_until_ready(f(*arg))
    for _ in range(5):
        for name, (f, arg) in pieces.items():
            s = time.process_time()
            for _ in range(3):
                jax.block_until_ready(f(*arg))
            times[name].append((time.process_time() - s) / 3 / B * 1e3)
        loads.append(os.getloadavg()[0])
    print(f"load average (1 min) {min(loads):.2f}–{max(loads):.2f}\n")
    print("| piece | CPU ms per replicate | min–max |\n|---|---:|---:|")
    for name, ts in times.items():
        print(f"| {name} | {np.median(ts):.2f} | {min(ts):.2f}–{max(ts):.2f} |")


if __name__ == "__main__":
    main()
