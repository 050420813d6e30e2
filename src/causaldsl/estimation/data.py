"""Data for estimation: a table (a pandas DataFrame, a mapping of columns, or a CSV, Parquet,
Feather, JSON or Excel file, by extension) read into the columns a question needs, matched to
variables by name and typed: a declared type is checked against its column; an undeclared
graph node takes its type from the column (numbers → ``Real``, booleans → ``Bool``, strings →
a finite type of the labels seen). Missing values are an error unless ``missing="drop"``
(complete cases) or ``missing="censored"`` (rows missing only an outcome are kept, marked
censored: ``Dataset.observed``). A Dask DataFrame (Dask is optional) gives the counting
estimators its distinct rows and their counts, computed where its partitions live
(``load_counts``), and the others its needed columns, computed into memory (the g-formula sums
its moments over its partitions instead: ``chunks``, ``survey``, ``moments``). pandas is
imported here, lazily, never by ``causal check``."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from causaldsl.core.errors import DataError
from causaldsl.core.types import Bool, FiniteType, OpaqueType, RealType, Type, show_label

if TYPE_CHECKING:
    import pandas as pd

#: File extensions and the pandas reader for each (Parquet and Feather need pyarrow, Excel
#: openpyxl: pandas says so when they are missing).
READERS = {".csv": "read_csv", ".tsv": "read_csv", ".txt": "read_csv", ".parquet": "read_parquet",
           ".pq": "read_parquet", ".feather": "read_feather", ".json": "read_json",
           ".jsonl": "read_json", ".xlsx": "read_excel", ".xls": "read_excel"}
MISSING = ("error", "drop", "censored")


@dataclass(frozen=True)
class Dataset:
    """The columns a question needs, typed: a finite variable as a pandas Categorical whose
    categories are its type's labels in order, a numeric one as float64; ``n`` complete rows."""

    frame: pd.DataFrame
    types: Mapping[str, Type]
    source: str = "data"
    dropped: int = 0
    inferred: tuple[str, ...] = field(default=())
    #: rows standing for several (``load_counts``: each distinct row once, with its count);
    #: None when each row is one. Only counting (``counts``, ``n``) reads them.
    weights: np.ndarray | None = None
    #: ``missing="censored"``: which rows have their outcomes (bool); None when all do. A
    #: censored row's outcome columns hold a placeholder (an observed value), never to be read.
    observed: np.ndarray | None = None

    @property
    def censored(self) -> int:
        return 0 if self.observed is None else int((~self.observed).sum())

    @property
    def n(self) -> int:
        return len(self.frame) if self.weights is None else int(self.weights.sum())

    def codes(self, name: str) -> np.ndarray:
        """A finite column as positions in its type (int32)."""
        return np.asarray(self.frame[name].cat.codes, dtype=np.int32)

    def values(self, name: str) -> np.ndarray:
        """A column as numbers (float64): a finite column by its labels read as numbers
        (``true``/``false`` as 1/0), an error naming it where a label is not a number."""
        t = self.types[name]
        if isinstance(t, FiniteType):
            nums = t.numeric()
            if nums is None:
                raise DataError(f"{name} has labels that are not numbers ({t.listing}); an "
                                f"expectation of {name} needs numbers: ask P({name} = ...) "
                                "instead")
            return np.asarray(nums, dtype=np.float64)[self.codes(name)]
        return np.asarray(self.frame[name], dtype=np.float64)

    def discrete(self, limit: int = 20) -> Dataset:
        """This data with each numeric column whose type was inferred (not declared) and that
        holds at most ``limit`` distinct integers read as a finite type of those integers:
        how counting estimators see a 0/1 column of a CSV file."""
        import pandas as pd

        frame, types = self.frame, dict(self.types)
        for v in self.inferred:
            if not isinstance(types[v], RealType):
                continue
            x = self.frame[v].to_numpy()
            uniq = np.unique(x)
            if len(uniq) > limit or not np.all(uniq == np.round(uniq)):
                continue
            labels = [int(u) for u in uniq]
            if frame is self.frame:
                frame = frame.copy()
            frame[v] = pd.Categorical.from_codes(np.searchsorted(uniq, x),
                                                 categories=[str(u) for u in labels])
            types[v] = FiniteType(labels)
        if frame is self.frame:
            return self
        return Dataset(frame, types, self.source, self.dropped, self.inferred, self.weights)

    def counts(self, names: Sequence[str]) -> np.ndarray:
        """The joint count table of finite columns (one axis per name, in order)."""
        types = [self.types[v] for v in names]
        shape = tuple(t.size for t in types if isinstance(t, FiniteType))
        if len(shape) != len(names):
            cont = [v for v, t in zip(names, types, strict=True) if not isinstance(t, FiniteType)]
            raise DataError(f"counting needs finite variables; {', '.join(cont)} "
                            f"{'is' if len(cont) == 1 else 'are'} continuous")
        if not names:
            return np.asarray(float(self.n))
        flat = np.ravel_multi_index(tuple(self.codes(v) for v in names), shape)
        return np.bincount(flat, weights=self.weights, minlength=math.prod(shape)) \
            .reshape(shape).astype(np.float64)


