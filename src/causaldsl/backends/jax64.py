"""JAX with float64 and the persistent compilation cache, imported on first use: a finite
question answered by NumPy on its first call never pays for importing JAX (about half a second
of a one-shot command).

Every module of causaldsl that uses JAX configures it here (:func:`jax`) before it compiles
anything. Compiled programs are kept across processes in JAX's persistent compilation cache,
in the user's private cache directory (``core.cachedir``: ``~/.cache/causaldsl/jax``), so a
new process loads a question's compiled sampler instead of compiling it again.
``CAUSALDSL_JAX_CACHE=0`` turns that off; a cache directory the user gave JAX
(``JAX_COMPILATION_CACHE_DIR``) is left as it is; a directory another user could write to is
never used."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded with JAX, not by a one-shot question that never needs it
    from causaldsl.core.cachedir import CacheDir

#: The environment variable that turns the persistent compilation cache off (0, off, no, false).
CACHE_ENV = "CAUSALDSL_JAX_CACHE"
#: The most the cache may hold: JAX drops the least recently used programs beyond it.
CACHE_MAX_BYTES = 2**30


@functools.cache
def jax() -> ModuleType:
    """The ``jax`` module, configured (once, globally): ``jax_enable_x64`` on and the persistent
    compilation cache in the user's cache directory (:func:`compile_cache`)."""
    import jax as module

    module.config.update("jax_enable_x64", True)
    _use_compile_cache(module)
    return module


def jnp() -> ModuleType:
    """``jax.numpy``, float64 on."""
    jax()
    import jax.numpy as module

    return module


def cache_wanted(env: dict[str, str] | None = None) -> bool:
    """Whether the persistent compilation cache is wanted: unless ``CAUSALDSL_JAX_CACHE`` is
    0, off, no or false."""
    value = (os.environ if env is None else env).get(CACHE_ENV, "")
    return value.strip().lower() not in ("0", "off", "no", "false")


def compile_cache() -> CacheDir:
    """Where compiled programs are kept across processes, or why they are not (turned off by
    ``CAUSALDSL_JAX_CACHE``, or no private cache directory: :func:`private_cache_dir`)."""
    from causaldsl.core.cachedir import CacheDir, private_cache_dir

    if not cache_wanted():
        return CacheDir(None, f"turned off by {CACHE_ENV}")
    return private_cache_dir("jax")


def _use_compile_cache(module: ModuleType) -> None:
    """Point JAX's persistent compilation cache at :func:`compile_cache`, with thresholds that
    keep every program however small or quick to compile (ours compile in a fraction of a second,
    under JAX's default of one second, and loading one is faster still); nothing when the user
    configured a cache directory for JAX or there is no private directory."""
    config = module.config
    if config.jax_compilation_cache_dir:
        return
    where = compile_cache()
    if where.path is None:
        return
    config.update("jax_compilation_cache_dir", str(where.path))
    config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    config.update("jax_persistent_cache_min_entry_size_bytes", -1)  # every size, no override
    if importlib.util.find_spec("filelock") is not None:  # JAX needs it to evict entries
        with contextlib.suppress(AttributeError):  # not an option of older JAX
            config.update("jax_compilation_cache_max_size", CACHE_MAX_BYTES)


def over_devices(tree: Any, n: int, axis: int = 0) -> tuple[Any, int]:
    """A batch (arrays whose ``axis`` has length ``n``, the leading one by default) laid out
    across every JAX device, the axis padded with its last entry to a multiple of their
    number, and the padded length: a jitted function of it then runs its share on each
    device. One device: as is."""
    jx = jax()
    devices = jx.devices()
    if len(devices) < 2 or n < 2:
        return tree, n
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    k = len(devices)
    padded = -(-n // k) * k
    jn = jnp()

    def pad(x: Any) -> Any:
        x = jn.asarray(x)
        if padded > n:
            last = jn.take(x, jn.asarray([n - 1]), axis=axis)
            x = jn.concatenate([x, jn.repeat(last, padded - n, axis=axis)], axis=axis)
        return x

    spec = PartitionSpec(*([None] * axis), "d")
    sharding = NamedSharding(Mesh(np.array(devices), ("d",)), spec)
    return jx.device_put(jx.tree_util.tree_map(pad, tree), sharding), padded
