"""The plug-in estimator: a query identified on the graph (back-door, front-door, ID/IDC), its
formula evaluated on the data's empirical frequencies, for finite variables. Its standard error
is the delta method's (the formula's gradient with respect to the joint table, by JAX, against
the multinomial covariance of the frequencies); a bootstrap resamples the count table (the
nonparametric bootstrap of the rows, for these statistics) and evaluates every replicate in
one vmapped call. A zero frequency is handled by the textbook positivity rule
(``backends.estimand_eval``): allowed where its weight is zero, an error naming the stratum
where it is not."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

from causaldsl.analysis.identify import Identification, identify
from causaldsl.backends.estimand_eval import CompiledQuery
from causaldsl.core.errors import DataError, QueryError
from causaldsl.core.types import FiniteType, Type
from causaldsl.estimation.data import Dataset, load_counts
from causaldsl.estimation.question import Mean, Question
from causaldsl.model.graph import ADMG
from causaldsl.syntax.query import Event, Prob


class _Term:
    """One mean compiled: the identified probability and how to read the mean off it."""

    def __init__(self, g: ADMG, m: Mean):
        if m.treated is not None:
            raise QueryError(f"{m.text}: the plug-in estimator takes interventional means, not "
                             "effects on the treated; use method gformula, ipw or aipw")
        self.mean = m
        where = tuple(Event(v, w) for v, w in m.where)
        do = (Event(m.treatment, m.value),)
        if m.outcome.var is not None:
            self.prob = Prob((Event(m.outcome.var),), do, where)
        else:
            self.prob = Prob(tuple(Event(v, y) for v, y in m.outcome.events), do, where)
        self.ident: Identification = identify(g, self.prob)

    def names(self) -> set[str]:
        return _needed(self.ident)

    def compile(self, names: tuple[str, ...], types: Mapping[str, FiniteType]) -> None:
        self.query = CompiledQuery(self.ident, names, types)
        self.weights = None
        if self.mean.outcome.var is not None:
            y = self.mean.outcome.var
            t = types[y]
            nums = t.numeric()
            if nums is None:
                raise DataError(f"{y} has labels that are not numbers ({t.listing}); ask "
                                f"P({y} = ...) instead of E[{y}]")
            self.weights = np.asarray(nums)

    def value(self, p: np.ndarray) -> float:
        arr = np.asarray(self.query.compiled(p))
        return float(arr @ self.weights) if self.weights is not None else float(arr)

    def gradient(self, p: np.ndarray) -> np.ndarray:
        jac = self.query.compiled.jacobian(p)
        return np.tensordot(self.weights, jac, axes=1) if self.weights is not None else jac

    def batch(self, ps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        arr, ok = self.query.compiled.defined_batch(ps)
        vals = arr @ self.weights if self.weights is not None else arr
        return vals, ok


def plugin_terms(g: ADMG, q: Question) -> list[_Term]:
    return [_Term(g, m) for m in q.means]


def columns(terms: list[_Term]) -> list[str]:
    return sorted(set().union(*(t.names() for t in terms)))


def cells(ds: Dataset, names: list[str]) -> int | None:
    """The joint table's size, or None when a column is not finite."""
    sizes = [ds.types[v].size for v in names]
    return None if any(s is None for s in sizes) else math.prod(s for s in sizes if s)


