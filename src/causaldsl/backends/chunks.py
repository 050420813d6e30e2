"""Forward and importance sampling in chunks, so a progress bar can advance between them: each
chunk reduces its samples to a few sums (inside the compiled sampler), and the host pools the
chunks' sums into the estimate, standard error and effective sample size that one pass over
all the samples would give (Chan et al.'s pairwise update, extended to weights).
docs/sampling.md says when this path is taken."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

#: A chunk holds at least this many samples; a run is cut into at most MAX_CHUNKS chunks.
MIN_CHUNK = 10_000
MAX_CHUNKS = 50


def chunking(n: int) -> tuple[int, int]:
    """How ``n`` samples are drawn with a bar: (chunks, samples per chunk), at least ``n`` in
    all, every chunk the same size (one compiled sampler serves them all)."""
    k = max(1, min(MAX_CHUNKS, n // MIN_CHUNK))
    return k, -(-n // k)


def chunk_sums(jnp: Any, x: Any, logw: Any) -> tuple[Any, ...]:
    """One chunk's sums, traced inside its sampler: the largest log weight ``top`` (the
    weights below are ``exp(logw - top)``), their total ``W``, the weighted mean ``est`` of the
    rows of ``x``, and about it ``A = Σ w² (x - est)²``, ``B = Σ w² (x - est)``,
    ``C = Σ w²``."""
    top = logw.max()
    seen = jnp.isfinite(top)
    w = jnp.exp(logw - jnp.where(seen, top, 0.0))
    total = w.sum()
    est = (w @ x) / jnp.where(total > 0, total, 1.0)
    w2 = w ** 2
    d = x - est
    return top, total, est, w2 @ d ** 2, w2 @ d, w2.sum()


def pooled(parts: Sequence[tuple[Any, ...]], weighted: bool
           ) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """The estimate, its standard error, the effective sample size and whether any sample has
    positive weight, from the chunks' :func:`chunk_sums`: what one chunk holding every sample
    would give (forward sampling: the mean, and the sample standard deviation with n - 1 over
    the square root of n)."""
    top = np.array([float(p[0]) for p in parts])
    seen = bool(np.isfinite(top).any())
    scale = np.exp(top - top.max()) if seen else np.zeros(len(parts))
    scale[~np.isfinite(top)] = 0.0
    totals = np.array([float(p[1]) for p in parts]) * scale
    total = totals.sum()
    ests = np.stack([np.asarray(p[2], dtype=np.float64) for p in parts])
    est = (totals @ ests) / (total if total > 0 else 1.0)
    spread = np.zeros_like(est)
    squares = 0.0
    for f, p, e in zip(scale, parts, ests, strict=True):
        d = e - est
        spread += f ** 2 * (np.asarray(p[3]) + 2 * d * np.asarray(p[4]) + d ** 2 * float(p[5]))
        squares += f ** 2 * float(p[5])
    if not weighted:
        n = total  # every weight is 1
        return est, np.sqrt(spread / max(n - 1, 1) / n), float(n), seen
    ess = total ** 2 / squares if squares > 0 else 0.0
    return est, np.sqrt(spread) / (total if total > 0 else 1.0), float(ess), seen


def chunk_count(total: int, groups: int) -> int:
    """Settings of a batch per call when ``total`` of them are answered in about ``groups``
    calls (the last call padded to the same size)."""
    return max(1, math.ceil(total / max(1, min(groups, total))))
