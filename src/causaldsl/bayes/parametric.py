"""Models whose equations have unknown parameters (``param b ~ Normal(0, 1)``): the posterior
of the parameters by NUTS on the sampling backend's NumPyro program, the data observed row by
row (hidden variables sampled per row, a ``:=`` with additive noise abducted exactly); and the
posterior of a query as one vmapped forward pass per draw, with fresh random numbers for each
draw and the outcome's conditional mean or probabilities in place of its samples."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from causaldsl.backends import jax64
from causaldsl.bayes.inference import Diagnostics, mcmc_warnings, svi_warnings
from causaldsl.bayes.kernel import data_nuts, sample_nuts, starting_points
from causaldsl.core.errors import FitError, QueryError
from causaldsl.core.progress import announce
from causaldsl.core.types import FiniteType, Real
from causaldsl.estimation.data import columns_of, load
from causaldsl.ir.expr import free_names
from causaldsl.ir.mechanism import ExprMechanism
from causaldsl.model.causal_model import CausalModel
from causaldsl.syntax.query import Expect, Prob
from causaldsl.syntax.tree import Binary, Unary, Var

#: The largest gradient (of the mean log-likelihood per row) at which a maximum-likelihood
#: fit counts as converged.
GRADIENT_TOLERANCE = 1e-4
#: The least effective sample size of a draw's importance weights (evidence) that is answered.
MIN_WEIGHT_ESS = 20
#: Forward samples per posterior draw when a query is answered.
PER_DRAW = 4096
#: The most sampled dimensions at which NUTS adapts a dense mass matrix by default (a
#: regression's coefficients are correlated a posteriori; a dense metric follows them, at
#: O(d²) a leapfrog step and a d × d covariance learnt in warm-up).
DENSE_MASS_MAX = 50


def observed_data(model: CausalModel, data: Any, missing: str) -> tuple[tuple[str, ...],
                                                                       dict[str, Any], int, str]:
    """The observed variables that are columns, their values as the program takes them
    (positions of finite values, numbers), the number of rows and the source's name."""
    cols = set(columns_of(data))
    names = tuple(v for v in model.observed if v in cols)
    if not names:
        raise FitError(f"the data have no column named after an observed variable of model "
                       f"{model.name} ({', '.join(model.observed)})")
    ds = load(data, names, {v: model.variables[v].type for v in names}, missing=missing)
    values = {v: ds.codes(v) if isinstance(ds.types[v], FiniteType) else ds.values(v)
              for v in names}
    return names, values, ds.n, ds.source


def _priors(model: CausalModel) -> dict[str, Any]:
    """The prior of each parameter, and of each unknown table (Dirichlet rows, by its
    variable's name)."""
    import numpyro.distributions as dist

    from causaldsl.backends.jaxexpr import distribution
    from causaldsl.ir.mechanism import UnknownTable

    out = {p: distribution(prm.prior.expr, {}, Real, f"the prior of {p}")
           for p, prm in model.parameters.items()}
    for v in model.unknown:
        mech = model.variables[v].mechanism
        assert isinstance(mech, UnknownTable)
        out[v] = dist.Dirichlet(jax64.jnp().asarray(mech.concentration))
    return out


def _joint(model: CausalModel, data: Any, missing: str, reduce: bool = False
           ) -> tuple[Any, dict[str, Any], dict[str, Any], tuple[str, ...], int, str]:
    """The NumPyro program of the parameters and the data (called with the data as its
    argument), the data, the priors, the observed columns, the rows and the source.
    ``reduce``: Normal equations linear in the parameters read from sufficient statistics
    (carried with the data) and constant factors left out (``bayes.sufficient``): the same
    posterior, a log density that differs by a constant."""
    import numpyro
    from numpyro import handlers

    from causaldsl.backends.program import Program

    jnp = jax64.jnp()
    names, values, n, source = observed_data(model, data, missing)
    # a finite variable without a column is summed out (NumPyro's enumeration)
    program = Program(model, (), names, names, enumerate=True,
                      params=(*model.parameters, *model.unknown))
    disc = program.latent_sites[1]
    if disc:
        try:
            import funsor  # noqa: F401
        except ImportError:
            raise FitError(f"{', '.join(disc)} (finite, no column) must be summed out, which "
                           "NumPyro does with the funsor package (pip install funsor)") from None
    priors = _priors(model)
    evidence: dict[str, Any] = {v: jnp.asarray(x) for v, x in values.items()}
    reduced, skip = _reduced(model, names, values, n, evidence) if reduce else ((), frozenset())

    def joint(ev: Mapping[str, Any]) -> None:
        theta = {p: numpyro.sample(site(model, p), d) for p, d in priors.items()}
        with handlers.block(hide_fn=lambda site: site["type"] == "deterministic"), \
                _unscored(skip):
            program.model(n, {}, ev, params=theta)
        for r in reduced:
            numpyro.factor(f"{r.name}{SUFFICIENT}", r.log_likelihood(theta, ev[SUFFICIENT][r.name]))

    return joint, evidence, priors, names, n, source


