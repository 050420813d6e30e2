"""The plug-in counts a CSV file in chunks (only the columns it needs, kept as distinct rows and
their counts): the same types, counts, answers and messages as reading the file whole."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl import DataError
from causaldsl.core.types import Bool, FiniteType
from causaldsl.estimation import data as D
from causaldsl.model.graph import ADMG

ATE = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
G = ADMG(["Z", "S", "X", "Y"], [("Z", "X"), ("S", "X"), ("Z", "Y"), ("S", "Y"), ("X", "Y")])


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(D, "CSV_CHUNK_ROWS", 37)  # many chunks, the last one short


def _frame(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 3, n)
    s = rng.random(n) < 0.4
    x = (rng.random(n) < 0.3 + 0.2 * (z == 2) + 0.1 * s).astype(int)
    y = (rng.random(n) < 0.2 + 0.3 * x + 0.1 * z).astype(int)
    return pd.DataFrame({"id": np.arange(n), "W": rng.normal(size=n), "Z": z,
                         "S": np.where(s, "yes", "no"), "X": x, "Y": y, "B": s})


def _same(a: D.Dataset, b: D.Dataset, names: list[str]) -> None:
    assert a.types == b.types and a.inferred == b.inferred
    assert a.n == b.n and a.dropped == b.dropped
    assert np.array_equal(a.counts(names), b.counts(names))


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_chunked_counts_equal_the_whole_file(tmp_path, suffix):
    path = tmp_path / f"d{suffix}"
    _frame().to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    names = ["Z", "S", "X", "Y", "B"]
    whole = D.load(path, names)
    counted = D.load_counts(path, names)
    assert counted.weights is not None and len(counted.frame) < 30  # distinct rows only
    assert counted.types["B"] == Bool and isinstance(counted.types["S"], FiniteType)
    _same(whole.discrete(), counted.discrete(), names)


def test_the_plugin_from_a_csv_equals_the_plugin_from_its_dataframe(tmp_path):
    df = _frame()
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    a = causaldsl.estimate(G, ATE, df, method="plugin")
    b = causaldsl.estimate(G, ATE, path, method="plugin")
    assert float(a) == float(b) and a.se == b.se and a.n == b.n == 1000
    c = causaldsl.estimate(G, ATE, path, method="plugin", bootstrap=50, seed=2)
    d = causaldsl.estimate(G, ATE, df, method="plugin", bootstrap=50, seed=2)
    assert c.se == d.se and c.ci == d.ci


def test_missing_values_as_when_read_whole(tmp_path):
    df = _frame(300).astype({"Z": float})
    df.loc[[5, 100, 250], "Z"] = np.nan  # NaN in some chunks only: Z is float in all
    df.loc[[7], "S"] = None
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    names = ["Z", "S", "X", "Y"]
    with pytest.raises(DataError) as whole:
        D.load(path, names)
    with pytest.raises(DataError) as counted:
        D.load_counts(path, names)
    assert str(whole.value) == str(counted.value)
    assert "Z (3 of 300 rows)" in str(counted.value)
    a, b = D.load(path, names, missing="drop"), D.load_counts(path, names, missing="drop")
    assert b.dropped == a.dropped == 4
    _same(a.discrete(), b.discrete(), names)


def test_a_column_parsed_differently_between_chunks_is_read_whole(tmp_path):
    df = _frame(200)
    df["Z"] = df["Z"].astype(object)
    df.loc[150:, "Z"] = df.loc[150:, "Z"].map({0: "a", 1: "b", 2: "c"})  # text in late chunks
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    counted = D.load_counts(path, ["Z", "X"])
    assert counted.weights is None  # read whole: the same types as load's
    assert counted.types == D.load(path, ["Z", "X"]).types


def test_absent_columns_and_empty_files_said_as_before(tmp_path):
    path = tmp_path / "d.csv"
    _frame(50).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"has no column Q \(its columns: id, W, Z"):
        D.load_counts(path, ["Z", "Q"])
    empty = tmp_path / "e.csv"
    empty.write_text("Z,X,Y\n")
    with pytest.raises(DataError, match="has no rows"):
        D.load_counts(empty, ["Z", "X", "Y"])


def test_a_parquet_file_is_counted_in_batches(tmp_path, monkeypatch):
    """A Parquet file is counted batch by batch (37 rows each here), never read whole: the same
    types and counts as the whole read, with ``load`` out of reach."""
    path = tmp_path / "d.parquet"
    _frame().to_parquet(path, index=False)
    names = ["Z", "S", "X", "Y", "B"]
    whole = D.load(path, names)

    def no_whole_read(*a, **k):
        raise AssertionError("read whole")

    monkeypatch.setattr(D, "load", no_whole_read)
    counted = D.load_counts(path, names)
    assert counted.weights is not None and len(counted.frame) < 30  # distinct rows only
    _same(whole.discrete(), counted.discrete(), names)
