"""Propensity overlap diagnostics from sums over rows (counts, sums, minima and maxima), so
that the in-memory estimators and those over data read in chunks report the same: per
treatment level used, the propensity's range, the rows below OVERLAP, the effective sample
size of its arm and the share of its weights above 20, with a histogram per arm; and, where
overlap is poor, the covariates that separate the arms: a finite level that an arm lacks, or a
numeric covariate with rows outside the range every arm covers (``outside``: a count that
needs the arms' ranges first, so a second pass over chunks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Propensities below this (or weights above its inverse) are reported as poor overlap.
OVERLAP = 0.01
BINS = 20


@dataclass(frozen=True)
class Sums:
    """Per treatment level used (L of them): rows with propensity below OVERLAP, its minimum
    and maximum, Σ 1/e and Σ 1/e² over its arm, the arm's rows and those with 1/e > 20, and
    the histogram of the propensity over each arm (L, A, BINS). Per covariate: a finite one's
    rows by level and arm (K, A), a numeric one's minimum and maximum per arm (A,)."""

    low: np.ndarray
    emin: np.ndarray
    emax: np.ndarray
    sw: np.ndarray
    sw2: np.ndarray
    rows: np.ndarray
    above: np.ndarray
    hist: np.ndarray
    n: int
    counts: tuple[np.ndarray | None, ...]
    lo: tuple[np.ndarray | None, ...]
    hi: tuple[np.ndarray | None, ...]

    def __add__(self, o: Sums) -> Sums:
        def both(a: tuple[Any, ...], b: tuple[Any, ...], f: Any) -> tuple[Any, ...]:
            return tuple(None if x is None else f(x, y) for x, y in zip(a, b, strict=True))

        return Sums(self.low + o.low, np.minimum(self.emin, o.emin),
                    np.maximum(self.emax, o.emax), self.sw + o.sw, self.sw2 + o.sw2,
                    self.rows + o.rows, self.above + o.above, self.hist + o.hist,
                    self.n + o.n, both(self.counts, o.counts, np.add),
                    both(self.lo, o.lo, np.minimum), both(self.hi, o.hi, np.maximum))


def sums(e: np.ndarray, arm: np.ndarray, used: Sequence[int], covariates: Sequence[np.ndarray],
         sizes: Sequence[int | None]) -> Sums:
    """The sums over some rows: ``e`` their propensities (n, A), ``arm`` their treatment
    levels (n,), ``used`` the levels asked about; each covariate's codes (a finite one, with
    ``sizes`` its type's size) or values (size None)."""
    a_ = e.shape[1]
    low, emin, emax, sw, sw2, rows, above, hist = ([] for _ in range(8))
    for lvl in used:
        el = e[:, lvl]
        w = 1.0 / el[arm == lvl]
        low.append(int((el < OVERLAP).sum()))
        emin.append(el.min() if len(el) else np.inf)
        emax.append(el.max() if len(el) else -np.inf)
        sw.append(w.sum())
        sw2.append((w ** 2).sum())
        rows.append(len(w))
        above.append(int((w > 20).sum()))
        hist.append([np.histogram(el[arm == a], bins=BINS, range=(0.0, 1.0))[0]
                     for a in range(a_)])
    counts: list[np.ndarray | None] = []
    lo: list[np.ndarray | None] = []
    hi: list[np.ndarray | None] = []
    for col, size in zip(covariates, sizes, strict=True):
        if size is not None:
            counts.append(np.stack([np.bincount(col[arm == a], minlength=size)
                                    for a in range(a_)], axis=1))
            lo.append(None)
            hi.append(None)
        else:
            counts.append(None)
            lo.append(np.array([col[arm == a].min() if (arm == a).any() else np.inf
                                for a in range(a_)]))
            hi.append(np.array([col[arm == a].max() if (arm == a).any() else -np.inf
                                for a in range(a_)]))
    return Sums(np.array(low), np.array(emin, dtype=np.float64),
                np.array(emax, dtype=np.float64), np.array(sw, dtype=np.float64),
                np.array(sw2, dtype=np.float64), np.array(rows), np.array(above),
                np.array(hist, dtype=np.int64).reshape(len(used), a_, BINS), len(arm),
                tuple(counts), tuple(lo), tuple(hi))


def bounds(s: Sums) -> list[tuple[float, float] | None]:
    """Per numeric covariate the range every arm covers: [max of the arms' minima, min of
    their maxima] over the arms with rows (None for a finite one)."""
    out: list[tuple[float, float] | None] = []
    for lo, hi in zip(s.lo, s.hi, strict=True):
        if lo is None or hi is None:
            out.append(None)
            continue
        some = np.isfinite(lo)
        out.append((float(lo[some].max()), float(hi[some].min())))
    return out


def outside(covariates: Sequence[np.ndarray], within: Sequence[tuple[float, float] | None]
            ) -> np.ndarray:
    """Per covariate the rows outside ``within`` (0 for a finite one)."""
    return np.array([0 if b is None else int(((col < b[0]) | (col > b[1])).sum())
                     for col, b in zip(covariates, within, strict=True)])


def report(s: Sums, out: np.ndarray, x: str, used: Sequence[int], labels: Sequence[str],
           covariates: Sequence[str], levels: Sequence[Sequence[str] | None]
           ) -> tuple[dict[str, Any], list[str]]:
    """The answer's diagnostics and warnings: ``labels`` the treatment's levels as shown,
    ``levels`` each finite covariate's type's labels as shown (None: numeric), ``out`` the
    rows outside the range every arm covers (``outside``)."""
    diag: dict[str, Any] = {}
    warnings = []
    for i, lvl in enumerate(used):
        low = int(s.low[i])
        diag[f"{x} = {labels[lvl]}"] = {
            "propensity_min": float(s.emin[i]), "propensity_max": float(s.emax[i]),
            "rows_below_0.01": low, "ess": float(s.sw[i] ** 2 / s.sw2[i]),
            "rows": int(s.rows[i]), "weights_above_20": float(s.above[i] / s.rows[i]),
            # P(X = x | Z) in 20 bins over [0, 1], for the rows of each arm: the overlap plot
            "histogram": {labels[a]: s.hist[i, a].tolist() for a in range(len(labels))}}
        if low:
            warnings.append(f"poor overlap: {low} of {s.n} rows have P({x} = {labels[lvl]} | "
                            f"covariates) below {OVERLAP}")
    if warnings:
        found = []
        within = bounds(s)
        for j, c in enumerate(covariates):
            counts, labs = s.counts[j], levels[j]
            if counts is not None and labs is not None:
                for k, lab in enumerate(labs):
                    if counts[k].sum() and counts[k].min() == 0:
                        empty = [labels[a] for a, m in enumerate(counts[k]) if m == 0]
                        found.append(f"{c} = {lab} (no row with {x} = {', '.join(empty)})")
            elif out[j] > 0.01 * s.n:
                b = within[j]
                assert b is not None
                found.append(f"{c} ({int(out[j])} rows outside the range every arm covers, "
                             f"[{b[0]:g}, {b[1]:g}])")
        if found:
            warnings.append("the treatment arms differ most in " + "; ".join(found[:5]))
    return diag, warnings
