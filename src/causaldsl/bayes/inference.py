"""Posterior draws of unknown tables where no closed form exists (a hidden variable in some
unknown table's family): NUTS or SVI in NumPyro on the likelihood of ``likelihood``, hidden
variables summed out exactly; and maximum likelihood, with bootstrap replicates as one
vmapped optimisation."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causaldsl.backends import jax64
from causaldsl.bayes.kernel import data_nuts, sample_nuts, starting_points
from causaldsl.bayes.likelihood import log_likelihood, pattern_probabilities
from causaldsl.bayes.patterns import Patterns
from causaldsl.ir.mechanism import UnknownTable
from causaldsl.model.causal_model import CausalModel

#: The thresholds past which a fit's diagnostics are called poor (Vehtari et al. 2021:
#: split r-hat under 1.01, a bulk effective sample size of at least 100 per chain).
RHAT_LIMIT = 1.01
ESS_PER_CHAIN = 100


@dataclass(frozen=True)
class Diagnostics:
    """How a fit went: draws, chains, the worst r-hat and effective sample size over every
    parameter, divergent transitions, seconds, and the warnings these call for."""

    method: str
    draws: int
    chains: int = 1
    warmup: int = 0
    r_hat: float | None = None
    ess: float | None = None
    divergences: int = 0
    seconds: float = 0.0
    warnings: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        parts = [f"{self.method}: {self.draws} draws"]
        if self.chains > 1:
            parts.append(f"{self.chains} chains")
        if self.warmup:
            parts.append(f"{self.warmup} warm-up")
        if self.r_hat is not None:
            parts.append(f"max r-hat {self.r_hat:.3f}")
        if self.ess is not None:
            parts.append(f"min ESS {self.ess:.0f}")
        if self.method == "nuts":
            parts.append(f"{self.divergences} divergences")
        parts.append(f"{self.seconds:.2f} s")
        return ", ".join(parts)


def mcmc_warnings(r_hat: float | None, ess: float, chains: int, divergences: int,
                  cause: str) -> list[str]:
    """The warnings a NUTS run's diagnostics call for, with what to do; ``cause``: what
    commonly causes divergences in such a model."""
    out = []
    if r_hat is not None and not r_hat <= RHAT_LIMIT:
        out.append(f"r-hat {r_hat:.3f} is over {RHAT_LIMIT}: the chains disagree; run longer "
                   "(draws=, warmup=) before trusting the posterior")
    if not ess >= ESS_PER_CHAIN * chains:
        out.append(f"the effective sample size is {ess:.0f}, under {ESS_PER_CHAIN * chains}: "
                   "intervals are rough; ask for more draws")
    if divergences:
        out.append(f"{divergences} divergent transitions: the posterior may be biased; "
                   f"{cause} or a sharp prior can cause them")
    return out


def svi_warnings(losses: np.ndarray, steps: int) -> list[str]:
    """The warnings an SVI run's losses call for: not finite at the end, or still moving
    (the last tenth's spread over 5% of its level)."""
    tail = losses[-max(steps // 10, 1):]
    if not np.all(np.isfinite(tail)):
        return ["the ELBO is not finite at the end of the run: the fit failed"]
    if len(losses) > 20 and np.std(tail) > 0.05 * max(abs(float(np.mean(tail))), 1.0):
        return ["the ELBO is still moving at the end of the run: ask for more steps"]
    return []


def _numpyro_model(model: CausalModel, patterns: Patterns) -> Any:
    """The NumPyro program of the tables, called with the data (``codes``, ``counts``) as
    arguments: a compiled kernel depends on the model and the number of patterns only."""
    import numpyro
    import numpyro.distributions as dist

    jnp = jax64.jnp()
    loglik = log_likelihood(model, patterns.names)
    priors = {v: jnp.asarray(_prior(model, v)) for v in model.unknown}

    def program(codes: Any, counts: Any) -> None:
        tables = {v: numpyro.sample(v, dist.Dirichlet(a)) for v, a in priors.items()}
        numpyro.factor("data", loglik(tables, codes, counts))

    return program


def _potential(model: CausalModel, patterns: Patterns) -> tuple[Any, Any, dict[str, tuple]]:
    """NUTS's potential energy on unconstrained parameters (each row of a table through the
    stick-breaking bijection, its Jacobian counted) as ``potential_of(data)(u)``, the data
    (``codes``, ``counts``) an argument; the map back to tables; and the unconstrained shapes.
    Written out, not found by tracing the NumPyro program: that eager tracing costs seconds on
    every fit."""
    import numpyro.distributions as dist
    from numpyro.distributions import constraints
    from numpyro.distributions.transforms import biject_to

    jnp = jax64.jnp()
    simplex = biject_to(constraints.simplex)
    loglik = log_likelihood(model, patterns.names)
    priors = {v: dist.Dirichlet(jnp.asarray(_prior(model, v))) for v in model.unknown}
    dims = {v: (*_prior(model, v).shape[:-1], _prior(model, v).shape[-1] - 1)
            for v in model.unknown}

    def to_tables(u: Mapping[str, Any]) -> dict[str, Any]:
        return {v: simplex(u[v]) for v in priors}

    def energy(u: Mapping[str, Any], data: tuple[Any, Any]) -> Any:
        tables = to_tables(u)
        lp = loglik(tables, *data)
        for v, prior in priors.items():
            lp = lp + jnp.sum(prior.log_prob(tables[v])) + jnp.sum(
                simplex.log_abs_det_jacobian(u[v], tables[v]))
        return -lp

    # jitted with the data as an argument: NumPyro takes its first gradient eagerly, which op
    # by op costs a second or two; inside the sampler's own jit the call is inlined
    jitted = jax64.jax().jit(energy)

    def potential_of(data: tuple[Any, Any]) -> Any:
        return lambda u: jitted(u, data)

    return potential_of, to_tables, dims


def _data(patterns: Patterns) -> tuple[Any, Any]:
    jnp = jax64.jnp()
    return jnp.asarray(patterns.codes), jnp.asarray(patterns.counts)


def _prior(model: CausalModel, v: str) -> np.ndarray:
    mech = model.variables[v].mechanism
    assert isinstance(mech, UnknownTable)
    return mech.concentration


def nuts(model: CausalModel, patterns: Patterns, draws: int, warmup: int, chains: int,
         seed: int, progress: bool = False) -> tuple[dict[str, np.ndarray], Diagnostics]:
    """About ``draws`` posterior draws (``chains`` chains of ``draws / chains``, rounded up,
    one after another: on CPUs faster than vectorised chains, which step in lockstep; kept
    chain after chain), and the diagnostics of the run."""
    from numpyro.diagnostics import summary

    jax = jax64.jax()
    t0 = time.perf_counter()
    per_chain = -(-draws // chains)
    potential_of, to_tables, dims = _potential(model, patterns)
    key = jax.random.PRNGKey(seed)
    init = starting_points(key, dict(dims), chains)
    # the data are an argument of the compiled sampler: a data set with as many distinct rows
    # reuses it (in this process, and from JAX's persistent cache in the next)
    data = _data(patterns)
    raw, diverging = sample_nuts(data_nuts(potential_of, data), data, init, key, warmup,
                                 per_chain, chains, progress)
    tables = jax.jit(jax.vmap(jax.vmap(to_tables)))(raw)
    grouped = {k: np.asarray(v) for k, v in tables.items()}
    # Judged on what the data inform, the probabilities of the observed patterns: a table
    # behind a hidden variable may be unidentified (its labels swapped), and its own r-hat
    # says nothing about the answers.
    codes = jax64.jnp().asarray(patterns.codes)
    probs = jax.vmap(jax.vmap(lambda t: pattern_probabilities(model, patterns.names)(t, codes))
                     )(grouped)
    stats = summary({"patterns": np.asarray(probs)}, group_by_chain=True)["patterns"]
    r_hat = float(np.nanmax(stats["r_hat"])) if chains > 1 else None
    ess = float(np.nanmin(stats["n_eff"]))
    div = int(np.asarray(diverging).sum())
    warnings = mcmc_warnings(r_hat, ess, chains, div, "a hidden variable with many states")
    flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in grouped.items()}
    return flat, Diagnostics("nuts", chains * per_chain, chains, warmup, r_hat, ess, div,
                             time.perf_counter() - t0, tuple(warnings))


def svi(model: CausalModel, patterns: Patterns, draws: int, steps: int, seed: int,
        progress: bool = False) -> tuple[dict[str, np.ndarray], Diagnostics]:
    """Variational draws: a multivariate normal guide on the unconstrained parameters, fitted
    by Adam for ``steps`` steps (for large data: one pass costs one einsum over patterns)."""
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoMultivariateNormal
    from numpyro.optim import Adam

    jax = jax64.jax()
    t0 = time.perf_counter()
    program = _numpyro_model(model, patterns)
    guide = AutoMultivariateNormal(program)
    data = _data(patterns)
    run = SVI(program, guide, Adam(0.02), Trace_ELBO()).run(
        jax.random.PRNGKey(seed), steps, *data, progress_bar=progress)
    out = guide.sample_posterior(jax.random.PRNGKey(seed + 1), run.params, *data,
                                 sample_shape=(draws,))
    warnings = svi_warnings(np.asarray(run.losses), steps)
    flat = {k: np.asarray(v) for k, v in out.items() if k in model.unknown}
    return flat, Diagnostics("svi", draws, 1, steps, None, None, 0,
                             time.perf_counter() - t0, tuple(warnings))


def max_likelihood(model: CausalModel, patterns: Patterns, replicates: np.ndarray,
                   steps: int, seed: int) -> dict[str, np.ndarray]:
    """The maximum-likelihood tables for each row of ``replicates`` (pattern counts), by
    Adam on the rows' logits, all replicates in one vmapped, jitted run."""
    jax, jnp = jax64.jax(), jax64.jnp()
    from numpyro.optim import Adam

    loglik = log_likelihood(model, patterns.names)
    codes = jnp.asarray(patterns.codes)
    shapes = {v: _prior(model, v).shape for v in model.unknown}
    key = jax.random.PRNGKey(seed)
    start = {v: 0.01 * jax.random.normal(jax.random.fold_in(key, i), s)
             for i, (v, s) in enumerate(shapes.items())}
    total = float(patterns.counts.sum())

    def tables(logits: Mapping[str, Any]) -> dict[str, Any]:
        return {v: jax.nn.softmax(x, axis=-1) for v, x in logits.items()}

    def one(counts: Any) -> Any:
        def loss(logits: Any) -> Any:
            return -loglik(tables(logits), codes, counts) / total

        opt = Adam(0.05)

        def step(state: Any, _: Any) -> Any:
            return opt.update(jax.grad(loss)(opt.get_params(state)), state), None

        state, _ = jax.lax.scan(step, opt.init(start), None, length=steps)
        x = opt.get_params(state)
        return tables(x)

    out = jax.jit(jax.vmap(one))(jnp.asarray(replicates))
    return {v: np.asarray(a) for v, a in out.items()}
