"""Fitting a model's unknown tables and parameters to data: the entry point behind
``model.fit``, ``causal fit`` and the ``fit`` statement. ``exact`` is the conjugate posterior
(Dirichlet tables, Normal coefficients; no sampling); ``nuts`` and ``svi`` sample it in
NumPyro; ``mle`` gives maximum-likelihood estimates with bootstrap replicates. ``auto`` is
``exact`` where the model is conjugate given the data's columns, else ``nuts``."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from causaldsl.bayes.conjugate import (
    dirichlet_draws,
    frequencies,
    hidden_families,
    is_conjugate,
    posterior_concentrations,
)
from causaldsl.bayes.fitted import FittedModel
from causaldsl.bayes.gaussian import normal_posterior, not_conjugate
from causaldsl.bayes.inference import Diagnostics, max_likelihood, nuts, svi
from causaldsl.bayes.patterns import Patterns, observed_patterns, row_patterns
from causaldsl.core.checks import check_count, check_seed
from causaldsl.core.errors import FitError
from causaldsl.core.progress import announce, bar
from causaldsl.core.types import FiniteType
from causaldsl.estimation.data import columns_of
from causaldsl.ir.mechanism import Table, UnknownTable
from causaldsl.model.causal_model import CausalModel

METHODS = ("auto", "exact", "nuts", "svi", "mle")
#: The mass matrices NUTS may adapt for a model with parameters (as ``parametric.MASSES``,
#: which is imported only for a fit).
MASSES = ("auto", "dense", "diagonal")


def fit(model: CausalModel, data: Any, method: str = "auto", *, draws: int = 1000,
        warmup: int = 500, chains: int = 2, steps: int = 2000, bootstrap: int = 200,
        seed: int = 0, missing: str = "error", progress: bool = False,
        mass: str = "auto") -> FittedModel:
    """Learn ``model``'s unknown tables from ``data`` (a DataFrame, a mapping of columns, or
    a CSV, Parquet… file, columns matched to observed variables by name). ``mass``: the mass
    matrix NUTS adapts for a model with parameters, "dense", "diagonal" or "auto" (dense up
    to ``parametric.DENSE_MASS_MAX`` sampled dimensions)."""
    if not isinstance(model, CausalModel):
        raise FitError(f"fit takes a causal model, got {type(model).__name__}")
    if method not in METHODS:
        raise FitError(f"unknown fitting method {method!r}; the methods are "
                       f"{', '.join(METHODS)}")
    for what, k in (("draws", draws), ("warmup", warmup), ("chains", chains), ("steps", steps),
                    ("bootstrap", bootstrap)):
        check_count(what, k, 0 if what == "warmup" else 1)
    check_seed(seed)
    if mass not in MASSES:
        raise FitError(f"unknown mass matrix {mass!r}; NUTS adapts one of "
                       f"{', '.join(MASSES)}")
    if not model.unknown and not model.parameters:
        raise FitError(f"model {model.name} has nothing to learn: no table is declared "
                       "`unknown` and it has no `param` (docs/bayes.md)")
    if model.parameters:
        return _fit_parameters(model, data, method, draws, warmup, chains, seed, missing,
                               progress, bootstrap, steps, mass)
    _check_tables(model)
    patterns = observed_patterns(model, data, missing)
    conjugate = is_conjugate(model, patterns)
    if method == "auto":
        method = "exact" if conjugate else "nuts"
    if method == "exact" and not conjugate:
        hid = hidden_families(model, patterns)
        raise FitError(f"no closed form: the table{'s' if len(hid) > 1 else ''} of "
                       f"{', '.join(hid)} involve{'' if len(hid) > 1 else 's'} a variable the "
                       f"data do not show ({_hidden_names(model, patterns, hid)}); fit by nuts "
                       "or svi, which sum it out")
    rng = np.random.default_rng(seed)
    if method == "exact":
        t0 = time.perf_counter()
        conc = posterior_concentrations(model, patterns)
        out = {v: dirichlet_draws(a, draws, rng) for v, a in conc.items()}
        diag = Diagnostics("exact", draws, seconds=time.perf_counter() - t0)
        return FittedModel(model, out, patterns.names, patterns.n, diag, patterns.source,
                           concentration=conc)
    if method == "nuts":
        out, diag = nuts(model, patterns, draws, warmup, chains, seed, progress)
    elif method == "svi":
        out, diag = svi(model, patterns, draws, steps, seed, progress)
    else:
        return _mle(model, patterns, conjugate, bootstrap, steps, rng, seed, progress)
    return FittedModel(model, out, patterns.names, patterns.n, diag, patterns.source)


def _fit_parameters(model: CausalModel, data: Any, method: str, draws: int, warmup: int,
                    chains: int, seed: int, missing: str, progress: bool,
                    bootstrap: int, steps: int, mass: str = "auto") -> FittedModel:
    """The posterior of a model's parameters by NUTS, or maximum likelihood with a
    bootstrap."""
    from causaldsl.bayes.parametric import nuts_parameters

    if method == "mle":
        from causaldsl.bayes.parametric import mle_parameters

        if progress:  # replicates fitted at once: nothing to advance between them
            announce(f"fitting the data and {bootstrap} bootstrap replicates at once…")
        point, reps, diag, names, n, source = mle_parameters(model, data, bootstrap, seed,
                                                             missing)
        return FittedModel(model, reps, names, n, diag, source,
                           point={p: np.asarray(v) for p, v in point.items()})
    if method == "svi":
        from causaldsl.bayes.parametric import svi_parameters

        out, diag, names, n, source = svi_parameters(model, data, draws, steps, seed, missing,
                                                     progress)
        return FittedModel(model, out, names, n, diag, source)
    if method in ("auto", "exact"):
        reasons = not_conjugate(model, tuple(v for v in model.observed if v in columns_of(data)))
        if not reasons:
            return _exact_parameters(model, data, draws, seed, missing)
        if method == "exact":
            raise FitError(f"no closed form for the posterior of {model.name}: "
                           f"{'; '.join(reasons)}; fit by nuts (or svi, mle)")
    out, diag, names, n, source = nuts_parameters(model, data, draws, warmup, chains, seed,
                                                  missing, progress, mass)
    return FittedModel(model, out, names, n, diag, source)


def _exact_parameters(model: CausalModel, data: Any, draws: int, seed: int, missing: str
                      ) -> FittedModel:
    """The closed-form posterior: Normal for the coefficients (Bayesian linear regression),
    Dirichlet for the unknown tables, independent draws of each; no sampling chain."""
    from causaldsl.bayes.parametric import observed_data

    t0 = time.perf_counter()
    names, values, n, source = observed_data(model, data, missing)
    rng = np.random.default_rng(seed)
    normal = normal_posterior(model, values, n)
    out = normal.draws(draws, rng)
    conc = None
    if model.unknown:
        types = {v: t for v in names if isinstance(t := model.variables[v].type, FiniteType)}
        patterns, _ = row_patterns(tuple(types), tuple(types.values()),
                                   {v: np.asarray(values[v]) for v in types}, source)
        conc = posterior_concentrations(model, patterns)
        out.update({v: dirichlet_draws(a, draws, rng) for v, a in conc.items()})
    diag = Diagnostics("exact", draws, seconds=time.perf_counter() - t0)
    return FittedModel(model, out, names, n, diag, source, concentration=conc, normal=normal)


def _mle(model: CausalModel, patterns: Patterns, conjugate: bool, bootstrap: int,
         steps: int, rng: np.random.Generator, seed: int, progress: bool = False
         ) -> FittedModel:
    """Maximum-likelihood tables and ``bootstrap`` replicates (rows resampled with
    replacement): closed form where every family is observed, else by optimisation."""
    t0 = time.perf_counter()
    n = patterns.n
    reps = rng.multinomial(n, patterns.counts / n, size=bootstrap).astype(np.float64)
    if conjugate:
        point = frequencies(model, patterns, strict=True)
        draws: dict[str, list[np.ndarray]] = {v: [] for v in model.unknown}
        with bar(bootstrap, "bootstrap", unit="replicate", on=progress) as advance:
            for r in reps:
                for v, a in frequencies(model, patterns.resampled(r), strict=False).items():
                    draws[v].append(a)
                advance(1)
        out = {v: np.stack(a) for v, a in draws.items()}
    else:
        if progress:  # one vectorised optimisation: nothing to advance between replicates
            announce(f"fitting the data and {bootstrap} bootstrap replicates at once "
                     f"({steps} steps)…")
        both = max_likelihood(model, patterns, np.vstack([patterns.counts[None], reps]),
                              steps, seed)
        point = {v: a[0] for v, a in both.items()}
        out = {v: a[1:] for v, a in both.items()}
    diag = Diagnostics("mle", bootstrap, seconds=time.perf_counter() - t0)
    return FittedModel(model, out, patterns.names, patterns.n, diag, patterns.source,
                       point=point)


def _check_tables(model: CausalModel) -> None:
    """Fitting tables needs a finite model of tables: a FitError naming what is not."""
    for name, v in model.variables.items():
        if not isinstance(v.type, FiniteType):
            raise FitError(f"{name} is continuous; fitting learns tables of finite variables "
                           "(unknown coefficients in equations are not supported yet)")
        if not isinstance(v.mechanism, Table | UnknownTable):
            raise FitError(f"{name} has no table ({v.mechanism}); fitting needs a table, known "
                           "or `unknown`, for every variable")


def _hidden_names(model: CausalModel, patterns: Patterns, families: list[str]) -> str:
    seen = set(patterns.names)
    hid = dict.fromkeys(x for v in families for x in (*model.variables[v].parents, v)
                        if x not in seen)
    return ", ".join(hid)
