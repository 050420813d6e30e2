"""The linear g-formula from moments, for data read in chunks (a large file, a Dask DataFrame).

With a linear outcome model ``m_x(z) = d(x, z)ᵀβ`` (``d``: the formula's design row, the
treatment set to x), a mean is linear in β: ``μ = E_h[d(x, Z)]ᵀβ / E[h]`` over its population
h (every row, a stratum, the treated), however the formula transforms or interacts its columns,
since each row's ``d(x, z_i)`` is computed in its chunk. So one pass gives everything the
estimate needs: ``XᵀX`` and ``Xᵀy`` over the rows with an outcome (β by least squares), and per
mean ``Σ h_i d(x, z_i)`` and ``Σ h_i``. A second pass, given β and μ, sums the outer products of
the stacked estimating functions (``estimators.Estimator.psi``'s rows: the outcome model's
score ``x_i (y_i - x_iᵀβ)`` and ``h_i (d_iᵀβ - μ)``), the sandwich's meat; its bread is
minus the mean Jacobian, built from the first pass's sums. The answer and its standard error
are the in-memory estimator's, summed in another order.

Every chunk is typed by the ``Survey`` (the first pass, ``survey``), so its finite columns have
the whole data's levels, and its design is built by one formulaic model spec, made before the
passes from a frame holding every level (formulaic learns ``C(x)``'s levels from what it is
built on). Transforms that learn more from the data (``center``, ``poly``, ``bs``...) would
learn it from that frame, not from the data, and are refused here (``unsupported``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from causaldsl.core.errors import DataError, FitError, QueryError
from causaldsl.core.types import FiniteType, Label, show_label
from causaldsl.estimation import chunks
from causaldsl.estimation import design as D
from causaldsl.estimation import rows as R
from causaldsl.estimation.data import Dataset
from causaldsl.estimation.estimators import Fit
from causaldsl.estimation.glm import check_gram
from causaldsl.estimation.question import Outcome, Question
from causaldsl.estimation.survey import Survey

if TYPE_CHECKING:
    import pandas as pd


def unsupported(q: Question, sv: Survey, rhs: str) -> str | None:
    """Why this question cannot be answered from moments (None: it can): a 0/1 outcome (its
    model is logistic, which fixed moments cannot fit), a transform that learns from the data,
    or ``C(v)`` of a numeric column with too many values to list."""
    for o in dict.fromkeys(m.outcome for m in q.means):
        if _binary(sv, o):
            return (f"the outcome {o} is 0/1, so its model is logistic, which sums of fixed "
                    "moments cannot fit")
    funcs, categorical = D.calls(rhs)
    learnt = sorted(funcs & D.LEARNT)
    if learnt:
        return (f"the outcome formula uses {', '.join(learnt)}, whose state formulaic learns "
                "from the rows it is built on")
    wide = sorted(v for v in categorical if v in sv.numbers and sv.numbers[v] is None)
    if wide:
        return f"the outcome formula makes {', '.join(wide)} categorical, which has too many values"
    return None


def _binary(sv: Survey, o: Outcome) -> bool:
    """``glm.family_for``'s test (every value of f(Y) is 0 or 1), from the survey."""
    if o.var is None:
        return True  # an indicator
    t = sv.types[o.var]
    if isinstance(t, FiniteType):
        nums = t.numeric()
        if nums is None:
            return False  # refused later, as in memory (labels that are not numbers)
        return all(nums[i] in (0, 1) for i in sv.present[o.var])
    return sv.binary[o.var]


@dataclass(frozen=True)
class Sums:
    """The first pass: over the rows with an outcome ``XᵀX`` and ``Xᵀf_j``; over all rows
    ``XᵀX`` (for the rank check, as in memory), and per mean ``Σ h d`` and ``Σ h`` (and the
    stratum's rows ``Σ where``); whether the treatment's settings give different designs."""

    gram: np.ndarray
    gram_all: np.ndarray
    xty: np.ndarray  # (J, p)
    hd: np.ndarray  # (K, p)
    h: np.ndarray  # (K,)
    where: np.ndarray  # (K,)
    differ: bool

    def __add__(self, o: Sums) -> Sums:
        return Sums(self.gram + o.gram, self.gram_all + o.gram_all, self.xty + o.xty,
                    self.hd + o.hd, self.h + o.h, self.where + o.where, self.differ or o.differ)


