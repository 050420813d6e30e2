"""Results: labelled (conditional) distributions that print as tables and index by label."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causaldsl.core.drawable import Drawable
from causaldsl.core.errors import QueryError
from causaldsl.core.types import FiniteType, Label, show_label


@dataclass(frozen=True, eq=False)
class Distribution(Drawable):
    """``P(variables | given)`` as an array of shape ``(*given, *variables)``; rows sum to one."""

    variables: tuple[str, ...]
    types: tuple[FiniteType, ...]
    probs: np.ndarray
    given: tuple[str, ...] = ()
    given_types: tuple[FiniteType, ...] = ()
    title: str = ""

    def __post_init__(self) -> None:
        arr = np.asarray(self.probs, dtype=np.float64)
        arr.setflags(write=False)
        object.__setattr__(self, "probs", arr)

    # -- access ----------------------------------------------------------------------------
    @property
    def axes(self) -> tuple[str, ...]:
        return self.given + self.variables

    @property
    def axis_types(self) -> tuple[FiniteType, ...]:
        return self.given_types + self.types

    def _index(self, key: Any) -> tuple[int, ...]:
        labels = key if isinstance(key, tuple) else (key,)
        types = self.axis_types
        if len(labels) > len(types):
            raise QueryError(f"{self.title or 'distribution'} has {len(types)} axes "
                             f"({', '.join(self.axes)}); got {len(labels)} labels")
        return tuple(t.index(lab) for t, lab in zip(types, labels, strict=False))

    def __getitem__(self, key: Any) -> Any:
        """``d["yes"]``, ``d["no", "yes"]`` (given values first, then variables)."""
        idx = self._index(key)
        out = self.probs[idx]
        if len(idx) == len(self.axes):
            return float(out)
        if len(idx) >= len(self.given):
            k = len(idx) - len(self.given)
            return Distribution(self.variables[k:], self.types[k:], out, (), (), self.title)
        return Distribution(self.variables, self.types, out, self.given[len(idx):],
                            self.given_types[len(idx):], self.title)

    def prob(self, **assignment: Label) -> Any:
        """Index by name: ``d.prob(C="yes", S="no")``."""
        bare = {a: axis_variable(a) for a in self.axes}
        missing = [a for a in self.axes if a not in assignment and bare[a] not in assignment]
        extra = [a for a in assignment if a not in self.axes and a not in bare.values()]
        if extra or missing:
            raise QueryError(f"prob() needs exactly {', '.join(bare.values())}; "
                             f"got {', '.join(assignment)}")
        return self[tuple(assignment.get(a, assignment.get(bare[a])) for a in self.axes)]

    def items(self) -> Iterator[tuple[Any, float]]:
        """(labels, probability) pairs; labels is a single label when there is one axis."""
        return _labelled(self.axis_types, self.probs)

    def to_dict(self) -> dict[Any, float]:
        return dict(self.items())

    def to_pandas(self) -> Any:
        """A DataFrame: one row per cell, a column per axis (the labels, as ordered
        categories of the type's values) and ``P``."""
        return _cells_frame(self.axes, self.axis_types, np.asarray(self.probs), "P")

    def to_numpy(self) -> np.ndarray:
        return np.array(self.probs)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.probs, dtype=dtype)

    def expectation(self) -> Any:
        """E over the (single, numeric) variable; one value per row of a conditional."""
        if len(self.variables) != 1:
            raise QueryError("an expectation needs exactly one variable")
        nums = self.types[0].numeric()
        if nums is None:
            from causaldsl.syntax.query import not_numeric_error

            raise not_numeric_error(self.variables[0], self.types[0])
        out = self.probs @ np.asarray(nums)
        return float(out) if out.ndim == 0 else out

    def allclose(self, other: Any, atol: float = 1e-9) -> bool:
        return bool(np.allclose(self.probs, np.asarray(other), atol=atol, rtol=0))

    # -- printing --------------------------------------------------------------------------
    @property
    def heading(self) -> str:
        """The title it is shown under: its own, or ``P(variables | given)``."""
        return self.title or _default_title(self.variables, self.given)

    def __str__(self) -> str:
        head = [*self.given, *self.variables]
        rows = [[show_label(x) for x in (lab if isinstance(lab, tuple) else (lab,))]
                + [f"{p:.6g}"] for lab, p in self.items()]
        return self.heading + "\n" + _table([*head, "P"], rows, sep_after=len(self.given))

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True, eq=False)
class Expectations:
    """``E[variable | given]`` for every value of the given variables: ``values`` has shape
    ``(*given)``. Indexes by label like a Distribution (``e["yes"]``) and prints as a table."""

    variable: str
    values: np.ndarray
    given: tuple[str, ...]
    given_types: tuple[FiniteType, ...]
    title: str = ""

    def __post_init__(self) -> None:
        arr = np.asarray(self.values, dtype=np.float64)
        arr.setflags(write=False)
        object.__setattr__(self, "values", arr)

    def _index(self, key: Any) -> tuple[int, ...]:
        labels = key if isinstance(key, tuple) else (key,)
        if len(labels) > len(self.given):
            raise QueryError(f"{self.heading} has {len(self.given)} axes "
                             f"({', '.join(self.given)}); got {len(labels)} labels")
        return tuple(t.index(lab) for t, lab in zip(self.given_types, labels, strict=False))

    def __getitem__(self, key: Any) -> Any:
        """``e["yes"]``: the expectation given that value (a number once every axis is set)."""
        idx = self._index(key)
        if len(idx) == len(self.given):
            return float(self.values[idx])
        return dataclasses.replace(self, values=self.values[idx], given=self.given[len(idx):],
                                   given_types=self.given_types[len(idx):])

    def items(self) -> Iterator[tuple[Any, float]]:
        """(labels, expectation) pairs; labels is a single label when there is one axis."""
        return _labelled(self.given_types, self.values)

    def to_dict(self) -> dict[Any, float]:
        return dict(self.items())

    def to_pandas(self) -> Any:
        """A DataFrame: one row per setting of the open variables, and ``E``."""
        return _cells_frame(self.given, self.given_types, np.asarray(self.values), "E")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.values, dtype=dtype)

    @property
    def heading(self) -> str:
        return self.title or f"E[{self.variable} | {', '.join(self.given)}]"

    def __str__(self) -> str:
        rows = [[show_label(x) for x in (lab if isinstance(lab, tuple) else (lab,))]
                + [f"{v:.6g}"] for lab, v in self.items()]
        return self.heading + "\n" + _table([*self.given, "E"], rows, sep_after=len(self.given))

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True, eq=False)
class Batch(Drawable):
    """The answers to one query for many settings: ``probs`` has a leading batch axis."""

    probs: np.ndarray
    variables: tuple[str, ...]
    types: tuple[FiniteType, ...]
    given: tuple[str, ...] = ()
    given_types: tuple[FiniteType, ...] = ()
    title: str = ""
    #: the value settings, by variable, one per row (empty for a batch over tables only)
    settings: Mapping[str, Sequence[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.probs.shape[0])

    def to_pandas(self) -> Any:
        """A long DataFrame: per setting (``setting``, its index, and the value of each
        variable it sets), a row per cell of its answer (a column per axis, and ``P``), or one
        row with ``value`` when the answer is a number."""
        import pandas as pd

        parts = []
        for i in range(len(self)):
            row = np.asarray(self.probs[i])
            part = pd.DataFrame({"value": [float(row)]}) if row.ndim == 0 else _cells_frame(
                (*self.variables, *self.given), (*self.types, *self.given_types), row, "P")
            for v, col in reversed(list(self.settings.items())):
                part.insert(0, v, [col[i]] * len(part))
            part.insert(0, "setting", i)
            parts.append(part)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def __getitem__(self, i: int) -> Distribution | float:
        row = self.probs[i]
        if not self.variables and not self.given:
            return float(row)
        return Distribution(self.variables, self.types, row, self.given, self.given_types,
                            self.title)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.probs, dtype=dtype)

    def __str__(self) -> str:
        return f"{self.title}: batch of {len(self)}, each of shape {self.probs.shape[1:]}"


