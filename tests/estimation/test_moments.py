"""The linear g-formula from moments, for data read in chunks (a CSV or Parquet file above
``chunks.OUT_OF_CORE_BYTES``, a Dask DataFrame): the same estimate, standard error, means and
outcome coefficients as the in-memory g-formula on the same rows, the same messages for bad
input, and, where sums over chunks cannot serve (a transform that learns from the data, a
bootstrap), the in-memory answer with a warning that says so. A 0/1 outcome's logistic model is
fitted by Newton's method, one pass over the chunks a step.

The tolerance, 1e-9 relative: both sides do the same float64 arithmetic (least squares, the
standardised means, the sandwich) summed in another order, chunk by chunk here and row-wise in
XLA there; the designs below have condition numbers under 1e5, so the two differ by a few
thousand ulps at most (about 1e-12; measured 3e-12 on the first test). An estimator that left
out the cross terms between the outcome model's scores and the means' equations (treating β as
known), used HC1 instead of HC0, or standardised over the wrong rows (the observed ones only,
a chunk's levels) is off by far more than that."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import causaldsl
from causaldsl import DataError, QueryError
from causaldsl.core.errors import FitError
from causaldsl.estimation import chunks
from causaldsl.estimation import data as D
from causaldsl.model.graph import ADMG

from .datasets import ATE, ATT, RISK_DIFFERENCE, G, binary, declared_graph, hetero

RTOL = 1e-9
CATE = "E[Y | do(X = 1), W = b] - E[Y | do(X = 0), W = b]"
ONE_MEAN = "E[Y | do(X = 1)]"
DECLARED = causaldsl.parse(declared_graph("YesNo", "0, 1")).models["g"]
#: K (0, 1, 2 as numbers) confounds too, so that a formula can make it categorical
GK = ADMG(["Z", "W", "K", "X", "Y"], [("Z", "X"), ("W", "X"), ("K", "X"), ("Z", "Y"),
                                      ("W", "Y"), ("K", "Y"), ("X", "Y")])


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Every CSV or Parquet file is read in chunks of 97 rows (many, the last one short)."""
    monkeypatch.setattr(D, "CSV_CHUNK_ROWS", 97)
    monkeypatch.setattr(chunks, "OUT_OF_CORE_BYTES", 0)


def _whole(monkeypatch, target, query, data, **kw):  # type: ignore[no-untyped-def]
    """The in-memory estimate: the same file, read whole."""
    with monkeypatch.context() as m:
        m.setattr(chunks, "OUT_OF_CORE_BYTES", 1 << 62)
        return causaldsl.estimate(target, query, data, method="gformula", **kw)


def _same(whole, part) -> None:  # type: ignore[no-untyped-def]
    """Equal to RTOL: value, se, interval, each mean and its se, each coefficient and its se;
    and the chunked one took the moments path."""
    assert part.details.get("read") == "in chunks" and "read" not in whole.details
    assert part.n == whole.n and part.details.get("dropped") == whole.details.get("dropped")
    assert part.details.get("censored") == whole.details.get("censored")
    np.testing.assert_allclose(float(part), float(whole), rtol=RTOL)
    np.testing.assert_allclose(part.se, whole.se, rtol=RTOL)
    np.testing.assert_allclose(part.ci, whole.ci, rtol=RTOL)
    for (t1, v1, s1), (t2, v2, s2) in zip(part.details["means"], whole.details["means"],
                                          strict=True):
        assert t1 == t2
        np.testing.assert_allclose([v1, s1], [v2, s2], rtol=RTOL)
    m1, m2 = part.details["models"], whole.details["models"]
    assert list(m1) == list(m2)
    for name in m1:
        assert list(m1[name]) == list(m2[name])  # the same columns, in order
        a, b = np.array(list(m1[name].values())), np.array(list(m2[name].values()))
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * np.abs(b).max())


def _csv(tmp_path, df: pd.DataFrame, name: str = "d.csv") -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    df.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("query", [ATE, CATE, ATT, ONE_MEAN])
def test_main_effects_from_csv_chunks_equal_the_whole_read(tmp_path, monkeypatch, query):
    path = _csv(tmp_path, hetero(1500))
    _same(_whole(monkeypatch, G, query, path),
          causaldsl.estimate(G, query, path, method="gformula"))