class Plan:
    """How every chunk becomes arrays: the model spec, the treatment's settings and levels,
    and the terms."""

    def __init__(self, q: Question, sv: Survey, covariates: list[str], rhs: str):
        self.q, self.sv, self.x = q, sv, q.treatment
        self.covariates = covariates
        self.head = Dataset(_empty(sv), dict(sv.types), sv.source, 0, sv.inferred)
        x = self.x
        att = any(m.treated is not None for m in q.means)
        self.levels = _levels(sv, x, att)
        self.outcomes = list(dict.fromkeys(m.outcome for m in q.means))
        self.values: list[float] = []
        self.term_levels: list[int] = []
        self.treated: list[int | None] = []
        for m in q.means:  # as estimate._problem numbers them
            if isinstance(sv.types[x], FiniteType) or att:
                lvl = R.level_of(self.levels, self.head, x, m.value)
            else:
                v = R.number(m.value, x)
                if v not in self.values:
                    self.values.append(v)
                lvl = self.values.index(v)
            self.term_levels.append(lvl)
            self.treated.append(None if m.treated is None else
                                R.level_of(self.levels, self.head, x, m.treated))
        self.settings = self.levels if isinstance(sv.types[x], FiniteType) or att \
            else self.values
        self.design = D.Design(rhs, _template(sv, [x, *covariates], rhs), "outcome")
        self.columns = self.design.columns
        self.at: list[np.ndarray | None] = [self._point(m) for m in q.means]

    def _point(self, m: Any) -> np.ndarray | None:
        """A mean at a point of continuous strata: the design row there (``rows.at_point``)."""
        if all(isinstance(self.sv.types[v], FiniteType) for v, _ in m.where):
            return None
        row = _template(self.sv, [self.x, *self.covariates], "1").iloc[:1]
        row = R.set_value(row, m.treatment, self.head, m.value)
        for var, value in m.where:
            fin = isinstance(self.sv.types[var], FiniteType)
            if fin:
                R.position(self.head, var, value)
            row = R.set_value(row, var, self.head, value if fin else R.number(value, var))
        return self.design.at(row)[0]

    def arrays(self, ds: Dataset) -> dict[str, Any]:
        """A typed chunk's arrays: the design, the rows with an outcome, the outcome values,
        the design at each setting, and each mean's population h and strata rows."""
        frame = _categories(ds.frame[[self.x, *self.covariates]], self.sv)
        design = self.design.on(frame)
        seen = np.ones(len(frame), bool) if ds.observed is None else np.asarray(ds.observed)
        fs = [R.outcome_values(ds, o) for o in self.outcomes]
        at = [self.design.at(R.set_value(frame, self.x, ds, v)) for v in self.settings]
        level = _row_levels(ds, self.x, self.levels) if any(
            t is not None for t in self.treated) else None
        hs, wheres, ds_ = [], [], []
        for k, m in enumerate(self.q.means):
            where = np.ones(len(frame))
            if self.at[k] is None:
                for var, value in m.where:
                    where = where * R.indicator(ds, var, value)
            h = where
            if self.treated[k] is not None:
                assert level is not None
                h = h * (level == self.treated[k])
            hs.append(h)
            wheres.append(where)
            point = self.at[k]
            ds_.append(np.broadcast_to(point, design.shape) if point is not None
                       else at[self.term_levels[k]])
        differ = len(at) > 1 and not all(np.array_equal(at[0], d) for d in at[1:])
        return {"design": design, "seen": seen, "fs": fs, "h": hs, "where": wheres,
                "d": ds_, "differ": differ}

    def sums(self, ds: Dataset) -> Sums:
        a = self.arrays(ds)
        x, seen = a["design"], a["seen"]
        xo = x[seen]
        return Sums(xo.T @ xo, x.T @ x, np.stack([xo.T @ f[seen] for f in a["fs"]]),
                    np.stack([h @ d for h, d in zip(a["h"], a["d"], strict=True)]),
                    np.array([h.sum() for h in a["h"]]),
                    np.array([w.sum() for w in a["where"]]), a["differ"])

    def meat(self, ds: Dataset, betas: np.ndarray, means: np.ndarray) -> np.ndarray:
        """``Σ ψ_i ψ_iᵀ`` over a chunk's rows: the stacked estimating functions at the fit."""
        a = self.arrays(ds)
        x, seen = a["design"], a["seen"]
        cols = [x * ((f - x @ betas[j]) * seen)[:, None] for j, f in enumerate(a["fs"])]
        cols += [(h * (d @ betas[self.outcomes.index(m.outcome)] - means[k]))[:, None]
                 for k, (m, h, d) in enumerate(zip(self.q.means, a["h"], a["d"], strict=True))]
        psi = np.concatenate(cols, axis=1)
        return psi.T @ psi


@dataclass(frozen=True)
class Result:
    """The fit (``estimators.Fit``: means, stacked parameters, sandwich covariance) and the
    outcome model's column names."""

    fit: Fit
    columns: list[str]


