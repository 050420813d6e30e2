"""Mechanisms: what a box does. A conditional probability table now; expressions later.

A table for a box ``A1 ⊗ … ⊗ An → B1 ⊗ … ⊗ Bm`` is an array of shape ``(|A1|, …, |An|, |B1|,
…, |Bm|)`` whose entries are non-negative and sum to one over the output axes: a stochastic
matrix, row-major in the inputs. Tables are immutable.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.core.errors import CausalTypeError, MechanismError, TableError, count
from causaldsl.core.types import FiniteType, RealType, Type, product_str, show_label

#: How far a row may sum from one before it is an error. A row within it is divided by its sum
#: (renormalised) when the table is made, so every table's rows sum to one up to rounding.
TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class Table:
    """A conditional probability table: a stochastic matrix as an immutable float64 array."""

    array: np.ndarray
    n_inputs: int

    def __init__(self, array: np.ndarray | Sequence, n_inputs: int):
        arr = renormalised(np.array(array, dtype=np.float64), int(n_inputs))
        arr.setflags(write=False)
        object.__setattr__(self, "array", arr)
        object.__setattr__(self, "n_inputs", int(n_inputs))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Table) and self.n_inputs == other.n_inputs
                and self.array.shape == other.array.shape
                and bool(np.array_equal(self.array, other.array)))

    def __hash__(self) -> int:
        return hash((self.n_inputs, self.array.shape, self.array.tobytes()))

    def __repr__(self) -> str:
        return f"Table(shape={self.shape}, n_inputs={self.n_inputs})"

    def check(self, dom: Sequence[Type], cod: Sequence[Type], owner: str) -> None:
        """Raise TableError unless this is a stochastic matrix ``dom → cod``; ``owner`` names it."""
        expected = tuple(_size(t, owner) for t in (*dom, *cod))
        if self.n_inputs != len(dom) or self.shape != expected:
            raise TableError(
                f"table of {owner} has shape {self.shape}, but {product_str(dom)} → "
                f"{product_str(cod)} needs shape {expected}"
                + (f" (one row per value of {product_str(dom)}, {_prod(expected[len(dom):])} "
                   "entries per row)" if dom else ""))
        arr = self.array
        if not np.all(np.isfinite(arr)):
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise TableError(f"table of {owner} has a non-finite entry {arr[bad]} at "
                             f"{_where(bad, dom, cod)}")
        if np.any(arr < 0):
            bad = tuple(int(i) for i in np.argwhere(arr < 0)[0])
            raise TableError(f"table of {owner} has a negative entry {arr[bad]:g} at "
                             f"{_where(bad, dom, cod)}")
        sums = arr.reshape(*arr.shape[: len(dom)], -1).sum(axis=-1) if cod else np.ones(())
        off = np.abs(sums - 1.0)
        if np.any(off > TOLERANCE):
            row = tuple(int(i) for i in np.argwhere(off > TOLERANCE)[0]) if dom else ()
            total = float(np.asarray(sums)[row]) if dom else float(sums)
            what = "the table" if not dom else "row " + _row_name(row, dom)
            shown = f"{total:.6g}" if f"{total:.6g}" != "1" else f"{total:.12g}"
            raise TableError(f"{what} of {owner} sums to {shown}, not 1 (off by "
                             f"{total - 1:+.3g})")


def renormalised(arr: np.ndarray, n_inputs: int) -> np.ndarray:
    """``arr`` (rows over its first ``n_inputs`` axes) with each row whose sum is within
    TOLERANCE of one, but not one up to rounding, divided by its sum; other rows as they are
    (Table.check refuses those that are off). A row that sums to one up to rounding (within an
    ulp per entry: ``[0.48, 0.42, 0.1]`` sums to 1.0000000000000002) is left as written, so a
    table read, written exactly and read again holds the same numbers."""
    if n_inputs < 0 or arr.ndim <= n_inputs or arr.size == 0:
        return arr
    rows = arr.reshape(*arr.shape[:n_inputs], -1)
    sums = rows.sum(axis=-1)
    off = np.abs(sums - 1.0)
    near = (off <= TOLERANCE) & (off > rows.shape[-1] * np.finfo(np.float64).eps)
    if not np.any(near):
        return arr
    by = np.where(near, sums, 1.0)
    return arr / by.reshape(*by.shape, *(1,) * (arr.ndim - n_inputs))


@dataclass(frozen=True)
class ExprMechanism:
    """A mechanism written as an expression: ``~ Normal(2 * X, 1)`` (kind "sample") or
    ``:= 2 * X + U`` (kind "assign"). Kept as syntax for the sampling backend; the exact
    backend needs tables and says so."""

    kind: str
    expr: Any
    text: str

    def __str__(self) -> str:
        return ("~ " if self.kind == "sample" else ":= ") + self.text


@dataclass(frozen=True, eq=False)
class UnknownTable:
    """A conditional table to be learned from data: each row (one per value of the parents)
    has a Dirichlet prior, ``concentration`` holding its parameters in the table's shape.
    Queries need a fitted model (``docs/bayes.md``); the exact backend never sees one."""

    concentration: np.ndarray
    n_inputs: int

    def __init__(self, concentration: np.ndarray | Sequence, n_inputs: int):
        arr = np.array(concentration, dtype=np.float64)
        arr.setflags(write=False)
        object.__setattr__(self, "concentration", arr)
        object.__setattr__(self, "n_inputs", int(n_inputs))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.concentration.shape)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, UnknownTable) and self.n_inputs == other.n_inputs
                and self.shape == other.shape
                and bool(np.array_equal(self.concentration, other.concentration)))

    def __hash__(self) -> int:
        return hash(("unknown", self.n_inputs, self.shape, self.concentration.tobytes()))

    def __repr__(self) -> str:
        return f"UnknownTable(shape={self.shape}, n_inputs={self.n_inputs})"

    def __str__(self) -> str:
        prior = self.prior_text()
        return "~ unknown" + (f" {prior}" if prior else "")

    def prior_text(self) -> str | None:
        """The prior as the language writes it: "" for the default Dirichlet(1),
        ``Dirichlet(a)`` when every parameter is ``a``, ``Dirichlet([a1, …])`` when every row
        has the same parameters; None when rows differ (the language cannot write that)."""
        rows = self.concentration.reshape(-1, self.shape[-1])
        if np.all(rows == 1.0):
            return ""
        if np.all(rows == rows.flat[0]):
            return f"Dirichlet({_number(rows.flat[0])})"
        if np.all(rows == rows[0]):
            return "Dirichlet([" + ", ".join(_number(a) for a in rows[0]) + "])"
        return None

    def check(self, dom: Sequence[Type], cod: Sequence[Type], owner: str) -> None:
        """Raise TableError unless the prior has the table's shape and positive, finite
        parameters."""
        expected = tuple(_size(t, owner) for t in (*dom, *cod))
        if self.n_inputs != len(dom) or self.shape != expected:
            raise TableError(f"the prior of {owner} has shape {self.shape}, but its table "
                             f"{product_str(dom)} → {product_str(cod)} has shape {expected}")
        arr = self.concentration
        bad = ~np.isfinite(arr) | (arr <= 0)
        if np.any(bad):
            i = tuple(int(j) for j in np.argwhere(bad)[0])
            raise TableError(f"the Dirichlet prior of {owner} has the parameter {arr[i]:g} at "
                             f"{_where(i, dom, cod)}; each must be a positive number")


def _number(x: Any) -> str:
    """A float as it reads back exactly, without a trailing ``.0``."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def dirichlet_prior(spec: Any, typ: Type, ptypes: Sequence[Type], owner: str) -> UnknownTable:
    """The prior of an unknown table: ``spec`` one number for every parameter (1 when None,
    a uniform prior on each row), or a list with one per value, repeated on every row."""
    if not isinstance(typ, FiniteType) or not all(isinstance(t, FiniteType) for t in ptypes):
        raise TableError(f"{owner} has an unknown table, but a table needs finite types for "
                         "it and its parents")
    shape = (*(t.size for t in ptypes if isinstance(t, FiniteType)), typ.size)
    spec = 1.0 if spec is None else spec
    try:
        arr = np.asarray(spec, dtype=np.float64)
    except (TypeError, ValueError):
        raise TableError(f"the Dirichlet prior of {owner} is a positive number or a list of "
                         f"{typ.size}, got {spec!r}") from None
    if arr.ndim == 1 and arr.shape != (typ.size,):
        raise TableError(f"the Dirichlet prior of {owner} has {arr.size} parameters, but "
                         f"{typ!r} has {typ.size} values")
    if arr.ndim > 1 and arr.shape != shape:
        raise TableError(f"the Dirichlet prior of {owner} has shape {arr.shape}; its table "
                         f"has shape {shape}")
    out = UnknownTable(np.broadcast_to(arr, shape), len(ptypes))
    out.check(ptypes, (typ,), owner)
    return out


