"""Small seeded datasets and graphs shared by the estimation tests (each built once per process:
the functions are cached and hand out copies, so a test that edits its frame changes no other)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from causaldsl.model.graph import ADMG

ATE = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
RISK_DIFFERENCE = "P(Y = 1 | do(X = 1)) - P(Y = 1 | do(X = 0))"
ATT = "E[Y[X = 1] | X = 1] - E[Y[X = 0] | X = 1]"
#: Z (continuous) and W (labels a, b) confound X → Y.
G = ADMG(["Z", "W", "X", "Y"], [("Z", "X"), ("W", "X"), ("Z", "Y"), ("W", "Y"), ("X", "Y")])


def declared_graph(x_type: str, x_labels: str) -> str:
    """G as a ``.causal`` graph with declared types: X of type ``x_type = {x_labels}``, W of
    labels a, b, c, Z and Y real."""
    return f"""
type {x_type} = {{{x_labels}}}
type Group = {{a, b, c}}
graph g {{
  X : {x_type}
  W : Group
  Z : Real
  Y : Real
  Z -> X -> Y
  W -> X
  Z -> Y
  W -> Y
}}
"""


def sigmoid(t: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-t))


@cache
def _hetero(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    w = rng.integers(0, 2, n)
    x = (rng.random(n) < sigmoid(0.2 + 0.6 * z - 0.4 * w)).astype(int)
    # the effect of X grows with Z and with W = b, and the noise with X: ATE, CATE and ATT differ
    y = 1 + 2 * x + 1.5 * z - w + x * (0.8 * z + w) + (1 + 0.5 * x) * rng.normal(size=n)
    return pd.DataFrame({"X": x, "Y": y, "Z": z, "W": np.where(w == 1, "b", "a")})


def hetero(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """A binary treatment 0/1 whose effect varies with Z and W; Y continuous."""
    return _hetero(n, seed).copy()


@cache
def _binary(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    w = rng.integers(0, 2, n)
    x = (rng.random(n) < sigmoid(0.6 * z - 0.4 * w)).astype(int)
    y = (rng.random(n) < sigmoid(-0.5 + x + 0.8 * z - 0.6 * w)).astype(int)
    return pd.DataFrame({"X": x, "Y": y, "Z": z, "W": np.where(w == 1, "b", "a")})


def binary(n: int = 2000, seed: int = 8) -> pd.DataFrame:
    """A binary treatment and a binary outcome (0/1), logistic in X, Z and W."""
    return _binary(n, seed).copy()


@cache
def _three_levels(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    w = rng.integers(0, 2, n)
    eta = np.column_stack([np.zeros(n), 0.3 + 0.7 * z - 0.5 * w, -0.2 - 0.6 * z + 0.4 * w])
    p = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    x = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    y = 1 + np.array([0.0, 1.0, 2.5])[x] + 1.2 * z - 0.7 * w + rng.normal(size=n)
    return pd.DataFrame({"X": np.array(["a", "b", "c"])[x], "Y": y, "Z": z,
                         "W": np.where(w == 1, "b", "a")})


def three_levels(n: int = 2000, seed: int = 9) -> pd.DataFrame:
    """A treatment with the labels a, b, c (multinomial logistic in Z and W); Y continuous."""
    return _three_levels(n, seed).copy()


@cache
def _poor_overlap(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    w = rng.integers(0, 2, n)  # balanced between the arms: X does not depend on it
    # P(X = 1 | Z) = sigmoid(-1 - 3 Z) is below 0.01 for Z > (ln 99 - 1) / 3 = 1.20, that is for
    # 1 - Φ(1.20) = 11.5% of rows, and above 0.99 for Z < -1.87 (3.1%): near-violations, not
    # separation (both arms keep rows over the whole range, rarely)
    x = (rng.random(n) < sigmoid(-1 - 3 * z)).astype(int)
    y = 1 + 2 * x + z - 0.5 * w + rng.normal(size=n)
    return pd.DataFrame({"X": x, "Y": y, "Z": z, "W": np.where(w == 1, "b", "a")})


def poor_overlap(n: int = 2000, seed: int = 11) -> pd.DataFrame:
    """Overlap nearly fails for large Z (no treated rows there, nearly), not along W."""
    return _poor_overlap(n, seed).copy()


@cache
def _multilevel(n: int, k: int, binary_outcome: bool, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    w = rng.integers(0, 2, n)
    # class j's linear predictor against class 0's: slopes in Z alternate in sign, so the
    # classes' propensities cross over Z's range, none below about 0.03 for |Z| < 2.5
    j = np.arange(1, k)
    eta = np.column_stack([np.zeros(n), *(0.2 * (-1) ** j_ + 0.5 * (-1) ** j_ * j_ / (k - 1) * z
                                          + 0.3 * (j_ % 2) * w for j_ in j)])
    p = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    x = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    effect = np.linspace(0.0, 2.5, k)[x] * (1 + 0.4 * w)  # the effects differ by stratum
    lin = 0.2 + effect + 0.8 * z - 0.5 * w
    y = (rng.random(n) < sigmoid(lin - 1.2)).astype(int) if binary_outcome \
        else lin + (1 + 0.2 * x) * rng.normal(size=n)
    return pd.DataFrame({"X": np.array(list("abcdefgh"[:k]))[x], "Y": y, "Z": z,
                         "W": np.where(w == 1, "b", "a")})


def multilevel(n: int = 800, k: int = 3, binary_outcome: bool = False, seed: int = 12
               ) -> pd.DataFrame:
    """A treatment with the labels a, b, … (k of them; multinomial logistic in Z and W) whose
    effect differs with W; Y continuous, or 0/1 (logistic in X, Z and W)."""
    return _multilevel(n, k, binary_outcome, seed).copy()