#: The key of the data that holds each reduced equation's sufficient statistics (no
#: variable has this name), and the suffix of its factor's site.
SUFFICIENT = "/sufficient"


def _reduced(model: CausalModel, names: tuple[str, ...], values: Mapping[str, Any], n: int,
             evidence: dict[str, Any]) -> tuple[tuple[Any, ...], frozenset[str]]:
    """The equations read from sufficient statistics (their statistics put with the data
    in ``evidence``), and the sites whose row-by-row density is left out: theirs and the
    constant factors'."""
    from causaldsl.bayes.gaussian import environment
    from causaldsl.bayes.sufficient import constant_factors, reductions

    jnp = jax64.jnp()
    found = reductions(model, names)
    env = environment(model, values) if found else {}
    reduced, stats = [], {}
    for r in found:
        st = r.statistics(env, np.asarray(values[r.name]), n)
        if st is not None:
            reduced.append(r)
            stats[r.name] = {k: jnp.asarray(v) for k, v in st.items()}
    if stats:
        evidence[SUFFICIENT] = stats
    return tuple(reduced), frozenset((*constant_factors(model, names),
                                      *(r.name for r in reduced)))


def _unscored(names: frozenset[str]) -> Any:
    """A handler under which the sample sites ``names`` keep their values but add nothing to
    the log density (masked, as ``numpyro.handlers.mask`` does to every site)."""
    from numpyro.primitives import Messenger

    class Unscored(Messenger):
        def process_message(self, msg: dict[str, Any]) -> None:
            if msg["type"] == "sample" and msg["name"] in names:
                msg["fn"] = msg["fn"].mask(False)

    return Unscored()


def site(model: CausalModel, name: str) -> str:
    """The NumPyro site of a parameter (its name) or of an unknown table (its variable's name
    and ``/table``: the variable has a site of its own)."""
    return f"{name}/table" if name in model.unknown else name


def svi_parameters(model: CausalModel, data: Any, draws: int, steps: int, seed: int,
                   missing: str, progress: bool
                   ) -> tuple[dict[str, np.ndarray], Diagnostics, tuple[str, ...], int, str]:
    """Variational draws of the parameters: a normal guide on the unconstrained parameters
    (and on each row's hidden variables), fitted by Adam for ``steps`` steps."""
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoNormal
    from numpyro.optim import Adam

    jax = jax64.jax()
    joint, evidence, priors, names, n, source = _joint(model, data, missing)
    t0 = time.perf_counter()
    guide = AutoNormal(joint)
    run = SVI(joint, guide, Adam(0.02), Trace_ELBO()).run(
        jax.random.PRNGKey(seed), steps, evidence, progress_bar=progress)
    out = guide.sample_posterior(jax.random.PRNGKey(seed + 1), run.params, evidence,
                                 sample_shape=(draws,))
    warnings = svi_warnings(np.asarray(run.losses), steps)
    diag = Diagnostics("svi", draws, 1, steps, None, None, 0, time.perf_counter() - t0,
                       tuple(warnings))
    return {p: np.asarray(out[site(model, p)]) for p in priors}, diag, names, n, source


