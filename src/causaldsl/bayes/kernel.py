"""NUTS whose potential takes the data as an argument: run with ``jit_model_args``, a new
data set of the same shape reuses the compiled sampler (in this process, and from JAX's
persistent cache in the next) instead of compiling one with the data baked in."""

from __future__ import annotations

import functools
from typing import Any


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