def run(g: ADMG, q: Question, data: Any, declared: Mapping[str, Type], *, level: float,
        bootstrap: int, seed: int, missing: str, terms: list[_Term] | None = None,
        ds: Dataset | None = None, progress: Callable[[int, int], None] | None = None
        ) -> tuple[float, float, tuple[float, float], dict[str, Any]]:
    """The value, standard error, interval and details of the plug-in estimate."""
    terms = terms if terms is not None else plugin_terms(g, q)
    names = tuple(columns(terms))
    ds = _finite((ds if ds is not None else load_counts(data, names, declared,
                                                         missing=missing)).discrete(), names,
                 "the plug-in estimator counts frequencies",
                 "use method gformula, ipw or aipw, or declare a finite type")
    types = {v: ds.types[v] for v in names}
    assert all(isinstance(t, FiniteType) for t in types.values())
    counts = ds.counts(list(names))
    n = ds.n
    p = counts / n
    coefs = np.array([t.mean.coef for t in terms])
    for t in terms:
        t.compile(names, types)  # type: ignore[arg-type]
    vals = np.array([t.value(p) for t in terms])
    grads = [t.gradient(p) for t in terms]
    value = float(coefs @ vals)

    def se_of(grad: np.ndarray) -> float:
        return float(np.sqrt(max((grad ** 2 * p).sum() - (grad * p).sum() ** 2, 0.0) / n))

    total = sum(c * gr for c, gr in zip(coefs, grads, strict=True))
    se = se_of(np.asarray(total))
    zq = NormalDist().inv_cdf(0.5 + level / 2)
    ci = (value - zq * se, value + zq * se)
    details: dict[str, Any] = {
        "se_delta": se, "n": n, "dropped": ds.dropped,
        "means": tuple((t.mean.text, float(v), se_of(gr))
                       for t, v, gr in zip(terms, vals, grads, strict=True)),
        "estimands": tuple((str(t.prob), t.ident.method, t.ident.formula()) for t in terms)}
    if bootstrap:
        rng = np.random.default_rng(seed)
        reps = rng.multinomial(n, p.ravel(), size=bootstrap).reshape(
            (bootstrap, *p.shape)) / n
        total_b = np.zeros(bootstrap)
        ok = np.ones(bootstrap, dtype=bool)
        for c, t in zip(coefs, terms, strict=True):
            v, good = t.batch(reps)
            total_b += c * v
            ok &= good
        if progress is not None:
            progress(bootstrap, bootstrap)
        if ok.sum() < 2:
            raise DataError(f"only {int(ok.sum())} of {bootstrap} bootstrap replicates have the "
                            "formula defined (a stratum empties when resampled): the data are "
                            "too sparse for the plug-in; use method aipw")
        se = float(np.std(total_b[ok], ddof=1))
        ci = (float(np.quantile(total_b[ok], 0.5 - level / 2)),
              float(np.quantile(total_b[ok], 0.5 + level / 2)))
        details.update(bootstrap=int(ok.sum()), bootstrap_failed=int((~ok).sum()))
    return value, se, ci, details


def evaluate_on_data(ident: Identification, data: Any, *, types: Mapping[str, Type] | None = None,
                     missing: str = "error") -> Any:
    """An identification's formula on a table's frequencies (``Identification.evaluate(df)``):
    the answer shaped as on a joint table, with the data's labels."""
    from causaldsl.backends.estimand_eval import evaluate_query

    names = sorted(_needed(ident))
    ds = _finite(load_counts(data, names, types or {}, missing=missing).discrete(), names,
                 f"evaluating {ident.query} on data counts frequencies",
                 "causaldsl.estimate(..., method='gformula' or 'aipw') fits models instead")
    joint = ds.counts(names) / ds.n
    return evaluate_query(ident, joint, names, {v: ds.types[v] for v in names})


def _needed(ident: Identification) -> set[str]:
    """The observed variables an identified formula and its query read."""
    q = ident.query
    return {n for t in ident.bound.terms() for n in (*t.vars, *t.given)} | {
        e.var for e in (*q.outcomes, *q.interventions, *q.evidence)}


def _finite(ds: Dataset, names: Sequence[str], what: str, advice: str) -> Dataset:
    """``ds`` when every column in ``names`` is finite, else a DataError naming the others."""
    cont = [v for v in names if not isinstance(ds.types[v], FiniteType)]
    if cont:
        raise DataError(f"{what}, so it needs finite variables; {', '.join(cont)} "
                        f"{'is' if len(cont) == 1 else 'are'} continuous in the data: {advice}")
    return ds