def gformula(q: Question, sv: Survey, covariates: list[str], rhs: str) -> Result:
    """The g-formula with a linear outcome model, in two passes over ``sv.data``'s chunks."""
    plan = Plan(q, sv, covariates, rhs)
    names = sv.names
    p, j_, k_ = len(plan.columns), len(plan.outcomes), len(q.means)

    def first(chunk: pd.DataFrame) -> Sums:
        ds = sv.typed(chunk)
        if not len(ds.frame):
            return Sums(np.zeros((p, p)), np.zeros((p, p)), np.zeros((j_, p)),
                        np.zeros((k_, p)), np.zeros(k_), np.zeros(k_), False)
        return plan.sums(ds)

    s = chunks.reduce(sv.data, names, first, lambda a, b: a + b)
    for m, w in zip(q.means, s.where, strict=True):
        if m.where and not w and all(isinstance(sv.types[v], FiniteType) for v, _ in m.where):
            raise DataError(f"no row of {sv.source} is in the stratum "
                            f"{', '.join(f'{v} = {show_label(x)}' for v, x in m.where)} "
                            f"of {m.text}")
    if len(plan.settings) > 1 and not s.differ:
        raise QueryError(f"the outcome model {rhs.strip()!r} does not use the treatment "
                         f"{plan.x}, so it cannot tell the treatment's settings apart")
    check_gram(s.gram_all, sv.n, "outcome", plan.columns)
    betas = np.linalg.solve(s.gram, s.xty.T).T  # (J, p)
    if not np.isfinite(betas).all():
        raise FitError("the outcome model could not be fitted (a singular design)")
    oi = [plan.outcomes.index(m.outcome) for m in q.means]
    means = np.array([s.hd[k] @ betas[oi[k]] / s.h[k] for k in range(k_)])
    if not np.isfinite(means).all():
        raise DataError("the estimate is not a number: a stratum or a treatment level has no "
                        "weight in the data")

    def second(chunk: pd.DataFrame) -> np.ndarray:
        ds = sv.typed(chunk)
        size = j_ * p + k_
        return plan.meat(ds, betas, means) if len(ds.frame) else np.zeros((size, size))

    meat = chunks.reduce(sv.data, names, second, lambda a, b: a + b)
    n = sv.n
    bread = np.zeros((j_ * p + k_, j_ * p + k_))
    for j in range(j_):
        bread[j * p:(j + 1) * p, j * p:(j + 1) * p] = -s.gram / n
    for k in range(k_):
        bread[j_ * p + k, oi[k] * p:(oi[k] + 1) * p] = s.hd[k] / n
        bread[j_ * p + k, j_ * p + k] = -s.h[k] / n
    inv = np.linalg.inv(bread)
    cov = inv @ (meat / n) @ inv.T / n
    theta = np.concatenate([betas.ravel(), means])
    return Result(Fit(means, theta, cov, None), plan.columns)


def _levels(sv: Survey, x: str, needed: bool) -> list[Any]:
    """``rows.levels_of``'s levels, from the survey."""
    t = sv.types[x]
    if isinstance(t, FiniteType):
        return [t.values[i] for i in sv.present[x]]
    if not needed:
        return []
    nums = sv.numbers[x]
    if nums is None or len(nums) > R.MAX_LEVELS:
        count = "more than a thousand" if nums is None else str(len(nums))
        raise DataError(f"{x} has {count} distinct values; weighting (ipw, aipw) and the "
                        f"effect on the treated need a treatment with at most {R.MAX_LEVELS} "
                        "levels: declare it finite, or use method gformula")
    return list(nums)


def _row_levels(ds: Dataset, x: str, levels: Sequence[Label]) -> np.ndarray:
    """Each row's treatment level, as an index into ``levels`` (-1: none)."""
    t = ds.types[x]
    if isinstance(t, FiniteType):
        where = np.full(t.size, -1)
        for i, lab in enumerate(levels):
            where[t.index(lab)] = i
        return where[ds.codes(x)]
    vals = ds.values(x)
    arr = np.asarray(levels, dtype=np.float64)
    idx = np.clip(np.searchsorted(arr, vals), 0, len(arr) - 1)
    return np.where(arr[idx] == vals, idx, -1)


def _categories(frame: pd.DataFrame, sv: Survey) -> pd.DataFrame:
    """A chunk's columns with each finite one's categories the levels present in the whole
    data (``rows.present`` on the whole table)."""
    import pandas as pd

    out = frame.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].cat.set_categories(sv.labels(c))
    return out


def _empty(sv: Survey) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({v: pd.Series([], dtype=object) for v in sv.names})


def _template(sv: Survey, names: list[str], rhs: str) -> pd.DataFrame:
    """A frame to build the model spec on: each finite column a Categorical of the levels
    present, each numeric one its distinct values where known (so that ``C(v)`` learns them
    all) or points of its range, cycled to a common length."""
    import pandas as pd

    cols: dict[str, Any] = {}
    for v in names:
        t = sv.types[v]
        if isinstance(t, FiniteType):
            cols[v] = sv.labels(v)
        else:
            nums = sv.numbers[v]
            lo, hi = sv.ranges[v]
            cols[v] = list(nums) if nums is not None else list(np.linspace(lo, hi, 7))
    size = max(3, *(len(c) for c in cols.values()))
    frame = {}
    for v, vals in cols.items():
        cyc = [vals[i % len(vals)] for i in range(size)]
        frame[v] = pd.Categorical(cyc, categories=vals) if isinstance(sv.types[v], FiniteType) \
            else np.asarray(cyc, dtype=np.float64)
    return pd.DataFrame(frame)