def _cells_frame(axes: Sequence[str], types: Sequence[FiniteType], cells: np.ndarray,
                 value: str) -> Any:
    """A DataFrame of a table: a column per axis (ordered categories of its type's labels,
    outermost axis first) and the cells in column ``value``."""
    import pandas as pd

    grid = list(itertools.product(*(range(t.size) for t in types)))
    data: dict[str, Any] = {}
    for j, (a, t) in enumerate(zip(axes, types, strict=True)):
        data[a] = pd.Categorical.from_codes([g[j] for g in grid], dtype=pd.CategoricalDtype(
            list(t.values), ordered=True))
    data[value] = np.asarray(cells, dtype=np.float64).reshape(-1)
    return pd.DataFrame(data)


def _labelled(types: Sequence[FiniteType], cells: np.ndarray) -> Iterator[tuple[Any, float]]:
    """(labels, cell) over every cell of an array with these axis types."""
    for idx in itertools.product(*(range(t.size) for t in types)):
        labels = tuple(t.values[i] for t, i in zip(types, idx, strict=True))
        yield (labels[0] if len(labels) == 1 else labels), float(cells[idx])


def table_kind(answer: Any) -> str:
    """What a table-valued answer is, for messages: a distribution or a table of expectations."""
    return "a table of expectations" if isinstance(answer, Expectations) else "a distribution"


def do_axis(var: str) -> str:
    """How an answer names the axis of an open intervention on ``var``: ``do(S)``."""
    return f"do({var})"


def axis_variable(axis: str) -> str:
    """The variable an answer's axis is about: ``do(S)`` is S, ``Z`` is Z."""
    return axis[3:-1] if axis.startswith("do(") and axis.endswith(")") else axis


def _default_title(variables: Sequence[str], given: Sequence[str]) -> str:
    g = f" | {', '.join(given)}" if given else ""
    return f"P({', '.join(variables)}{g})"


def _table(head: list[str], rows: list[list[str]], sep_after: int) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(head)]

    def line(cells: list[str]) -> str:
        parts = [c.ljust(w) if i < len(cells) - 1 else c.rjust(w)
                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        if sep_after:
            parts.insert(sep_after, "|")
        return "  ".join(parts).rstrip()

    rule = "-" * len(line(head))
    return "\n".join([line(head), rule, *(line(r) for r in rows)])
