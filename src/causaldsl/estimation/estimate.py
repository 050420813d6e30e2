"""``estimate``: a causal question answered from data, with its uncertainty.

The graph picks what may be adjusted for (the optimal back-door set where it is defined, a
minimal one otherwise, or the user's, checked); the data give the columns; the estimator
(``gformula``, ``ipw``, ``aipw``) fits its nuisance models and solves its estimating equations
(:mod:`causaldsl.estimation.estimators`); the standard error is the sandwich, or the spread of
a bootstrap. See docs/estimation.md."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

from causaldsl.analysis.adjustment import (
    _no_optimal_set,
    adjustment_admissible,
    find_adjustment_set,
    optimal_adjustment_set,
)
from causaldsl.analysis.identify import graph_of
from causaldsl.core.errors import DataError, QueryError
from causaldsl.core.progress import callback
from causaldsl.core.types import FiniteType, OpaqueType, Type, show_label
from causaldsl.estimation import chunks, plugin
from causaldsl.estimation import design as D
from causaldsl.estimation import overlap as O
from causaldsl.estimation import rows as R
from causaldsl.estimation.data import Dataset, load
from causaldsl.estimation.estimators import METHODS, Estimator, Problem, Term
from causaldsl.estimation.glm import Family, check_design, check_fit, family_for
from causaldsl.estimation.question import Question, read_question
from causaldsl.estimation.survey import Survey
from causaldsl.model.estimate import EffectEstimate
from causaldsl.model.graph import ADMG, show_set
from causaldsl.syntax.query import Prob

#: ``auto`` picks the plug-in when every variable is finite and the data hold at least this
#: many rows per cell of the joint table (on average); else a model-based estimator.
PER_CELL = 10

DESCRIBED = {"gformula": "g-formula (standardisation over an outcome model)",
             "ipw": "inverse probability weighting (stabilised)",
             "aipw": "augmented IPW (doubly robust)"}


def estimate(target: Any, query: str | Any, data: Any, *, method: str = "auto",
             adjust: Iterable[str] | None = None, outcome: str | None = None,
             propensity: str | None = None, level: float = 0.95, bootstrap: int = 0,
             seed: int = 0, missing: str = "error", trusted: bool = True,
             instrument: Iterable[str] | str | None = None,
             progress: bool | Callable[[int, int], None] | None = None) -> EffectEstimate:
    """``query`` (a mean, a probability of a value, or a difference of them, under
    ``do(X = x)``, optionally in a stratum ``W = w`` or among the treated) estimated from
    ``data`` on the graph of ``target`` (a CausalModel, an ADMG or a networkx DiGraph).

    ``method``: ``auto``, ``iv`` (two-stage least squares with ``instrument``, or every
    instrument the graph shows; a linear effect), ``plugin`` (the identified formula on
    frequencies: finite variables; any identification rule), ``gformula``, ``ipw`` or
    ``aipw`` (a back-door set). ``auto`` takes the plug-in where every variable is finite and
    the data have PER_CELL rows per cell of the joint table, or where no back-door set exists;
    else aipw for a discrete treatment, gformula for a continuous one. ``adjust``: the
    adjustment set (default: chosen from the graph). ``outcome`` / ``propensity``: Wilkinson
    formulas for the nuisance models (default: main effects). ``bootstrap``: replicates for
    the standard error and a percentile interval (default: the sandwich and a normal
    interval). ``trusted=False`` for formulas from text (they may not run code).
    ``progress=True`` shows the bootstrap's bar on standard error (or a callable is called
    with the replicates done and their total)."""
    if not 0 < level < 1:
        raise QueryError(f"level={level}: a confidence level is between 0 and 1, e.g. 0.95")
    if not isinstance(bootstrap, int) or bootstrap < 0 or bootstrap == 1:
        raise QueryError(f"bootstrap={bootstrap}: the number of replicates is 0 (none) or at "
                         "least 2")
    choices = ("auto", "plugin", *METHODS, "iv")
    if method not in choices:
        raise QueryError(f"unknown estimation method {method!r}; use one of "
                         f"{', '.join(choices)}")
    if progress is True or progress is False:
        if not progress or not bootstrap:
            progress = None
        else:
            report, shown = callback(bootstrap, "bootstrap", unit="replicate")
            try:
                return estimate(target, query, data, method=method, adjust=adjust,
                                outcome=outcome, propensity=propensity, level=level,
                                bootstrap=bootstrap, seed=seed, missing=missing,
                                trusted=trusted, instrument=instrument, progress=report)
            finally:
                shown.close()
    if missing == "censored" and method != "gformula":
        raise QueryError(f"missing='censored' keeps rows without an outcome for the g-formula "
                         f"to standardise over; method {method} cannot use them: use method "
                         "gformula, or missing='drop'")
    question = read_question(query)
    g, declared = _graph(target, question)
    x = question.treatment
    ys = question.outcomes
    att = any(m.treated is not None for m in question.means)
    if method == "iv":
        return _iv(g, question, data, declared, adjust, instrument, level, missing)
    if method == "plugin":
        return _plugin(g, question, data, declared, level, bootstrap, seed, missing, progress)
    if method == "auto" and adjust is None and not att and _no_backdoor(g, question):
        try:  # only the plug-in evaluates front-door and ID formulas
            return _plugin(g, question, data, declared, level, bootstrap, seed, missing,
                           progress)
        except DataError as e:
            if "needs finite variables" not in str(e):
                raise
            try:
                _adjustment(g, question, None)  # the reason there is no back-door set
            except QueryError as why:
                cont = str(e).split("; ", 1)[1].split(": use method")[0]
                raise QueryError(f"{why}; the plug-in evaluates the formula on frequencies, "
                                 f"but {cont} (declare finite types, or bin them)") from None
            raise  # pragma: no cover - _no_backdoor said there is no set
    z = _adjustment(g, question, adjust)
    covariates = list(g.sort(z | set(question.strata)))
    notes: list[str] = []
    if chunks.out_of_core(data) and method in ("auto", *METHODS):
        sv = None
        if method == "auto":
            sv = _survey(data, question, covariates, declared, missing)
            method = _auto(sv, question, covariates, adjust, att)
            if method == "plugin":
                return _plugin(g, question, data, declared, level, bootstrap, seed, missing,
                               progress)
        answer = _by_moments(g, question, data, declared, z, covariates, adjust, att, outcome,
                             trusted, missing, level, bootstrap, sv) if method == "gformula" \
            else _by_weighting(question, data, declared, z, g, covariates, method, outcome,
                               propensity, trusted, missing, level, bootstrap, sv)
        if isinstance(answer, EffectEstimate):
            return answer
        notes.append(f"{chunks.source_of(data)} was read into memory, not in chunks: "
                     f"{answer}")
    ds = load(data, [x, *ys, *covariates], declared, missing=missing, outcomes=ys)
    points = _continuous_strata(ds, question)
    if points:
        method, z = _at_points(g, question, points, method, adjust, att), \
            frozenset(question.strata)
        if set(covariates) != z:
            covariates = list(g.sort(z))
            ds = load(data, [x, *ys, *covariates], declared, missing=missing, outcomes=ys)
    if method == "auto":
        size = plugin.cells(ds.discrete(), [x, *ys, *covariates])
        if not att and adjust is None and size is not None and size * PER_CELL <= ds.n:
            return _plugin(g, question, data, declared, level, bootstrap, seed, missing,
                           progress)
        method = "aipw" if _discrete(ds, x) else "gformula"
    problem, names = _problem(method, question, ds, covariates, outcome, propensity, trusted)
    est = Estimator(problem)
    fit = est.fit()
    _check_fits(est, problem, fit, names)
    coefs = np.array([m.coef for m in question.means])
    value = float(fit.means @ coefs)
    se = float(np.sqrt(max(coefs @ fit.mean_cov() @ coefs, 0.0)))
    zq = NormalDist().inv_cdf(0.5 + level / 2)  # not scipy.stats: ~0.5 s to import
    ci = (value - zq * se, value + zq * se)
    details: dict[str, Any] = {"se_sandwich": se}
    if bootstrap:
        reps = est.bootstrap(bootstrap, seed, progress=None if progress is None else
                             (lambda k: progress(k, bootstrap)))
        vals = reps @ coefs
        ok = np.isfinite(vals)
        if ok.sum() < 2:
            raise DataError(f"only {int(ok.sum())} of {bootstrap} bootstrap replicates could be "
                            "fitted; the data are too sparse to resample")
        se = float(np.std(vals[ok], ddof=1))
        ci = (float(np.quantile(vals[ok], 0.5 - level / 2)),
              float(np.quantile(vals[ok], 0.5 + level / 2)))
        details.update(bootstrap=int(ok.sum()), bootstrap_failed=int((~ok).sum()))
    details["models"] = _models(problem, fit, names, question)
    diagnostics, warnings = _overlap(problem, fit, ds, x, covariates) \
        if fit.propensity is not None else ({}, [])
    warnings += _outside(lambda v: _range(ds.values(v)), question, points)
    return EffectEstimate(
        value, se, f"{method}, adjusting for {show_set(z)}" if z else f"{method}, no adjustment",
        query=str(question), method=method, described=DESCRIBED[method], ci=ci, level=level,
        n=ds.n, dropped=ds.dropped, censored=ds.censored or None, adjustment=tuple(g.sort(z)),
        means=_means(question, fit),
        diagnostics=diagnostics, warnings=tuple(notes + warnings),
        interval="bootstrap percentile" if bootstrap else "normal, sandwich standard error",
        **details)


def _range(col: np.ndarray) -> tuple[float, float]:
    return float(col.min()), float(col.max())


def _survey(data: Any, q: Question, covariates: list[str], declared: Mapping[str, Type],
            missing: str) -> Survey:
    """The first pass over data read in chunks: the columns typed and checked."""
    from causaldsl.estimation.survey import survey

    ys = list(q.outcomes)
    return survey(data, [q.treatment, *ys, *covariates], declared, missing=missing, outcomes=ys)


def _auto(sv: Survey, q: Question, covariates: list[str], adjust: Iterable[str] | None,
          att: bool) -> str:
    """``auto``'s choice made from the survey of data read in chunks, as it is made in memory:
    the g-formula at a point of a continuous stratum; the plug-in where every column is finite
    (a numeric one of at most 20 integers counting as finite, as ``Dataset.discrete``) with
    PER_CELL rows a cell; else aipw for a discrete treatment, gformula for a continuous one."""
    x = q.treatment
    if any(not isinstance(sv.types[v], FiniteType) for v in q.strata):
        return "gformula"  # checked by _by_moments (_at_points)
    size = 1
    for v in dict.fromkeys([x, *q.outcomes, *covariates]):
        s = _discrete_size(sv, v)
        if s is None:
            size = 0
            break
        size *= s or 1
    if not att and adjust is None and size and size * PER_CELL <= sv.n:
        return "plugin"
    nums = sv.numbers.get(x)
    discrete = isinstance(sv.types[x], FiniteType) or (nums is not None and
                                                       len(nums) <= R.MAX_LEVELS)
    return "aipw" if discrete else "gformula"


def _discrete_size(sv: Survey, v: str) -> int | None:
    """A column's size as ``Dataset.discrete`` types it (None: continuous)."""
    t = sv.types[v]
    if isinstance(t, FiniteType):
        return t.size
    nums = sv.numbers.get(v)
    if v not in sv.inferred or nums is None or len(nums) > 20 or \
            not all(u == round(u) for u in nums):
        return None
    return len(nums)


