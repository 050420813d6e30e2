"""JAX with float64, imported on first use: a finite question answered by NumPy on its first
call never pays for importing JAX (about half a second of a one-shot command)."""

from __future__ import annotations

import functools
from types import ModuleType


@functools.cache
def jax() -> ModuleType:
    """The ``jax`` module, with ``jax_enable_x64`` turned on (once, globally)."""
    import jax as module

    module.config.update("jax_enable_x64", True)
    return module


def jnp() -> ModuleType:
    """``jax.numpy``, float64 on."""
    jax()
    import jax.numpy as module

    return module
