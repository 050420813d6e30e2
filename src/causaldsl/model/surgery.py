"""Surgery: interventions as rewrites of a model's diagram. Each returns a new model.

- ``do(m, S="yes")``: S's box becomes a point state; its parents are discarded.
- ``cut(m, "S")``: S's box is removed and S becomes an input of the diagram, so the model is the
  whole interventional channel S → rest (Jacobs, Kissinger & Zanasi).
- ``intervene(m, "S", table, given=...)``: a soft intervention that replaces S's mechanism.

The rewrites are the model's own methods (``m.do``, ``m.cut``, ``m.intervene``); these are the
same rewrites as functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from causaldsl.model.causal_model import CausalModel


def do(model: CausalModel, values: Mapping[str, Any] | None = None, **kw: Any) -> CausalModel:
    """Point intervention: set each named variable to a value, cutting it from its causes."""
    return model.do(values, **kw)


def cut(model: CausalModel, *names: str) -> CausalModel:
    """Make each named variable an input of the diagram: the channel ``names → rest``."""
    return model.cut(*names)


def intervene(model: CausalModel, name: str, table: Any,
              given: Sequence[str] | str | None = None) -> CausalModel:
    """Soft intervention: replace a variable's mechanism (and, optionally, its parents)."""
    return model.intervene(name, table, given)