def _by_weighting(q: Question, data: Any, declared: Mapping[str, Type], z: frozenset[str],
                  g: ADMG, covariates: list[str], method: str, outcome: str | None,
                  propensity: str | None, trusted: bool, missing: str, level: float,
                  bootstrap: int, sv: Survey | None) -> EffectEstimate | str:
    """IPW or AIPW from sums over the chunks of ``data`` (``survey``, ``weighting``), or why
    it cannot be (then the caller reads the data whole)."""
    from causaldsl.estimation import moments, weighting

    if bootstrap:
        return "a bootstrap resamples rows, which needs them in memory"
    x = q.treatment
    cols = [x, *covariates]
    orhs = D.main_effects(cols) if outcome is None else D.right_side(outcome, q.outcomes)
    prhs = D.main_effects(covariates) if propensity is None else D.right_side(propensity, [x])
    if not trusted:  # before a pass over the data, in the in-memory order
        if outcome is not None and method == "aipw":
            D.check_safe(orhs, cols, "outcome")
        if propensity is not None:
            D.check_safe(prhs, covariates, "propensity")
    if sv is None:
        sv = _survey(data, q, covariates, declared, missing)
    points = [v for v in q.strata if not isinstance(sv.types[v], FiniteType)]
    if points:
        _at_points(g, q, points, method, None, False)  # refuses: weighting has no point
    why = (moments.unsupported(sv, orhs) if method == "aipw" else None) or \
        moments.unsupported(sv, prhs, "propensity")
    if why is not None:
        return why
    res = weighting.weighting(data, q, sv, covariates, method, orhs, prhs)
    fit = res.fit
    coefs = np.array([m.coef for m in q.means])
    value = float(fit.means @ coefs)
    se = float(np.sqrt(max(coefs @ fit.mean_cov() @ coefs, 0.0)))
    zq = NormalDist().inv_cdf(0.5 + level / 2)
    stub = Problem(method, (), tuple(Family(f) for f in res.families), None, (), None,
                   res.levels, None, ())
    models = _models(stub, fit, res.columns, q)
    passes = "a pass per Newton step of each logistic fit and three more" if res.levels == 2 \
        else "a pass per Newton step of each logistic or multinomial logistic fit and three more"
    return EffectEstimate(
        value, se, f"{method}, adjusting for {show_set(z)}" if z else f"{method}, no adjustment",
        query=str(q), method=method,
        described=f"{DESCRIBED[method]}, from sums over the data read in chunks, in {passes}",
        ci=(value - zq * se, value + zq * se), level=level, n=sv.n, dropped=sv.dropped,
        censored=None, adjustment=tuple(g.sort(z)), means=_means(q, fit),
        diagnostics=res.diagnostics, warnings=tuple(res.warnings),
        interval="normal, sandwich standard error", se_sandwich=se, models=models,
        read="in chunks")