def nuts_parameters(model: CausalModel, data: Any, draws: int, warmup: int, chains: int,
                    seed: int, missing: str, progress: bool, mass: str = "auto"
                    ) -> tuple[dict[str, np.ndarray], Diagnostics, tuple[str, ...], int, str]:
    """Posterior draws of every parameter (kept chain after chain) and the diagnostics.
    ``mass``: the mass matrix NUTS adapts in warm-up, "dense" or "diagonal"; "auto" is
    dense where the sampled dimensions number at most ``DENSE_MASS_MAX``."""
    from numpyro.diagnostics import summary
    from numpyro.infer import MCMC, NUTS

    jax = jax64.jax()
    joint, evidence, priors, names, n, source = _joint(model, data, missing, reduce=True)
    t0 = time.perf_counter()
    per_chain = -(-draws // chains)
    key = jax.random.PRNGKey(seed)
    fast = _compiled_potential(joint, evidence, chains, key, [site(model, p) for p in priors])
    if fast is None:  # finite sites summed out: NumPyro's own set-up enumerates them
        mcmc = MCMC(NUTS(joint, dense_mass=mass == "dense"), num_warmup=warmup,
                    num_samples=per_chain, num_chains=chains, chain_method="sequential",
                    progress_bar=progress)
        if progress:
            announce("compiling the sampler (NUTS)…")
        mcmc.run(key, evidence)
        samples = mcmc.get_samples(group_by_chain=True)
        diverging = mcmc.get_extra_fields()["diverging"]
    else:
        potential_of, init, constrain = fast
        # the data are an argument of the compiled sampler, not constants baked into it: a new
        # data set of the same shape reuses the compiled program (in this process, and from
        # JAX's persistent cache in the next)
        kernel = data_nuts(potential_of, evidence, dense_mass(mass, init, chains))
        raw, diverging = sample_nuts(kernel, evidence, init, key, warmup, per_chain,
                                     chains, progress)
        samples = constrain(raw)
    grouped = {p: np.asarray(samples[site(model, p)]) for p in priors}
    stats = summary(grouped, group_by_chain=True)
    r_hat = max(float(np.nanmax(s["r_hat"])) for s in stats.values()) if chains > 1 else None
    ess = min(float(np.nanmin(s["n_eff"])) for s in stats.values())
    div = int(np.asarray(diverging).sum())
    warnings = mcmc_warnings(r_hat, ess, chains, div, "a parameter with a scale near zero")
    flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in grouped.items()}
    diag = Diagnostics("nuts", chains * per_chain, chains, warmup, r_hat, ess, div,
                       time.perf_counter() - t0, tuple(warnings))
    return flat, diag, names, n, source


def dense_mass(mass: str, init: Mapping[str, Any], chains: int) -> bool:
    """Whether NUTS adapts a dense mass matrix: asked for, or (``auto``) where the sampled
    dimensions (the unconstrained sites' sizes, from a chain's starting point) number at
    most ``DENSE_MASS_MAX``."""
    if mass != "auto":
        return mass == "dense"
    size = sum(int(np.prod(np.shape(x)[1 if chains > 1 else 0:])) for x in init.values())
    return size <= DENSE_MASS_MAX


def _compiled_potential(joint: Any, evidence: Any, chains: int, key: Any,
                        wanted: Any) -> tuple[Any, Any, Any] | None:
    """NUTS's potential energy of ``joint`` on the unconstrained latent sites, jitted; the
    starting points of the chains (uniform in (-2, 2) on the unconstrained scale, as
    NumPyro's default); and the map of draws back to values, for the ``wanted`` sites.
    Built without NumPyro's eager set-up, which runs the model op by op (a second or more of
    a fit). None where a latent site is discrete (NumPyro enumerates those in its own
    set-up)."""
    from numpyro import handlers
    from numpyro.distributions.transforms import IdentityTransform, biject_to
    from numpyro.infer.util import potential_energy

    jax = jax64.jax()
    supports: dict[str, Any] = {}

    def latent(k: Any) -> dict[str, Any]:
        tr = handlers.trace(handlers.seed(joint, k)).get_trace(evidence)
        out = {}
        for name, site in tr.items():
            if site["type"] == "sample" and not site["is_observed"]:
                supports[name] = site["fn"].support
                out[name] = site["value"]
        return out

    shapes = jax.eval_shape(latent, key)  # abstract: nothing runs
    if any(getattr(sup, "is_discrete", False) for sup in supports.values()):
        return None
    free = {n: biject_to(supports[n]).inverse_shape(s.shape) for n, s in shapes.items()}

    # jitted with the data as an argument: NumPyro takes its first gradient eagerly, which op
    # by op costs seconds; inside the sampler's own jit the call is inlined
    energy = jax.jit(lambda u, data: potential_energy(joint, (data,), {}, u))

    def potential_of(data: Any) -> Any:
        return lambda u: energy(u, data)

    moved = {n: biject_to(supports[n]) for n in wanted}
    moved = {n: t for n, t in moved.items() if not isinstance(t, IdentityTransform)}

    @jax.jit
    def constrained(samples: Any) -> Any:
        return {n: t(samples[n]) for n, t in moved.items()}

    def constrain(samples: Any) -> Any:  # the parameters' and tables' sites, not the rows'
        # real sites (the identity) pass as they are: a compiled map of every site took a
        # quarter of a second to compile on a process's first fit
        out = {n: samples[n] for n in wanted}
        if moved:
            out.update(constrained({n: samples[n] for n in moved}))
        return out

    init = starting_points(key, free, chains)
    return potential_of, init, constrain


