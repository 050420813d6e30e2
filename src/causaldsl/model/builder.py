"""The embedded Python DSL: declare variables one by one, with tables keyed by labels.

>>> m = ModelBuilder("smoking")
>>> H = m.latent("H", YesNo, [0.5, 0.5])
>>> S = m.observed("S", YesNo, given=H, table={"no": [0.8, 0.2], "yes": [0.3, 0.7]})
>>> model = m.build()
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from causaldsl.core.errors import (
    CausalTypeError,
    DuplicateVariableError,
    TableError,
    UnknownVariableError,
    count,
)
from causaldsl.core.types import FiniteType, Label, OpaqueType, RealType, Type, show_label
from causaldsl.ir.mechanism import Table
from causaldsl.model.causal_model import CausalModel, Role, Variable, did_you_mean


class ModelBuilder:
    """Collects variable declarations; :meth:`build` validates them into a :class:`CausalModel`."""

    def __init__(self, name: str = "model"):
        self.name = name
        self._specs: dict[str, tuple[Type, Role, tuple[str, ...], Any]] = {}

    def type(self, name: str, values: Iterable[Label]) -> FiniteType:
        """Declare a finite type, e.g. ``m.type("YesNo", ["no", "yes"])``."""
        return FiniteType(name, list(values))

    def variable(self, name: str, type: Type | Iterable[Label], table: Any = None, *,
                 given: Sequence[str] | str = (), role: Role | str = Role.OBSERVED) -> str:
        """Declare a variable with its parents (``given``) and its table; returns its name."""
        if not isinstance(name, str) or not name.isidentifier():
            raise CausalTypeError(f"variable name {name!r} must be an identifier")
        if name in self._specs:
            raise DuplicateVariableError(f"variable {name} is defined twice in model {self.name}")
        if not isinstance(type, (FiniteType, RealType, OpaqueType)):
            type = FiniteType(list(type))
        parents = (given,) if isinstance(given, str) else tuple(given)
        self._specs[name] = (type, Role(role), parents, table)
        return name

    def observed(self, name: str, type: Type | Iterable[Label], table: Any = None, *,
                 given: Sequence[str] | str = ()) -> str:
        return self.variable(name, type, table, given=given, role=Role.OBSERVED)

    def latent(self, name: str, type: Type | Iterable[Label], table: Any = None, *,
               given: Sequence[str] | str = ()) -> str:
        return self.variable(name, type, table, given=given, role=Role.LATENT)

    def exogenous(self, name: str, type: Type | Iterable[Label], table: Any = None) -> str:
        return self.variable(name, type, table, role=Role.EXOGENOUS)

    def build(self) -> CausalModel:
        """Validate every declaration and return the immutable model."""
        variables = []
        for name, (typ, role, parents, raw) in self._specs.items():
            for p in parents:
                if p not in self._specs:
                    raise UnknownVariableError(
                        f"variable {name} has parent {p!r}, which is not a variable of model "
                        f"{self.name}{did_you_mean(p, self._specs)}")
            if role is Role.EXOGENOUS and parents:
                raise CausalTypeError(f"exogenous variable {name} cannot have parents")
            ptypes = [self._specs[p][0] for p in parents]
            table = None if raw is None else to_table(raw, name, typ, parents, ptypes)
            variables.append(Variable(name, typ, role, parents, table))
        return CausalModel.from_variables(variables, self.name)


def to_table(raw: Any, name: str, typ: Type, parents: Sequence[str],
             ptypes: Sequence[Type]) -> Table:
    """Turn a user's table (array, nested list, or dict keyed by parent labels) into a Table."""
    if isinstance(raw, Table):
        return raw
    owner = f"variable {name}"
    if not isinstance(typ, FiniteType) or not all(isinstance(t, FiniteType) for t in ptypes):
        raise TableError(f"{owner} has a table, but a table needs finite types for it and its "
                         "parents")
    if isinstance(raw, Mapping) and parents:
        fptypes = [t for t in ptypes if isinstance(t, FiniteType)]
        arr = np.empty([t.size for t in fptypes] + [typ.size])
        keys = {_row_key(k, fptypes, owner): v for k, v in raw.items()}
        for idx in itertools.product(*(range(t.size) for t in fptypes)):
            if idx not in keys:
                labels = [show_label(t.values[i]) for t, i in zip(fptypes, idx, strict=True)]
                row = labels[0] if len(labels) == 1 else "(" + ", ".join(labels) + ")"
                raise TableError(f"table of {owner} has no row for {', '.join(parents)} = {row}")
            arr[idx] = _row(keys[idx], typ, owner)
        return Table(arr, len(parents))
    if isinstance(raw, Mapping):
        return Table(_row(raw, typ, owner), 0)
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TableError(f"table of {owner} is not numeric: {e}") from None
    expected = (*(t.size for t in ptypes if isinstance(t, FiniteType)), typ.size)
    if arr.shape != expected and arr.size == int(np.prod(expected)) and arr.ndim <= 2:
        arr = arr.reshape(expected)  # a flat (or rows × values) listing, first parent outermost
    return Table(arr, len(parents))


def _row_key(key: Any, ptypes: Sequence[FiniteType], owner: str) -> tuple[int, ...]:
    labels = key if isinstance(key, tuple) else (key,)
    if len(labels) != len(ptypes):
        raise TableError(f"table of {owner} has row key {key!r}, but it has {count(len(ptypes), 'parent')}")
    try:
        return tuple(t.index(lab) for t, lab in zip(ptypes, labels, strict=True))
    except CausalTypeError as e:
        raise TableError(f"table of {owner}: row key {key!r}: {e}") from None


def _row(raw: Any, typ: FiniteType, owner: str) -> np.ndarray:
    if isinstance(raw, Mapping):
        row = np.zeros(typ.size)
        for lab, p in raw.items():
            try:
                row[typ.index(lab)] = p
            except CausalTypeError as e:
                raise TableError(f"table of {owner}: {e}") from None
        return row
    row = np.asarray(raw, dtype=np.float64)
    if row.shape != (typ.size,):
        raise TableError(f"a row of the table of {owner} has {row.size} entries, but {typ} has "
                         f"{typ.size} values")
    return row


#: Notebook spelling: ``m = causaldsl.model.causal_model("smoking")``.
model = ModelBuilder
