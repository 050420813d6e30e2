"""Coverage of ``causaldsl.estimate``'s intervals on simulated data whose answer is known.

Run from the repository root::

    .venv/bin/python bench/estimation_coverage.py                    # the full run (RESULTS.md)
    .venv/bin/python bench/estimation_coverage.py --datasets 50 --sizes 500 --bootstrap-datasets 0

Each dataset comes from its own random structural causal model on the graph

    Z1, Z2, W → X,   Z1, Z2, W, X → Y,   W → Z2

with Z1, Z2 continuous (Z2's mean shifts with W), W discrete (labels a, b, c with probabilities
0.5, 0.3, 0.2), a binary treatment X with a logistic mechanism (main effects of Z1, Z2 and W),
and an outcome Y that is either

* ``linear``: ``Y = b0 + tau X + b1 Z1 + b2 Z2 + b_W + s (1 + X/2) eps``, eps ~ N(0, 1): the
  noise is heteroscedastic (its sd is 1.5 times larger where X = 1), so a model-based variance
  would not cover where a robust (sandwich) one does; the true ATE is ``tau``;
* ``logistic``: ``Y ~ Bernoulli(sigmoid(c0 + g X + c1 Z1 + c2 Z2 + c_W))``; the true ATE is
  ``sum_w P(w) E[sigmoid(c0 + g + c_w + L) - sigmoid(c0 + c_w + L) | w]`` where
  ``L = c1 Z1 + c2 Z2 ~ N(c2 mu_w, c1^2 + c2^2)`` given W = w: one-dimensional integrals,
  computed by Gauss-Hermite quadrature with 80 nodes (error far below 1e-10).

The estimators' default nuisance models (main effects of X, Z1, Z2, W for the outcome; of Z1,
Z2, W for the propensity) are then correctly specified, so every 95% interval should cover the
truth in about 95% of datasets. Coefficients are drawn so that propensities stay within about
[0.02, 0.98] (overlap holds). ``tests/estimation/test_coverage.py`` runs a smaller version of
this (marked slow).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np
import pandas as pd

import causaldsl
from causaldsl.model.graph import ADMG

GRAPH = ADMG(["W", "Z1", "Z2", "X", "Y"],
             [("W", "Z2"), ("W", "X"), ("Z1", "X"), ("Z2", "X"), ("W", "Y"), ("Z1", "Y"),
              ("Z2", "Y"), ("X", "Y")])
QUERY = {"linear": "E[Y | do(X = 1)] - E[Y | do(X = 0)]",
         "logistic": "P(Y = 1 | do(X = 1)) - P(Y = 1 | do(X = 0))"}
W_LABELS = np.array(["a", "b", "c"])
W_PROBS = np.array([0.5, 0.3, 0.2])
Z2_SHIFT = np.array([0.0, 0.5, -0.5])  # E[Z2 | W]
METHODS = ("gformula", "ipw", "aipw")


@dataclass(frozen=True)
class Scenario:
    """One random SCM: treatment logit ``a0 + a1 Z1 + a2 Z2 + aw[W]``, and the outcome's
    coefficients (``b0``, the effect ``tau`` on its scale, ``b1``, ``b2``, ``bw``, noise sd
    ``s`` for a linear outcome); ``truth`` is its ATE."""

    kind: str
    a0: float
    a1: float
    a2: float
    aw: tuple[float, float, float]
    b0: float
    tau: float
    b1: float
    b2: float
    bw: tuple[float, float, float]
    s: float
    truth: float


def draw(rng: np.random.Generator, kind: str) -> Scenario:
    """A random SCM of ``kind`` ("linear" or "logistic") and its true ATE."""
    u = rng.uniform
    # treatment: |a1 Z1 + a2 Z2| has sd at most ~0.9 and the constant part at most 1, so the
    # logit stays within about ±3.9 (propensity in [0.02, 0.98]) for all but a few rows
    a0, a1, a2 = u(-0.5, 0.5), u(-0.6, 0.6), u(-0.6, 0.6)
    aw = tuple(float(v) for v in (0.0, *u(-0.5, 0.5, 2)))
    if kind == "linear":
        b0, tau, b1, b2 = u(-1, 1), u(-2, 2), u(-1.5, 1.5), u(-1.5, 1.5)
        bw = tuple(float(v) for v in (0.0, *u(-1, 1, 2)))
        s = u(0.5, 2.0)
        truth = tau
    elif kind == "logistic":
        b0, tau, b1, b2 = u(-1, 1), u(-1.5, 1.5), u(-1, 1), u(-1, 1)
        bw = tuple(float(v) for v in (0.0, *u(-0.8, 0.8, 2)))
        s = 0.0
        truth = _logistic_ate(b0, tau, b1, b2, bw)
    else:
        raise ValueError(kind)
    return Scenario(kind, a0, a1, a2, aw, b0, tau, b1, b2, bw, s, truth)  # type: ignore[arg-type]


def _logistic_ate(b0: float, g: float, b1: float, b2: float, bw: tuple[float, ...]) -> float:
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)  # ∫ f(t) exp(-t²/2) dt
    weights = weights / math.sqrt(2 * math.pi)  # expectations under N(0, 1)
    sd = math.hypot(b1, b2)
    out = 0.0
    for w in range(3):
        lin = b0 + bw[w] + b2 * Z2_SHIFT[w] + sd * nodes
        out += W_PROBS[w] * float(weights @ (_sigmoid(lin + g) - _sigmoid(lin)))
    return out


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-t))


def simulate(s: Scenario, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` rows from the SCM: X as 0/1, W as its labels, Y a number (0/1 when logistic)."""
    w = rng.choice(3, size=n, p=W_PROBS)
    z1 = rng.normal(size=n)
    z2 = Z2_SHIFT[w] + rng.normal(size=n)
    aw, bw = np.asarray(s.aw), np.asarray(s.bw)
    e = _sigmoid(s.a0 + s.a1 * z1 + s.a2 * z2 + aw[w])
    x = (rng.random(n) < e).astype(int)
    lin = s.b0 + s.tau * x + s.b1 * z1 + s.b2 * z2 + bw[w]
    if s.kind == "linear":
        y = lin + s.s * (1 + 0.5 * x) * rng.normal(size=n)
    else:
        y = (rng.random(n) < _sigmoid(lin)).astype(int)
    return pd.DataFrame({"W": W_LABELS[w], "Z1": z1, "Z2": z2, "X": x, "Y": y})


