"""IPW and AIPW from sums over data read in chunks (a large file, a Dask DataFrame): a
treatment with two levels has a logistic propensity model, one with k ≥ 3 a multinomial
logistic one (class 0 the reference), as in memory (``estimators.Problem.prop_family``).

The same stacked estimating equations as ``estimators.Estimator`` (the outcome models' scores
for AIPW, the propensity model's score ``z (t - e)``, and per mean ``num - den μ``), evaluated
pass by pass over the chunks with ``moments``' data layer and Newton loop: a pass for the
designs' Gram matrices (the rank checks; a linear outcome model's fit), Newton's method for
each logistic model (one pass a step), a pass at the fit for the means (``Σ num / Σ den``),
the bread's rows (below) and the overlap sums, and a pass for the meat ``Σ ψ ψᵀ``.

With ``e_l = softmax(η)_l``, ``η_0 = 0`` and ``η_j = zᵀγ_j`` (j = 1 … k-1; two levels:
``e_1 = σ(zᵀγ)``), a term at level l has the weight ``a = 1{T = l} h̃ / e_l`` (``h̃`` the
stratum, times ``e_t`` for the effect on the treated at t), so ``∂a/∂γ_j = a (c_tj - c_lj) z``
with ``c_lj = ∂ log e_l / ∂η_j = 1{l = j} - e_j`` (no ``c_t`` outside the treated; two levels:
``c_1 = 1 - e``, ``c_0 = -e``). The means' rows of the bread are then ``Σ a c (f - μ) ⊗ z``
(IPW), and ``Σ a c (f - m) ⊗ z`` and ``Σ (h - a) m' d`` (AIPW, m the outcome model at the
term's setting, m' its derivative in the linear predictor), with ``-Σ den`` on the diagonal;
the propensity's block is minus its information, ``Σ (diag(e₊) - e₊e₊ᵀ) ⊗ zzᵀ`` (``e₊`` the
k-1 non-reference propensities), coefficients laid out as ``glm.Family``'s, (z's column,
class) row-major."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import softmax

from causaldsl.core.errors import DataError, FitError, QueryError
from causaldsl.core.types import FiniteType, show_label
from causaldsl.estimation import design as D
from causaldsl.estimation import moments as M
from causaldsl.estimation import overlap as O
from causaldsl.estimation.estimators import Fit
from causaldsl.estimation.glm import Family, check_gram
from causaldsl.estimation.question import Question
from causaldsl.estimation.survey import Survey

if TYPE_CHECKING:
    from causaldsl.estimation.data import Dataset


@dataclass(frozen=True)
class Result:
    """The fit (means, stacked parameters, sandwich covariance), the models' column names,
    the outcome families (AIPW), the overlap diagnostics and warnings, and the treatment's
    levels (the propensity model's classes)."""

    fit: Fit
    columns: dict[str, list[str]]
    families: list[str]
    diagnostics: dict[str, Any]
    warnings: list[str]
    levels: int


class _Acc:
    """Named arrays summed over chunks (``+``), and some kept by minimum or maximum."""

    def __init__(self, **arrays: Any):
        self.a = arrays

    def __add__(self, o: _Acc) -> _Acc:
        out = {}
        for k, v in self.a.items():
            out[k] = max(v, o.a[k]) if k in ("scale", "pscale") else v + o.a[k]
        return _Acc(**out)

    def __getitem__(self, k: str) -> Any:
        return self.a[k]


class Weighting:
    """How a typed chunk becomes the weighting estimators' arrays."""

    def __init__(self, q: Question, sv: Survey, covariates: list[str], method: str,
                 outcome: str, propensity: str):
        self.q, self.sv, self.method = q, sv, method
        self.plan = M.Plan(q, sv, covariates, outcome if method == "aipw" else None,
                           weighting=True)
        self.prop = D.Design(propensity, self.plan.template, "propensity")
        self.covariates = covariates
        self.fams = [Family("logistic") if M.binary(sv, o) else Family("linear")
                     for o in self.plan.outcomes] if method == "aipw" else []
        self.oi = [self.plan.outcomes.index(m.outcome) for m in q.means]
        self.used = sorted(set(self.plan.term_levels) |
                           {t for t in self.plan.treated if t is not None})
        #: the propensity model's classes (two at least, as in memory: fewer is refused later)
        self.k = max(len(self.plan.levels), 2)

    def propensities(self, z: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The propensities (n, k) and ``c``, ``∂ log e_l / ∂η_j`` (n, k, k-1): logistic for
        two levels, else the multinomial's softmax with class 0 the reference."""
        if self.k == 2:
            e = M.sigmoid(z @ gamma)
            ee = np.stack([1 - e, e], axis=1)
        else:
            eta = z @ gamma.reshape(z.shape[1], self.k - 1)
            ee = softmax(np.concatenate([np.zeros((len(z), 1)), eta], axis=1), axis=1)
        return ee, np.eye(self.k)[None, :, 1:] - ee[:, None, 1:]

    def information(self, z: np.ndarray, ee: np.ndarray) -> np.ndarray:
        """The propensity model's Fisher information over some rows, ``Σ (diag(e₊) - e₊e₊ᵀ)
        ⊗ zzᵀ`` laid out as ``glm.Family.information``'s (two levels: ``Σ e(1 - e) zzᵀ``)."""
        if self.k == 2:
            e = ee[:, 1]
            return (z.T * (e * (1 - e))) @ z
        m, q = self.k - 1, z.shape[1]
        p = ee[:, 1:]
        out = np.empty((q, m, q, m))
        for i in range(m):
            for j in range(i, m):
                out[:, i, :, j] = out[:, j, :, i] = (z.T * (p[:, i] * ((i == j) - p[:, j]))) @ z
        return out.reshape(q * m, q * m)

    def scores(self, z: np.ndarray, ee: np.ndarray, lvl: np.ndarray) -> np.ndarray:
        """The propensity model's per-row scores ``(1{T = j} - e_j) ⊗ z`` (n, q (k-1))."""
        resid = (lvl[:, None] == np.arange(1, self.k)[None, :]) - ee[:, 1:]
        return (z[:, :, None] * resid[:, None, :]).reshape(len(z), -1)

    def extreme(self, ee: np.ndarray) -> int:
        """The rows with a fitted probability 0 or 1 (``glm.check_fit``'s count)."""
        if self.k == 2:
            e = ee[:, 1]
            return int(((e < 1e-9) | (e > 1 - 1e-9)).sum())
        return int(((ee < 1e-9) | (ee > 1 - 1e-9)).any(axis=1).sum())

    def base(self, ds: Dataset) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        """The outcome arrays (``Plan.arrays``), the propensity design and the level rows."""
        a = self.plan.arrays(ds)
        return a, self.prop.on(self.plan.frame(ds)), M.row_levels(ds, self.plan.x,
                                                                   self.plan.levels)

    def first(self, ds: Dataset) -> _Acc:
        """The outcome model's sums (``Plan.sums``) and the propensity design's ``ZᵀZ``."""
        z = self.prop.on(self.plan.frame(ds))
        return _Acc(s=self.plan.sums(ds), zz=z.T @ z)

    def newton(self, ds: Dataset, js: list[int], gammas: np.ndarray) -> np.ndarray:
        """The propensity model's information and score (``Plan.newton``'s layout)."""
        z = self.prop.on(self.plan.frame(ds))
        lvl = M.row_levels(ds, self.plan.x, self.plan.levels)
        ee, _ = self.propensities(z, gammas[0])
        score = self.scores(z, ee, lvl).sum(axis=0)
        return np.concatenate([self.information(z, ee)[None], score[None, :, None]], axis=2)

    def terms(self, a: dict[str, Any], z: np.ndarray, lvl: np.ndarray, betas: np.ndarray,
              gamma: np.ndarray) -> tuple[np.ndarray, list[dict[str, np.ndarray]]]:
        """The propensities (n, k), and per term its rows' num, den, weight a, ∂log a/∂η
        (n, k-1), and (AIPW) the outcome model's mean m and m' at the term's setting."""
        ee, c = self.propensities(z, gamma)
        out = []
        for k in range(len(self.q.means)):
            l_, t_ = self.plan.term_levels[k], self.plan.treated[k]
            h = a["h"][k]
            ht, dlog = a["where"][k], -c[:, l_]
            if t_ is not None:
                ht, dlog = ht * ee[:, t_], dlog + c[:, t_]
            with np.errstate(divide="ignore", invalid="ignore"):  # separation: said later
                w = (lvl == l_).astype(np.float64) * ht / ee[:, l_]
            f = a["fs"][self.oi[k]]
            row = {"a": w, "dlog": dlog, "f": f}
            if self.method == "ipw":
                row.update(num=w * f, den=w)
            else:
                j = self.oi[k]
                eta = a["d"][k] @ betas[j]
                if self.fams[j].name == "logistic":
                    mu = M.sigmoid(eta)
                    row.update(m=mu, dm=mu * (1 - mu))
                else:
                    row.update(m=eta, dm=np.ones_like(eta))
                row.update(num=h * row["m"] + w * (f - row["m"]), den=h)
            out.append(row)
        return ee, out

    def covariate_columns(self, ds: Dataset) -> tuple[list[np.ndarray], list[int | None]]:
        cols, sizes = [], []
        for c in self.covariates:
            t = ds.types[c]
            fin = isinstance(t, FiniteType)
            cols.append(ds.codes(c) if fin else ds.values(c))
            sizes.append(t.size if fin else None)
        return cols, sizes

    def at_fit(self, ds: Dataset, betas: np.ndarray, gamma: np.ndarray) -> _Acc:
        """A chunk's sums at the fit: per term Σ num, Σ den and the bread's rows; per model
        the information, the score and the rows with fitted probability 0 or 1, the largest
        ``|x|``; the overlap sums."""
        a, z, lvl = self.base(ds)
        ee, rows = self.terms(a, z, lvl, betas, gamma)
        x = a["design"]
        dg, db = [], []
        for k, r in enumerate(rows):
            if self.method == "ipw":
                dg.append(np.stack([_outer(r["a"] * r["f"], r["dlog"], z),
                                    _outer(r["a"], r["dlog"], z)]))
            else:
                dg.append(np.stack([_outer(r["a"] * (r["f"] - r["m"]), r["dlog"], z),
                                    np.zeros(z.shape[1] * (self.k - 1))]))
                db.append(((a["h"][k] - r["a"]) * r["dm"]) @ a["d"][k])
        info, score, extreme = [], [], []
        for j, fam in enumerate(self.fams):
            eta = x @ betas[j]
            if fam.name == "logistic":
                mu = M.sigmoid(eta)
                info.append((x.T * (mu * (1 - mu))) @ x)
                extreme.append(int(((mu < 1e-9) | (mu > 1 - 1e-9)).sum()))
            else:
                mu = eta
                info.append(x.T @ x)
                extreme.append(0)
            score.append(x.T @ (a["fs"][j] - mu))
        cols, sizes = self.covariate_columns(ds)
        p = x.shape[1]
        return _Acc(
            num=np.array([r["num"].sum() for r in rows]),
            den=np.array([r["den"].sum() for r in rows]),
            dg=np.stack(dg), db=np.stack(db) if db else np.zeros((len(rows), p)),
            info=np.stack(info) if info else np.zeros((0, p, p)),
            score=np.stack(score) if score else np.zeros((0, p)),
            extreme=np.array(extreme, dtype=np.int64),
            scale=float(np.abs(x).max()) if x.size else 0.0,
            pinfo=self.information(z, ee), pscore=self.scores(z, ee, lvl).sum(axis=0),
            pextreme=self.extreme(ee),
            pscale=float(np.abs(z).max()) if z.size else 0.0,
            overlap=O.sums(ee, lvl, self.used, cols, sizes))

    def meat(self, ds: Dataset, betas: np.ndarray, gamma: np.ndarray, means: np.ndarray,
             within: list[tuple[float, float] | None]) -> _Acc:
        """``Σ ψ ψᵀ`` over a chunk's rows, and the rows outside the range every arm covers."""
        a, z, lvl = self.base(ds)
        ee, rows = self.terms(a, z, lvl, betas, gamma)
        x = a["design"]
        cols = []
        for j, fam in enumerate(self.fams):
            eta = x @ betas[j]
            mu = M.sigmoid(eta) if fam.name == "logistic" else eta
            cols.append(x * (a["fs"][j] - mu)[:, None])
        cols.append(self.scores(z, ee, lvl))
        cols += [(r["num"] - r["den"] * means[k])[:, None] for k, r in enumerate(rows)]
        psi = np.concatenate(cols, axis=1)
        return _Acc(meat=psi.T @ psi,
                    out=O.outside(self.covariate_columns(ds)[0], within))


def weighting(data: Any, q: Question, sv: Survey, covariates: list[str], method: str,
              outcome: str, propensity: str) -> Result:
    """IPW or AIPW over the chunks of ``data`` (surveyed by ``sv``)."""
    w = Weighting(q, sv, covariates, method, outcome, propensity)
    plan = w.plan
    p, q_, k_ = len(plan.columns), len(w.prop.columns), len(q.means)
    g_ = q_ * (w.k - 1)  # the propensity model's coefficients
    j_ = len(plan.outcomes) if method == "aipw" else 0
    js = len(plan.outcomes)

    def over(each: Any, empty: Any) -> Any:
        return M.summed(data, sv, each, empty)

    empty_sums = M.Sums(np.zeros((p, p)), np.zeros((p, p)), np.zeros((js, p)),
                        np.zeros((k_, p)), np.zeros(k_), np.zeros(k_), False)
    first = over(w.first, _Acc(s=empty_sums, zz=np.zeros((q_, q_))))
    s = first["s"]
    for m, where in zip(q.means, s.where, strict=True):
        if m.where and not where:
            raise DataError(f"no row of {sv.source} is in the stratum "
                            f"{', '.join(f'{v} = {show_label(x)}' for v, x in m.where)} "
                            f"of {m.text}")
    if method == "aipw":
        if len(plan.settings) > 1 and not s.differ:
            raise QueryError(f"the outcome model {outcome.strip()!r} does not use the "
                             f"treatment {plan.x}, so it cannot tell the treatment's settings "
                             "apart")
        check_gram(s.gram_all, sv.n, "outcome", plan.columns)
    check_gram(first["zz"], sv.n, "propensity", w.prop.columns)
    if len(plan.levels) < 2:
        raise DataError(f"every row of {sv.source} has {plan.x} = {show_label(plan.levels[0])}"
                        ": weighting needs rows at two settings at least")
    betas = np.zeros((j_, p))
    if method == "aipw":
        betas = np.linalg.solve(s.gram, s.xty.T).T
        logistic = [j for j, f in enumerate(w.fams) if f.name == "logistic"]
        if logistic:
            betas[logistic] = M.newton(plan.newton, over, logistic, p)
    gamma = M.newton(w.newton, over, [0], g_)[0]
    t = over(lambda ds: w.at_fit(ds, betas, gamma), _empty_at_fit(w, j_, p, g_, k_))
    n = sv.n
    for j, fam in enumerate(w.fams):
        if fam.name == "logistic":
            M.check_logistic(t["score"][j], int(t["extreme"][j]), t["scale"], n, "outcome")
        elif not np.isfinite(betas[j]).all():
            raise FitError("the outcome model could not be fitted (a singular design)")
    M.check_logistic(t["pscore"], int(t["pextreme"]), t["pscale"], n, "propensity")
    means = t["num"] / t["den"]
    if not np.isfinite(means).all():
        raise DataError("the estimate is not a number: a stratum or a treatment level has no "
                        "weight in the data")
    ov = t["overlap"]
    within = O.bounds(ov)
    size = j_ * p + g_ + k_
    last = over(lambda ds: w.meat(ds, betas, gamma, means, within),
                _Acc(meat=np.zeros((size, size)), out=np.zeros(len(covariates), dtype=int)))
    bread = np.zeros((size, size))
    for j in range(j_):
        bread[j * p:(j + 1) * p, j * p:(j + 1) * p] = -t["info"][j] / n
    g0 = j_ * p
    bread[g0:g0 + g_, g0:g0 + g_] = -t["pinfo"] / n
    for k in range(k_):
        r = g0 + g_ + k
        dg = t["dg"][k]
        bread[r, g0:g0 + g_] = (dg[0] - means[k] * dg[1] if method == "ipw" else dg[0]) / n
        if method == "aipw":
            o = w.oi[k]
            bread[r, o * p:(o + 1) * p] = t["db"][k] / n
        bread[r, r] = -t["den"][k] / n
    inv = np.linalg.inv(bread)
    cov = inv @ (last["meat"] / n) @ inv.T / n
    theta = np.concatenate([betas.ravel(), gamma, means])
    labels = [show_label(v) if isinstance(sv.types[plan.x], FiniteType) else f"{v:g}"
              for v in plan.levels]
    diag, warnings = O.report(ov, last["out"], plan.x, w.used, labels, covariates,
                              [_all_labels(sv, c) for c in covariates])
    columns = {"propensity": list(w.prop.columns)}
    if method == "aipw":
        columns["outcome"] = list(plan.columns)
    return Result(Fit(means, theta, cov, None), columns, [f.name for f in w.fams], diag,
                  warnings, w.k)


def _outer(v: np.ndarray, dlog: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``Σ_i v_i dlog_i ⊗ z_i`` in the propensity coefficients' layout, (q (k-1),)."""
    return (z.T @ (v[:, None] * dlog)).ravel()


def _all_labels(sv: Survey, c: str) -> list[str] | None:
    """A finite covariate's type's labels as shown (the overlap report's levels; None for a
    numeric one)."""
    t = sv.types[c]
    return [show_label(v) for v in t.values] if isinstance(t, FiniteType) else None


def _empty_at_fit(w: Weighting, j_: int, p: int, g_: int, k_: int) -> _Acc:
    """``Weighting.at_fit``'s sums over no rows (``g_``: the propensity's coefficients)."""
    a_ = w.k
    cov_sizes = [_size(w.sv, c) for c in w.covariates]
    ov = O.Sums(np.zeros(len(w.used), dtype=int), np.full(len(w.used), np.inf),
                np.full(len(w.used), -np.inf), np.zeros(len(w.used)), np.zeros(len(w.used)),
                np.zeros(len(w.used), dtype=int), np.zeros(len(w.used), dtype=int),
                np.zeros((len(w.used), a_, O.BINS), dtype=np.int64), 0,
                tuple(None if s is None else np.zeros((s, a_), dtype=np.int64)
                      for s in cov_sizes),
                tuple(np.full(a_, np.inf) if s is None else None for s in cov_sizes),
                tuple(np.full(a_, -np.inf) if s is None else None for s in cov_sizes))
    return _Acc(num=np.zeros(k_), den=np.zeros(k_), dg=np.zeros((k_, 2, g_)),
                db=np.zeros((k_, p)), info=np.zeros((j_, p, p)), score=np.zeros((j_, p)),
                extreme=np.zeros(j_, dtype=np.int64), scale=0.0, pinfo=np.zeros((g_, g_)),
                pscore=np.zeros(g_), pextreme=0, pscale=0.0, overlap=ov)


def _size(sv: Survey, c: str) -> int | None:
    """A finite column's type's size (None: numeric)."""
    t = sv.types[c]
    return t.size if isinstance(t, FiniteType) else None
