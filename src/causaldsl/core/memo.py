"""Memos kept on immutable values: an engine with its caches is made once per model and kept on
it, valid for as long as the model lives (models never change)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def cached_on(owner: Any, attr: str, make: Callable[[Any], T]) -> T:
    """The object ``make(owner)``, made on first use and kept in ``owner``'s ``attr``: safe
    because the owner is immutable, so what was made from it stays valid."""
    got = owner.__dict__.get(attr)
    if got is None:
        got = make(owner)
        object.__setattr__(owner, attr, got)
    return got
