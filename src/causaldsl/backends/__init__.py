"""Interpretations of the IR (functors): exact tensors (``exact``), NumPyro programs
(``sample``), and the estimand evaluator; ``choose`` picks one for a query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def kept_on(model: Any, attr: str, make: Callable[[Any], T]) -> T:
    """The object ``make(model)`` (an engine with its caches), made once and kept on the model:
    models are immutable, so it stays valid."""
    got = model.__dict__.get(attr)
    if got is None:
        got = make(model)
        object.__setattr__(model, attr, got)
    return got
