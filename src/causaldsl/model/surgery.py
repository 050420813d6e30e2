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

from causaldsl.core.errors import CausalTypeError, shown
from causaldsl.model.causal_model import CausalModel


def do(model: CausalModel, values: Mapping[str, Any] | None = None, **kw: Any) -> CausalModel:
    """Point intervention: set each named variable to a value, cutting it from its causes."""
    return _model(model, "do").do(values, **kw)


def cut(model: CausalModel, *names: str) -> CausalModel:
    """Make each named variable an input of the diagram: the channel ``names → rest``."""
    return _model(model, "cut").cut(*names)


def intervene(model: CausalModel, name: str, table: Any,
              given: Sequence[str] | str | None = None) -> CausalModel:
    """Soft intervention: replace a variable's mechanism (and, optionally, its parents)."""
    return _model(model, "intervene").intervene(name, table, given)


def _model(model: Any, what: str) -> CausalModel:
    """``model``, or a CausalTypeError: the rewrite ``what`` takes a model first."""
    if not isinstance(model, CausalModel):
        raise CausalTypeError(f"{what}() takes a CausalModel first, e.g. {what}(model, …), got "
                              f"{shown(model)}")
    return model