def _by_moments(g: ADMG, q: Question, data: Any, declared: Mapping[str, Type],
                z: frozenset[str], covariates: list[str], adjust: Iterable[str] | None,
                att: bool, outcome: str | None, trusted: bool, missing: str, level: float,
                bootstrap: int, sv: Survey | None = None) -> EffectEstimate | str:
    """The g-formula from sums over the chunks of ``data`` (``survey``, ``moments``: a linear
    or logistic outcome model), or why it cannot be (then the caller reads the data whole)."""
    from causaldsl.estimation import moments

    if bootstrap:
        return "a bootstrap resamples rows, which needs them in memory"
    x = q.treatment
    if outcome is not None and not trusted:  # before a pass over the data
        D.check_safe(D.right_side(outcome, q.outcomes), [x, *covariates], "outcome")
    if sv is None:
        sv = _survey(data, q, covariates, declared, missing)
    points = [v for v in q.strata if not isinstance(sv.types[v], FiniteType)]
    if points:
        _at_points(g, q, points, "gformula", adjust, att)
        z = frozenset(q.strata)
        if set(covariates) != z:
            covariates = list(g.sort(z))
            sv = _survey(data, q, covariates, declared, missing)
    cols = [x, *covariates]
    rhs = D.main_effects(cols) if outcome is None else D.right_side(outcome, q.outcomes)
    if outcome is not None and not trusted:
        D.check_safe(rhs, cols, "outcome")
    why = moments.unsupported(sv, rhs)
    if why is not None:
        return why
    res = moments.gformula(data, q, sv, covariates, rhs)
    fit = res.fit
    coefs = np.array([m.coef for m in q.means])
    value = float(fit.means @ coefs)
    se = float(np.sqrt(max(coefs @ fit.mean_cov() @ coefs, 0.0)))
    zq = NormalDist().inv_cdf(0.5 + level / 2)
    stub = Problem("gformula", (), tuple(Family(f) for f in res.families), None, (), None, 2,
                   None, ())
    models = _models(stub, fit, {"outcome": res.columns}, q)
    passes = "three passes" if "logistic" not in res.families else \
        "a pass per Newton step of the logistic fit and three more"
    return EffectEstimate(
        value, se, f"gformula, adjusting for {show_set(z)}" if z else "gformula, no adjustment",
        query=str(q), method="gformula",
        described=f"{DESCRIBED['gformula']}, from sums over the data read in chunks, in {passes}",
        ci=(value - zq * se, value + zq * se),
        level=level, n=sv.n, dropped=sv.dropped, censored=sv.censored or None,
        adjustment=tuple(g.sort(z)), means=_means(q, fit), diagnostics={},
        warnings=tuple(_outside(lambda v: sv.ranges[v], q, points)),
        interval="normal, sandwich standard error", se_sandwich=se, models=models,
        read="in chunks")


