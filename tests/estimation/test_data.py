"""Data for estimation: every way of handing a table gives the same estimate; columns are typed
by declaration (checked) or by their values (inferred); missing values are an error that names
the column and the count, or dropped on request and reported; unreadable paths are refused
before anything is written."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl import DataError, QueryError
from causaldsl.core.types import Bool, FiniteType, RealType
from causaldsl.estimation.data import load

from .datasets import ATE, G, declared_graph, hetero

DECLARED = declared_graph("YesNo", "no, yes")
YES_NO = "E[Y | do(X = yes)] - E[Y | do(X = no)]"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return hetero(600, seed=21)


@pytest.fixture(scope="module")
def reference(frame: pd.DataFrame) -> float:
    """The g-formula's ATE on the DataFrame itself: every other route must give it."""
    return float(causaldsl.estimate(G, ATE, frame, method="gformula"))


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return causaldsl.parse(DECLARED).models["g"]


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under root with its size and modification time (ns)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.mark.parametrize("kind", ["csv", "tsv", "parquet", "columns"])
def test_every_way_of_handing_the_table_gives_the_same_estimate(kind, frame, reference, tmp_path):
    """CSV and TSV round-trip floats to the last digit or so (rel 1e-12 covers a last-bit
    difference in parsing); Parquet and a mapping of columns are exact."""
    if kind == "csv":
        data = tmp_path / "data.csv"
        frame.to_csv(data, index=False)
        data = str(data)  # a str path; the others pass a Path
    elif kind == "tsv":
        data = tmp_path / "data.tsv"
        frame.to_csv(data, sep="\t", index=False)
    elif kind == "parquet":
        pytest.importorskip("pyarrow")
        data = tmp_path / "data.parquet"
        frame.to_parquet(data, index=False)
    else:
        data = {c: frame[c].tolist() for c in frame.columns}
    before = _tree(tmp_path)
    e = causaldsl.estimate(G, ATE, data, method="gformula")
    assert float(e) == pytest.approx(reference, rel=1e-12, abs=1e-12)
    assert e.n == len(frame)
    assert _tree(tmp_path) == before  # reading writes nothing (no cache, no converted copy)


def test_types_are_read_from_the_columns():
    """Strings → a finite type of the labels seen (sorted), numbers (int or float) → Real,
    booleans → Bool, a pandas Categorical → its categories in their order."""
    df = pd.DataFrame({"S": ["lo", "hi", "lo", "mid"], "R": [0.5, 1.0, 2.0, -1.0],
                       "I": [3, 1, 2, 2], "B": [True, False, True, True],
                       "K": pd.Categorical(["z", "y", "z", "z"], categories=["z", "y", "x"])})
    ds = load(df, ["S", "R", "I", "B", "K"])
    assert ds.types["S"] == FiniteType(["hi", "lo", "mid"])
    assert isinstance(ds.types["R"], RealType) and isinstance(ds.types["I"], RealType)
    assert ds.types["B"] == Bool
    assert ds.types["K"] == FiniteType(["z", "y", "x"])
    assert set(ds.inferred) == {"S", "R", "I", "B", "K"}
    assert ds.codes("S").tolist() == [1, 0, 1, 2]
    assert ds.values("B").tolist() == [1.0, 0.0, 1.0, 1.0]


def test_a_treatment_as_numbers_booleans_or_labels_gives_the_same_estimate(frame, reference):
    """0/1 (Real), False/True (Bool, asked as do(X = true)) and no/yes (labels): one estimate."""
    as_bool = frame.assign(X=frame.X.astype(bool))
    e = causaldsl.estimate(G, "E[Y | do(X = true)] - E[Y | do(X = false)]", as_bool,
                           method="gformula")
    assert float(e) == pytest.approx(reference, abs=1e-9)
    labels = frame.assign(X=np.where(frame.X == 1, "yes", "no"))
    assert float(causaldsl.estimate(G, YES_NO, labels, method="gformula")) == \
        pytest.approx(reference, abs=1e-9)


