"""Surgery: interventions as rewrites of a model's diagram. Each returns a new model.

- ``do(m, S="yes")``: S's box becomes a point state; its parents are discarded.
- ``cut(m, "S")``: S's box is removed and S becomes an input of the diagram, so the model is the
  whole interventional channel S → rest (Jacobs, Kissinger & Zanasi).
- ``intervene(m, "S", table, given=...)``: a soft intervention that replaces S's mechanism.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from causaldsl.core.errors import CausalError, CausalTypeError, TableError
from causaldsl.ir.mechanism import point_mechanism
from causaldsl.model.builder import to_table
from causaldsl.model.causal_model import CausalModel, Variable


def do(model: CausalModel, values: Mapping[str, Any] | None = None, **kw: Any) -> CausalModel:
    """Point intervention: set each named variable to a value, cutting it from its causes."""
    values = {**(values or {}), **kw}
    if not values:
        raise CausalError("do() needs at least one variable and value, e.g. do(m, S='yes')")
    new = []
    for name, label in values.items():
        v = model[name]
        try:
            table = point_mechanism(v.type, label, f"variable {name}")
        except (CausalTypeError, TableError) as e:
            raise CausalTypeError(f"do({name} = {label}): {e}") from None
        new.append(Variable(name, v.type, v.role, (), table))
    return model.replace(new)


def cut(model: CausalModel, *names: str) -> CausalModel:
    """Make each named variable an input of the diagram: the channel ``names → rest``."""
    if not names:
        raise CausalError("cut() needs at least one variable")
    new = []
    for name in names:
        v = model[name]
        new.append(Variable(name, v.type, v.role, (), None, is_input=True))
    return model.replace(new)


def intervene(model: CausalModel, name: str, table: Any,
              given: Sequence[str] | str | None = None) -> CausalModel:
    """Soft intervention: replace a variable's mechanism (and, optionally, its parents)."""
    v = model[name]
    parents = v.parents if given is None else ((given,) if isinstance(given, str) else tuple(given))
    ptypes = [model[p].type for p in parents]
    return model.replace([Variable(name, v.type, v.role, parents,
                                   to_table(table, name, v.type, parents, ptypes))])