def test_a_formula_with_categoricals_interactions_and_powers(tmp_path, monkeypatch):
    path = _csv(tmp_path, hetero(1500))
    formula = "C(X) * Z + C(W) + I(Z**2) + C(X):C(W)"
    whole = _whole(monkeypatch, G, ATE, path, outcome=formula)
    _same(whole, causaldsl.estimate(G, ATE, path, method="gformula", outcome=formula))
    assert "C(X)[T.1.0]:Z" in whole.details["models"]["outcome Y (linear)"]


def _with_k(n: int = 1500) -> pd.DataFrame:
    """hetero with K in {0, 1, 2} acting on Y, the rows sorted so that the first chunks hold
    only W = a and K = 0: their designs lack levels the whole data has."""
    df = hetero(n)
    rng = np.random.default_rng(5)
    df["K"] = rng.integers(0, 3, n)
    df["Y"] = df["Y"] + 0.7 * df["K"] - 0.4 * (df["K"] == 2) * df["X"]
    return df.sort_values(["W", "K"], kind="stable").reset_index(drop=True)


def test_a_chunk_missing_levels_gives_the_same_answer(tmp_path, monkeypatch):
    """The first 400 rows are W = a, the first 200 K = 0 too: a spec or categories learnt from
    a chunk would give the design fewer columns (or put K = 2's rows in no column)."""
    df = _with_k()
    assert set(df["W"][:400]) == {"a"} and set(df["K"][:200]) == {0}
    path = _csv(tmp_path, df)
    formula = "X * C(K) + Z + W"
    for query in (ATE, CATE):
        _same(_whole(monkeypatch, GK, query, path, outcome=formula),
              causaldsl.estimate(GK, query, path, method="gformula", outcome=formula))


def test_declared_types_give_the_levels(tmp_path, monkeypatch):
    """W declared {a, b, c}, c in no row: the in-memory design drops it, and so do the chunks;
    X declared {0, 1} (finite): its levels from the type."""
    path = _csv(tmp_path, hetero(1200))
    _same(_whole(monkeypatch, DECLARED, ATE, path),
          causaldsl.estimate(DECLARED, ATE, path, method="gformula"))


