"""Monte Carlo checks whose tolerances are fixed before the run from what is known.

An estimate of ``truth`` from ``m`` effective draws of a quantity with standard deviation ``sd``
(known in closed form in each test, or bounded) has standard error ``sd / √m``. So:

- the estimate lies within ``K = 4.5`` such errors of the truth (a normal tail beyond 4.5σ has
  probability 7e-6 per check: about 1e-3 over every check of a run);
- its reported standard error is within a factor 2 of the known one (at m ≥ 200 the sample
  standard deviation is within a few per cent of the true one), so an estimator that inflates
  or deflates its error cannot pass by widening the tolerance. Estimators that may beat plain
  draws (Rao-Blackwellised enumeration) check the upper bound only (``lower=0``).

``m`` is the number of draws for forward sampling and the effective sample size for importance
sampling and NUTS; where an answer does not report it, the test passes a lower bound (for
likelihood weighting on discrete evidence e, ESS ≥ n·P(e), since each weight is at most 1).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

K = 4.5


def effective(est: Any) -> float:
    """The effective draws an Estimate reports: its ESS, else its sample count."""
    d = est.details
    return float(d["ess"] if "ess" in d else d["samples"])


def check(est: Any, truth: float, sd: float, m: float | None = None, lower: float = 0.5) -> None:
    """Assert ``est`` is a sound estimate of ``truth`` (see the module's docstring)."""
    m = effective(est) if m is None else m
    error = sd / math.sqrt(m)
    assert abs(float(est) - truth) <= K * error, \
        f"{float(est)} is {abs(float(est) - truth) / error:.1f} errors from {truth} (error {error:.3g})"
    assert lower * error <= est.se <= 2 * error, f"reported se {est.se:.3g}, known {error:.3g}"


def check_cells(got: Any, truth: Any, se: Any, sd: Any, m: float, lower: float = 0.5) -> None:
    """:func:`check` for arrays of estimates (a table, a batch), cell by cell."""
    got, truth, se = np.asarray(got, float), np.asarray(truth, float), np.asarray(se, float)
    error = np.asarray(sd, float) / math.sqrt(m)
    assert np.all(np.abs(got - truth) <= K * error + 1e-12), (got, truth, error)
    assert np.all((lower * error <= se + 1e-12) & (se <= 2 * error + 1e-12)), (se, error)


def bernoulli_sd(p: Any) -> Any:
    """The standard deviation of an indicator with probability ``p``."""
    p = np.asarray(p, float)
    return np.sqrt(p * (1 - p))