def mle_parameters(model: CausalModel, data: Any, bootstrap: int, seed: int, missing: str
                   ) -> tuple[dict[str, Any], dict[str, np.ndarray], Diagnostics,
                              tuple[str, ...], int, str]:
    """Maximum-likelihood parameters (the priors ignored, only their supports kept) and
    unknown tables (their frequencies), and
    ``bootstrap`` replicates: rows resampled with replacement, each replicate's likelihood
    the rows weighted by their counts; every fit by BFGS, all replicates in one vmapped call.
    Every variable the equations involve must be a column (nothing to integrate out)."""
    from numpyro import handlers
    from numpyro.distributions.transforms import biject_to
    from numpyro.infer.util import log_density

    from causaldsl.backends.program import Program

    jax = jax64.jax()
    jnp = jax64.jnp()
    from jax.scipy.optimize import minimize

    t0 = time.perf_counter()
    names, values, n, source = observed_data(model, data, missing)
    program = Program(model, (), names, names, params=(*model.parameters, *model.unknown))
    hidden = [v for v in program.order if v not in names]
    if hidden:
        raise FitError(f"mle needs every variable the equations involve as a column; "
                       f"{', '.join(hidden)} {'is' if len(hidden) == 1 else 'are'} not (fit by "
                       "nuts, which samples them)")
    priors = {p: d for p, d in _priors(model).items() if p in model.parameters}
    to_value = {p: biject_to(d.support) for p, d in priors.items()}
    evidence = {v: jnp.asarray(x) for v, x in values.items()}
    order = list(priors)
    # The likelihood factorises: an unknown table's factor reads that table alone, an
    # equation's reads parameters alone. The tables are held at uniform rows here (a constant
    # factor, finite in every replicate) and estimated apart, by their frequencies.
    shapes = {v: model.variables[v].mechanism.shape  # type: ignore[union-attr]
              for v in model.unknown}
    held = {v: jnp.full(shape, 1.0 / shape[-1]) for v, shape in shapes.items()}

    def loglik(u: Any, weights: Any) -> Any:
        theta = {**held, **{p: to_value[p](u[i]) for i, p in enumerate(order)}}
        with handlers.block(hide_fn=lambda site: site["type"] == "deterministic"):
            lp, _ = log_density(handlers.scale(program.model, weights), (n, {}, evidence),
                                {"params": theta}, {})
        return lp

    def fit_one(weights: Any) -> Any:
        def objective(u: Any) -> Any:
            return -loglik(u, weights) / n

        x = jnp.zeros(len(order))
        for _ in range(3):  # BFGS restarted where its line search stopped short
            x = minimize(objective, x, method="BFGS").x
        return x, jnp.linalg.norm(jax.grad(objective)(x)) < GRADIENT_TOLERANCE

    rng = np.random.default_rng(seed)
    reps = rng.multinomial(n, np.full(n, 1.0 / n), size=bootstrap).astype(np.float64)
    if model.unknown:  # each table's frequencies, in the same bootstrap replicates
        tables, table_reps = _table_frequencies(model, names, values, source, reps)
    weights = jnp.asarray(np.vstack([np.ones((1, n)), reps]))
    u, ok = jax.jit(jax.vmap(fit_one))(weights)
    u = np.asarray(u)
    if not bool(np.asarray(ok)[0]):
        raise FitError("the maximum-likelihood fit did not converge (BFGS); fit by nuts, whose "
                       "priors keep the parameters in range")
    values_of = {p: np.asarray(jax.vmap(to_value[p])(jnp.asarray(u[:, i])))
                 for i, p in enumerate(order)}
    point: dict[str, Any] = {p: float(v[0]) for p, v in values_of.items()}
    reps_of: dict[str, np.ndarray] = {p: v[1:] for p, v in values_of.items()}
    if model.unknown:
        point.update(tables)
        reps_of.update(table_reps)
    failed = int((~np.asarray(ok)[1:]).sum())
    warnings = (f"{failed} of {bootstrap} bootstrap fits did not converge",) if failed else ()
    diag = Diagnostics("mle", bootstrap, seconds=time.perf_counter() - t0, warnings=warnings)
    return point, reps_of, diag, names, n, source