def is_dask(data: Any) -> bool:
    """Whether ``data`` is a Dask DataFrame. Dask is never imported here: a user who built
    one has imported it."""
    dd = sys.modules.get("dask.dataframe")
    return dd is not None and isinstance(data, dd.DataFrame)


DASK = "the Dask DataFrame"


def read_table(data: Any) -> tuple[pd.DataFrame, str]:
    """A DataFrame from what a user hands: a DataFrame, a mapping of columns, or a path (a
    Dask DataFrame: ``load``)."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data, "the DataFrame"
    if is_dask(data):
        return data.compute(), DASK
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame(dict(data)), "the columns given"
        except ValueError as e:
            raise DataError(f"the columns given do not make a table: {e}") from None
    if isinstance(data, str | os.PathLike):
        return _read_file(Path(os.fspath(data))), os.fspath(data)
    raise DataError(f"data must be a pandas DataFrame, a mapping of columns or the path of a "
                    f"file ({', '.join(sorted(READERS))}), got {type(data).__name__}")


def columns_of(data: Any) -> list[str]:
    """The column names of what a user hands, reading no more than a file's header (CSV, TSV)
    or schema (Parquet, Feather) where the format has one; other files are read whole."""
    import pandas as pd

    if is_dask(data):
        return [str(c) for c in data.columns]
    if isinstance(data, str | os.PathLike):
        path = Path(os.fspath(data))
        ext = path.suffix.lower()
        if ext in CSV_LIKE:
            _check_file(path)
            try:
                return [str(c) for c in pd.read_csv(path, nrows=0, **_csv_options(path)).columns]
            except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
                raise DataError(f"{path}: cannot read it as {path.suffix} data: {e}") from None
        if ext in PARQUET or ext == ".feather":
            _check_file(path)
            names = _schema_names(path)
            if names is not None:
                return names
    frame, _ = read_table(data)
    return [str(c) for c in frame.columns]


def _schema_names(path: Path) -> list[str] | None:
    """A Parquet or Feather file's column names from its schema, read by pyarrow; None where
    pyarrow is missing or cannot read it (the whole read then says why, or reads it with
    another engine)."""
    try:
        import pyarrow as pa

        if path.suffix.lower() in PARQUET:
            import pyarrow.parquet as pq

            schema = pq.read_schema(path)
            # an index pandas stored is a column of the schema, but not of the read frame
            stored = (schema.pandas_metadata or {}).get("index_columns", [])
            index = {c for c in stored if isinstance(c, str)}
            return [str(c) for c in schema.names if c not in index]
        with pa.memory_map(os.fspath(path)) as source:
            return [str(c) for c in pa.ipc.open_file(source).schema.names]
    except (ImportError, ValueError, OSError):
        return None


def _read_file(path: Path) -> pd.DataFrame:
    import pandas as pd

    _check_file(path)
    reader = READERS[path.suffix.lower()]
    kw = _csv_options(path)
    if path.suffix.lower() == ".jsonl":
        kw["lines"] = True
    try:
        return getattr(pd, reader)(path, **kw)
    except ImportError as e:
        raise DataError(f"{path}: reading {path.suffix} files needs an optional package: "
                        f"{e}") from None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise DataError(f"{path}: cannot read it as {path.suffix} data: {e}") from None


def _check_file(path: Path) -> None:
    if path.suffix.lower() not in READERS:
        raise DataError(f"{path}: cannot tell the format from the extension "
                        f"{path.suffix or '(none)'}; data files are "
                        f"{', '.join(sorted(READERS))}")
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")


def _csv_options(path: Path) -> dict[str, Any]:
    return {"sep": "\t"} if path.suffix.lower() == ".tsv" else {}


def load(data: Any, names: Sequence[str], declared: Mapping[str, Type] | None = None, *,
         missing: str = "error", outcomes: Sequence[str] = ()) -> Dataset:
    """The columns ``names`` of ``data``, typed (see the module's docstring); with
    ``missing="censored"``, a row missing only some of ``outcomes`` is kept as censored."""
    if missing not in MISSING:
        raise DataError(f"missing={missing!r}: the policies for missing values are "
                        f"{', '.join(map(repr, MISSING))}")
    if is_dask(data):  # only the columns needed are computed
        _check_columns(list(data.columns), names, DASK)
        frame, source = data[list(dict.fromkeys(names))].compute(), DASK
    else:
        frame, source = read_table(data)
        _check_columns(list(frame.columns), names, source)
    return _typed_dataset(frame[list(dict.fromkeys(names))], source, declared or {}, missing,
                          outcomes=outcomes)


def load_counts(data: Any, names: Sequence[str], declared: Mapping[str, Type] | None = None,
                *, missing: str = "error") -> Dataset:
    """``load`` for counting estimators: a CSV file (``.csv``, ``.tsv``, ``.txt``) or a Parquet
    file (``.parquet``, ``.pq``) is read CSV_CHUNK_ROWS rows at a time, only the columns
    ``names``, and kept as its distinct rows with their counts (``Dataset.weights``), so that
    memory grows with the distinct rows, not with the file. Types and messages are those of
    ``load``; where a column's parsed type differs between chunks (numbers in one, text in
    another) the file is read whole, as ``load`` does. A Dask DataFrame: its distinct rows of
    ``names`` and their counts, by a ``groupby(...).size()`` that Dask computes where the
    partitions are (its scheduler, or the cluster of an active ``dask.distributed`` client), so
    only the counts come back. Other data: ``load``."""
    if missing not in MISSING:
        raise DataError(f"missing={missing!r}: the policies for missing values are "
                        f"{', '.join(map(repr, MISSING))}")
    if missing == "censored":  # it would act as "drop" (no outcome is held): say so instead
        raise DataError("missing='censored' keeps rows without an outcome for the g-formula "
                        "only; counting frequencies needs complete rows: use missing='drop'")
    if is_dask(data):
        frame, weights = _dask_counts(data, list(dict.fromkeys(names)))
        return _typed_dataset(frame, DASK, declared or {}, missing, weights)
    if not isinstance(data, str | os.PathLike) or \
            Path(os.fspath(data)).suffix.lower() not in (*CSV_LIKE, *PARQUET):
        return load(data, names, declared, missing=missing)
    path = Path(os.fspath(data))
    counted = _read_counts(path, list(dict.fromkeys(names)))
    if counted is None:
        return load(data, names, declared, missing=missing)
    frame, weights = counted
    return _typed_dataset(frame, os.fspath(data), declared or {}, missing, weights)


#: Rows per chunk when a file is read in chunks (``load_counts``, ``file_chunks``).
CSV_CHUNK_ROWS = 1 << 20
CSV_LIKE = (".csv", ".tsv", ".txt")
PARQUET = (".parquet", ".pq")


def file_chunks(path: Path, names: list[str]) -> Iterator[pd.DataFrame]:
    """The columns ``names`` of a CSV or Parquet file, CSV_CHUNK_ROWS rows at a time; a missing
    column or an unreadable file is a DataError (the messages of a whole read)."""
    import pandas as pd

    _check_file(path)
    ext = path.suffix.lower()
    try:
        if ext in PARQUET:
            import pyarrow.parquet as pq

            file = pq.ParquetFile(path)
            _check_columns(list(file.schema_arrow.names), names, os.fspath(path))
            for batch in file.iter_batches(batch_size=CSV_CHUNK_ROWS, columns=names):
                yield batch.to_pandas()
            return
        if ext not in CSV_LIKE:
            raise DataError(f"{path}: {ext} files are read whole; reading in chunks takes "
                            f"{', '.join((*CSV_LIKE, *PARQUET))}")
        kw = _csv_options(path)
        _check_columns(list(pd.read_csv(path, nrows=0, **kw).columns), names, os.fspath(path))
        yield from pd.read_csv(path, usecols=names, chunksize=CSV_CHUNK_ROWS, **kw)
    except ImportError as e:
        raise DataError(f"{path}: reading {ext} files needs an optional package: {e}") from None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise DataError(f"{path}: cannot read it as {ext} data: {e}") from None


def _read_counts(path: Path, names: list[str]) -> tuple[pd.DataFrame, np.ndarray] | None:
    """The distinct rows of ``names`` in a CSV or Parquet file and how many times each occurs,
    read in chunks; None where a column is parsed as numbers in one chunk and as text (or
    booleans) in another, which a whole read would parse differently."""
    import pandas as pd

    kinds: dict[str, str] = {}
    total: pd.Series | None = None
    for chunk in file_chunks(path, names):
        for v in names:
            kind = _kind(chunk[v])
            if kinds.setdefault(v, kind) != kind:
                return None
        part = chunk[names].value_counts(dropna=False, sort=False)
        total = part if total is None else pd.concat([total, part]).groupby(
            level=list(range(len(names))), dropna=False, sort=False).sum()
    if total is None:  # a header and no rows
        return pd.DataFrame({v: pd.Series([], dtype=object) for v in names}), np.zeros(0)
    frame = total.index.to_frame(index=False)
    frame.columns = names
    for v in names:  # an index level may hold numbers or booleans as objects
        if kinds[v] == "number" and not pd.api.types.is_numeric_dtype(frame[v]):
            frame[v] = pd.to_numeric(frame[v])
        elif kinds[v] == "bool" and not pd.api.types.is_bool_dtype(frame[v]):
            frame[v] = frame[v].astype(bool)
    return frame, total.to_numpy(dtype=np.float64)


def _dask_counts(data: Any, names: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct rows of ``names`` in a Dask DataFrame and their counts (missing values
    kept as a row of their own, so that ``_typed_dataset`` refuses or drops them as it does
    for a whole read)."""
    _check_columns(list(data.columns), names, DASK)
    try:
        total = data[names].groupby(names, dropna=False, observed=True).size().compute()
    except (ValueError, TypeError) as e:
        raise DataError(f"{DASK}: cannot count its rows of {', '.join(names)}: {e}") from None
    frame = total.index.to_frame(index=False)
    frame.columns = names
    return frame, total.to_numpy(dtype=np.float64)