def _plugin(g: ADMG, q: Question, data: Any, declared: Mapping[str, Type], level: float,
            bootstrap: int, seed: int, missing: str,
            progress: Callable[[int, int], None] | None) -> EffectEstimate:
    value, se, ci, details = plugin.run(g, q, data, declared, level=level, bootstrap=bootstrap,
                                        seed=seed, missing=missing, progress=progress)
    formulas = "; ".join(f"{p} = {f} (by {how})" for p, how, f in details["estimands"])
    return EffectEstimate(
        value, se, "plugin", query=str(q), method="plugin",
        described=f"plug-in of the identified formula on the data's frequencies: {formulas}",
        ci=ci, level=level, adjustment=(), interval="bootstrap percentile" if bootstrap else
        "normal, delta-method standard error", **details)


def _iv(g: ADMG, q: Question, data: Any, declared: Mapping[str, Type],
        adjust: Iterable[str] | None, instrument: Iterable[str] | str | None, level: float,
        missing: str) -> EffectEstimate:
    """Two-stage least squares with the named instruments (or every one the graph shows)."""
    from causaldsl.estimation import iv

    x, ys = q.treatment, list(q.outcomes)
    w = [] if adjust is None else ([adjust] if isinstance(adjust, str) else list(adjust))
    g.check([x, *ys, *w], str(q))
    delta = iv.contrast(q)
    if instrument is None:
        zs = iv.find_instruments(g, x, ys, w)
        if not zs:
            raise QueryError(f"{q}: the graph shows no instrument for {x} → {show_set(ys)}"
                             + (f" given {show_set(w)}" if w else "") + "; an instrument affects "
                             f"{x} and reaches {show_set(ys)} only through {x}")
    else:
        zs = [instrument] if isinstance(instrument, str) else list(instrument)
        g.check(zs, "instrument")
        why = iv.is_instrument(g, zs, x, ys, w)
        if why:
            raise QueryError(f"{show_set(zs)} is not an instrument for {x} → {show_set(ys)}"
                             + (f" given {show_set(w)}" if w else "") + f": {why}")
    ds = load(data, [x, *ys, *zs, *w], declared, missing=missing)
    cols = {v: _numeric(ds, v) for v in [x, *zs, *w, *ys]}
    zmat = np.column_stack([cols[v] for v in zs])
    wmat = np.column_stack([cols[v] for v in w]) if w else np.zeros((ds.n, 0))
    slope, se, info = iv.two_stage(cols[x], cols[ys[0]], zmat, wmat, [*zs, *w])
    value, se = slope * delta, abs(delta) * se
    zq = NormalDist().inv_cdf(0.5 + level / 2)
    warnings = []
    if info["first_stage_F"] < 10:
        warnings.append(f"weak instrument: the first stage's F is {info['first_stage_F']:.1f} "
                        "(below 10), so the estimate is biased towards the confounded one and "
                        "its interval too narrow")
    return EffectEstimate(
        value, se, "iv", query=str(q), method="iv",
        described=f"two-stage least squares with instrument{'s' if len(zs) > 1 else ''} "
                  f"{', '.join(zs)}, assuming Y is linear in X (the effect of a change of "
                  f"{delta:g} in {x})", ci=(value - zq * se, value + zq * se), level=level,
        n=ds.n, dropped=ds.dropped, adjustment=tuple(w), instrument=tuple(zs),
        interval="normal, sandwich standard error", warnings=tuple(warnings), **info)


