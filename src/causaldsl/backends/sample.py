"""The sampling backend: queries answered by compiled NumPyro programs, with their Monte Carlo
error, or exactly where a closed form exists.

Routes: ``closed`` (linear-Gaussian, exact), ``forward`` (ancestral sampling, no evidence),
``importance`` (likelihood weighting: evidence sites observed, weights their density), and
``nuts`` (MCMC on the continuous latents given the evidence). Each query shape compiles once:
the jitted sampler (or the MCMC kernel) is cached and reused for new values and seeds. The
sample plate is split across all JAX devices when there are several.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from numpyro.distributions import Normal
from numpyro.distributions.distribution import ExpandedDistribution
from numpyro.handlers import seed as seed_handler
from numpyro.handlers import trace
from numpyro.primitives import Messenger

from causaldsl.backends import jax64
from causaldsl.backends.chunks import chunk_count, chunk_sums, chunking, pooled
from causaldsl.backends.closed import condition, gaussian
from causaldsl.backends.program import ABDUCTED, Program, indices, is_flag
from causaldsl.backends.reparam import reparameterise
from causaldsl.core.checks import SEEDS, available_memory, check_count, check_seed
from causaldsl.core.errors import QueryError, ZeroProbabilityError
from causaldsl.core.memo import cached_on
from causaldsl.core.progress import announce, bar
from causaldsl.core.types import FiniteType
from causaldsl.ir.mechanism import ExprMechanism
from causaldsl.model.causal_model import CausalModel
from causaldsl.model.checks import check_query
from causaldsl.model.distribution import do_axis, table_kind
from causaldsl.model.estimate import (
    Estimate,
    SampledBatch,
    SampledDistribution,
    SampledExpectations,
    combine,
)
from causaldsl.syntax.query import (
    Event,
    Expect,
    Linear,
    Prob,
    batch_columns,
    bind,
    density_error,
    not_numeric_error,
    open_continuous_error,
    parse_query,
    table_term_error,
)
from causaldsl.syntax.tree import DistCall

jax64.jax()  # float64, as in the exact backend, and compiled programs kept across processes

METHODS = ("closed", "forward", "importance", "nuts")
ROUTES = {"closed": "exact: closed form, linear-Gaussian", "forward": "forward sampling",
          "importance": "importance sampling", "nuts": "NUTS"}


@dataclass(frozen=True)
class Options:
    """How to sample: the route (None: choose), seed, sample count, NUTS settings."""

    method: str | None = None
    seed: int = 0
    samples: int | None = None
    warmup: int = 500
    chains: int = 2
    progress: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "seed", check_seed(self.seed))  # a NumPy integer as an int
        if self.method is not None and self.method not in METHODS:
            raise QueryError(f"unknown sampling method {self.method!r}; the methods are "
                             f"{', '.join(METHODS)}")
        if self.samples is not None:
            check_count("samples", self.samples, 2)
        check_count("warmup", self.warmup, 0)
        check_count("chains", self.chains, 1)

    def shifted(self, i: int) -> Options:
        """These options with seed ``seed + i``, wrapped around to stay a 32-bit seed."""
        return dataclasses.replace(self, seed=(self.seed + i) % SEEDS)


class SamplingEngine:
    """Answers queries on one model by sampling; compiled programs are cached per shape."""

    def __init__(self, model: CausalModel):
        self.model = model
        self._programs: dict[Any, Program] = {}
        self._draws: dict[Any, Any] = {}
        self._mcmc: dict[Any, Any] = {}
        self._reparam: tuple[CausalModel, dict[str, str]] | None = None

    def query(self, text: str | Prob | Expect | Linear, method: str | None = None,
              seed: int | None = None, samples: int | None = None, warmup: int = 500,
              chains: int = 2, progress: bool = False, **values: Any) -> Any:
        """Answer ``P(...)``, ``E[...]`` or a linear combination; see the module doc.
        ``samples`` counts weighted samples, or NUTS draws per chain after ``warmup``."""
        opts = Options(method, 0 if seed is None else seed, samples, warmup, chains, progress)
        with _memory_guard(opts):
            return self._query(text, opts, values)

    def _query(self, text: str | Prob | Expect | Linear, opts: Options,
               values: Mapping[str, Any]) -> Any:
        q = parse_query(text) if isinstance(text, str) else text
        if values:
            q = bind(q, values)
        if isinstance(q, Prob):
            return self.prob(q, opts)
        if isinstance(q, Expect):
            return self.expect(q, opts)
        terms = []
        for i, (c, term) in enumerate(q.terms):
            sub = opts.shifted(i)
            val = self.prob(term, sub) if isinstance(term, Prob) else self.expect(term, sub)
            if not isinstance(val, Estimate):
                raise table_term_error(q, term, table_kind(val))
            terms.append((c, val))
        return combine(terms)

    # -- P and E ---------------------------------------------------------------------------
    def prob(self, q: Prob, opts: Options) -> Estimate | SampledDistribution:
        if q.is_counterfactual:
            engine, mq, notes = self._worlds(q)
            return _noted(engine.prob(mq, opts), notes, str(q))
        check_query(self.model, q)
        types, statistic = indicator_statistic(self.model, q)
        free = [e for e in (*q.interventions, *q.evidence) if e.value is None]
        if free:
            return self._table(q, free, opts)
        est, se, route, meta = self._estimate(q, [e.var for e in q.outcomes], statistic, opts)
        shape = tuple(t.size for t in types)
        probs, ses = est.reshape(shape), se.reshape(shape)
        if all(e.value is not None for e in q.outcomes):
            idx = _cell(types, q)
            return Estimate(float(probs[idx]), float(ses[idx]), route, **meta)
        return SampledDistribution(tuple(e.var for e in q.outcomes), types, probs,
                                   title=str(q), se=ses, route=route)

    def expect(self, q: Expect, opts: Options) -> Estimate | SampledExpectations:
        prob = q.prob
        if prob.is_counterfactual:
            engine, mq, notes = self._worlds(prob)
            return _noted(engine.expect(Expect(mq), opts), notes, str(q))
        check_query(self.model, prob)
        (ev,) = prob.outcomes
        if ev.value is not None:
            raise QueryError(f"{q}: the variable of an expectation cannot have a value")
        free = [e for e in (*prob.interventions, *prob.evidence) if e.value is None]
        if free:  # one expectation per value of the open variables
            cells, given, types = self._each(prob, free, opts,
                                             lambda sub, o: self.expect(Expect(sub), o), q)
            shape = tuple(t.size for t in types)
            return SampledExpectations(
                ev.var, np.reshape([float(c) for c in cells], shape), given, types, str(q),
                se=np.reshape([c.se for c in cells], shape),
                route="; ".join(dict.fromkeys(c.route for c in cells)))
        statistic = value_statistic(self.model, ev.var)
        closed = self._closed(prob, opts)
        if closed is not None:
            return closed
        est, se, route, meta = self._estimate(prob, [ev.var], statistic, opts)
        return Estimate(float(est[0]), float(se[0]), route, **meta)

    def _each(self, q: Prob, free: Sequence[Event], opts: Options, answer: Any,
              asked: Expect | None = None
              ) -> tuple[list[Any], tuple[str, ...], tuple[FiniteType, ...]]:
        """``answer(q with values, options)`` for each value of the open finite variables
        ``free`` (each with its own seed), with the answer's axes and their types (``asked``:
        the query to name in a message, when it is not ``q``)."""
        types = []
        for e in free:
            t = self.model[e.var].type
            if not isinstance(t, FiniteType):
                raise open_continuous_error(asked or q, e.var)
            types.append(t)
        out = []
        for i, labels in enumerate(np.ndindex(*(t.size for t in types))):
            sub = bind(q, {e.var: t.values[j] for e, t, j in zip(free, types, labels,
                                                                    strict=True)})
            assert isinstance(sub, Prob)
            out.append(answer(sub, opts.shifted(i)))
        given = tuple(do_axis(e.var) if e in q.interventions else e.var for e in free)
        return out, given, tuple(types)

    def _table(self, q: Prob, free: Sequence[Event], opts: Options) -> SampledDistribution:
        """A conditional table or channel: one sampled row per value of the free variables."""
        open_outcomes = tuple(Event(e.var) for e in q.outcomes)
        rows, given, types = self._each(q, free, opts, lambda sub, o: self.prob(
            Prob(open_outcomes, sub.interventions, sub.evidence), o))
        last = rows[-1]
        assert isinstance(last, SampledDistribution)
        shape = tuple(t.size for t in types)
        probs = np.stack([r.probs for r in rows]).reshape(*shape, *last.probs.shape)
        se = np.stack([r.se for r in rows]).reshape(probs.shape)
        out = SampledDistribution(last.variables, last.types, probs, given, types, str(q),
                                  se=se, route=last.route)
        if any(e.value is not None for e in q.outcomes):
            sel = tuple(slice(None) for _ in free) + tuple(
                t.index(e.value) if e.value is not None else slice(None)
                for t, e in zip(last.types, q.outcomes, strict=True))
            kept = [i for i, e in enumerate(q.outcomes) if e.value is None]
            return SampledDistribution(tuple(last.variables[i] for i in kept),
                                       tuple(last.types[i] for i in kept), probs[sel], given,
                                       types, str(q), se=se[sel], route=last.route)
        return out

    def _worlds(self, q: Prob) -> tuple[SamplingEngine, Prob, list[str]]:
        """A counterfactual as a query on the multi-world model (noise shared between worlds),
        with stochastic continuous mechanisms first reparameterised over explicit noise."""
        from causaldsl.rewrite.worlds import multiworld_for

        check_query(self.model, q)
        if self._reparam is None:
            self._reparam = reparameterise(self.model)
        base, notes = self._reparam
        mw = multiworld_for(base, q)
        return engine_for(mw.model), mw.query, [n for v, n in notes.items()
                                                if len(mw.copies(v)) > 1]

    # -- batches ---------------------------------------------------------------------------
    def query_batch(self, text: str | Prob | Expect, values: Any, opts: Options) -> SampledBatch:
        """One query for many settings of the variables of its condition, as one call of the
        compiled sampler (a loop over the settings inside it, :func:`_over_settings`); setting
        i is drawn with seed ``seed + i``, as ``query`` with that seed would draw it. Forward or
        importance sampling (or the closed form)."""
        with _memory_guard(opts):
            return self._query_batch(text, values, opts)

    def _query_batch(self, text: str | Prob | Expect, values: Any, opts: Options
                     ) -> SampledBatch:
        q, prob, columns, settings = _batch_settings(text, values)
        if prob.is_counterfactual:
            engine, mq, notes = self._worlds(settings[0])
            out = engine.query_batch(Expect(mq) if isinstance(q, Expect) else mq, columns, opts)
            return dataclasses.replace(out, title=str(q), route="; ".join([out.route, *notes]))
        for setting in settings:
            check_query(self.model, setting)
        types: tuple[FiniteType, ...] = ()
        if isinstance(q, Expect):
            (ev_var,) = (e.var for e in prob.outcomes)
            statistic = value_statistic(self.model, ev_var)
            closed = self._closed_batch(q, settings, columns, opts)
            if closed is not None:
                return closed
        else:
            types, statistic = indicator_statistic(self.model, prob)
        if opts.method in ("nuts", "closed"):
            raise QueryError(f"{q}: query_batch samples by forward or importance sampling; ask "
                             f"each setting with query(..., method={opts.method!r}) instead")
        est, se, route = self._sample_batch(q, settings, statistic, opts)
        return _batch_result(q, types, est, se, route, columns)

    def _closed_batch(self, q: Expect, settings: list[Prob], columns: dict[str, Any],
                      opts: Options) -> SampledBatch | None:
        """An expectation's batch by the linear-Gaussian closed form, when the first setting
        has one (then every setting has)."""
        if self._closed(settings[0], opts) is None:
            return None
        cells = [self._closed(setting, opts) for setting in settings]
        return SampledBatch(np.array([float(c or 0.0) for c in cells]), (), (), title=str(q),
                            se=np.zeros(len(settings)), route=ROUTES["closed"], settings=columns)

    def _sample_batch(self, q: Prob | Expect, settings: list[Prob], statistic: SampleStatistic,
                      opts: Options) -> tuple[np.ndarray, np.ndarray, str]:
        """The mean of ``statistic`` for each setting, its standard error, and the route: one
        call of the compiled sampler, forward or importance sampling."""
        first = settings[0]
        program = self._program(first, [e.var for e in first.outcomes])
        method = "importance" if first.evidence else "forward"
        do = _stacked([indices(self.model, {e.var: e.value for e in setting.interventions})
                       for setting in settings])
        ev = _stacked([indices(self.model, {e.var: e.value for e in setting.evidence})
                       for setting in settings])
        samples = opts.samples or DEFAULT_SAMPLES
        _check_memory(program, samples)
        sampler = self._batch_sampler(program, samples, statistic, method)
        seeds = np.uint32(opts.seed) + np.arange(len(settings), dtype=np.uint32)
        if opts.progress:
            est, se, seen, ok = _in_groups(sampler, seeds, do, ev, str(q))
        else:
            est, se, _, seen, ok = jax.device_get(sampler(seeds, do, ev))
        _check_batch_flags(program, q, settings, ok, do, ev)
        est, se = _checked_estimate(q, est, se, seen, samples, settings)
        route = ", ".join([f"{ROUTES[method]}, {samples} samples per setting",
                           *_abduction_notes(program)])
        return est, se, route

    def _batch_sampler(self, program: Program, samples: int, statistic: SampleStatistic,
                       method: str) -> Any:
        """The compiled sampler of a batch (seeds, do, ev → an estimate per setting), cached."""
        key = ("batch", id(program), samples, statistic.key, method)
        sampler = self._draws.get(key)
        if sampler is None:
            one = _estimator(program, samples, statistic, method != "forward", 1, None)
            sampler = self._draws[key] = jax.jit(_over_settings(one))
        return sampler

    # -- routes ----------------------------------------------------------------------------
    def _closed(self, q: Prob, opts: Options) -> Estimate | None:
        """The linear-Gaussian closed form, when the method allows and the model has one."""
        if opts.method not in (None, "closed"):
            return None
        (target,) = (e.var for e in q.outcomes)
        given = (*q.interventions, *q.evidence)
        finite = any(isinstance(self.model[e.var].type, FiniteType) for e in given)
        fixed = {e.var: float(e.value) for e in q.interventions if not finite}  # type: ignore[arg-type]
        ev = {e.var: float(e.value) for e in q.evidence if not finite}  # type: ignore[arg-type]
        joint = None if finite else gaussian(self.model, fixed, [target, *ev])
        if joint is None:
            if opts.method == "closed":
                raise QueryError(f"{q}: no closed form: a mechanism it depends on is not "
                                 "linear-Gaussian (Normal with affine mean, or := affine)")
            return None
        mean, sd = condition(joint, target, ev)
        return Estimate(mean, 0.0, ROUTES["closed"], sd=sd)

    def _estimate(self, q: Prob, reads: list[str], statistic: SampleStatistic, opts: Options
                  ) -> tuple[np.ndarray, np.ndarray, str, dict[str, Any]]:
        """Mean of ``statistic`` (one row per sample) under the query's distribution, with its
        error."""
        do = indices(self.model, {e.var: e.value for e in q.interventions})
        ev = indices(self.model, {e.var: e.value for e in q.evidence})
        program = self._program(q, reads)
        method = opts.method or "forward"  # (replaced below when the caller chose none)
        cont, disc = program.latent_sites
        if opts.method in (None, "closed"):  # NUTS where it helps: continuous latents, soft evidence
            method = ("forward" if not ev else "nuts" if cont and not disc
                      and not any(map(program.is_indicator, ev)) else "importance")
        if method == "forward" and ev:
            method = "importance"
        notes = _abduction_notes(program)
        if method == "nuts" and ev and not cont:
            method = "importance"
            notes.append("no continuous latent left for NUTS: the evidence determines them" if
                         not disc else "no continuous latent for NUTS: the discrete ones are "
                         "weighted instead")
        note = ", ".join(notes) or None
        if method == "nuts":
            est, se, meta = self._nuts(q, program, reads, statistic, do, ev, opts)
        else:
            est, se, meta = self._weighted(q, program, reads, statistic, do, ev, opts, method)
        return est, se, ROUTES[method], {**meta, "note": note}

    def _program(self, q: Prob, reads: list[str], enumerate: bool = False) -> Program:
        key = (tuple(e.var for e in q.interventions), tuple(e.var for e in q.evidence),
               tuple(reads), enumerate)
        prog = self._programs.get(key)
        if prog is None:
            prog = Program(self.model, key[0], key[1], key[2], enumerate)
            self._programs[key] = prog
        return prog

    def _weighted(self, q: Prob, program: Program, reads: list[str], statistic: SampleStatistic, do: Any,
                  ev: Any, opts: Options, method: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Forward or importance sampling; the estimate is reduced inside the compiled sampler,
        so only the answer leaves the device."""
        n = opts.samples or DEFAULT_SAMPLES
        if opts.progress:
            return self._weighted_in_chunks(q, program, statistic, do, ev, opts, method, n)
        _check_memory(program, n)
        devices = jax.devices()
        chunk = -(-n // len(devices))
        key = (id(program), chunk, len(devices), statistic.key, method)
        sampler = self._draws.get(key)
        if sampler is None:  # compiled once, on the first call (or loaded from JAX's cache)
            spread_over = (NamedSharding(Mesh(np.array(devices), ("d",)), PartitionSpec("d"))
                           if len(devices) > 1 else None)  # one chunk of the plate per device
            sampler = self._draws[key] = _OneTransferSampler(_estimator(
                program, chunk, statistic, method != "forward", len(devices), spread_over),
                spread_over)
        out = sampler.compiled(np.uint32(opts.seed), do, ev)
        spread = len(out.sharding.device_set)  # the devices the compiled sampler ran on
        est, se, ess, seen, ok = sampler.unpack(np.asarray(out))  # one transfer to the host
        program.check_flags(str(q), ok, rerun=(do, ev))
        samples = chunk * len(devices)
        est, se = _checked_estimate(q, est, se, seen, samples)
        meta: dict[str, Any] = {"samples": samples, "devices": spread}
        if method != "forward":
            meta["ess"] = float(ess)
        return est, se, meta

    def _weighted_in_chunks(self, q: Prob, program: Program, statistic: SampleStatistic,
                            do: Any, ev: Any, opts: Options, method: str, n: int
                            ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """:meth:`_weighted` with a progress bar: the samples drawn in equal chunks by one
        compiled sampler (chunk i from the i-th key split from the seed's), pooled on the host
        (:mod:`chunks`); on one device. Another draw than the one without a bar, as exact."""
        chunks, size = chunking(n)
        _check_memory(program, size)
        key = ("chunk", id(program), size, statistic.key, method)
        sampler = self._draws.get(key)
        if sampler is None:
            sampler = self._draws[key] = jax.jit(_chunk_estimator(program, size, statistic))
        keys = jax.random.split(jax.random.key(np.uint32(opts.seed), impl=KEY_IMPL), chunks)
        parts, flags = [], []
        with bar(chunks * size, str(q), unit="sample") as advance:
            for i in range(chunks):
                sums, ok = jax.device_get(sampler(keys[i], np.uint32(i), do, ev))
                parts.append(sums)
                flags.append(ok)
                advance(size)
        ok = {k: all(bool(f[k]) for f in flags) for k in flags[0]}
        program.check_flags(str(q), ok, rerun=(do, ev))
        est, se, ess, seen = pooled(parts, method != "forward")
        est, se = _checked_estimate(q, est, se, seen, chunks * size)
        meta: dict[str, Any] = {"samples": chunks * size, "devices": 1}
        if method != "forward":
            meta["ess"] = ess
        return est, se, meta

    def _nuts(self, q: Prob, program: Program, reads: list[str], statistic: SampleStatistic, do: Any,
              ev: Any, opts: Options) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

        cont, disc = program.latent_sites
        if disc:  # marginalised by enumeration inside NUTS, then drawn given each draw
            try:
                import funsor  # noqa: F401
            except ImportError:
                raise QueryError(
                    f"{q}: NUTS needs {', '.join(disc)} (discrete) enumerated, which NumPyro does "
                    "with the funsor package (pip install funsor); or use method='importance'"
                ) from None
            program = self._program(q, reads, enumerate=True)
        draws = opts.samples or DEFAULT_NUTS_SAMPLES
        key = (id(program), tuple(reads), statistic.key, draws, opts.warmup, opts.chains,
               opts.progress)
        run = self._mcmc.get(key)
        if run is None:
            run = self._mcmc[key] = _nuts_run(program, reads, statistic, draws, opts, bool(disc))
        try:
            got, values, energy = jax.device_get(run(
                np.uint32(opts.seed), np.uint32(opts.shifted(1).seed), do, ev))
            valid = bool(np.all(np.isfinite(energy)))
        except RuntimeError as e:  # run from Python (a progress bar), NumPyro says it itself
            if "valid initial parameters" not in str(e):
                raise
            valid = False
        if not valid:
            raise ZeroProbabilityError(
                f"{q}: NUTS found no value of {', '.join(cont)} where the evidence has positive "
                "density: the evidence has probability zero, so the conditional is undefined")
        program.check_flags(str(q), {k: v for k, v in got.items() if is_flag(k)}, got)
        values = np.asarray(values, dtype=np.float64)   # (chains, draws, m)
        ess = np.asarray(effective_sample_size(values))
        rhat = np.asarray(split_gelman_rubin(values)) if opts.chains > 1 else np.ones(1)
        est = values.mean(axis=(0, 1))
        sd = values.reshape(-1, values.shape[-1]).std(axis=0, ddof=1)
        se = sd / np.sqrt(np.maximum(ess, 1.0))
        finite = np.isfinite(ess)
        return est, se, {"samples": opts.chains * draws,
                         "ess": float(np.min(ess[finite])) if finite.any() else None,
                         "rhat": float(np.nanmax(rhat)) if np.isfinite(rhat).any() else None}


def _nuts_run(program: Program, reads: Sequence[str], statistic: SampleStatistic, draws: int,
              opts: Options, discrete: bool) -> Any:
    """(seed, seed of the discrete draws, do, evidence) → the posterior draws of NUTS (with the
    discrete latents, marginalised while it runs, drawn given each draw by ``infer_discrete``),
    ``statistic`` of the ``reads`` for each (chains, draws, m) and the potential energy of each
    draw (not finite where the evidence has no density). Built and compiled as one program, so
    a new seed or new values reuse it: NumPyro's ``MCMC.run`` compiles its sampling loop again
    on every call. With a progress bar it runs NumPyro's loop from Python (the bar is drawn
    from there)."""
    from numpyro.infer import MCMC, NUTS, Predictive

    model = functools.partial(program.model, 1)

    def run(seed: Any, seed_discrete: Any, do: Mapping[str, Any], ev: Mapping[str, Any]) -> Any:
        mcmc = MCMC(NUTS(model), num_warmup=opts.warmup, num_samples=draws,
                    num_chains=opts.chains, chain_method="vectorized",
                    progress_bar=opts.progress, jit_model_args=True)
        if opts.progress:  # NumPyro's bar appears once its loop is compiled
            announce("compiling the sampler (NUTS)…")
        mcmc.run(jax.random.PRNGKey(seed), do, ev, extra_fields=("potential_energy",))
        got = mcmc.get_samples()
        if discrete:
            got = {**got, **Predictive(model, posterior_samples=got, infer_discrete=True)(
                jax.random.PRNGKey(seed_discrete), do, ev)}
        vals = {r: got[r if r in got else f"{r}{ABDUCTED}"].reshape(opts.chains, draws)
                for r in reads}
        return got, statistic(vals), mcmc.get_extra_fields()["potential_energy"]

    return run if opts.progress else jax.jit(run)


#: Default sample counts: weighted or forward samples, and NUTS draws per chain.
DEFAULT_SAMPLES = 10_000
DEFAULT_NUTS_SAMPLES = 1_000


@dataclass(frozen=True)
class SampleStatistic:
    """The statistic a query averages over samples (``fn``: sampled values → rows: an indicator
    row per joint cell for P, the value for E), and a cache ``key``."""

    key: tuple[Any, ...]
    fn: Any

    def __call__(self, vals: Mapping[str, Any]) -> Any:
        return self.fn(vals)


def indicator_statistic(model: CausalModel, q: Prob) -> tuple[tuple[FiniteType, ...], SampleStatistic]:
    """The outcomes' types, and each sample as a one-hot row over their joint cells."""
    types = []
    for e in q.outcomes:
        t = model[e.var].type
        if not isinstance(t, FiniteType):
            raise density_error(q, e.var)
        types.append(t)
    sizes = tuple(t.size for t in types)

    def cells(vals: Mapping[str, Any]) -> Any:
        code = jnp.zeros_like(vals[q.outcomes[0].var])
        for e, k in zip(q.outcomes, sizes, strict=True):
            code = code * k + vals[e.var]
        return jax.nn.one_hot(code, math.prod(sizes))

    return tuple(types), SampleStatistic(("cells", tuple(e.var for e in q.outcomes), sizes), cells)


def value_statistic(model: CausalModel, var: str) -> SampleStatistic:
    """Each sample's value of a numeric variable, as a row of one."""
    t = model[var].type
    if isinstance(t, FiniteType) and t.numeric() is None:
        raise not_numeric_error(var, t)
    labels = jnp.asarray(t.numeric()) if isinstance(t, FiniteType) else None

    def value(vals: Mapping[str, Any]) -> Any:
        x = vals[var]
        return (labels[x] if labels is not None else jnp.asarray(x, dtype=float))[..., None]

    return SampleStatistic(("mean", var), value)


def _cell(types: Sequence[FiniteType], q: Prob) -> tuple[int, ...]:
    """The cell of the outcomes' values (every outcome has one)."""
    return tuple(t.index(e.value) for t, e in zip(types, q.outcomes, strict=True)
                 if e.value is not None)


def _check_memory(program: Program, n: int) -> None:
    """Refuse ``n`` samples of ``program`` when their values alone (8 bytes a site, and a
    weight) would not fit in the memory free on the device (on the CPU, the machine's free
    memory): XLA would fail, or the operating system would kill the process."""
    need = 8 * n * (len(program.vars) + 2)
    if need <= 2**28:  # 256 MiB: not worth reading the free memory on every call (60 µs)
        return
    stats = jax.devices()[0].memory_stats() or {}
    if "bytes_limit" in stats:
        free = stats["bytes_limit"] - stats.get("bytes_in_use", 0)
    else:
        free = _available_memory()
    if need > free:
        raise QueryError(f"{n:,} samples of {len(program.vars)} variables need about "
                         f"{need / 2**30:.1f} GiB, more than the {free / 2**30:.1f} GiB free; "
                         "ask for fewer samples")


#: Bytes free for a new allocation (a name of this module, so tests can stand in for it).
_available_memory = available_memory


@contextlib.contextmanager
def _memory_guard(opts: Options) -> Iterator[None]:
    """Running out of memory while sampling is a QueryError saying to ask for fewer samples
    (XLA's RESOURCE_EXHAUSTED, or NumPy's MemoryError), not an internal error."""
    try:
        yield
    except (MemoryError, jax.errors.JaxRuntimeError) as e:
        if not isinstance(e, MemoryError) and "RESOURCE_EXHAUSTED" not in str(e):
            raise
        count = "the default number of" if opts.samples is None else f"{opts.samples:,}"
        raise QueryError(f"not enough memory to draw {count} samples (and NUTS chains) at "
                         "once; ask for fewer samples") from None


def _over_settings(one: Any) -> Any:
    """``one`` (seed, do, ev → estimate) mapped over stacked settings by a loop inside the
    compiled call rather than vmap: vmapped over seeds, XLA's CPU compiler fuses the unrolled
    Threefry 4x32 of the batched keys into every reader of the draws and regenerates them per
    element, which took minutes for two settings of a two-variable model (JAX 0.10.2). Each
    setting is already a vectorised plate of samples, so the loop costs little."""

    def run(seeds: Any, do: Mapping[str, Any], ev: Mapping[str, Any]) -> Any:
        return jax.lax.map(lambda a: one(*a), (seeds, do, ev))

    return run


class _OneTransferSampler:
    """A sampler from :func:`_estimator` with its outputs packed into one float64 vector, so
    that they come to the host in one transfer (fetching each array apart costs tens of
    microseconds, a flag per distribution included), and ``unpack`` for it on the host. The
    layout is noted when the sampler is traced. With ``spread_over`` the vector is left on every
    device of its mesh."""

    def __init__(self, run: Any, spread_over: NamedSharding | None = None):
        self.layout: dict[str, Any] = {}

        def packed(seed: Any, do: Mapping[str, Any], ev: Mapping[str, Any]) -> Any:
            est, se, ess, seen, ok = run(seed, do, ev)
            self.layout.update(shape=jnp.shape(est), names=list(ok))
            flags = [jnp.asarray(v, dtype=float) for v in (ess, seen, *ok.values())]
            out = jnp.concatenate([jnp.ravel(est), jnp.ravel(se), jnp.stack(flags)])
            if spread_over is None:
                return out
            return jax.lax.with_sharding_constraint(
                out, NamedSharding(spread_over.mesh, PartitionSpec()))

        self.compiled = jax.jit(packed)

    def unpack(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, bool,
                                               dict[str, bool]]:
        shape, names = self.layout["shape"], self.layout["names"]
        k = math.prod(shape)
        ok = dict(zip(names, (out[2 * k + 2:] != 0).tolist(), strict=True))
        return (out[:k].reshape(shape), out[k:2 * k].reshape(shape), float(out[2 * k]),
                bool(out[2 * k + 1]), ok)


def _chunk_estimator(program: Program, size: int, statistic: SampleStatistic) -> Any:
    """(key, i, do, ev) → the sums (:func:`chunks.chunk_sums`) of chunk ``i`` of ``size``
    samples drawn from ``key``, and whether each distribution's parameters were valid.
    Forward samples have log weight 0. The chunks' keys are split on the host: a key folded
    with the traced ``i`` inside made XLA's CPU compiler take minutes (JAX 0.10.2; the fusion
    :func:`_standard_normals` describes)."""
    draw = jax.vmap(_drawer(program, size), in_axes=(0, 0, None, None))
    rows = _normal_sites(program)

    def run(key: Any, i: Any, do: Mapping[str, Any], ev: Mapping[str, Any]) -> Any:
        key, normals = jax.random.split(key)
        eps = _standard_normals(normals, (1, rows, size), i, None)
        vals, logw, ok = draw(jax.random.split(key, 1), eps, do, ev)
        x = jnp.asarray(statistic({k: v.reshape(-1) for k, v in vals.items()}), dtype=float)
        return chunk_sums(jnp, x, logw.reshape(-1)), {k: jnp.all(v) for k, v in ok.items()}

    return run


def _estimator(program: Program, chunk: int, statistic: SampleStatistic, weighted: bool, chunks: int,
               spread_over: NamedSharding | None) -> Any:
    """seed → the (weighted) mean of ``statistic`` over ``chunks`` chunks of samples, its standard
    error, the ESS, whether any sample has positive weight, and whether each distribution's
    parameters were valid. The chunks are laid out by ``spread_over`` (one per device) when given."""
    draw = jax.vmap(_drawer(program, chunk), in_axes=(0, 0, None, None))
    rows = _normal_sites(program)

    def run(seed: Any, do: Mapping[str, Any], ev: Mapping[str, Any]) -> Any:
        # threefry: its draws do not change under vmap (rbg's do), so a batch row equals the query
        key, normals = jax.random.split(jax.random.key(seed, impl=KEY_IMPL))
        keys = jax.random.split(key, chunks)
        if spread_over is not None:
            keys = jax.lax.with_sharding_constraint(keys, spread_over)
        eps = _standard_normals(normals, (chunks, rows, chunk), seed, spread_over)
        vals, logw, ok = draw(keys, eps, do, ev)
        ok = {k: jnp.all(v) for k, v in ok.items()}
        x = jnp.asarray(statistic({k: v.reshape(-1) for k, v in vals.items()}), dtype=float)
        logw = logw.reshape(-1)
        n = x.shape[0]
        if not weighted:
            return x.mean(0), x.std(0, ddof=1) / jnp.sqrt(n), float(n), True, ok
        seen = jnp.isfinite(logw).any()
        w = jnp.exp(logw - jnp.where(seen, logw.max(), 0.0))
        w = w / jnp.where(seen, w.sum(), 1.0)
        est = w @ x
        se = jnp.sqrt((w ** 2) @ (x - est) ** 2)
        return est, se, 1.0 / (w ** 2).sum(), seen, ok

    return run


#: The key implementation of the compiled samplers, chosen by measurement on the CPU
#: (bench/RESULTS-sample.md): XLA unrolls Threefry 4x32 and fuses it with what reads its bits,
#: while threefry2x32 is a rolled loop there and rbg's RngBitGenerator cannot fuse. Philox 4x32
#: is a few per cent faster but cannot be partitioned over devices (JAX 0.10.2: its mulhi fails
#: to lower when sharded).
KEY_IMPL = "threefry4x32"


def _normal_sites(program: Program) -> int:
    """How many sites of ``program`` draw from a Normal (each reads a row of one block)."""
    cont, _ = program.latent_sites
    return sum(isinstance(m := program.vars[v].mechanism, ExprMechanism)
               and isinstance(m.expr, DistCall) and m.expr.name == "Normal" for v in cont)


def _standard_normals(key: Any, shape: tuple[int, ...], seed: Any,
                      spread_over: NamedSharding | None) -> Any:
    """Standard normals of ``shape``, drawn in float32 (about twice as fast as float64 in XLA;
    they are widened where they are used and every sum is float64; they resolve the normal to
    within 5.2 standard deviations of its mean), in a buffer of their own. On the CPU, XLA fuses
    the generator and the inverse error function into every computation that reads the draws
    and so recomputes them once per reader (the maximum, the sum and the exponential of the log
    weights, the mean and the spread of the answer); an optimisation barrier does not survive
    its CPU pipeline, but the result of a conditional is a buffer (both branches are the same
    draw, and the predicate, from the traced ``seed``, is not known at compile time)."""
    def block(key: Any) -> Any:
        eps = jax.random.normal(key, shape, jnp.float32)
        return eps if spread_over is None else jax.lax.with_sharding_constraint(eps, spread_over)

    if 0 in shape:
        return jnp.zeros(shape, jnp.float32)
    if jax.default_backend() != "cpu":
        return block(key)
    return jax.lax.cond(seed % 2 == 0, block, block, key)


class _Normals(Messenger):
    """Unobserved Normal sites take their standard normals from the rows of ``eps``, one each in
    turn."""

    def __init__(self, fn: Any, eps: Any):
        self.eps, self.taken = eps, 0
        super().__init__(fn)

    def process_message(self, msg: Any) -> None:
        fn: Any = msg["fn"] if msg["type"] == "sample" else None
        base: Any = fn.base_dist if isinstance(fn, ExpandedDistribution) else fn
        if (type(base) is not Normal or msg["value"] is not None or msg["is_observed"]
                or self.taken == self.eps.shape[0]
                or msg["kwargs"]["sample_shape"] + fn.batch_shape != self.eps.shape[1:]):
            return
        eps = self.eps[self.taken]
        self.taken += 1
        msg["value"] = base.loc + eps.astype(jnp.result_type(base.loc, base.scale)) * base.scale


def _drawer(program: Program, n: int) -> Any:
    """One chunk of ``n`` samples, given its key and its block of standard normals (a row for
    each Normal site, :func:`_normal_sites`): the read sites and each sample's log weight."""

    def draw(rng: Any, eps: Any, do: Mapping[str, Any], ev: Mapping[str, Any]) -> Any:
        model = _Normals(program.model, eps) if eps.shape[0] else program.model
        tr = trace(seed_handler(model, rng)).get_trace(n, do, ev)
        logw = jnp.zeros(n)
        for site in tr.values():
            if site["type"] == "sample" and site["is_observed"]:
                logw = logw + jnp.broadcast_to(site["fn"].log_prob(site["value"]), (n,))
        ok = {k: v["value"] for k, v in tr.items() if is_flag(k)}
        return {r: tr[r]["value"] for r in program.reads}, logw, ok

    return draw


def _in_groups(sampler: Any, seeds: np.ndarray, do: Mapping[str, np.ndarray],
               ev: Mapping[str, np.ndarray], what: str) -> tuple[Any, ...]:
    """A batch's sampler called on groups of its settings (the last padded with copies of its
    last setting, so every call has one shape and one compiled program), a progress bar
    advancing after each: the same estimates as one call, setting by setting."""
    total = len(seeds)
    size = chunk_count(total, 50)
    outs = []
    with bar(total, what, unit="setting") as advance:
        for start in range(0, total, size):
            take = np.minimum(np.arange(start, start + size), total - 1)
            out = jax.device_get(sampler(seeds[take], {k: v[take] for k, v in do.items()},
                                         {k: v[take] for k, v in ev.items()}))
            outs.append((out, min(size, total - start)))
            advance(min(size, total - start))
    est = np.concatenate([o[0][:k] for o, k in outs])
    se = np.concatenate([o[1][:k] for o, k in outs])
    seen = np.concatenate([np.asarray(o[3])[:k] for o, k in outs])
    flags = {name: np.concatenate([np.asarray(o[4][name])[:k] for o, k in outs])
             for name in outs[0][0][4]}
    return est, se, seen, flags


def _batch_settings(text: str | Prob | Expect, values: Any
                    ) -> tuple[Prob | Expect, Prob, dict[str, Any], list[Prob]]:
    """A batch's query, its probability, its columns of values (variable → values) and the
    query of each setting, refused unless the columns are of its condition and every setting
    gives each variable of the condition a value."""
    q = parse_query(text) if isinstance(text, str) else text
    if not isinstance(q, Prob | Expect):
        raise QueryError("query_batch takes one query, P(...) or E[...], not a sum")
    prob = q.prob if isinstance(q, Expect) else q
    columns = batch_columns(values)
    if not columns:
        raise QueryError("query_batch needs values to batch over")
    condition = [e.var for e in (*prob.interventions, *prob.evidence)]
    for v in columns:
        if v not in condition:
            raise QueryError(f"batched variable {v} must appear in the query's condition "
                             f"(after '|'), e.g. P(... | {v})")
    n = len(next(iter(columns.values())))
    settings = [_with_values(prob, {v: col[i] for v, col in columns.items()}) for i in range(n)]
    for setting in settings:
        free = [e.var for e in (*setting.interventions, *setting.evidence) if e.value is None]
        if free:
            raise QueryError(f"{q}: give {', '.join(free)} a value or batch over it")
    return q, prob, columns, settings


def _check_batch_flags(program: Program, q: Prob | Expect, settings: list[Prob],
                       flags: Mapping[str, Any], do: Mapping[str, Any],
                       ev: Mapping[str, Any]) -> None:
    """Raise the MechanismError of the first setting where a flag of the program (one value
    per setting) is False."""
    for held in flags.values():
        if not np.all(held):
            i = int(np.argmin(held))
            program.check_flags(f"{q}, setting {i} ({settings[i]})",
                                {k: v[i] for k, v in flags.items()},
                                rerun=({k: v[i] for k, v in do.items()},
                                       {k: v[i] for k, v in ev.items()}))


def _checked_estimate(q: Prob | Expect, est: Any, se: Any, seen: Any, samples: int,
                      settings: Sequence[Prob] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A sampled estimate and its standard error as float64 arrays, with a standard error that
    is only rounding set to 0; refused when no sample is consistent with the evidence (``seen``:
    whether one is, one flag per setting of a batch when ``settings`` are given) or a value is
    not finite."""
    if not np.all(seen):
        if settings is None:
            where, undefined = str(q), ", so the conditional is undefined"
        else:
            i = int(np.argmin(seen))
            where, undefined = f"{q}, setting {i} ({settings[i]})", ""
        raise ZeroProbabilityError(
            f"{where}: none of the {samples} samples is consistent with the evidence: it has "
            f"probability zero (or below about 1/{samples}){undefined}")
    est, se = np.array(est, dtype=np.float64), np.array(se, dtype=np.float64)
    if not np.all(np.isfinite(est)):
        raise QueryError(f"{q}: the sampled values are not finite numbers (an overflow?); "
                         "check the mechanisms it depends on")
    se[se <= 1e-12 * (1 + np.abs(est))] = 0.0  # rounding, not Monte Carlo error
    return est, se


def _abduction_notes(program: Program) -> list[str]:
    """What the route says of the noise the program abducts exactly."""
    return [f"{a.noise} abducted exactly from {y}" for y, a in program.abduct.items()]


def _batch_result(q: Prob | Expect, types: tuple[FiniteType, ...], est: np.ndarray,
                  se: np.ndarray, route: str, columns: dict[str, Any]) -> SampledBatch:
    """A batch's answer from its estimates (a row per setting): expectations, probabilities
    of the outcomes' values, or a table over the outcomes for each setting."""
    if isinstance(q, Expect):
        return SampledBatch(est[:, 0], (), (), title=str(q), se=se[:, 0], route=route,
                            settings=columns)
    shape = (est.shape[0], *(t.size for t in types))
    est, se = est.reshape(shape), se.reshape(shape)
    if all(e.value is not None for e in q.outcomes):
        at: tuple[Any, ...] = (slice(None), *_cell(types, q))
        return SampledBatch(est[at], (), (), title=str(q), se=se[at], route=route,
                            settings=columns)
    return SampledBatch(est, tuple(e.var for e in q.outcomes), types, title=str(q), se=se,
                        route=route, settings=columns)


def _with_values(q: Prob, values: Mapping[str, Any]) -> Prob:
    """The query with these values for variables of its condition (given or open)."""
    def fill(es: tuple[Event, ...]) -> tuple[Event, ...]:
        return tuple(Event(e.var, values[e.var]) if e.var in values else e for e in es)

    return Prob(q.outcomes, fill(q.interventions), fill(q.evidence))


def _stacked(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """One array per key from rows of scalars (the settings of a batch)."""
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]} if rows else {}


def _noted(result: Any, notes: list[str], title: str) -> Any:
    """A counterfactual's answer on the multi-world model, titled with the query as asked and
    with the reparameterisations it rests on said in its route."""
    if isinstance(result, Estimate):
        if not notes:
            return result
        note = "; ".join([*notes, *([result.details["note"]] if "note" in result.details else [])])
        return Estimate(float(result), result.se, result.route, **{**result.details, "note": note})
    route = "; ".join([result.route, *notes])
    return dataclasses.replace(result, route=route, title=title)


def engine_for(model: CausalModel) -> SamplingEngine:
    """The sampling engine of a model, kept on the model (models are immutable)."""
    return cached_on(model, "_sample_engine", SamplingEngine)