def datasets(kind: str, n: int, count: int, seed: int) -> Iterator[tuple[Scenario, pd.DataFrame]]:
    """``count`` (scenario, data) pairs; dataset r depends only on (seed, r, n, kind)."""
    for r in range(count):
        rng = np.random.default_rng([seed, r, n, 0 if kind == "linear" else 1])
        s = draw(rng, kind)
        yield s, simulate(s, n, rng)


@dataclass(frozen=True)
class Record:
    truth: float
    value: float
    se: float
    lo: float
    hi: float

    @property
    def covers(self) -> bool:
        return self.lo <= self.truth <= self.hi


def run(method: str, kind: str, n: int, count: int, seed: int, bootstrap: int = 0
        ) -> list[Record]:
    """Estimate every dataset's ATE with ``method`` (95% intervals)."""
    out = []
    for r, (s, df) in enumerate(datasets(kind, n, count, seed)):
        e = causaldsl.estimate(GRAPH, QUERY[kind], df, method=method, bootstrap=bootstrap,
                               seed=r)
        out.append(Record(s.truth, float(e), e.se, *e.ci))
    return out


@dataclass(frozen=True)
class Summary:
    count: int
    covered: int
    mean_error: float
    sd_error: float
    mean_se: float
    sd_z: float

    @property
    def coverage(self) -> float:
        return self.covered / self.count

    @property
    def bias_bound(self) -> float:
        """3.5 standard errors of the mean error: an estimator without bias has |mean error|
        above it with probability 5e-4."""
        return 3.5 * self.sd_error / math.sqrt(self.count)


def summarize(records: list[Record]) -> Summary:
    """Coverage, the errors' mean and sd, the mean se, and the sd of the standardised errors
    (error / se: about 1 where the se is the estimate's spread, whatever each dataset's own
    variance)."""
    err = np.array([r.value - r.truth for r in records])
    se = np.array([r.se for r in records])
    return Summary(len(records), sum(r.covers for r in records), float(err.mean()),
                   float(err.std(ddof=1)), float(se.mean()), float((err / se).std(ddof=1)))


def _machine() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", type=int, default=400, help="datasets per (kind, method, n)")
    ap.add_argument("--sizes", default="500,4000", help="rows per dataset, comma-separated")
    ap.add_argument("--kinds", default="linear,logistic")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--bootstrap-datasets", type=int, default=100,
                    help="datasets for the bootstrap check (aipw, n = the first size)")
    ap.add_argument("--replicates", type=int, default=200, help="bootstrap replicates")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    sizes = [int(v) for v in args.sizes.split(",")]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    print(f"- machine: {_machine()}; causaldsl at {commit}")
    print(f"- command: `{' '.join(['python', *sys.argv])}`")
    print(f"- load average (1 min) at the start: {os.getloadavg()[0]:.2f}")
    print()
    print("| outcome | method | n | datasets | covered | coverage | mean error | "
          "bound (3.5 sd/sqrt(count)) | sd of errors | mean se | sd of error/se | s per dataset |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    bad = 0
    start = time.perf_counter()
    rows = [(k, m, n, 0) for k in args.kinds.split(",") for m in args.methods.split(",")
            for n in sizes]
    if args.bootstrap_datasets:
        rows.append(("linear", "aipw", sizes[0], args.replicates))
    for kind, method, n, reps in rows:
        count = args.bootstrap_datasets if reps else args.datasets
        t0 = time.perf_counter()
        s = summarize(run(method, kind, n, count, args.seed, bootstrap=reps))
        dt = (time.perf_counter() - t0) / count
        label = f"{method}, bootstrap {reps}" if reps else method
        print(f"| {kind} | {label} | {n} | {s.count} | {s.covered} | {100 * s.coverage:.1f}% | "
              f"{s.mean_error:+.4f} | {s.bias_bound:.4f} | {s.sd_error:.4f} | {s.mean_se:.4f} | "
              f"{s.sd_z:.3f} | {dt:.2f} |", flush=True)
        # two binomial sds either side of 95% for this count, and no detectable bias
        sd = math.sqrt(0.95 * 0.05 / s.count)
        bad += not (0.95 - 2 * sd <= s.coverage <= 0.95 + 2 * sd) or \
            abs(s.mean_error) > s.bias_bound
    print()
    print(f"- total {time.perf_counter() - start:.0f} s; load average (1 min) at the end: "
          f"{os.getloadavg()[0]:.2f}; rows outside 95% ± 2 binomial sd or with |mean error| "
          f"above the bound: {bad}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