def _numeric(ds: Dataset, v: str) -> np.ndarray:
    t = ds.types[v]
    if isinstance(t, FiniteType) and t.size == 2 and t.numeric() is None:
        return ds.codes(v).astype(np.float64)  # two labels: the second is 1
    return ds.values(v)


def _no_backdoor(g: ADMG, q: Question) -> bool:
    try:
        _adjustment(g, q, None)
    except QueryError:
        return True
    return False


# -- the graph ------------------------------------------------------------------------------


def _graph(target: Any, q: Question) -> tuple[ADMG, dict[str, Type]]:
    """The graph, and the types the model declares (a graph's nodes: none)."""
    from causaldsl.model.causal_model import CausalModel

    prob = Prob(tuple(_events(q)), ())
    g = graph_of(target, prob)
    declared: dict[str, Type] = {}
    if isinstance(target, CausalModel):
        declared = {v: t.type for v, t in target.variables.items()
                    if not isinstance(t.type, OpaqueType)}
    return g, declared


def _events(q: Question) -> list[Any]:
    from causaldsl.syntax.query import Event

    names = [q.treatment, *q.outcomes, *q.strata]
    return [Event(v) for v in dict.fromkeys(names)]


def _continuous_strata(ds: Dataset, q: Question) -> list[str]:
    """The strata whose variables are not finite: a stratum of one is a point."""
    return [v for v in q.strata if not isinstance(ds.types[v], FiniteType)]


