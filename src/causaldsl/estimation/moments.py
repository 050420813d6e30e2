"""The g-formula from sums over data read in chunks (a large file, a Dask DataFrame).

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

A 0/1 outcome's model is logistic, which no fixed set of moments fits: Newton's method (IRLS)
takes one pass a step (the information ``Xᵀ diag(μ(1 - μ)) X`` and the score summed over the
chunks), from zero and with ``glm.Family.fit``'s stopping rule, so it ends where the in-memory
fit ends; a pass at the fit then sums each mean ``Σ h σ(dᵀβ)`` and its Jacobian
``Σ h σ'(dᵀβ) d`` (and the checks for separation), and a last one the meat.

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
from causaldsl.estimation.glm import NEWTON_STEPS, NEWTON_TOL, Family, check_gram
from causaldsl.estimation.question import Outcome, Question
from causaldsl.estimation.survey import Survey

if TYPE_CHECKING:
    import pandas as pd


def unsupported(sv: Survey, rhs: str, what: str = "outcome") -> str | None:
    """Why the ``what`` formula cannot be evaluated chunk by chunk (None: it can): a transform
    that learns from the data, or ``C(v)`` of a numeric column with too many values to list."""
    funcs, categorical = D.calls(rhs)
    learnt = sorted(funcs & D.LEARNT)
    if learnt:
        return (f"the {what} formula uses {', '.join(learnt)}, whose state formulaic learns "
                "from the rows it is built on")
    wide = sorted(v for v in categorical if v in sv.numbers and sv.numbers[v] is None)
    if wide:
        return f"the {what} formula makes {', '.join(wide)} categorical, which has too many values"
    return None


def binary(sv: Survey, o: Outcome) -> bool:
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
    """How every chunk becomes arrays: the outcome model's spec (None: no outcome model, as
    for IPW), the treatment's settings and levels (``weighting``: always levels, as IPW and
    AIPW need), and the terms."""

    def __init__(self, q: Question, sv: Survey, covariates: list[str], rhs: str | None,
                 weighting: bool = False):
        self.q, self.sv, self.x = q, sv, q.treatment
        self.covariates = covariates
        self.head = Dataset(_empty(sv), dict(sv.types), sv.source, 0, sv.inferred)
        x = self.x
        att = any(m.treated is not None for m in q.means) or weighting
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
        #: a frame holding every level, for the model specs (see the module's docstring)
        self.template = _template(sv, [x, *covariates])
        self.design = None if rhs is None else D.Design(rhs, self.template, "outcome")
        self.columns = [] if self.design is None else self.design.columns
        self.at: list[np.ndarray | None] = [self._point(m) for m in q.means]

    def _point(self, m: Any) -> np.ndarray | None:
        """A mean at a point of continuous strata: the design row there (``rows.at_point``)."""
        if all(isinstance(self.sv.types[v], FiniteType) for v, _ in m.where):
            return None
        assert self.design is not None  # a point: the g-formula only
        row = _template(self.sv, [self.x, *self.covariates]).iloc[:1]
        row = R.set_value(row, m.treatment, self.head, m.value)
        for var, value in m.where:
            fin = isinstance(self.sv.types[var], FiniteType)
            if fin:
                R.position(self.head, var, value)
            row = R.set_value(row, var, self.head, value if fin else R.number(value, var))
        return self.design.at(row)[0]

    def arrays(self, ds: Dataset, terms: bool = True) -> dict[str, Any]:
        """A typed chunk's arrays: the design, the rows with an outcome, the outcome values,
        and (``terms``) the design at each setting and each mean's population h, its design
        rows d and its strata's rows."""
        frame = self.frame(ds)
        dsg = self.design
        design = np.zeros((len(frame), 0)) if dsg is None else dsg.on(frame)
        seen = np.ones(len(frame), bool) if ds.observed is None else np.asarray(ds.observed)
        fs = [R.outcome_values(ds, o) for o in self.outcomes]
        out: dict[str, Any] = {"design": design, "seen": seen, "fs": fs}
        if not terms:
            return out
        at = [] if dsg is None else \
            [dsg.at(R.set_value(frame, self.x, ds, v)) for v in self.settings]
        level = row_levels(ds, self.x, self.levels) if any(
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
                       else at[self.term_levels[k]] if at else design)
        differ = len(at) > 1 and not all(np.array_equal(at[0], d) for d in at[1:])
        out.update(h=hs, where=wheres, d=ds_, differ=differ)
        return out

    def frame(self, ds: Dataset) -> pd.DataFrame:
        """A typed chunk's treatment and covariates, finite ones with the whole data's levels."""
        return _categories(ds.frame[[self.x, *self.covariates]], self.sv)

    def sums(self, ds: Dataset) -> Sums:
        a = self.arrays(ds)
        x, seen = a["design"], a["seen"]
        xo = x[seen]
        return Sums(xo.T @ xo, x.T @ x, np.stack([xo.T @ f[seen] for f in a["fs"]]),
                    np.stack([h @ d for h, d in zip(a["h"], a["d"], strict=True)]),
                    np.array([h.sum() for h in a["h"]]),
                    np.array([w.sum() for w in a["where"]]), a["differ"])

    def newton(self, ds: Dataset, js: list[int], betas: np.ndarray) -> np.ndarray:
        """A chunk's logistic information ``Xᵀ diag(μ(1 - μ)) X`` and score ``Xᵀ(y - μ)`` over
        the rows with an outcome, for the outcomes ``js`` at ``betas``: (len(js), p, p + 1),
        the score as the last column."""
        a = self.arrays(ds, terms=False)
        xo = a["design"][a["seen"]]
        info, grad = [], []
        for j, beta in zip(js, betas, strict=True):
            mu = sigmoid(xo @ beta)
            info.append((xo.T * (mu * (1 - mu))) @ xo)
            grad.append(xo.T @ (a["fs"][j][a["seen"]] - mu))
        return np.concatenate([np.stack(info), np.stack(grad)[:, :, None]], axis=2)

    def at_fit(self, ds: Dataset, betas: np.ndarray, fams: list[Family]) -> _AtFit:
        """A chunk's sums at the fit: per mean ``Σ h m(dᵀβ)``, ``Σ h`` and ``Σ h m'(dᵀβ) d``
        (the means and their row of the bread); per outcome the information, the score and
        the rows with fitted probability 0 or 1 (``glm.check_fit``), and the largest
        ``|x|``."""
        a = self.arrays(ds)
        x, seen = a["design"], a["seen"]
        xo = x[seen]
        hm, hd = [], []
        for k, m in enumerate(self.q.means):
            j = self.outcomes.index(m.outcome)
            eta = a["d"][k] @ betas[j]
            if fams[j].name == "logistic":
                mu = sigmoid(eta)
                hm.append(a["h"][k] @ mu)
                hd.append((a["h"][k] * mu * (1 - mu)) @ a["d"][k])
            else:
                hm.append(a["h"][k] @ eta)
                hd.append(a["h"][k] @ a["d"][k])
        info, score, extreme = [], [], []
        for j, fam in enumerate(fams):
            if fam.name == "logistic":
                mu = sigmoid(xo @ betas[j])
                info.append((xo.T * (mu * (1 - mu))) @ xo)
                extreme.append(int(((mu < 1e-9) | (mu > 1 - 1e-9)).sum()))
            else:
                mu = xo @ betas[j]
                info.append(xo.T @ xo)
                extreme.append(0)
            score.append(xo.T @ (a["fs"][j][seen] - mu))
        return _AtFit(np.array(hm), np.array([h.sum() for h in a["h"]]), np.stack(hd),
                      np.stack(info), np.stack(score), np.array(extreme),
                      float(np.abs(xo).max()) if xo.size else 0.0)

    def meat(self, ds: Dataset, betas: np.ndarray, means: np.ndarray,
             fams: list[Family]) -> np.ndarray:
        """``Σ ψ_i ψ_iᵀ`` over a chunk's rows: the stacked estimating functions at the fit."""
        a = self.arrays(ds)
        x, seen = a["design"], a["seen"]

        def mean(j: int, rows: np.ndarray) -> np.ndarray:
            eta = rows @ betas[j]
            return sigmoid(eta) if fams[j].name == "logistic" else eta

        cols = [x * ((f - mean(j, x)) * seen)[:, None] for j, f in enumerate(a["fs"])]
        cols += [(h * (mean(self.outcomes.index(m.outcome), d) - means[k]))[:, None]
                 for k, (m, h, d) in enumerate(zip(self.q.means, a["h"], a["d"], strict=True))]
        psi = np.concatenate(cols, axis=1)
        return psi.T @ psi