def test_parquet_read_in_batches(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    path = tmp_path / "d.parquet"
    _with_k().to_parquet(path, index=False, row_group_size=200)
    _same(_whole(monkeypatch, GK, ATE, str(path)),
          causaldsl.estimate(GK, ATE, str(path), method="gformula"))


@pytest.mark.parametrize("missing", ["drop", "censored"])
def test_missing_values_dropped_or_censored_as_in_memory(tmp_path, monkeypatch, missing):
    """Outcomes missing in 40 rows, Z in 15 (some rows both), spread over the chunks: drop
    keeps the complete rows; censored fits on the rows with Y and standardises over all rows
    that have the covariates."""
    df = hetero(1500)
    rng = np.random.default_rng(2)
    df.loc[rng.choice(1500, 40, replace=False), "Y"] = np.nan
    df.loc[rng.choice(1500, 15, replace=False), "Z"] = np.nan
    path = _csv(tmp_path, df)
    whole = _whole(monkeypatch, G, ATE, path, missing=missing)
    part = causaldsl.estimate(G, ATE, path, method="gformula", missing=missing)
    _same(whole, part)
    assert (whole.details["censored"] or 0) > 0 if missing == "censored" else \
        whole.details["dropped"] > 40


def test_an_effect_at_a_point_of_a_continuous_covariate(tmp_path, monkeypatch):
    path = _csv(tmp_path, hetero(1500))
    query = "E[Y | do(X = 1), Z = 0.5, W = b] - E[Y | do(X = 0), Z = 0.5, W = b]"
    formula = "X * Z + X * W"
    _same(_whole(monkeypatch, G, query, path, outcome=formula),
          causaldsl.estimate(G, query, path, method="gformula", outcome=formula))
    far = query.replace("0.5", "9")
    part = causaldsl.estimate(G, far, path, method="gformula", outcome=formula)
    assert any("outside the data's range of Z" in w for w in part.warnings)


def _messages(monkeypatch, target, query, path, **kw):  # type: ignore[no-untyped-def]
    with pytest.raises(DataError) as whole:
        _whole(monkeypatch, target, query, path, **kw)
    with pytest.raises(DataError) as part:
        causaldsl.estimate(target, query, path, method="gformula", **kw)
    return str(whole.value), str(part.value)


def test_bad_input_is_said_as_in_memory(tmp_path, monkeypatch):
    """A NaN in the 11th chunk, a label outside the declared type in two rows of later chunks,
    an infinite value: each the whole read's message, with the whole data's counts."""
    df = hetero(1500)
    df.loc[[1000, 1400], "Y"] = np.nan
    df.loc[1200, "Z"] = np.nan
    whole, part = _messages(monkeypatch, G, ATE, _csv(tmp_path, df, "nan.csv"))
    assert part == whole and "Y (2 of 1500 rows), Z (1 of 1500 rows)" in part
    df = hetero(1500)
    df["W"] = df["W"].astype(object)
    df.loc[[900, 1300], "W"] = "d"
    whole, part = _messages(monkeypatch, DECLARED, ATE, _csv(tmp_path, df, "label.csv"))
    assert part == whole and "the value 'd' in 2 rows" in part
    df = hetero(1500)
    df.loc[[700, 1100, 1450], "Z"] = np.inf
    whole, part = _messages(monkeypatch, G, ATE, _csv(tmp_path, df, "inf.csv"))
    assert part == whole and "3 infinite values" in part
    df = hetero(1500)
    df["Z"] = df["Z"].astype(object)
    df.loc[1300, "Z"] = "oops"  # numbers in the first 13 chunks, a label in the 14th
    whole, part = _messages(monkeypatch, DECLARED, ATE, _csv(tmp_path, df, "text.csv"))
    assert "column Z holds labels" in whole and "column Z holds labels ('oops', …)" in part


def test_a_formula_from_text_is_checked_before_any_pass(tmp_path, monkeypatch):
    """A formula from a .causal file or the command line that could run code is refused as in
    memory, before the data are read (the chunks' reader is never called)."""
    path = _csv(tmp_path, hetero(300))
    bad = "X + Z + W + I(open('x'))"
    with pytest.raises(QueryError) as whole:
        _whole(monkeypatch, G, ATE, path, outcome=bad, trusted=False)
    monkeypatch.setattr(chunks, "file_chunks", None)  # a read would be a TypeError
    with pytest.raises(QueryError) as part:
        causaldsl.estimate(G, ATE, path, method="gformula", outcome=bad, trusted=False)
    assert str(part.value) == str(whole.value) and "calls open" in str(part.value)


@pytest.mark.parametrize("query", [ATE, RISK_DIFFERENCE, CATE, ATT])
def test_a_binary_outcome_by_newton_passes(tmp_path, monkeypatch, query):
    """A 0/1 outcome (or P(Y = 1)) makes the outcome model logistic: fitted by Newton's method
    one pass a step, with glm.Family.fit's stopping rule, then the means and the meat. Caught:
    stopping two steps early (at a step below 1e-2, not NEWTON_TOL), and the means' row of
    the bread without the factor μ(1 - μ)."""
    path = _csv(tmp_path, binary(1500))
    whole = _whole(monkeypatch, G, query, path)
    part = causaldsl.estimate(G, query, path, method="gformula")
    _same(whole, part)
    assert "(logistic)" in next(iter(part.details["models"]))
    assert "Newton step" in part.details["described"]


def test_a_separating_logistic_outcome_is_said_as_in_memory(tmp_path, monkeypatch):
    """Y = 1 exactly when Z > 0: the outcome model separates; the in-memory message."""
    df = binary(600)
    df["Y"] = (df["Z"] > 0).astype(int)
    path = _csv(tmp_path, df)
    with pytest.raises(FitError) as whole:
        _whole(monkeypatch, G, ATE, path)
    with pytest.raises(FitError) as part:
        causaldsl.estimate(G, ATE, path, method="gformula")
    assert str(part.value) == str(whole.value)
    assert "separates the data perfectly (or nearly: 598 rows" in str(part.value)


@pytest.mark.parametrize(("options", "why"), [
    ({"outcome": "X + scale(Z) + W"}, "scale"),
    ({"outcome": "X + poly(Z, 2) + W"}, "poly"),
    ({"bootstrap": 20}, "bootstrap")])
def test_what_moments_cannot_do_is_read_into_memory(tmp_path, monkeypatch, options, why):
    path = _csv(tmp_path, hetero(600))
    whole = _whole(monkeypatch, G, ATE, path, **options)
    part = causaldsl.estimate(G, ATE, path, method="gformula", **options)
    assert float(part) == float(whole) and part.se == whole.se
    assert any("read into memory" in w and why in w for w in part.warnings)


def test_the_cli_estimates_a_large_file_in_chunks(tmp_path, monkeypatch, capsys):
    from causaldsl.app.cli import main

    src = tmp_path / "g.causal"
    src.write_text(declared_graph("YesNo", "0, 1"))
    path = _csv(tmp_path, hetero(1200))
    assert main(["estimate", str(src), ATE, "--data", path, "--method", "gformula",
                 "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    whole = _whole(monkeypatch, DECLARED, ATE, path)
    assert got["read"] == "in chunks" and got["n"] == 1200
    np.testing.assert_allclose([got["value"], got["se"]], [float(whole), whole.se], rtol=RTOL)


# -- Dask --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_dask_moments_equal_the_dataframes(monkeypatch, scheduler):
    """Dask sums each partition's moments where it is; a partition counted twice or left out
    changes n and the estimate. The rows are sorted so that early partitions lack levels."""
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    df = _with_k(1400)
    frame = dd.from_pandas(df, npartitions=9)
    formula = "X * C(K) + Z + W"
    whole = causaldsl.estimate(GK, ATE, df, method="gformula", outcome=formula)
    with dask.config.set(scheduler=scheduler):
        part = causaldsl.estimate(GK, ATE, frame, method="gformula", outcome=formula)
    _same(whole, part)


def test_dask_messages_as_for_pandas():
    dd = pytest.importorskip("dask.dataframe")
    df = hetero(900)
    df.loc[[100, 800], "Y"] = np.nan
    with pytest.raises(DataError) as pandas_said:
        causaldsl.estimate(G, ATE, df, method="gformula")
    with pytest.raises(DataError) as dask_said:
        causaldsl.estimate(G, ATE, dd.from_pandas(df, npartitions=5), method="gformula")
    assert str(dask_said.value).replace("the Dask DataFrame", "the DataFrame") == \
        str(pandas_said.value)


def test_the_decision_to_read_in_chunks(tmp_path, monkeypatch):
    """Files above the threshold (CSV or Parquet), and Dask frames; not DataFrames, small
    files or other formats."""
    path = _csv(tmp_path, hetero(50))
    assert chunks.out_of_core(path)
    monkeypatch.setattr(chunks, "OUT_OF_CORE_BYTES", 1 << 30)
    assert not chunks.out_of_core(path) and not chunks.out_of_core(hetero(50))
    monkeypatch.setattr(chunks, "OUT_OF_CORE_BYTES", 0)
    json_path = tmp_path / "d.json"
    hetero(50).to_json(json_path)
    assert not chunks.out_of_core(str(json_path))


# -- how the rows are cut ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cut_data(tmp_path_factory):  # type: ignore[no-untyped-def]
    """hetero's first 240 rows as a CSV, and the in-memory CATE on them (computed once)."""
    path = tmp_path_factory.mktemp("cut") / "d.csv"
    hetero(240).to_csv(path, index=False)
    return str(path), causaldsl.estimate(G, CATE, str(path), method="gformula",
                                         outcome="X * Z + X * W")


@settings(max_examples=8, deadline=None)
@given(rows=st.integers(5, 300))
def test_any_chunk_size_gives_the_same_answer(cut_data, rows):
    """Chunks of any size (one chunk, several, a last one of a few rows, chunks without a
    treated row or without W = b) give the in-memory answer: nothing depends on where the
    rows are cut."""
    path, whole = cut_data
    with pytest.MonkeyPatch.context() as m:
        m.setattr(D, "CSV_CHUNK_ROWS", rows)
        m.setattr(chunks, "OUT_OF_CORE_BYTES", 0)
        _same(whole, causaldsl.estimate(G, CATE, path, method="gformula",
                                        outcome="X * Z + X * W"))


# -- memory ------------------------------------------------------------------------------------

_PEAK = """
import sys
from pathlib import Path
import causaldsl
from causaldsl.estimation import chunks, data
from causaldsl.model.graph import ADMG
chunks.OUT_OF_CORE_BYTES = int(sys.argv[2])
data.CSV_CHUNK_ROWS = 1 << 15
g = ADMG(["Z", "W", "X", "Y"], [("Z", "X"), ("W", "X"), ("Z", "Y"), ("W", "Y"), ("X", "Y")])
e = causaldsl.estimate(g, "E[Y | do(X = 1)] - E[Y | do(X = 0)]", sys.argv[1], method="gformula")
peak = next(line for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM:"))
print(int(peak.split()[1]) / 1024, e.n, e.details.get("read", "whole"))
"""


def _peak(path: str, threshold: int) -> tuple[float, int, str]:
    import os
    import subprocess
    import sys

    env = dict(os.environ, JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", _PEAK, path, str(threshold)], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]), out[2]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM (Linux)")
def test_peak_memory_follows_the_chunk_not_the_file(tmp_path):
    """The same question on 2·10^5 and 1.6·10^6 rows, in chunks of 2^15 rows, each in a fresh
    process: the larger file's peak resident memory is within 40 MiB of the smaller's. The
    1.4·10^6 more rows hold 53 MiB as the four float64 columns alone, so a path that kept any
    column whole would exceed it (reading the larger file whole costs ~60 times its 70 MiB;
    the test checks that too, so that the bound can fail)."""
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    frame = hetero(200_000, seed=3)
    frame.to_csv(small, index=False)
    with open(large, "w") as f:
        for k in range(8):
            frame.to_csv(f, index=False, header=k == 0)
    a, n_a, how_a = _peak(str(small), 0)
    b, n_b, how_b = _peak(str(large), 0)
    assert (n_a, n_b, how_a, how_b) == (200_000, 1_600_000, "in", "in")
    assert b - a < 40, (a, b)
    whole, _, how = _peak(str(large), 1 << 62)
    assert how == "whole" and whole - a > 200, (a, whole)


@pytest.mark.slow
def test_dask_moments_in_worker_processes():
    """Dask's process scheduler pickles each partition's task (the survey's and the passes'
    functions, with the model spec) and runs it in another process, as a cluster's workers
    would: the same answer as pandas."""
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    df = _with_k(900)
    whole = causaldsl.estimate(GK, ATE, df, method="gformula", outcome="X * C(K) + Z + W")
    with dask.config.set(scheduler="processes", num_workers=2):
        part = causaldsl.estimate(GK, ATE, dd.from_pandas(df, npartitions=4),
                                  method="gformula", outcome="X * C(K) + Z + W")
    _same(whole, part)


@pytest.mark.parametrize(("scale", "shift"), [(1e-7, 0.0), (3e7, 1.7e9)])
def test_a_covariate_in_small_or_large_units_gives_the_same_answer(tmp_path, monkeypatch,
                                                                    scale, shift):
    """Z in other units (scaled by 1e-7; or a timestamp's 1.7e9 ± 3e7): the same columns up
    to a change of units, so not collinear, and the same estimate. A rank check on the raw
    XᵀX (whose eigenvalues then span 1e-14 or 1e-18 of the largest, only from the units)
    refused both as collinear, though the whole read fits them."""
    df = hetero(1500)
    df["Z"] = df["Z"] * scale + shift
    path = _csv(tmp_path, df)
    _same(_whole(monkeypatch, G, ATE, path), causaldsl.estimate(G, ATE, path,
                                                                method="gformula"))
