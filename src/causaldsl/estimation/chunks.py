"""Data read in chunks, for estimators whose sufficient statistics are sums over rows: a CSV
file (``.csv``, ``.tsv``, ``.txt``) read ``data.CSV_CHUNK_ROWS`` rows at a time and a Parquet
file one batch of as many rows at a time (pyarrow), only the columns needed; a Dask DataFrame
by its partitions, each reduced where it lives (a Dask graph of per-partition functions and a
tree of merges, run by the active scheduler or ``dask.distributed`` client). ``reduce`` applies
a function to every chunk and merges the results in row order, so that memory holds a chunk
and the running statistics, never the table."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from causaldsl.core.errors import DataError
from causaldsl.estimation import data as D
from causaldsl.estimation.data import file_chunks

if TYPE_CHECKING:
    import pandas as pd

#: A CSV or Parquet file larger than this is read in chunks by the estimators that can (the
#: g-formula); smaller ones are read whole, as every estimator reads them. A whole read's peak
#: memory is about 60 times the CSV's size (5.6 GB for 97 MiB: bench/RESULTS-estimation.md),
#: so 32 MiB keeps it near 2 GB.
OUT_OF_CORE_BYTES = 32 << 20

S = TypeVar("S")


def out_of_core(data: Any) -> bool:
    """Whether ``data`` is to be reduced chunk by chunk rather than read whole: a Dask
    DataFrame, or a CSV or Parquet file larger than OUT_OF_CORE_BYTES."""
    if D.is_dask(data):
        return True
    if not isinstance(data, str | os.PathLike):
        return False
    path = Path(os.fspath(data))
    if path.suffix.lower() not in (*D.CSV_LIKE, *D.PARQUET) or not path.is_file():
        return False
    return path.stat().st_size > OUT_OF_CORE_BYTES


def source_of(data: Any) -> str:
    """How messages name the data (as ``data.load`` does)."""
    return D.DASK if D.is_dask(data) else os.fspath(data)


def reduce(data: Any, names: Sequence[str], each: Callable[[pd.DataFrame], S],
           merge: Callable[[S, S], S]) -> S:
    """``merge`` over the chunks' ``each(chunk)``, in row order (``merge(earlier, later)``;
    it must be associative). A chunk is a pandas DataFrame of the columns ``names`` as read."""
    names = list(dict.fromkeys(names))
    if D.is_dask(data):
        return _dask_reduce(data, names, each, merge)
    total: Any = None
    for chunk in file_chunks(Path(os.fspath(data)), names):
        part = each(chunk)
        total = part if total is None else merge(total, part)
    if total is None:  # a header and no rows
        import pandas as pd

        total = each(pd.DataFrame({v: pd.Series([], dtype=object) for v in names}))
    return total


def _dask_reduce(data: Any, names: list[str], each: Callable[[Any], S],
                 merge: Callable[[S, S], S]) -> S:
    """Each partition reduced by ``each`` where it is, the results merged pairwise (a tree, in
    partition order) by Dask; only the merged statistics come back."""
    import dask

    D._check_columns(list(data.columns), names, D.DASK)
    parts = [dask.delayed(each)(p) for p in data[names].to_delayed()]
    join = dask.delayed(merge)
    while len(parts) > 1:
        parts = [join(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    try:
        (out,) = dask.compute(parts[0])
    except (ValueError, TypeError) as e:
        raise DataError(f"{D.DASK}: cannot read its columns {', '.join(names)}: {e}") from None
    return out