@dataclass(frozen=True)
class _AtFit:
    """``Plan.at_fit``'s sums."""

    hm: np.ndarray
    h: np.ndarray
    hd: np.ndarray
    info: np.ndarray
    score: np.ndarray
    extreme: np.ndarray
    scale: float

    def __add__(self, o: _AtFit) -> _AtFit:
        return _AtFit(self.hm + o.hm, self.h + o.h, self.hd + o.hd, self.info + o.info,
                      self.score + o.score, self.extreme + o.extreme, max(self.scale, o.scale))


def sigmoid(t: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow."""
    return np.exp(-np.logaddexp(0.0, -t))


@dataclass(frozen=True)
class Result:
    """The fit (``estimators.Fit``: means, stacked parameters, sandwich covariance) and the
    outcome model's column names."""

    fit: Fit
    columns: list[str]
    families: list[str]


def gformula(data: Any, q: Question, sv: Survey, covariates: list[str], rhs: str) -> Result:
    """The g-formula over the chunks of ``data`` (surveyed by ``sv``): a linear outcome model in two passes; a
    logistic one (a 0/1 outcome) by Newton's method (IRLS), one pass a step, then a pass for
    the means and one for the sandwich's meat."""
    plan = Plan(q, sv, covariates, rhs)
    p, j_, k_ = len(plan.columns), len(plan.outcomes), len(q.means)
    fams = [Family("logistic") if binary(sv, o) else Family("linear") for o in plan.outcomes]

    def over(each: Any, empty: Any) -> Any:
        return summed(data, sv, each, empty)

    s = over(plan.sums, Sums(np.zeros((p, p)), np.zeros((p, p)), np.zeros((j_, p)),
                             np.zeros((k_, p)), np.zeros(k_), np.zeros(k_), False))
    for m, w in zip(q.means, s.where, strict=True):
        if m.where and not w and all(isinstance(sv.types[v], FiniteType) for v, _ in m.where):
            raise DataError(f"no row of {sv.source} is in the stratum "
                            f"{', '.join(f'{v} = {show_label(x)}' for v, x in m.where)} "
                            f"of {m.text}")
    if len(plan.settings) > 1 and not s.differ:
        raise QueryError(f"the outcome model {rhs.strip()!r} does not use the treatment "
                         f"{plan.x}, so it cannot tell the treatment's settings apart")
    check_gram(s.gram_all, sv.n, "outcome", plan.columns)
    betas = np.linalg.solve(s.gram, s.xty.T).T  # (J, p); the logistic rows are replaced
    info = {j: s.gram for j in range(j_)}
    logistic = [j for j, f in enumerate(fams) if f.name == "logistic"]
    if logistic:
        betas[logistic] = newton(plan.newton, over, logistic, p)
    if not np.isfinite(betas).all():
        which = "separates the data" if logistic else "could not be fitted (a singular design)"
        raise FitError(f"the outcome model {which}")
    oi = [plan.outcomes.index(m.outcome) for m in q.means]
    if logistic:
        t = over(lambda ds: plan.at_fit(ds, betas, fams),
                 _AtFit(np.zeros(k_), np.zeros(k_), np.zeros((k_, p)),
                        np.zeros((j_, p, p)), np.zeros((j_, p)), np.zeros(j_, int), 0.0))
        for j in logistic:
            check_logistic(t.score[j], int(t.extreme[j]), t.scale, sv.n - sv.censored,
                           "outcome")
            info[j] = t.info[j]
        means, h, hd = t.hm / t.h, t.h, t.hd
    else:
        means = np.array([s.hd[k] @ betas[oi[k]] / s.h[k] for k in range(k_)])
        h, hd = s.h, s.hd
    if not np.isfinite(means).all():
        raise DataError("the estimate is not a number: a stratum or a treatment level has no "
                        "weight in the data")
    size = j_ * p + k_
    meat = over(lambda ds: plan.meat(ds, betas, means, fams), np.zeros((size, size)))
    n = sv.n
    bread = np.zeros((size, size))
    for j in range(j_):
        bread[j * p:(j + 1) * p, j * p:(j + 1) * p] = -info[j] / n
    for k in range(k_):
        bread[j_ * p + k, oi[k] * p:(oi[k] + 1) * p] = hd[k] / n
        bread[j_ * p + k, j_ * p + k] = -h[k] / n
    inv = np.linalg.inv(bread)
    cov = inv @ (meat / n) @ inv.T / n
    theta = np.concatenate([betas.ravel(), means])
    return Result(Fit(means, theta, cov, None), plan.columns, [f.name for f in fams])


def summed(data: Any, sv: Survey, each: Any, empty: Any) -> Any:
    """``each(typed chunk)`` summed (``+``) over the chunks of ``data``, typed by ``sv``
    (``empty`` for a chunk with no rows kept)."""
    def one(chunk: pd.DataFrame) -> Any:
        ds = sv.typed(chunk)
        return each(ds) if len(ds.frame) else empty
    return chunks.reduce(data, sv.names, one, _add)


def _add(a: Any, b: Any) -> Any:
    return a + b


def newton(step: Any, over: Any, logistic: list[int], p: int) -> np.ndarray:
    """Logistic models' maximum-likelihood fits by Newton's method from zero, one pass over
    the data a step (``step(chunk, models, betas)``: a chunk's information
    ``Xᵀ diag(μ(1 - μ)) X`` and score ``Xᵀ(y - μ)`` per model, as ``Plan.newton`` gives them,
    summed over the chunks; or a multinomial's, its p coefficients all classes' together, as
    ``weighting.Weighting.newton`` gives them), stopping as ``glm.Family.fit`` does: after a
    step that moves no coefficient by more than NEWTON_TOL (relative), or NEWTON_STEPS steps.
    ``logistic``: the models' indices as ``step`` knows them."""
    betas = np.zeros((len(logistic), p))
    moved = np.full(len(logistic), np.inf)
    for _ in range(NEWTON_STEPS):
        going = [i for i in range(len(logistic)) if moved[i] > NEWTON_TOL]  # NaN stops too
        if not going:
            break
        js = [logistic[i] for i in going]
        now = betas[going]
        both = over(lambda ds, js=js, now=now: step(ds, js, now),
                    np.zeros((len(js), p, p + 1)))
        for i, inf_, g in zip(going, both[:, :, :p], both[:, :, p], strict=True):
            try:
                delta = np.linalg.solve(inf_, g)
            except np.linalg.LinAlgError:
                delta = np.full(p, np.nan)
            betas[i] = betas[i] + delta
            moved[i] = np.max(np.abs(delta) / np.maximum(1.0, np.abs(betas[i])))
    return betas


def check_logistic(score: np.ndarray, extreme: int, scale: float, n: int, what: str) -> None:
    """``glm.check_fit`` from sums (the score at the fit, the rows with fitted probability 0
    or 1, the largest ``|x|``): the score not ~0 at the fit, or fitted probabilities of 0 or
    1, is separation (the maximum-likelihood fit does not exist)."""
    scale = max(1.0, float(scale))
    if not np.isfinite(score).all() or np.abs(score).max() > 1e-6 * n * scale or extreme:
        raise FitError(f"the {what} model separates the data perfectly (or nearly: "
                       f"{extreme} rows have fitted probability 0 or 1), so its "
                       "maximum-likelihood fit does not exist; merge sparse levels, drop the "
                       "covariate that separates, or use fewer covariates")


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
    return [float(v) for v in nums]  # as rows.levels_of, so that messages show 1.0


def row_levels(ds: Dataset, x: str, levels: Sequence[Label]) -> np.ndarray:
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


def _template(sv: Survey, names: list[str]) -> pd.DataFrame:
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