def point_table(typ: FiniteType, label: object) -> Table:
    """The point state ``I → typ`` that puts all mass on one value."""
    arr = np.zeros(typ.size)
    arr[typ.index(label)] = 1.0  # type: ignore[arg-type]
    return Table(arr, 0)


def point_mechanism(typ: Type, value: Any, owner: str) -> Table | ExprMechanism:
    """A variable set to one value: a point table for a finite type, ``:= value`` for Real."""
    if isinstance(typ, FiniteType):
        return point_table(typ, value)
    if not isinstance(typ, RealType):
        raise MechanismError(f"{owner} has type {typ}, which is not finite; exact answers need "
                             "finite types")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TableError(f"{owner} is continuous, so it can only be set to a number, not {value!r}")
    from causaldsl.syntax.diagnostics import NOWHERE
    from causaldsl.syntax.tree import Num

    return ExprMechanism("assign", Num(float(value), NOWHERE), f"{float(value):g}")


def _size(t: Type, owner: str) -> int:
    if not isinstance(t, FiniteType):
        raise TableError(f"{owner} has a table but its wire type {t} is not finite; "
                         "use a distribution expression instead")
    return t.size


def _prod(xs: Sequence[int]) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


def _row_name(row: Sequence[int], dom: Sequence[Type]) -> str:
    labels = [show_label(t.values[i]) for t, i in zip(dom, row, strict=True)  # type: ignore[union-attr]
              ]
    return labels[0] if len(labels) == 1 else "(" + ", ".join(labels) + ")"


def _where(index: Sequence[int], dom: Sequence[Type], cod: Sequence[Type]) -> str:
    n = len(dom)
    out = _row_name(index[n:], cod)
    return f"row {_row_name(index[:n], dom)}, value {out}" if dom else f"value {out}"


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