def test_declared_types_are_used_and_a_level_no_row_has_is_no_obstacle(model, frame, reference):
    """The model declares W : {a, b, c} but no row has c: the levels present are modelled (a
    level no row has would be an all-zero design column that no fit can use; this failed
    with 'columns are collinear: W[T.c]' before the fix in this branch)."""
    labels = frame.assign(X=np.where(frame.X == 1, "yes", "no"))
    e = causaldsl.estimate(model, YES_NO, labels, method="gformula")
    assert float(e) == pytest.approx(reference, abs=1e-9)
    assert float(causaldsl.estimate(model, YES_NO, labels, method="aipw")) == pytest.approx(
        float(causaldsl.estimate(G, YES_NO, labels, method="aipw")), abs=1e-9)


@pytest.mark.parametrize("column, values, message", [
    ("X", lambda f: np.where(f.index < 3, "maybe", np.where(f.X == 1, "yes", "no")),
     r"column X has the value 'maybe' in 3 rows, which is not a value of YesNo \{no, yes\}"),
    ("X", lambda f: f.Z.to_numpy(),
     r"column X holds continuous values \(e\.g\. .*\) but X has the finite type YesNo "
     r"\{no, yes\}; declare it Real"),
    ("X", lambda f: f.X.to_numpy(),  # 0/1 for a type of labels: not its values
     r"column X has the value [01] in \d+ rows, which is not a value of YesNo"),
    ("W", lambda f: np.where(f.W == "a", "a", "d"),
     r"column W has the value 'd' in \d+ rows, which is not a value of Group \{a, b, c\}"),
    ("Z", lambda f: np.where(f.Z > 0, "high", "low"),
     r"column Z holds labels \('.*', '.*', …\) but Z is Real; declare it a finite type"),
], ids=["label-not-in-type", "continuous-for-finite", "numbers-for-labels", "label-in-covariate",
        "labels-for-real"])
def test_a_declared_type_is_checked_against_its_column(model, frame, column, values, message):
    df = frame.assign(X=np.where(frame.X == 1, "yes", "no"))
    df[column] = values(frame)
    with pytest.raises(DataError, match=message):
        causaldsl.estimate(model, YES_NO, df, method="gformula")


def test_missing_values_are_named_with_their_counts_or_dropped(frame):
    df = frame.copy()
    df.loc[[3, 10], "Z"] = np.nan
    df.loc[[10, 20, 30], "W"] = None
    df["unused"] = np.nan  # a column the question does not need: its gaps do not matter
    with pytest.raises(DataError, match=r"missing values in (?=.*Z \(2 of 600 rows\))"
                                        r"(?=.*W \(3 of 600 rows\)).*missing='drop'"):
        causaldsl.estimate(G, ATE, df, method="gformula")
    e = causaldsl.estimate(G, ATE, df, method="gformula", missing="drop")
    complete = frame.drop(index=[3, 10, 20, 30])
    # rows 3, 10, 20, 30: four incomplete rows (row 10 lacks both)
    assert e.n == 596 and e.details["dropped"] == 4 and e.to_dict()["dropped"] == 4
    assert float(e) == pytest.approx(
        float(causaldsl.estimate(G, ATE, complete, method="gformula")), abs=1e-12)
    with pytest.raises(DataError, match="policies for missing values are 'error', 'drop'"):
        causaldsl.estimate(G, ATE, df, missing="mean")


def test_paths_that_cannot_be_read_are_refused_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.xyz").write_text("X,Y,Z,W\n0,1.0,0.5,a\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "broken.parquet").write_text("not parquet at all\n")
    before = _tree(tmp_path)
    cases = [
        ("data.xyz", r"data\.xyz: cannot tell the format from the extension \.xyz"),
        ("folder", r"folder: cannot tell the format from the extension \(none\)"),
        ("folder.csv", r"folder\.csv: not a regular file"),
        ("absent.csv", r"absent\.csv: no such file"),
        ("broken.parquet", r"broken\.parquet: cannot read it as \.parquet data"),
    ]
    messages = []
    for path, message in cases:
        with pytest.raises(DataError, match=message) as info:
            causaldsl.estimate(G, ATE, path)
        messages.append(str(info.value))
        with pytest.raises(DataError, match=message):
            causaldsl.estimate(G, ATE, tmp_path / path)
    assert len(set(messages)) == len(cases)
    assert _tree(tmp_path) == before
    with pytest.raises(DataError, match="data must be a pandas DataFrame, a mapping of columns"):
        causaldsl.estimate(G, ATE, [[0, 1.0]])


