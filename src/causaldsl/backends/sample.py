"""The sampling backend: queries answered by compiled NumPyro programs, with their Monte Carlo
error, or exactly where a closed form exists.

Routes: ``closed`` (linear-Gaussian, exact), ``forward`` (ancestral sampling, no evidence),
``importance`` (likelihood weighting: evidence sites observed, weights their density), and
``nuts`` (MCMC on the continuous latents given the evidence). Each query shape compiles once:
the jitted sampler (or the MCMC kernel) is cached and reused for new values and seeds. The
sample plate is split across all JAX devices when there are several.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from numpyro.handlers import seed as seed_handler
from numpyro.handlers import trace

from ..distribution import do_axis
from ..errors import QueryError, ZeroProbabilityError
from ..estimate import Estimate, SampledDistribution, combine
from ..model import CausalModel
from ..query import Event, Expect, Linear, Prob, bind, check_query, parse_query
from ..types import FiniteType
from . import kept_on
from .closed import condition, gaussian
from .program import Program, indices, is_flag
from .reparam import reparameterise

jax.config.update("jax_enable_x64", True)  # float64, as in the exact backend

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
        if self.method is not None and self.method not in METHODS:
            raise QueryError(f"unknown sampling method {self.method!r}; the methods are "
                             f"{', '.join(METHODS)}")
        if self.samples is not None and self.samples < 2:
            raise QueryError(f"samples must be at least 2, got {self.samples}")


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
        opts = Options(method, 0 if seed is None else int(seed), samples, warmup, chains, progress)
        q = parse_query(text) if isinstance(text, str) else text
        if values:
            q = bind(q, values)
        if isinstance(q, Prob):
            return self.prob(q, opts)
        if isinstance(q, Expect):
            return self.expect(q, opts)
        terms = []
        for i, (c, term) in enumerate(q.terms):
            sub = dataclasses.replace(opts, seed=opts.seed + i)
            val = self.prob(term, sub) if isinstance(term, Prob) else self.expect(term, sub)
            if not isinstance(val, Estimate):
                raise QueryError(f"{q}: every term of a sum must be a number, but {term} is a "
                                 "distribution; give each variable a value")
            terms.append((c, val))
        return combine(terms)

    # -- P and E ---------------------------------------------------------------------------
    def prob(self, q: Prob, opts: Options) -> Estimate | SampledDistribution:
        if q.is_counterfactual:
            engine, mq, notes = self._worlds(q)
            return _noted(engine.prob(mq, opts), notes)
        check_query(self.model, q)
        types: list[FiniteType] = []
        for e in q.outcomes:
            t = self.model[e.var].type
            if not isinstance(t, FiniteType):
                raise QueryError(f"{q}: {e.var} is continuous, so P({e.var} = …) is zero and "
                                 f"P({e.var}) is a density; ask for E[{e.var} | …] instead")
            types.append(t)
        free = [e for e in (*q.interventions, *q.evidence) if e.value is None]
        if free:
            return self._table(q, free, opts)
        sizes = [t.size for t in types]

        def cells(vals: Mapping[str, Any]) -> Any:
            code = jnp.zeros_like(vals[q.outcomes[0].var])
            for e, k in zip(q.outcomes, sizes, strict=True):
                code = code * k + vals[e.var]
            return jax.nn.one_hot(code, math.prod(sizes))

        readout = Readout(("cells", tuple(e.var for e in q.outcomes), tuple(sizes)), cells)
        est, se, route, meta = self._estimate(q, [e.var for e in q.outcomes], readout, opts)
        shape = tuple(sizes)
        probs, ses = est.reshape(shape), se.reshape(shape)
        if all(e.value is not None for e in q.outcomes):
            idx = tuple(t.index(e.value) for t, e in zip(types, q.outcomes, strict=True)
                        if e.value is not None)
            return Estimate(float(probs[idx]), float(ses[idx]), route, **meta)
        return SampledDistribution(tuple(e.var for e in q.outcomes), tuple(types), probs,
                                   title=str(q), se=ses, route=route)

    def expect(self, q: Expect, opts: Options) -> Estimate:
        prob = q.prob
        if prob.is_counterfactual:
            engine, mq, notes = self._worlds(prob)
            out = _noted(engine.expect(Expect(mq), opts), notes)
            assert isinstance(out, Estimate)
            return out
        check_query(self.model, prob)
        (ev,) = prob.outcomes
        if ev.value is not None:
            raise QueryError(f"{q}: the variable of an expectation cannot have a value")
        if any(e.value is None for e in (*prob.interventions, *prob.evidence)):
            raise QueryError(f"{q}: the sampling backend needs a value for every intervention "
                             "and piece of evidence of an expectation")
        t = self.model[ev.var].type
        if isinstance(t, FiniteType) and t.numeric() is None:
            raise QueryError(f"E[{ev.var}] needs numeric values, but {ev.var} : {t!r} has labels "
                             "that are not numbers")
        closed = self._closed(prob, opts)
        if closed is not None:
            return closed
        labels = jnp.asarray(t.numeric()) if isinstance(t, FiniteType) else None

        def value(vals: Mapping[str, Any]) -> Any:
            x = vals[ev.var]
            return (labels[x] if labels is not None else jnp.asarray(x, dtype=float))[..., None]

        est, se, route, meta = self._estimate(prob, [ev.var], Readout(("mean", ev.var), value),
                                              opts)
        return Estimate(float(est[0]), float(se[0]), route, **meta)

    def _table(self, q: Prob, free: Sequence[Event], opts: Options) -> SampledDistribution:
        """A conditional table or channel: one sampled row per value of the free variables."""
        types = []
        for e in free:
            t = self.model[e.var].type
            if not isinstance(t, FiniteType):
                raise QueryError(f"{q}: {e.var} is continuous; give it a value")
            types.append(t)
        rows, ses = [], []
        d: SampledDistribution | None = None
        for i, labels in enumerate(np.ndindex(*(t.size for t in types))):
            fill = {e.var: t.values[j] for e, t, j in zip(free, types, labels, strict=True)}
            sub = bind(q, fill)
            assert isinstance(sub, Prob)
            row = self.prob(Prob(tuple(Event(e.var) for e in q.outcomes), sub.interventions,
                                 sub.evidence), dataclasses.replace(opts, seed=opts.seed + i))
            assert isinstance(row, SampledDistribution)
            d = row
            rows.append(d.probs)
            ses.append(d.se)
        assert d is not None
        shape = tuple(t.size for t in types)
        probs = np.stack(rows).reshape(*shape, *rows[0].shape)
        se = np.stack(ses).reshape(probs.shape)
        given = tuple(do_axis(e.var) if e in q.interventions else e.var for e in free)
        out = SampledDistribution(d.variables, d.types, probs, given, tuple(types), str(q),
                                  se=se, route=d.route)
        if any(e.value is not None for e in q.outcomes):
            sel = tuple(slice(None) for _ in free) + tuple(
                t.index(e.value) if e.value is not None else slice(None)
                for t, e in zip(d.types, q.outcomes, strict=True))
            kept = [i for i, e in enumerate(q.outcomes) if e.value is None]
            return SampledDistribution(tuple(d.variables[i] for i in kept),
                                       tuple(d.types[i] for i in kept), probs[sel], given,
                                       tuple(types), str(q), se=se[sel], route=d.route)
        return out

    def _worlds(self, q: Prob) -> tuple[SamplingEngine, Prob, list[str]]:
        """A counterfactual as a query on the multi-world model (noise shared between worlds),
        with stochastic continuous mechanisms first reparameterised over explicit noise."""
        from ..counterfactual.worlds import multiworld_for

        check_query(self.model, q)
        if self._reparam is None:
            self._reparam = reparameterise(self.model)
        base, notes = self._reparam
        mw = multiworld_for(base, q)
        return engine_for(mw.model), mw.query, [n for v, n in notes.items()
                                                if len(mw.copies(v)) > 1]

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
        mean, var = condition(joint, target, ev)
        return Estimate(mean, 0.0, ROUTES["closed"], sd=math.sqrt(var))

    def _estimate(self, q: Prob, reads: list[str], f: Any, opts: Options
                  ) -> tuple[np.ndarray, np.ndarray, str, dict[str, Any]]:
        """Mean of ``f`` (one row per sample) under the query's distribution, with its error."""
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
        notes = [f"{a.noise} abducted exactly from {y}" for y, a in program.abduct.items()]
        if method == "nuts" and ev and not cont:
            method = "importance"
            notes.append("no continuous latent left for NUTS: the evidence determines them" if
                         not disc else "no continuous latent for NUTS: the discrete ones are "
                         "weighted instead")
        note = ", ".join(notes) or None
        if method == "nuts":
            est, se, meta = self._nuts(q, program, reads, f, do, ev, opts)
        else:
            est, se, meta = self._weighted(q, program, reads, f, do, ev, opts, method)
        return est, se, ROUTES[method], {**meta, "note": note}

    def _program(self, q: Prob, reads: list[str], enumerate: bool = False) -> Program:
        key = (tuple(e.var for e in q.interventions), tuple(e.var for e in q.evidence),
               tuple(reads), enumerate)
        prog = self._programs.get(key)
        if prog is None:
            prog = Program(self.model, key[0], key[1], key[2], enumerate)
            self._programs[key] = prog
        return prog

    def _weighted(self, q: Prob, program: Program, reads: list[str], f: Any, do: Any, ev: Any,
                  opts: Options, method: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Forward or importance sampling; the estimate is reduced inside the compiled sampler,
        so only the answer leaves the device."""
        n = opts.samples or DEFAULT_SAMPLES
        devices = jax.devices()
        chunk = -(-n // len(devices))
        key = (id(program), chunk, len(devices), f.key, method)
        fn = self._draws.get(key)
        if fn is None:  # on one device the first call runs eagerly, the second compiles
            spread_over = (NamedSharding(Mesh(np.array(devices), ("d",)), PartitionSpec("d"))
                           if len(devices) > 1 else None)  # one chunk of the plate per device
            run = _estimator(program, chunk, f, method != "forward", len(devices), spread_over)
            fn = self._draws[key] = jax.jit(run)
            if len(devices) == 1:
                fn = run
        est, se, ess, seen, ok = fn(np.uint32(opts.seed), do, ev)
        program.check_flags(str(q), ok, rerun=(do, ev))
        spread = len(est.sharding.device_set)  # the devices the compiled sampler ran on
        m = chunk * len(devices)
        if not bool(seen):
            raise ZeroProbabilityError(
                f"{q}: none of the {m} samples is consistent with the evidence: it has "
                f"probability zero (or below about 1/{m}), so the conditional is undefined")
        est, se = np.array(est, dtype=np.float64), np.array(se, dtype=np.float64)
        if not np.all(np.isfinite(est)):
            raise QueryError(f"{q}: the sampled values are not finite numbers (an overflow?); "
                             "check the mechanisms it depends on")
        se[se <= 1e-12 * (1 + np.abs(est))] = 0.0  # rounding, not Monte Carlo error
        meta: dict[str, Any] = {"samples": m, "devices": spread}
        if method != "forward":
            meta["ess"] = float(ess)
        return est, se, meta

    def _nuts(self, q: Prob, program: Program, reads: list[str], f: Any, do: Any, ev: Any,
              opts: Options) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
        from numpyro.infer import MCMC, NUTS

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
        key = (id(program), draws, opts.warmup, opts.chains, opts.progress)
        mcmc = self._mcmc.get(key)
        if mcmc is None:
            mcmc = MCMC(NUTS(functools.partial(program.model, 1)), num_warmup=opts.warmup,
                        num_samples=draws,
                        num_chains=opts.chains, chain_method="vectorized",
                        progress_bar=opts.progress, jit_model_args=True)
            self._mcmc[key] = mcmc
        try:
            mcmc.run(jax.random.PRNGKey(opts.seed), do, ev)
        except RuntimeError as e:
            if "valid initial parameters" not in str(e):
                raise
            raise ZeroProbabilityError(
                f"{q}: NUTS found no value of {', '.join(cont)} where the evidence has positive "
                "density: the evidence has probability zero, so the conditional is undefined"
            ) from None
        got = mcmc.get_samples()
        if disc:
            from numpyro.infer import Predictive

            drawn = Predictive(functools.partial(program.model, 1), posterior_samples=got,
                               infer_discrete=True)(jax.random.PRNGKey(opts.seed + 1), do, ev)
            got = {**got, **drawn}
        program.check_flags(str(q), {k: v for k, v in got.items() if is_flag(k)}, got)
        vals = {r: got[r].reshape(opts.chains, draws) for r in reads}
        values = np.asarray(f(vals), dtype=np.float64)         # (chains, draws, m)
        ess = np.asarray(effective_sample_size(values))
        rhat = np.asarray(split_gelman_rubin(values)) if opts.chains > 1 else np.ones(1)
        est = values.mean(axis=(0, 1))
        sd = values.reshape(-1, values.shape[-1]).std(axis=0, ddof=1)
        se = sd / np.sqrt(np.maximum(ess, 1.0))
        finite = np.isfinite(ess)
        return est, se, {"samples": opts.chains * draws,
                         "ess": float(np.min(ess[finite])) if finite.any() else None,
                         "rhat": float(np.nanmax(rhat)) if np.isfinite(rhat).any() else None}


#: Default sample counts: weighted or forward samples, and NUTS draws per chain.
DEFAULT_SAMPLES = 10_000
DEFAULT_NUTS_SAMPLES = 1_000


@dataclass(frozen=True)
class Readout:
    """What a query reads from each sample (``fn``: values → rows), and a cache ``key``."""

    key: tuple[Any, ...]
    fn: Any

    def __call__(self, vals: Mapping[str, Any]) -> Any:
        return self.fn(vals)


def _estimator(program: Program, chunk: int, f: Readout, weighted: bool, chunks: int,
               spread_over: NamedSharding | None) -> Any:
    """seed → the (weighted) mean of ``f`` over ``chunks`` chunks of samples, its standard error,
    the ESS, whether any sample has positive weight, and whether each distribution's parameters
    were valid. The chunks are laid out by ``spread_over`` (one per device) when given."""
    draw = jax.vmap(_drawer(program, chunk), in_axes=(0, None, None))

    def run(seed: Any, do: Mapping[str, Any], ev: Mapping[str, Any]) -> Any:
        # XLA's RngBitGenerator (Philox on the CPU): about twice threefry's speed for normals
        keys = jax.random.split(jax.random.key(seed, impl="rbg"), chunks)
        if spread_over is not None:
            keys = jax.lax.with_sharding_constraint(keys, spread_over)
        vals, logw, ok = draw(keys, do, ev)
        ok = {k: jnp.all(v) for k, v in ok.items()}
        x = jnp.asarray(f({k: v.reshape(-1) for k, v in vals.items()}), dtype=float)
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


def _drawer(program: Program, n: int) -> Any:
    """One chunk of ``n`` samples: the read sites and each sample's log weight."""

    def draw(rng: Any, do: Mapping[str, Any], ev: Mapping[str, Any]) -> Any:
        tr = trace(seed_handler(program.model, rng)).get_trace(n, do, ev)
        logw = jnp.zeros(n)
        for site in tr.values():
            if site["type"] == "sample" and site["is_observed"]:
                logw = logw + jnp.broadcast_to(site["fn"].log_prob(site["value"]), (n,))
        ok = {k: v["value"] for k, v in tr.items() if is_flag(k)}
        return {r: tr[r]["value"] for r in program.reads}, logw, ok

    return draw


def _noted(result: Estimate | SampledDistribution, notes: list[str]
           ) -> Estimate | SampledDistribution:
    """The answer with the reparameterisations it rests on said in its route."""
    if not notes:
        return result
    if isinstance(result, Estimate):
        note = "; ".join([*notes, *([result.details["note"]] if "note" in result.details else [])])
        return Estimate(float(result), result.se, result.route, **{**result.details, "note": note})
    return dataclasses.replace(result, route=f"{result.route}; {'; '.join(notes)}")


def engine_for(model: CausalModel) -> SamplingEngine:
    """The sampling engine of a model, kept on the model (models are immutable)."""
    return kept_on(model, "_sample_engine", SamplingEngine)
