"""Row arrays for the estimators from a typed ``Dataset``: the treatment's levels, a value's
position in a finite type, indicators of strata, outcome values ``f(Y)``, and the data with the
treatment set to a value. Shared by the in-memory estimators and the chunked g-formula
(``moments``), so that both build the same arrays from the same rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from causaldsl.core.errors import DataError, QueryError
from causaldsl.core.types import FiniteType, Label, show_label
from causaldsl.estimation import design as D
from causaldsl.estimation.data import Dataset
from causaldsl.estimation.estimators import Term
from causaldsl.estimation.question import Outcome

if TYPE_CHECKING:
    import pandas as pd

#: A numeric treatment with at most this many distinct values may be weighted (IPW, AIPW) as
#: discrete levels; beyond it only the g-formula's outcome model applies.
MAX_LEVELS = 20


def levels_of(ds: Dataset, x: str, needed: bool) -> tuple[list[Any], np.ndarray | None]:
    """The treatment's levels (labels, or numbers) and each row's level index; None when the
    estimator needs no treatment levels (the g-formula for a numeric treatment)."""
    t = ds.types[x]
    if isinstance(t, FiniteType):
        codes = ds.codes(x)
        present = np.unique(codes)
        where = np.full(t.size, -1)
        where[present] = np.arange(len(present))
        return [t.values[i] for i in present], where[codes]
    vals = ds.values(x)
    uniq = np.unique(vals)
    if not needed:
        return [], None
    if len(uniq) > MAX_LEVELS:
        raise DataError(f"{x} has {len(uniq)} distinct values; weighting (ipw, aipw) and the "
                        f"effect on the treated need a treatment with at most {MAX_LEVELS} "
                        "levels: declare it finite, or use method gformula")
    return [float(u) for u in uniq], np.searchsorted(uniq, vals)


def level_of(levels: list[Any], ds: Dataset, x: str, value: Label) -> int:
    t = ds.types[x]
    if isinstance(t, FiniteType):
        label = t.values[position(ds, x, value)]
        if label not in levels:
            raise DataError(f"no row of {ds.source} has {x} = {show_label(label)}: its effect "
                            "cannot be estimated from these data")
        return levels.index(label)
    num = number(value, x)
    if num not in levels:
        raise DataError(f"no row of {ds.source} has {x} = {show_label(value)}; weighting needs "
                        f"a value the data hold ({', '.join(f'{v:g}' for v in levels)})")
    return levels.index(num)


def number(value: Label, x: str) -> float:
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise QueryError(f"{x} is numeric in the data, so its value {value!r} must be a "
                         "number") from None


def indicator(ds: Dataset, var: str, value: Label) -> np.ndarray:
    t = ds.types[var]
    if isinstance(t, FiniteType):
        return (ds.codes(var) == position(ds, var, value)).astype(np.float64)
    return (ds.values(var) == number(value, var)).astype(np.float64)


def position(ds: Dataset, var: str, value: Label) -> int:
    """A value's position in a finite column's type; where the type was read from the column
    (not declared), a value outside it is one no row has: a DataError that says so."""
    t = ds.types[var]
    assert isinstance(t, FiniteType)
    if var in ds.inferred and value not in t:
        raise DataError(f"no row of {ds.source} has {var} = {show_label(value)} (the column's "
                        f"values: {', '.join(show_label(v) for v in t.values)})")
    return t.index(value)


def outcome_values(ds: Dataset, o: Outcome) -> np.ndarray:
    if o.var is not None:
        return ds.values(o.var)
    out = np.ones(ds.n)
    for var, value in o.events:
        out = out * indicator(ds, var, value)
    return out


def present(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns for the nuisance models, each finite one with only the levels some row has:
    a level of a declared type that no row has would be an all-zero column of the design, which
    no model can fit (the treatment's levels asked of are checked to be present, _level_of)."""
    import pandas as pd

    out = frame.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].cat.remove_unused_categories()
    return out


def at_point(t: Term, m: Any, dsg: D.Design, frame: pd.DataFrame, ds: Dataset) -> Term:
    """A term within a stratum with a continuous variable, as the outcome model's design row at
    the treatment's value and the strata's (the strata are then the adjustment set)."""
    if all(isinstance(ds.types[v], FiniteType) for v, _ in m.where):
        return t
    row = set_value(frame.iloc[:1], m.treatment, ds, m.value)
    for var, value in m.where:
        if isinstance(ds.types[var], FiniteType):
            position(ds, var, value)  # a label no row has: said as for a finite stratum
        row = set_value(row, var, ds, value if isinstance(ds.types[var], FiniteType)
                   else number(value, var))
    return Term(t.outcome, t.level, t.where, t.treated, dsg.at(row)[0])


def set_value(frame: pd.DataFrame, x: str, ds: Dataset, value: Any) -> pd.DataFrame:
    """The data with every row's treatment set to ``value``."""
    import pandas as pd

    out = frame.copy()
    t = ds.types[x]
    if isinstance(t, FiniteType):
        cats = list(out[x].cat.categories)  # the levels present (see present), by label
        at = cats.index(show_label(t.values[t.index(value)]))
        out[x] = pd.Categorical.from_codes(np.full(len(out), at), categories=cats)
    else:
        out[x] = float(value)
    return out