def _at_points(g: ADMG, q: Question, points: list[str], method: str,
               adjust: Iterable[str] | None, att: bool) -> str:
    """The method for a question within strata of continuous covariates: the g-formula's
    prediction at the stratum, ``E[Y | do(X = x), W = w] = E[Y | X = x, W = w]``, which holds
    where the strata's variables alone are an adjustment set (no other covariate is then to be
    averaged over ``P(Z | W = w)``, which would need a model of its own)."""
    what = f"{q}: {show_set(points)} {'is' if len(points) == 1 else 'are'} continuous, so " \
        f"the stratum {'is' if len(points) == 1 else 'has'} a point"
    if method not in ("auto", "gformula") or att:
        raise QueryError(f"{what}, which only the outcome model's prediction answers (method "
                         "gformula, not the effect on the treated); or bin "
                         f"{show_set(points)} into a finite type")
    strata = frozenset(q.strata)
    if adjust is not None and not set([adjust] if isinstance(adjust, str) else adjust) <= strata:
        raise QueryError(f"{what}: the adjustment set is then the strata's variables "
                         f"{show_set(strata)}; leave adjust out")
    x, ys = q.treatment, frozenset(q.outcomes)
    if not adjustment_admissible(g, x, ys, strata):
        found = find_adjustment_set(g, x, ys)
        more = "" if found is None or not adjustment_admissible(g, x, ys, found | strata) \
            else f": condition on {show_set(sorted(found - strata))} too (one value each)"
        raise QueryError(f"{what}: its answer is the outcome model's prediction there, which "
                         f"needs the strata's variables {show_set(strata)} to be an adjustment "
                         f"set for the effect of {x} on {show_set(ys)}, and they are not"
                         f"{more}; or bin {show_set(points)} into a finite type")
    return "gformula"


def _outside(ranges: Callable[[str], tuple[float, float]], q: Question, points: list[str]
             ) -> list[str]:
    """A warning for each continuous stratum's value outside the data's range of it."""
    out = []
    for v, value in dict.fromkeys((v, w) for m in q.means for v, w in m.where if v in points):
        lo, hi = ranges(v)
        if not lo <= R.number(value, v) <= hi:
            out.append(f"{v} = {show_label(value)} is outside the data's range of {v} "
                       f"([{lo:g}, {hi:g}]): the answer extrapolates the outcome model")
    return out


def _adjustment(g: ADMG, q: Question, adjust: Iterable[str] | None) -> frozenset[str]:
    """The back-door set: the user's (checked), or the optimal set where it is defined and
    else a minimal one, with the strata the question conditions on."""
    x, ys, strata = q.treatment, frozenset(q.outcomes), frozenset(q.strata)
    g.check([x, *ys, *strata], str(q))
    if x in ys or x in strata:
        raise QueryError(f"{q}: {x} is both the treatment and an outcome or a stratum")
    if adjust is not None:
        z = frozenset([adjust] if isinstance(adjust, str) else adjust)
        g.check(z, "adjustment")
        if not adjustment_admissible(g, x, ys, z | strata):
            raise QueryError(f"{show_set(z | strata)} is not a valid adjustment set for the "
                             f"effect of {x} on {show_set(ys)} in this graph: it must block "
                             f"every non-causal path from {x} and contain no descendant of a "
                             f"node on a causal path (the adjustment criterion)")
        return z | strata
    found = None
    if not _no_optimal_set(g, frozenset({x}), ys):
        found = optimal_adjustment_set(g, x, ys)
    if found is None:
        found = find_adjustment_set(g, x, ys)
    if found is not None and adjustment_admissible(g, x, ys, found | strata):
        return found | strata
    if strata:
        raise QueryError(f"{q}: no adjustment set for the effect of {x} on {show_set(ys)} "
                         f"includes the strata {show_set(strata)}; estimate within strata "
                         f"of variables that {x} does not affect")
    from causaldsl.analysis.identify import identify

    p = Prob(tuple(_events_of(ys)), (_event(x),))
    ident = identify(g, p)  # NotIdentifiable, with the hedge, where nothing identifies it
    raise QueryError(f"{p} has no back-door adjustment set in this graph (it is identified by "
                     f"{ident.method}: {ident.formula()}); the estimators gformula, ipw and "
                     "aipw need one")


