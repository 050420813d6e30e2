"""The first pass over data read in chunks (``chunks.reduce``): what ``data.load`` learns from
a whole table (each column's type, the levels present, missing values, the rows kept, each
column's range) learnt chunk by chunk, with ``load``'s checks and messages (counts over the
whole data); then ``Survey.typed`` types any chunk as ``load`` types the whole, so that every
chunk's finite columns have the same categories whatever rows it holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from causaldsl.core.errors import DataError
from causaldsl.core.types import Bool, FiniteType, OpaqueType, RealType, Type, show_label
from causaldsl.estimation import chunks
from causaldsl.estimation import data as D

if TYPE_CHECKING:
    import pandas as pd

#: Distinct values remembered of a numeric column (for ``C(x)`` in a formula, and a numeric
#: treatment's levels); a column with more is continuous for these purposes.
DISTINCT = 1000


@dataclass
class Column:
    """What the chunks so far say of one column (its kept rows; an outcome's observed ones)."""

    kinds: set[str] = field(default_factory=set)  # "number", "bool", "text", "category"
    #: value → rows, in order of first appearance; None once a numeric column passes DISTINCT
    values: dict[Any, int] | None = field(default_factory=dict)
    labels: list[Any] = field(default_factory=list)  # the first 3 non-numbers, for messages
    categories: list[Any] | None = None  # a pandas Categorical's categories
    infinite: int = 0
    outside: int = 0
    example: float | None = None  # the first value outside a declared range
    low: float = np.inf
    high: float = -np.inf
    binary: bool = True  # every value is 0 or 1

    def merge(self, later: Column, cap: bool) -> Column:
        values = None
        if self.values is not None and later.values is not None:
            values = dict(self.values)
            for v, k in later.values.items():
                values[v] = values.get(v, 0) + k
            if cap and len(values) > DISTINCT:
                values = None
        return Column(self.kinds | later.kinds, values, (self.labels + later.labels)[:3],
                      self.categories if self.categories is not None else later.categories,
                      self.infinite + later.infinite, self.outside + later.outside,
                      self.example if self.example is not None else later.example,
                      min(self.low, later.low), max(self.high, later.high),
                      self.binary and later.binary)


@dataclass
class Facts:
    """A chunk's (or consecutive chunks') rows, missing values per column, rows kept, kept rows
    with every outcome, and each column's ``Column``."""

    rows: int
    gaps: dict[str, int]
    kept: int
    observed: int
    columns: dict[str, Column]


class _Look:
    """The per-chunk function of the survey (a class, so that Dask can ship it)."""

    def __init__(self, names: list[str], declared: Mapping[str, Type], missing: str,
                 outcomes: Sequence[str]):
        self.names, self.declared, self.missing = names, dict(declared), missing
        self.outcomes = [v for v in names if v in outcomes]

    def cap(self, v: str) -> bool:
        return not isinstance(self.declared.get(v), FiniteType)

    def __call__(self, chunk: pd.DataFrame) -> Facts:
        import pandas as pd

        keep, seen = masks(chunk, self.outcomes, self.missing)
        cols = {}
        for v in self.names:
            rows = seen if v in self.outcomes else keep
            col = chunk[v][rows]
            c = Column()
            kind = _kind(col)
            if kind is not None:
                c.kinds.add(kind)
            if kind == "category":
                c.categories = list(col.cat.categories)
            if kind in ("text", "bool", "category"):
                c.labels = _labels(pd.unique(col))
            codes, uniques = pd.factorize(col, sort=False)
            if self.cap(v) and len(uniques) > DISTINCT:
                c.values = None  # continuous: its values are not kept
            else:
                counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
                c.values = {u.item() if hasattr(u, "item") else u: int(k)
                            for u, k in zip(uniques, counts, strict=True)}
            if kind == "number":
                x = col.to_numpy(dtype=np.float64)
                finite = np.isfinite(x)
                c.infinite = int((~finite).sum())
                if finite.any():
                    c.low, c.high = float(x[finite].min()), float(x[finite].max())
                c.binary = bool(np.isin(x, (0.0, 1.0)).all())
                t = self.declared.get(v)
                if isinstance(t, RealType):
                    out = x[(x < t.low) | (x > t.high)]
                    c.outside = int(out.size)
                    c.example = float(out[0]) if out.size else None
            cols[v] = c
        gaps = {v: int(chunk[v].isna().sum()) for v in self.names}
        return Facts(len(chunk), gaps, int(keep.sum()), int((keep & seen).sum()), cols)

    def merge(self, a: Facts, b: Facts) -> Facts:
        return Facts(a.rows + b.rows, {v: a.gaps[v] + b.gaps[v] for v in self.names},
                     a.kept + b.kept, a.observed + b.observed,
                     {v: a.columns[v].merge(b.columns[v], self.cap(v)) for v in self.names})


def masks(chunk: pd.DataFrame, outcomes: Sequence[str], missing: str
          ) -> tuple[np.ndarray, np.ndarray]:
    """The rows a policy keeps, and those of them with every outcome (``missing="censored"``
    keeps rows that lack only outcomes; otherwise both are the complete rows)."""
    na = chunk.isna()
    if missing == "censored" and outcomes:
        keep = ~na.drop(columns=list(outcomes)).any(axis=1).to_numpy()
        seen = ~na[list(outcomes)].any(axis=1).to_numpy()
        return keep, keep & seen
    keep = ~na.any(axis=1).to_numpy()
    return keep, keep


def _labels(values: Any) -> list[Any]:
    """The first three values that are not numbers, nor numbers written as text (a chunk of
    numbers with one label in it is read as text: the label is what a message should show)."""
    def number(x: Any) -> bool:
        try:
            float(x)
        except (TypeError, ValueError):
            return False
        return not isinstance(x, bool | np.bool_)

    found = [x for x in values if not number(x)][:3]
    return found or list(values[:3])


def _kind(col: pd.Series) -> str | None:
    import pandas as pd

    if not len(col):
        return None
    if isinstance(col.dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(col):
        return "bool"
    if pd.api.types.is_numeric_dtype(col):
        return "number"
    if isinstance(col.iloc[0], bool | np.bool_) and \
            col.map(lambda v: isinstance(v, bool | np.bool_)).all():
        return "bool"  # a chunk whose missing values made the column objects
    return "text"


@dataclass(frozen=True)
class Survey:
    """The whole data's types and facts, learnt chunk by chunk (``survey``). It holds no
    data (the chunks' functions carry it to where a Dask partition is)."""

    source: str
    names: tuple[str, ...]
    types: Mapping[str, Type]
    inferred: tuple[str, ...]
    missing: str
    outcomes: tuple[str, ...]
    n: int
    dropped: int
    censored: int
    #: each finite column's levels that some kept row has, as positions in its type
    present: Mapping[str, tuple[int, ...]]
    #: each numeric column's distinct values, sorted (None: more than DISTINCT)
    numbers: Mapping[str, tuple[float, ...] | None]
    ranges: Mapping[str, tuple[float, float]]
    #: each numeric column's values are all 0 or 1
    binary: Mapping[str, bool]

    def typed(self, chunk: pd.DataFrame) -> D.Dataset:
        """A chunk's rows that the policy keeps, typed as ``load`` types the whole data (a
        finite column as a Categorical of its type's labels); ``observed`` marks the rows with
        every outcome where some row lacks one."""
        import pandas as pd

        keep, seen = masks(chunk, self.outcomes, self.missing)
        cols = chunk.loc[keep, list(self.names)]
        seen = seen[keep]
        out: dict[str, Any] = {}
        for v in self.names:
            t = self.types[v]
            col = cols[v]
            if v in self.outcomes and not seen.all():  # a placeholder, never read
                fill: Any = (col[seen].iloc[0] if seen.any() else
                             self.ranges[v][0] if not isinstance(t, FiniteType) else
                             t.values[self.present[v][0]])
                col = col.where(seen, fill)
            out[v] = D._typed(col, v, t, self.source)
        frame = pd.DataFrame(out, index=cols.index).reset_index(drop=True)
        return D.Dataset(frame, dict(self.types), self.source, 0, self.inferred, None,
                         None if self.censored == 0 else seen)

    def labels(self, v: str) -> list[str]:
        """A finite column's labels present, as a Dataset's categories show them."""
        t = self.types[v]
        assert isinstance(t, FiniteType)
        return [show_label(t.values[i]) for i in self.present[v]]


def survey(data: Any, names: Sequence[str], declared: Mapping[str, Type] | None = None, *,
           missing: str = "error", outcomes: Sequence[str] = ()) -> Survey:
    """One pass over ``data`` in chunks (``chunks.reduce``): the columns ``names`` typed and
    checked as ``data.load`` types and checks them, with its messages."""
    if missing not in D.MISSING:
        raise DataError(f"missing={missing!r}: the policies for missing values are "
                        f"{', '.join(map(repr, D.MISSING))}")
    names = list(dict.fromkeys(names))
    declared = {v: t for v, t in (declared or {}).items()
                if v in names and not isinstance(t, OpaqueType)}
    look = _Look(names, declared, missing, outcomes if missing == "censored" else ())
    facts = chunks.reduce(data, names, look, look.merge)
    source = chunks.source_of(data)
    if missing == "error" and any(facts.gaps.values()):
        raise D.missing_values(source, facts.gaps, facts.rows)
    held = [v for v in look.outcomes if facts.gaps[v]]
    if held and facts.kept and not facts.observed:
        raise D.all_censored(source, held)
    dropped = facts.rows - facts.kept
    if not facts.kept:
        raise D.no_rows(source, dropped)
    types: dict[str, Type] = {}
    inferred, present, numbers, ranges, binary = [], {}, {}, {}, {}
    for v in names:
        c = facts.columns[v]
        t = declared.get(v)
        if t is None:
            t = _infer(c, v, source)
            inferred.append(v)
        types[v] = t
        if isinstance(t, RealType):
            if c.kinds - {"number"}:
                raise D.labels_for_real(source, v, t, c.labels)
            if c.infinite:
                raise D.infinite_values(source, v, c.infinite)
            if c.outside:
                assert c.example is not None
                raise D.outside_type(source, v, t, c.outside, c.example)
            numbers[v] = None if c.values is None else tuple(sorted(c.values))
            ranges[v], binary[v] = (c.low, c.high), c.binary
        elif isinstance(t, FiniteType):
            present[v] = _present(c, v, t, source)
        else:  # pragma: no cover - only finite, real and opaque exist
            raise DataError(f"{v} has type {t}, which data cannot fill")
    return Survey(source, tuple(names), types, tuple(inferred), missing,
                  tuple(look.outcomes), facts.kept, dropped, facts.kept - facts.observed,
                  present, numbers, ranges, binary)


def _infer(c: Column, v: str, source: str) -> Type:
    """The type ``data._infer`` gives the whole column."""
    if c.kinds == {"bool"}:
        return Bool
    if c.kinds <= {"number"}:
        return RealType()
    if "number" in c.kinds or "bool" in c.kinds:
        raise DataError(f"{source}: column {v} holds numbers in some rows and labels in others "
                        f"(e.g. {', '.join(map(repr, c.labels))}); declare its type, or make "
                        "it one or the other")
    if c.kinds == {"category"} and c.categories is not None:
        return FiniteType([str(x) for x in c.categories])
    assert c.values is not None
    return FiniteType(sorted({str(x) for x in c.values}))


def _present(c: Column, v: str, t: FiniteType, source: str) -> tuple[int, ...]:
    """The positions in ``t`` of the column's values, checked (``data._typed``'s messages,
    with the rows of each value over the whole data)."""
    import pandas as pd

    assert c.values is not None
    values = list(c.values)
    counts = np.asarray([c.values[x] for x in values], dtype=np.float64)
    typed = D._typed(pd.Series(values, dtype=object), v, t, source, counts)
    return tuple(sorted({int(i) for i in np.asarray(typed.codes)}))
