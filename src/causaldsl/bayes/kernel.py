"""NUTS whose potential takes the data as an argument, and its run: a new data set of the
same shape reuses the compiled sampler (in this process, and from JAX's persistent cache in
the next) instead of compiling one with the data baked in."""

from __future__ import annotations

import functools
from typing import Any

from causaldsl.core.progress import announce


def data_nuts(potential_of: Any, data: Any, dense_mass: bool = False) -> Any:
    """NUTS on a potential that takes the data as an argument (``potential_of(data)(u)``),
    as NumPyro's own kernels do for a model with ``jit_model_args``; run with
    ``MCMC(..., jit_model_args=True).run(key, data, init_params=...)``; ``dense_mass``:
    adapt a dense mass matrix, not a diagonal one."""
    return _data_nuts_class()(potential_of, data, dense_mass)


@functools.cache
def _data_nuts_class() -> type:
    """The kernel's class, made on first use (NumPyro is imported only for a fit)."""
    from numpyro.infer import NUTS
    from numpyro.infer.hmc import hmc

    class DataNUTS(NUTS):
        def __init__(self, potential_of: Any, data: Any, dense_mass: bool):
            super().__init__(potential_fn=potential_of(data), dense_mass=dense_mass)
            self._potential_of = potential_of

        def _init_state(self, rng_key: Any, model_args: Any, model_kwargs: Any,
                        init_params: Any) -> Any:
            if getattr(self, "_init_fn", None) is None:
                init_fn, self._sample_fn = hmc(
                    potential_fn_gen=self._potential_of, kinetic_fn=self._kinetic_fn,
                    algo=self._algo)
                self._init_fn = _jitted(init_fn)
            return init_params

    return DataNUTS


#: XLA's options for the compiled chain on a CPU: its older loop emitters compile NumPyro's
#: sampler about a third faster than its fusion emitters (docs/bayes.md, "How NUTS is run").
CPU_OPTIONS = {"xla_cpu_use_fusion_emitters": False}


def sample_nuts(kernel: Any, data: Any, init: Any, key: Any, warmup: int, draws: int,
                chains: int, progress: bool) -> tuple[dict[str, Any], Any]:
    """The draws of ``chains`` chains of ``kernel`` (a ``data_nuts``), chain axis first, and
    whether each kept transition diverged. With ``progress``, NumPyro's ``MCMC`` runs them
    and shows its bar; otherwise each chain is one compiled program (``run_chains``):
    the same draws, less to compile."""
    if not progress:
        return run_chains(kernel, data, init, key, warmup, draws, chains)
    from numpyro.infer import MCMC

    mcmc = MCMC(kernel, num_warmup=warmup, num_samples=draws, num_chains=chains,
                chain_method="sequential", progress_bar=True, jit_model_args=True)
    announce("compiling the sampler (NUTS)…")  # NumPyro's bar appears once its loop compiles
    mcmc.run(key, data, init_params=init)
    return mcmc.get_samples(group_by_chain=True), mcmc.get_extra_fields()["diverging"]


def run_chains(kernel: Any, data: Any, init: Any, key: Any, warmup: int, draws: int,
               chains: int) -> tuple[dict[str, Any], Any]:
    """``chains`` chains of ``kernel`` (a :func:`data_nuts`), one after another, each
    ``warmup`` adapting steps then ``draws`` kept: the draws of each site, chain axis first,
    and whether each kept transition diverged. The chain's set-up and every step are one
    compiled program (NumPyro's ``MCMC`` compiles its set-up apart and runs some small programs
    around its loop, each compiled on a process's first fit); keys and starting points as
    ``MCMC.run(key, data, init_params=init)`` takes them, so the draws are the same."""
    import jax
    import numpy as np

    def nuts_chain(k: Any, params: Any, data: Any) -> Any:
        state = kernel.init(k, warmup, params, model_args=(data,), model_kwargs={})

        kept = (jax.tree.map(lambda a: jax.numpy.zeros((draws, *a.shape), a.dtype), state.z),
                jax.numpy.zeros(draws, bool))

        def step(i: Any, carry: Any) -> Any:
            # warm-up's transitions are written to the first slot, which the first kept one
            # overwrites: one buffer of the kept draws, and one copy of the step in the program
            s, (z, diverging) = carry
            s = kernel.sample(s, (data,), {})
            at = jax.numpy.maximum(i - warmup, 0)
            z = jax.tree.map(lambda buf, x: buf.at[at].set(x), z, s.z)
            return s, (z, diverging.at[at].set(s.diverging))

        return jax.lax.fori_loop(0, warmup + draws, step, (state, kept))[1]

    options = CPU_OPTIONS if jax.default_backend() == "cpu" else None
    run = jax.jit(nuts_chain, compiler_options=options)
    if chains == 1:
        z, diverging = run(key, init, data)
        return jax.tree.map(lambda a: np.asarray(a)[None], z), np.asarray(diverging)[None]
    keys = jax.random.split(key, chains)
    out = [run(keys[c], jax.tree.map(functools.partial(_row, c), init), data)
           for c in range(chains)]
    z = jax.tree.map(lambda *a: np.stack([np.asarray(x) for x in a]), *[o[0] for o in out])
    return z, np.stack([np.asarray(o[1]) for o in out])


def _row(i: int, a: Any) -> Any:
    return a[i]


def starting_points(key: Any, shapes: dict[str, tuple[int, ...]], chains: int
                    ) -> dict[str, Any]:
    """NumPyro's default starting points, uniform in (-2, 2) on the unconstrained scale, one
    array a site (with a leading chain axis for several chains, as NumPyro reads them),
    drawn on the host from ``key``: as a compiled program the draws took half a second to
    compile on a process's first fit."""
    import numpy as np

    rng = np.random.default_rng(np.asarray(key, dtype=np.uint32).ravel().tolist())
    lead = (chains,) if chains > 1 else ()
    return {n: rng.uniform(-2.0, 2.0, size=(*lead, *shape)) for n, shape in shapes.items()}


def _jitted(init_fn: Any) -> Any:
    """NumPyro's HMC set-up (the first gradient, the warm-up adapter's state, the first
    momentum) as one compiled program, the data an argument: run eagerly it dispatches some
    thirty small programs, each compiled or loaded from the cache on a process's first fit.
    What it keeps from its arguments for later (the adapter's schedule, the tree depth) is
    plain Python; the sampler rebuilds its integrator from the data it is given."""
    import jax

    def init(init_params: Any, *, model_args: Any = (), model_kwargs: Any = None,
             rng_key: Any = None, **options: Any) -> Any:
        run = jax.jit(lambda params, args, key: init_fn(
            params, model_args=args, model_kwargs=model_kwargs, rng_key=key, **options))
        return run(init_params, model_args, rng_key)

    return init
