"""Wire types: finite types with named, ordered values; `Real` with optional bounds; the unit.

Types are immutable values compared structurally: two finite types are equal when their values
are, whatever they are called. They print as users write them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from causaldsl.core.errors import CausalTypeError

Label = str | int | bool


@dataclass(frozen=True, init=False)
class FiniteType:
    """A finite type: an ordered tuple of distinct labels, e.g. ``{no, yes}``."""

    values: tuple[Label, ...]
    name: str | None = field(default=None, compare=False)

    def __init__(self, name_or_values: str | Iterable[Label] | None = None,
                 values: Iterable[Label] | None = None, *, name: str | None = None):
        if values is None and not isinstance(name_or_values, str):
            values, name_ = name_or_values, name
        else:
            name_ = name if name is not None else name_or_values  # type: ignore[assignment]
        if values is None:
            raise CausalTypeError("a finite type needs its values, e.g. FiniteType('YesNo', ['no', 'yes'])")
        vals = tuple(values)
        if not vals:
            raise CausalTypeError(f"finite type {name_ or ''} has no values; it needs at least one")
        seen: set[Label] = set()
        for v in vals:
            if not isinstance(v, (str, int, bool)):
                raise CausalTypeError(f"value {v!r} of a finite type must be a name or an integer")
            if v in seen:
                raise CausalTypeError(f"finite type {name_ or _braces(vals)} lists value {v!r} twice")
            seen.add(v)
        object.__setattr__(self, "values", vals)
        object.__setattr__(self, "name", name_)

    @property
    def size(self) -> int:
        return len(self.values)

    def index(self, label: Label | str) -> int:
        """The position of a label; accepts the label or its printed form (``"1"`` for ``1``)."""
        try:
            return self._lookup[_key(label)]
        except (KeyError, TypeError):
            pass
        shown = _show(label) if isinstance(label, (str, int, bool)) else str(label)
        hit = self._lookup.get(("str", str(shown)))
        if hit is None:
            raise CausalTypeError(f"{label!r} is not a value of {self}; its values are "
                                  f"{_braces(self.values)}")
        return hit

    def indices(self, labels: Iterable[Label | str]) -> np.ndarray:
        """Positions of many labels at once (int32), e.g. a batch of evidence values."""
        return np.fromiter((self.index(lab) for lab in labels), dtype=np.int32)

    @cached_property
    def _lookup(self) -> dict[tuple[str, object], int]:
        """Label → position, by exact label and by printed form (exact labels win)."""
        table: dict[tuple[str, object], int] = {}
        for i, v in reversed(list(enumerate(self.values))):
            table["str", str(_show(v))] = i
        for i, v in reversed(list(enumerate(self.values))):
            table[_key(v)] = i
        return table

    def __contains__(self, label: object) -> bool:
        try:
            self.index(label)  # type: ignore[arg-type]
        except CausalTypeError:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        if self is other:  # the common case (a diagram checks every wire's type), and cheap
            return True
        return isinstance(other, FiniteType) and tuple(map(_key, self.values)) == tuple(
            map(_key, other.values))

    def __hash__(self) -> int:
        return hash(tuple(map(_key, self.values)))

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.values)

    def numeric(self) -> tuple[float, ...] | None:
        """The labels as numbers (for expectations), or None where a label is not a number; an
        integer label beyond the floats is a CausalTypeError."""
        out = []
        for v in self.values:
            if isinstance(v, (bool, int)):
                try:
                    out.append(float(v))
                except OverflowError:  # an integer label beyond the floats
                    digits = str(abs(v))
                    shown = f"{digits[:8]}…{digits[-4:]} ({len(digits)} digits)"
                    raise CausalTypeError(
                        f"the value {'-' if v < 0 else ''}{shown} of {self.name or 'a type'} "
                        f"is too large for a number (beyond ±{np.finfo(np.float64).max:.2g}); "
                        "expectations and arithmetic read its values as numbers") from None
            elif v in ("false", "true"):
                out.append(1.0 if v == "true" else 0.0)
            else:
                try:
                    out.append(float(v))
                except ValueError:
                    return None
        return tuple(out)

    def __str__(self) -> str:
        return self.name if self.name else _braces(self.values)

    def __repr__(self) -> str:
        return f"{self.name} = {_braces(self.values)}" if self.name else _braces(self.values)

    @property
    def listing(self) -> str:
        """The values in braces: ``{no, yes}``."""
        return _braces(self.values)

    def definition(self) -> str:
        """How the type is declared: ``type YesNo = {no, yes}``."""
        return f"type {self.name} = {_braces(self.values)}" if self.name else _braces(self.values)


@dataclass(frozen=True)
class RealType:
    """Real numbers, optionally bounded: ``Real``, ``Real in [0, inf)``."""

    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise CausalTypeError(f"Real bounds are empty: low {self.low} is above high {self.high}")

    @property
    def size(self) -> None:
        return None

    def __str__(self) -> str:
        if self.low == -math.inf and self.high == math.inf:
            return "Real"
        lo = "(-inf" if self.low == -math.inf else f"[{_num(self.low)}"
        hi = "inf)" if self.high == math.inf else f"{_num(self.high)}]"
        return f"Real in {lo}, {hi}"

    __repr__ = __str__


@dataclass(frozen=True)
class OpaqueType:
    """The type of a graph node whose values are not declared: enough for identification,
    not for numbers. Prints as ``?``."""

    @property
    def size(self) -> None:
        return None

    def __str__(self) -> str:
        return "?"

    __repr__ = __str__


Type = FiniteType | RealType | OpaqueType
Opaque = OpaqueType()

Bool = FiniteType("Bool", [False, True])
Real = RealType()

#: The unit: the empty product of types. As a tuple of wire types it is ``()``; it prints as I.
I: tuple[Type, ...] = ()  # noqa: E741 - the unit is I in the literature


def product_str(types: Sequence[Type]) -> str:
    """Print a product of types as users write it: ``YesNo ⊗ Real`` or ``I``."""
    return " ⊗ ".join(str(t) for t in types) if types else "I"


def _key(v: object) -> tuple[str, object]:
    """Labels compare by kind too: ``True`` is not ``1``, so Bool is not {0, 1}."""
    return (type(v).__name__, v)


def _show(v: Label) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def show_label(v: Label) -> str:
    """A label as a user writes it (``true``/``false`` for booleans)."""
    return _show(v)


def _braces(values: Sequence[Label]) -> str:
    return "{" + ", ".join(_show(v) for v in values) + "}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)