def _kind(col: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(col):
        return "bool"
    if pd.api.types.is_numeric_dtype(col):
        return "number" if col.notna().any() else "empty"
    return "text"


def _check_columns(columns: list[Any], names: Sequence[str], source: str) -> None:
    absent = [v for v in names if v not in columns]
    if absent:
        cols = ", ".join(map(str, columns[:20]))
        raise DataError(f"{source} has no column {', '.join(absent)} (its columns: {cols}); "
                        "columns are matched to variables by name")


def _typed_dataset(cols: pd.DataFrame, source: str, declared: Mapping[str, Type], missing: str,
                   weights: np.ndarray | None = None, outcomes: Sequence[str] = ()) -> Dataset:
    """The columns typed, with missing values refused, dropped, or (``censored``, in
    ``outcomes``) kept as censored; ``weights``: each row's count, where rows stand for
    several."""
    import pandas as pd

    def rows(mask: Any) -> int:
        mask = np.asarray(mask, dtype=bool)
        return int(mask.sum()) if weights is None else int(weights[mask].sum())

    total = len(cols) if weights is None else int(weights.sum())
    gaps = {v: rows(cols[v].isna()) for v in cols.columns}
    dropped = 0
    observed = None
    if any(gaps.values()):
        if missing == "error":
            raise missing_values(source, gaps, total)
        held = [v for v in cols.columns if v in outcomes and gaps[v]] \
            if missing == "censored" else []
        keep = ~cols.drop(columns=held).isna().any(axis=1).to_numpy()
        dropped = rows(~keep)
        cols = cols[keep]
        if weights is not None:
            weights = weights[keep]
        if held:
            observed, cols = _censor(cols, held, source)
    if len(cols) == 0 or (weights is not None and not weights.sum()):
        raise no_rows(source, dropped)
    out: dict[str, Any] = {}
    types: dict[str, Type] = {}
    inferred = []
    for v in cols.columns:
        t = declared.get(v)
        if t is None or isinstance(t, OpaqueType):
            t = _infer(cols[v])
            inferred.append(v)
        types[v] = t
        out[v] = _typed(cols[v], v, t, source, weights)
    return Dataset(pd.DataFrame(out, index=cols.index).reset_index(drop=True), types, source,
                   dropped, tuple(inferred), weights, observed)


def missing_values(source: str, gaps: Mapping[str, int], total: int) -> DataError:
    """The error for missing values under ``missing="error"``: each column's count."""
    bad = [f"{v} ({k} of {total} rows)" for v, k in gaps.items() if k]
    return DataError(f"{source}: missing values in {', '.join(bad)}; drop incomplete rows "
                     "with missing='drop' (--missing drop), or fill them first")


def no_rows(source: str, dropped: int) -> DataError:
    return DataError(f"{source} has no {'complete ' if dropped else ''}rows")


def all_censored(source: str, held: Sequence[str]) -> DataError:
    return DataError(f"{source}: no row has a value of {', '.join(held)}: every row is "
                     "censored, so there is nothing to fit the outcome model on")


def _censor(cols: pd.DataFrame, held: list[str], source: str
            ) -> tuple[np.ndarray | None, pd.DataFrame]:
    """Which rows have every outcome in ``held``, and the columns with each censored row's
    outcomes replaced by an observed row's (a placeholder of the column's type, so that the
    column types as usual; the estimators never read it)."""
    seen = ~cols[held].isna().any(axis=1).to_numpy()
    if len(cols) and not seen.any():
        raise all_censored(source, held)
    if seen.all():
        return None, cols
    cols = cols.copy()
    for v in held:
        cols[v] = cols[v].where(seen, cols[v][seen].iloc[0])
    return seen, cols


def _infer(col: pd.Series) -> Type:
    import pandas as pd

    if pd.api.types.is_bool_dtype(col):
        return Bool
    if pd.api.types.is_numeric_dtype(col):
        return RealType()
    if isinstance(col.dtype, pd.CategoricalDtype):
        labels = [str(c) for c in col.cat.categories]
    else:
        labels = sorted({str(x) for x in col.unique()})
    return FiniteType(labels)


def _typed(col: pd.Series, name: str, t: Type, source: str,
           weights: np.ndarray | None = None) -> Any:
    import pandas as pd

    if isinstance(t, RealType):
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise labels_for_real(source, name, t, col.unique()[:3])
        x = col.to_numpy(dtype=np.float64)
        if not np.isfinite(x).all():
            raise infinite_values(source, name, int((~np.isfinite(x)).sum()))
        outside = (x < t.low) | (x > t.high)
        out = x[outside]
        if out.size:
            k = out.size if weights is None else int(weights[outside].sum())
            raise outside_type(source, name, t, k, out[0])
        return x
    if not isinstance(t, FiniteType):  # pragma: no cover - only finite, real and opaque exist
        raise DataError(f"{name} has type {t}, which data cannot fill")
    codes, uniques = pd.factorize(col, sort=False)
    where = np.empty(len(uniques), dtype=np.int32)
    for i, u in enumerate(uniques):
        at = codes == i
        where[i] = _label_index(t, u, name, source,
                                int(at.sum() if weights is None else weights[at].sum()))
    return pd.Categorical.from_codes(where[codes], categories=list(range(t.size))) \
        .rename_categories([show_label(x) for x in t.values])


def labels_for_real(source: str, name: str, t: RealType, sample: Sequence[Any]) -> DataError:
    shown = ", ".join(repr(x) for x in sample)
    return DataError(f"{source}: column {name} holds labels ({shown}, …) but {name} is "
                     f"{'declared ' if t != RealType() else ''}{t}; declare it a finite type, "
                     "or give numbers")


def infinite_values(source: str, name: str, k: int) -> DataError:
    return DataError(f"{source}: column {name} has {k} infinite values")


def outside_type(source: str, name: str, t: RealType, k: int, example: float) -> DataError:
    return DataError(f"{source}: column {name} has {k} values outside {t} (e.g. {example:g})")


def _label_index(t: FiniteType, value: Any, name: str, source: str, rows: int) -> int:
    """The position of a column's value in a finite type, by label or printed form."""
    if isinstance(value, float | np.floating):
        if not float(value).is_integer():
            raise DataError(f"{source}: column {name} holds continuous values (e.g. {value:g}) "
                            f"but {name} has the finite type {_shown(t)}; declare it Real "
                            "or give its labels")
        value = int(value)
    if isinstance(value, np.bool_):
        value = bool(value)
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) and value not in t and str(value).lower() in t:
        value = str(value).lower()
    try:
        return t.index(value)
    except Exception:
        raise DataError(f"{source}: column {name} has the value {value!r} in {rows} "
                        f"row{'s' if rows != 1 else ''}, which is not a value of "
                        f"{_shown(t)}") from None