def test_censored_outcomes_are_standardised_over_by_the_g_formula_only(frame):
    """missing="censored": a row missing only its outcome stays (censored, reported), one
    missing a covariate is dropped; with no outcome missing it is missing="drop"; the outcome
    may be labels (a placeholder of its type fills a censored row); every other method is
    refused, and so is data where every row is censored."""
    df = frame.copy()
    df.loc[[5, 6, 7], "Y"] = np.nan
    df.loc[[3, 7], "Z"] = np.nan
    e = causaldsl.estimate(G, ATE, df, method="gformula", missing="censored")
    assert (e.n, e.details["dropped"], e.details["censored"]) == (598, 2, 2)
    assert e.to_dict()["censored"] == 2 and "(2 censored: in the standardisation" in str(e)
    dropped = causaldsl.estimate(G, ATE, df, method="gformula", missing="drop")
    # main effects: the same effect (β_X) standardised over either population, but not the
    # same means (the censored rows' covariates count in them)
    assert float(e) == pytest.approx(float(dropped), abs=1e-9)
    assert abs(e.details["means"][1][1] - dropped.details["means"][1][1]) > 1e-3
    complete = df.dropna()
    assert float(causaldsl.estimate(G, ATE, complete, method="gformula", missing="censored")) \
        == pytest.approx(float(causaldsl.estimate(G, ATE, complete, method="gformula")),
                         abs=1e-12)
    labels = frame.assign(Y=np.where(frame.Y > 2, "high", "low").astype(object))
    labels.loc[[5, 6], "Y"] = None
    risk = "P(Y = high | do(X = 1)) - P(Y = high | do(X = 0))"
    r = causaldsl.estimate(G, risk, labels, method="gformula", missing="censored")
    assert r.details["censored"] == 2 and -1 < float(r) < 1
    for method in ("auto", "plugin", "ipw", "aipw", "iv"):
        with pytest.raises(QueryError, match=f"method {method} cannot use them: use method "
                                             "gformula"):
            causaldsl.estimate(G, ATE, df, method=method, missing="censored")
    with pytest.raises(DataError, match="every row is censored"):
        causaldsl.estimate(G, ATE, frame.assign(Y=np.nan), method="gformula",
                           missing="censored")


def test_column_names_of_parquet_and_feather_come_from_the_schema(tmp_path, monkeypatch):
    """``columns_of`` (the Bayesian fit asks it before it loads the data) reads a Parquet or
    Feather file's schema, not the file: before, such a file was read whole twice. A file
    pyarrow cannot read is left to the whole read, which says why."""
    import pandas as pd

    from causaldsl.estimation import data as D

    frame = pd.DataFrame({"A": [1, 2], "B b": ["x", "y"]})
    frame.to_parquet(tmp_path / "f.parquet")
    frame.to_feather(tmp_path / "f.feather")
    frame.to_json(tmp_path / "f.json")
    # a stored index is a column of the schema but not of the frame read
    frame.set_index(pd.Index([10, 20], name="id")).to_parquet(tmp_path / "i.parquet")
    frame.set_index(pd.Index([10, 20])).to_parquet(tmp_path / "j.parquet")
    (tmp_path / "bad.parquet").write_text("not parquet")
    reads = []
    real = D._read_file
    monkeypatch.setattr(D, "_read_file", lambda p: reads.append(p.name) or real(p))
    assert D.columns_of(tmp_path / "f.parquet") == ["A", "B b"]
    assert D.columns_of(tmp_path / "f.feather") == ["A", "B b"]
    assert D.columns_of(tmp_path / "i.parquet") == ["A", "B b"]
    assert D.columns_of(tmp_path / "j.parquet") == ["A", "B b"]
    assert reads == []
    assert list(D.read_table(tmp_path / "i.parquet")[0].columns) == ["A", "B b"]
    assert D.columns_of(tmp_path / "f.json") == ["A", "B b"]  # no schema: read whole
    assert reads == ["i.parquet", "f.json"]  # the whole read asked for above, then the JSON
    with pytest.raises(D.DataError, match=r"bad\.parquet: cannot read it as \.parquet data"):
        D.columns_of(tmp_path / "bad.parquet")
