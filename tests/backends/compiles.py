"""Counting what JAX compiles: a test that a query shape compiles once, by count, not by time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

#: JAX's event around each compilation of a program, a hit in its persistent cache included
#: (jax._src.dispatch.BACKEND_COMPILE_EVENT).
COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@contextlib.contextmanager
def compiled() -> Iterator[list[str]]:
    """The names of the programs JAX compiles (or loads from its persistent cache) in the body,
    one entry per compilation, e.g. ``["jit(packed)"]``."""
    import jax

    names: list[str] = []

    def listener(event: str, duration: float, **kw: object) -> None:
        if event == COMPILE_EVENT:
            names.append(str(kw.get("fun_name", "?")))

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield names
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