def _shown(t: FiniteType) -> str:
    return f"{t.name} {t.listing}" if t.name else t.listing


#: File extensions a table is written as (``write_table``, ``causal sample -o``); ``load``
#: reads each back.
WRITERS = {".csv": "to_csv", ".tsv": "to_csv", ".parquet": "to_parquet", ".pq": "to_parquet",
           ".feather": "to_feather"}


def check_writable(path: str) -> None:
    """Before any work: ``path`` ("-": standard output) names a file a table can be written to:
    an extension of ``WRITERS``, in a folder that exists. A DataError says what is wrong."""
    if path == "-":
        return
    p = Path(path)
    if p.suffix.lower() not in WRITERS:
        raise DataError(f"{path}: cannot tell the format from the extension "
                        f"{p.suffix or '(none)'}; tables are written as "
                        f"{', '.join(sorted(WRITERS))} (or - for CSV on standard output)")
    folder = p.parent
    if not folder.is_dir():
        raise DataError(f"{path}: cannot write: no folder {folder}")
    if p.is_dir():
        raise DataError(f"{path}: cannot write: it is a folder")


def write_table(frame: pd.DataFrame, path: str) -> None:
    """Write ``frame`` to ``path`` in the format its extension names ("-": CSV to standard
    output), without its index, so that ``load`` reads it back: a Categorical column as its
    labels. Errors of the file system (OSError) are the caller's to report."""
    import sys

    if path == "-":
        frame.to_csv(sys.stdout, index=False)
        return
    check_writable(path)
    ext = Path(path).suffix.lower()
    try:
        if WRITERS[ext] == "to_csv":
            frame.to_csv(path, index=False, **_csv_options(Path(path)))
        elif WRITERS[ext] == "to_parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.reset_index(drop=True).to_feather(path)
    except ImportError as e:
        raise DataError(f"{path}: writing {ext} files needs an optional package: {e}") from None