def _events_of(names: Iterable[str]) -> list[Any]:
    return [_event(v) for v in names]


def _event(v: str) -> Any:
    from causaldsl.syntax.query import Event

    return Event(v)


# -- the arrays -----------------------------------------------------------------------------


def _discrete(ds: Dataset, x: str) -> bool:
    return isinstance(ds.types[x], FiniteType) or \
        len(np.unique(ds.values(x))) <= R.MAX_LEVELS


def _problem(method: str, q: Question, ds: Dataset, covariates: list[str],
             outcome: str | None, propensity: str | None, trusted: bool
             ) -> tuple[Problem, dict[str, list[str]]]:
    x = q.treatment
    att = any(m.treated is not None for m in q.means)
    weighting = method in ("ipw", "aipw")
    levels, treatment = R.levels_of(ds, x, weighting or att)
    outcomes = list(dict.fromkeys(m.outcome for m in q.means))
    fs = [R.outcome_values(ds, o) for o in outcomes]
    families = tuple(family_for(f) for f in fs)
    frame = R.present(ds.frame[[x, *covariates]])
    names: dict[str, list[str]] = {}
    design = prop_design = None
    design_at: list[np.ndarray] = []
    terms = []
    values = []  # the treatment settings, by level index for the design's copies
    for m in q.means:
        if treatment is not None:
            lvl = R.level_of(levels, ds, x, m.value)
        else:
            v = R.number(m.value, x)
            if v not in values:
                values.append(v)
            lvl = values.index(v)
        treated = None if m.treated is None else R.level_of(levels, ds, x, m.treated)
        where = np.ones(ds.n)
        if any(not isinstance(ds.types[var], FiniteType) for var, _ in m.where):
            terms.append(Term(outcomes.index(m.outcome), lvl, where))  # at a point: below
            continue
        for var, value in m.where:
            where = where * R.indicator(ds, var, value)
        if not where.any():
            raise DataError(f"no row of {ds.source} is in the stratum "
                            f"{', '.join(f'{v} = {show_label(w)}' for v, w in m.where)} "
                            f"of {m.text}")
        terms.append(Term(outcomes.index(m.outcome), lvl, where, treated))
    if method in ("gformula", "aipw"):
        cols = [x, *covariates]
        rhs = D.main_effects(cols) if outcome is None else D.right_side(outcome, q.outcomes)
        if outcome is not None and not trusted:
            D.check_safe(rhs, cols, "outcome")
        dsg = D.Design(rhs, frame, "outcome")
        design, names["outcome"] = dsg.array, dsg.columns
        settings = levels if treatment is not None else values
        design_at = [dsg.at(R.set_value(frame, x, ds, v)) for v in settings]
        terms = [R.at_point(t, m, dsg, frame, ds) for t, m in zip(terms, q.means, strict=True)]
        if len(design_at) > 1 and all(np.array_equal(design_at[0], d) for d in design_at[1:]):
            raise QueryError(f"the outcome model {rhs.strip()!r} does not use the treatment "
                             f"{x}, so it cannot tell the treatment's settings apart")
    if weighting:
        rhs = D.main_effects(covariates) if propensity is None else \
            D.right_side(propensity, [x])
        if propensity is not None and not trusted:
            D.check_safe(rhs, covariates, "propensity")
        pd_ = D.Design(rhs, frame, "propensity")
        prop_design, names["propensity"] = pd_.array, pd_.columns
    prob = Problem(method, tuple(fs), families, design, tuple(design_at), treatment,
                   max(len(levels), 2), prop_design, tuple(terms), ds.observed)
    for what in ("outcome", "propensity"):
        arr = design if what == "outcome" else prop_design
        if arr is not None:
            check_design(arr, what, names[what])
    if weighting and len(levels) < 2:
        raise DataError(f"every row of {ds.source} has {x} = {show_label(levels[0])}: "
                        "weighting needs rows at two settings at least")
    return prob, names