def _table_frequencies(model: CausalModel, names: tuple[str, ...], values: Mapping[str, Any],
                       source: str, reps: np.ndarray
                       ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The maximum-likelihood unknown tables (their families' frequencies; every family is a
    column, mle needs that), and the same in each bootstrap replicate (``reps``: each row's
    count in each replicate)."""
    from causaldsl.bayes.conjugate import frequencies
    from causaldsl.bayes.patterns import row_patterns

    types = {v: t for v in names if isinstance(t := model.variables[v].type, FiniteType)}
    finite = tuple(types)
    patterns, inverse = row_patterns(finite, tuple(types.values()),
                                     {v: np.asarray(values[v]) for v in finite}, source)
    point = frequencies(model, patterns, strict=True)
    per_rep = [frequencies(model, patterns.resampled(
        np.bincount(inverse, weights=r, minlength=len(patterns.counts))), strict=False)
        for r in reps]
    return point, {v: np.stack([t[v] for t in per_rep]) for v in model.unknown}


class AnswerDraws(np.ndarray):
    """A term's value per draw (an ndarray), with ``mc``: each value's Monte Carlo variance
    (zeros where it was computed exactly)."""

    mc: np.ndarray

    def __new__(cls, values: Any, mc: Any) -> AnswerDraws:
        out = np.asarray(values, dtype=np.float64).view(cls)
        out.mc = np.asarray(mc, dtype=np.float64)
        return out


def exact_means(model: CausalModel, y: str, do: Mapping[str, Any],
                draws: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """``E[y | do]`` under each draw exactly, where every mechanism on the way up is linear
    in the random variables it reads (coefficients may be parameters): the mean then passes
    through each mechanism (``E[a + b X] = a + b E[X]``), each distribution giving its mean of
    its arguments' means. None where some step is not linear (then it is sampled)."""
    from causaldsl.backends.jaxexpr import evaluate

    jax = jax64.jax()
    jnp = jax64.jnp()

    class NotLinear(Exception):
        pass

    def mean_of(name: str, theta: Mapping[str, Any], memo: dict[str, Any]) -> Any:
        if name in memo:
            return memo[name]
        v = model.variables[name]
        if name in do:
            t = v.type
            value = do[name]
            if isinstance(t, FiniteType):
                nums = t.numeric()
                if nums is None:
                    raise NotLinear
                value = nums[t.index(value)]
            out = jnp.asarray(float(value))
        else:
            m = v.mechanism
            if not isinstance(m, ExprMechanism) or isinstance(v.type, FiniteType):
                raise NotLinear
            mean = mean_expr if m.kind == "assign" else dist_mean
            out = mean(m.expr, theta, memo)
        memo[name] = out
        return out

    def random(e: Any) -> bool:
        return any(n in model.variables for n, _ in free_names(e))

    def mean_expr(e: Any, theta: Mapping[str, Any], memo: dict[str, Any]) -> Any:
        if not random(e):
            return jnp.asarray(evaluate(e, theta), dtype=float)
        if isinstance(e, Var):
            return mean_of(e.name, theta, memo)
        if isinstance(e, Unary) and e.op == "-":
            return -mean_expr(e.arg, theta, memo)
        if isinstance(e, Binary) and e.op in ("+", "-"):
            a, b = mean_expr(e.left, theta, memo), mean_expr(e.right, theta, memo)
            return a + b if e.op == "+" else a - b
        if isinstance(e, Binary) and e.op == "*" and not (random(e.left) and random(e.right)):
            return mean_expr(e.left, theta, memo) * mean_expr(e.right, theta, memo)
        if isinstance(e, Binary) and e.op == "/" and not random(e.right):
            return mean_expr(e.left, theta, memo) / mean_expr(e.right, theta, memo)
        raise NotLinear

    def dist_mean(call: Any, theta: Mapping[str, Any], memo: dict[str, Any]) -> Any:
        if call.name in ("Normal", "StudentT", "Laplace") and len(call.args) >= 2:
            loc = call.args[1] if call.name == "StudentT" else call.args[0]
            if call.name == "StudentT" and (free_names(call.args[0])
                                            or not float(evaluate(call.args[0], {})) > 1):
                raise NotLinear  # a t whose degrees of freedom may be 1 or fewer has no mean
            return mean_expr(loc, theta, memo)
        if any(random(a) for a in call.args):
            raise NotLinear  # a mean that is not linear in a random argument
        args = [jnp.asarray(evaluate(a, theta), dtype=float) for a in call.args]
        means: dict[str, Any] = {"Uniform": lambda a, b: (a + b) / 2, "Exponential": lambda r: 1 / r,
                 "Gamma": lambda a, b: a / b, "Beta": lambda a, b: a / (a + b),
                 "HalfNormal": lambda s: s * jnp.sqrt(2 / jnp.pi),
                 "LogNormal": lambda m, s: jnp.exp(m + s * s / 2)}
        if call.name not in means:
            raise NotLinear
        return means[call.name](*args)

    def one(theta: Mapping[str, Any]) -> Any:
        return mean_of(y, theta, {})

    if any(np.ndim(a) != 1 for a in draws.values()):
        return None  # unknown tables: their variables are finite, never linear
    try:
        jax.eval_shape(one, {p: jax.ShapeDtypeStruct((), jnp.float64) for p in draws})
    except NotLinear:
        return None
    return np.asarray(jax.jit(jax.vmap(one))({p: jnp.asarray(a) for p, a in draws.items()}))


def parametric_answer(model: CausalModel, draws: Mapping[str, np.ndarray], term: Prob | Expect,
                      seed: int = 0, per_draw: int = PER_DRAW) -> AnswerDraws:
    """``term`` under each draw of the parameters: shape ``(S,)``, or ``(S, k)`` for the
    distribution of a finite outcome left open. Interventions cut; evidence observed and
    weighted by its density (self-normalised importance sampling, as the sampling backend's
    ``importance`` route); a counterfactual asked of the multi-world model, continuous
    mechanisms first written over explicit noise, which evidence abducts exactly."""
    from numpyro import handlers
    from numpyro.distributions import ExpandedDistribution

    from causaldsl.backends.program import Program

    jax = jax64.jax()
    jnp = jax64.jnp()
    prob = term.prob if isinstance(term, Expect) else term
    if len(prob.outcomes) != 1:
        raise QueryError(f"{term}: a fitted model with parameters answers one outcome at a "
                         "time (P(Y = y | ...), P(Y | ...), E[Y | ...])")
    for e in (*prob.interventions, *prob.evidence):
        if e.value is None:
            raise QueryError(f"{term}: name the value of {e.var} (a fitted model with "
                             "parameters answers for one setting at a time)")
    if prob.is_counterfactual:
        from causaldsl.backends.reparam import reparameterise
        from causaldsl.rewrite.worlds import multiworld_for

        mw = multiworld_for(reparameterise(model)[0], prob)
        model, prob = mw.model, mw.query
    (y,) = prob.outcomes
    do = {e.var: _position(model, e.var, e.value) for e in prob.interventions}
    given = {e.var: _position(model, e.var, e.value) for e in prob.evidence}
    if isinstance(term, Expect) and not given:
        exact = exact_means(model, y.var, {e.var: e.value for e in prob.interventions}, draws)
        if exact is not None:  # linear all the way up: no Monte Carlo error at all
            return AnswerDraws(exact, np.zeros_like(exact))
    program = Program(model, tuple(do), tuple(given), (y.var,), params=tuple(draws))
    yt = model.variables[y.var].type
    nums = yt.numeric() if isinstance(yt, FiniteType) else None
    if isinstance(term, Expect) and isinstance(yt, FiniteType) and nums is None:
        raise QueryError(f"{term}: {y.var} has labels that are not numbers")
    # the outcome's conditional mean (or probabilities) given its parents stands for its
    # sample, unless evidence is on a descendant of it: then its sample is what is weighted
    below = {v for v in given if y.var in model.ancestors([v], cut=tuple(do)) and v != y.var}
    smooth = not below and y.var not in given

    def statistic(tr: Mapping[str, Any]) -> Any:
        site = tr[y.var]
        fn = site.get("fn") if smooth and site["type"] == "sample" else None
        while isinstance(fn, ExpandedDistribution):  # a plate's copies of one distribution
            fn = fn.base_dist
        if isinstance(yt, FiniteType):
            k = yt.size
            if fn is not None and "Bernoulli" in type(fn).__name__:  # P(second value)
                p = jnp.broadcast_to(fn.probs, (per_draw,))
                probs = jnp.stack([1 - p, p], axis=-1)  # Rao-Blackwellised
            elif fn is not None and hasattr(fn, "probs"):
                probs = jnp.broadcast_to(fn.probs, (per_draw, k))
            else:
                probs = jax.nn.one_hot(site["value"], k)
            if isinstance(term, Expect):
                return probs @ jnp.asarray(nums, dtype=float)
            if y.value is not None:
                return probs[:, yt.index(y.value)]
            return probs
        mean = fn.mean if fn is not None else site["value"]
        return jnp.broadcast_to(mean, (per_draw,))

    def one(theta: Mapping[str, Any], key: Any) -> Any:
        with handlers.block(hide_fn=lambda site: site["type"] == "deterministic"
                            and site["name"] != y.var):
            tr = handlers.trace(handlers.seed(program.model, key)).get_trace(
                per_draw, {v: jnp.full((), x) for v, x in do.items()},
                {v: jnp.full((), x) for v, x in given.items()}, params=theta)
        stat = statistic(tr)
        logw = jnp.zeros(per_draw)
        for site in tr.values():
            if site["type"] == "sample" and site.get("is_observed"):
                logw = logw + jnp.broadcast_to(site["fn"].log_prob(site["value"]), (per_draw,))
        w = jax.nn.softmax(logw)
        ess = 1.0 / jnp.sum(w * w)
        est = jnp.tensordot(w, stat, axes=(0, 0))
        # the estimate's own Monte Carlo variance (self-normalised weights: Σ w² (x - est)²)
        dev = stat - est
        mc = jnp.tensordot(w * w, dev * dev, axes=(0, 0))
        return est, ess, mc

    theta = {p: jnp.asarray(a) for p, a in draws.items()}
    # fresh random numbers for each draw (the same for each term of a sum, so that a
    # difference of terms cancels them): the Monte Carlo error of a draw, about sd / 64,
    # widens the interval a little instead of shifting every draw by the same amount
    n = len(next(iter(theta.values())))
    keys = jax.random.split(jax.random.PRNGKey(seed), n)
    spread, _ = jax64.over_devices((theta, keys), n)  # the draws shared out among devices
    out, ess, mc = jax.jit(jax.vmap(one))(*spread)
    out, ess, mc = np.asarray(out)[:n], np.asarray(ess)[:n], np.asarray(mc)[:n]
    if given and not (np.all(np.isfinite(out)) and np.nanmin(ess) >= MIN_WEIGHT_ESS):
        raise QueryError(f"{term}: the evidence is too unlikely under some draws to weight "
                         f"{per_draw} forward samples by it (effective sample size "
                         f"{np.nanmin(ess):.1f} < {MIN_WEIGHT_ESS})")
    return AnswerDraws(out, mc)


def _position(model: CausalModel, var: str, value: Any) -> Any:
    t = model.variables[var].type
    if isinstance(t, FiniteType):
        return t.index(value)
    return float(value)