def _check_fits(est: Estimator, p: Problem, fit: Any, names: Mapping[str, Sequence[str]]
                ) -> None:
    """The main fits converged and do not separate."""
    betas = est._betas if est._betas is not None else est.nuisances(np.ones(est.n))[0]
    if p.uses_outcome:
        assert p.design is not None
        seen = np.ones(est.n, dtype=bool) if p.observed is None else p.observed
        for j, fam in enumerate(p.families):
            check_fit(fam, p.design[seen], p.outcomes[j][seen], np.asarray(betas[j]), "outcome")
    if p.uses_propensity:
        assert p.prop_design is not None and p.treatment is not None
        check_fit(p.prop_family, p.prop_design, p.treatment, np.asarray(betas[-1]),
                  "propensity")
    if not np.isfinite(fit.means).all():
        raise DataError("the estimate is not a number: a stratum or a treatment level has no "
                        "weight in the data")


def _models(p: Problem, fit: Any, names: Mapping[str, Sequence[str]], q: Question
            ) -> dict[str, dict[str, tuple[float, float]]]:
    """The nuisance models' coefficients with their sandwich standard errors, by column."""
    se = np.sqrt(np.clip(np.diag(fit.cov), 0, None))
    out: dict[str, dict[str, tuple[float, float]]] = {}
    i = 0
    outcomes = list(dict.fromkeys(m.outcome for m in q.means))
    blocks: list[tuple[str, list[str]]] = []
    if p.uses_outcome:
        blocks += [(f"outcome {o} ({fam.name})", list(names["outcome"]))
                   for o, fam in zip(outcomes, p.families, strict=True)]
    if p.uses_propensity:
        cols = list(names["propensity"])
        k = p.prop_family.k
        label = f"propensity ({p.prop_family.name})"
        blocks.append((label, cols if k == 2 else
                       [f"{c} [level {j}]" for c in cols for j in range(1, k)]))
    for label, cols in blocks:
        out[label] = {c: (float(fit.theta[i + j]), float(se[i + j])) for j, c in enumerate(cols)}
        i += len(cols)
    return out


def _means(q: Question, fit: Any) -> tuple[tuple[str, float, float], ...]:
    cov = fit.mean_cov()
    return tuple((m.text, float(v), float(np.sqrt(max(cov[i, i], 0.0))))
                 for i, (m, v) in enumerate(zip(q.means, fit.means, strict=True)))


def _overlap(p: Problem, fit: Any, ds: Dataset, x: str, covariates: Sequence[str]
             ) -> tuple[dict[str, Any], list[str]]:
    """Propensity overlap (``overlap``): per treatment level used, the range of P(X = x | Z),
    the rows below OVERLAP, the effective sample size of the weighted arm and the share of
    weights above 1/0.05 = 20; a warning naming the covariates whose ranges differ between
    arms."""
    assert p.treatment is not None
    used = _used_levels(p.terms)
    cols: list[np.ndarray] = []
    sizes: list[int | None] = []
    levels: list[list[str] | None] = []
    for c in covariates:
        t = ds.types[c]
        if isinstance(t, FiniteType):
            cols.append(ds.codes(c))
            sizes.append(t.size)
            levels.append([show_label(v) for v in t.values])
        else:
            cols.append(ds.values(c))
            sizes.append(None)
            levels.append(None)
    s = O.sums(fit.propensity, p.treatment, used, cols, sizes)
    return O.report(s, O.outside(cols, O.bounds(s)), x, used, _level_labels(ds, x, p),
                    covariates, levels)


def _used_levels(terms: Sequence[Any]) -> list[int]:
    """The treatment levels the terms weight by: their levels and those they are treated at."""
    return sorted({t.level for t in terms} | {t.treated for t in terms if t.treated is not None})


def _level_labels(ds: Dataset, x: str, p: Problem) -> list[str]:
    t = ds.types[x]
    if isinstance(t, FiniteType):
        present = np.unique(ds.codes(x))
        return [show_label(t.values[i]) for i in present]
    return [f"{v:g}" for v in np.unique(ds.values(x))]
