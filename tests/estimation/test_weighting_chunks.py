"""IPW and AIPW from sums over data read in chunks (a CSV or Parquet file above
``chunks.OUT_OF_CORE_BYTES``, a Dask DataFrame): the same estimate, standard error, interval,
means, nuisance coefficients and overlap diagnostics as the in-memory estimators on the same
rows, the same messages for bad input, and, where chunks cannot serve (a bootstrap, a
transform that learns from the data), the in-memory answer with a warning that says so.
``auto`` on such data takes the chunked path of what it picks. (Treatments with three or more
levels: test_weighting_multilevel.py.)

The tolerance, 1e-9 relative, as in test_moments.py: the same float64 arithmetic summed in
another order (chunk by chunk here, row-wise in XLA there) on designs with condition numbers
under 1e5. Caught by it: a bread without the propensity's rows in the means' equations
(treating γ as known: IPW's se is then too large by a few percent), the sign of ∂a/∂γ for the
control arm, weights not normalised per chunk-merge (Σ w y / Σ w summed as per-chunk ratios),
the effect on the treated's density ratio left out of the derivative."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl import DataError, QueryError
from causaldsl.core.errors import FitError
from causaldsl.estimation import chunks
from causaldsl.model.graph import ADMG

from .datasets import (
    ATE,
    ATT,
    RISK_DIFFERENCE,
    G,
    binary,
    declared_graph,
    hetero,
    poor_overlap,
)
from .test_moments import (  # small_chunks: the autouse fixture, shared
    CATE,
    GK,
    ONE_MEAN,
    RTOL,
    _csv,
    _same,
    _with_k,
    small_chunks,  # noqa: F401
)

DECLARED = causaldsl.parse(declared_graph("YesNo", "0, 1")).models["g"]
METHODS = ("ipw", "aipw")


def _whole(monkeypatch, target, query, data, **kw):  # type: ignore[no-untyped-def]
    """The in-memory estimate: the same file, read whole."""
    with monkeypatch.context() as m:
        m.setattr(chunks, "OUT_OF_CORE_BYTES", 1 << 62)
        return causaldsl.estimate(target, query, data, **kw)


def _same_overlap(whole, part) -> None:  # type: ignore[no-untyped-def]
    """The diagnostics: counts and histograms exactly, propensities and ESS to RTOL; the
    warnings word for word."""
    assert list(part.diagnostics) == list(whole.diagnostics) and whole.diagnostics
    for level, d in whole.diagnostics.items():
        c = part.diagnostics[level]
        assert list(c) == list(d)
        for key in ("rows_below_0.01", "rows", "histogram"):
            assert c[key] == d[key], (level, key)
        for key in ("propensity_min", "propensity_max", "ess", "weights_above_20"):
            np.testing.assert_allclose(c[key], d[key], rtol=RTOL)
    assert part.warnings == whole.warnings


def _both(monkeypatch, target, query, path, **kw):  # type: ignore[no-untyped-def]
    whole = _whole(monkeypatch, target, query, path, **kw)
    part = causaldsl.estimate(target, query, path, **kw)
    _same(whole, part)
    _same_overlap(whole, part)
    return whole, part


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("query", [ATE, CATE, ATT, ONE_MEAN])
def test_main_effects_from_csv_chunks_equal_the_whole_read(tmp_path, monkeypatch, method,
                                                           query):
    path = _csv(tmp_path, hetero(1500))
    _, part = _both(monkeypatch, G, query, path, method=method)
    assert "propensity (logistic)" in part.details["models"]
    assert ("outcome Y (linear)" in part.details["models"]) == (method == "aipw")
    assert "in chunks" in part.details["described"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("query", [RISK_DIFFERENCE, ATT])
def test_a_binary_outcome(tmp_path, monkeypatch, method, query):
    """A 0/1 outcome: AIPW's outcome model is logistic (Newton's passes, its m' = m(1 - m) in
    the bread); IPW weights the 0/1 values."""
    path = _csv(tmp_path, binary(1500))
    _, part = _both(monkeypatch, G, query, path, method=method)
    logistic = [m for m in part.details["models"] if m.startswith("outcome Y")
                and m.endswith("(logistic)")]
    assert len(logistic) == (method == "aipw")


@pytest.mark.parametrize("method", METHODS)
def test_formulas_and_chunks_missing_levels(tmp_path, monkeypatch, method):
    """The rows sorted so that the first chunks hold only W = a and K = 0: a model spec or
    categories learnt from a chunk would give a design fewer columns."""
    df = _with_k()
    assert set(df["W"][:400]) == {"a"} and set(df["K"][:200]) == {0}
    path = _csv(tmp_path, df)
    for query in (ATE, CATE):
        _both(monkeypatch, GK, query, path, method=method, outcome="X * C(K) + Z + W",
              propensity="C(K) * W + Z + I(Z**2)")


@pytest.mark.parametrize("method", METHODS)
def test_chunks_missing_a_treatment_arm(tmp_path, monkeypatch, method):
    """The rows sorted by X: every chunk but one holds one arm only (its propensity score,
    weights and histogram of the other arm are empty sums)."""
    df = hetero(1500).sort_values("X", kind="stable").reset_index(drop=True)
    path = _csv(tmp_path, df)
    for query in (ATE, ATT):
        _both(monkeypatch, G, query, path, method=method)


def test_declared_types_and_parquet(tmp_path, monkeypatch):
    """X declared {0, 1}, W {a, b, c} with c in no row; and a Parquet file read in batches."""
    pytest.importorskip("pyarrow")
    path = _csv(tmp_path, hetero(1200))
    _both(monkeypatch, DECLARED, ATE, path, method="aipw")
    pq = tmp_path / "d.parquet"
    _with_k().to_parquet(pq, index=False, row_group_size=200)
    _both(monkeypatch, GK, ATE, str(pq), method="ipw")


def test_missing_values_dropped(tmp_path, monkeypatch):
    df = hetero(1500)
    rng = np.random.default_rng(2)
    df.loc[rng.choice(1500, 40, replace=False), "Y"] = np.nan
    df.loc[rng.choice(1500, 15, replace=False), "Z"] = np.nan
    path = _csv(tmp_path, df)
    whole, _ = _both(monkeypatch, G, ATE, path, method="aipw", missing="drop")
    assert whole.details["dropped"] > 40


def _with_poor_overlap(n: int = 2000) -> pd.DataFrame:
    """poor_overlap, with K: the label c only on control rows (a finite level an arm lacks)."""
    df = poor_overlap(n)
    df["K"] = np.where((df["Z"] > 1.0) & (df["X"] == 0), "c",
                       np.where(np.arange(n) % 2 == 0, "a", "b"))
    return df


@pytest.mark.parametrize("method", METHODS)
def test_poor_overlap_warned_and_named_as_in_memory(tmp_path, monkeypatch, method):
    """The warnings name Z (rows outside the range every arm covers: the count needs the
    arms' ranges from the pass before) and K = c (no treated row), word for word. K is left
    out of the propensity model, which it would separate."""
    g = ADMG(["Z", "W", "K", "X", "Y"], [("Z", "X"), ("W", "X"), ("K", "X"), ("Z", "Y"),
                                         ("W", "Y"), ("K", "Y"), ("X", "Y")])
    path = _csv(tmp_path, _with_poor_overlap())
    _, part = _both(monkeypatch, g, ATE, path, method=method, propensity="Z + W")
    named = [w for w in part.warnings if w.startswith("the treatment arms differ most in")]
    assert len(named) == 1 and "Z (" in named[0] and "K = c (no row with X = 1)" in named[0]


# -- bad input ---------------------------------------------------------------------------------


def _messages(monkeypatch, error, target, query, path, **kw):  # type: ignore[no-untyped-def]
    with pytest.raises(error) as whole:
        _whole(monkeypatch, target, query, path, **kw)
    with pytest.raises(error) as part:
        causaldsl.estimate(target, query, path, **kw)
    assert str(part.value) == str(whole.value)
    return str(part.value)


@pytest.mark.parametrize("method", METHODS)
def test_bad_input_is_said_as_in_memory(tmp_path, monkeypatch, method):
    df = hetero(1500)
    df.loc[[1000, 1400], "Y"] = np.nan
    said = _messages(monkeypatch, DataError, G, ATE, _csv(tmp_path, df, "nan.csv"),
                     method=method)
    assert "Y (2 of 1500 rows)" in said
    df = hetero(1500)
    df["W"] = df["W"].astype(object)
    df.loc[[900, 1300], "W"] = "d"
    said = _messages(monkeypatch, DataError, DECLARED, ATE, _csv(tmp_path, df, "label.csv"),
                     method=method)
    assert "the value 'd' in 2 rows" in said
    path = _csv(tmp_path, hetero(600), "ok.csv")
    said = _messages(monkeypatch, QueryError, G,
                     "E[Y | do(X = 1), Z = 0.5] - E[Y | do(X = 0), Z = 0.5]", path,
                     method=method)
    assert "only the outcome model's prediction answers" in said
    said = _messages(monkeypatch, DataError, G, "E[Y | do(X = 2)]", path, method=method)
    assert "X = 2" in said
    said = _messages(monkeypatch, DataError, G, "E[Y | do(X = 1), W = c]", path,
                     method=method)
    assert "W = c" in said
    one = hetero(600)
    one["X"] = 1
    said = _messages(monkeypatch, DataError if method == "ipw" else FitError, G,
                     "E[Y | do(X = 1)]", _csv(tmp_path, one, "one.csv"), method=method)
    assert ("weighting needs rows at two settings" if method == "ipw" else
            "the outcome model's columns are collinear: X") in said


def test_a_formula_from_text_is_checked_before_any_pass(tmp_path, monkeypatch):
    path = _csv(tmp_path, hetero(300))
    bad = "Z + W + I(open('x'))"
    with pytest.raises(QueryError) as whole:
        _whole(monkeypatch, G, ATE, path, method="ipw", propensity=bad, trusted=False)
    monkeypatch.setattr(chunks, "file_chunks", None)  # a read would be a TypeError
    with pytest.raises(QueryError) as part:
        causaldsl.estimate(G, ATE, path, method="ipw", propensity=bad, trusted=False)
    assert str(part.value) == str(whole.value) and "calls open" in str(part.value)


@pytest.mark.parametrize("method", METHODS)
def test_a_separating_propensity_is_said_as_in_memory(tmp_path, monkeypatch, method):
    """X = 1 exactly when Z > 0: the propensity model separates; the in-memory message, with
    its count of rows at fitted probability 0 or 1 (summed over the chunks)."""
    df = hetero(600)
    df["X"] = (df["Z"] > 0).astype(int)
    said = _messages(monkeypatch, FitError, G, ATE, _csv(tmp_path, df), method=method)
    assert said.startswith("the propensity model separates the data perfectly")


# -- what chunks cannot do, and auto -----------------------------------------------------------


@pytest.mark.parametrize(("frame", "options", "why"), [
    (hetero, {"method": "ipw", "propensity": "scale(Z) + W"}, "scale"),
    (hetero, {"method": "aipw", "outcome": "X + poly(Z, 2) + W"}, "poly"),
    (hetero, {"method": "ipw", "bootstrap": 20}, "bootstrap")])
def test_what_chunks_cannot_do_is_read_into_memory(tmp_path, monkeypatch, frame, options, why):
    path = _csv(tmp_path, frame(600))
    query = ATE
    whole = _whole(monkeypatch, G, query, path, **options)
    part = causaldsl.estimate(G, query, path, **options)
    assert float(part) == float(whole) and part.se == whole.se and "read" not in part.details
    assert any("read into memory" in w and why in w for w in part.warnings)


def test_auto_takes_the_chunked_path_of_what_it_picks(tmp_path, monkeypatch):
    """A discrete treatment with a continuous covariate: aipw, in chunks; a continuous
    treatment: gformula, in chunks; every column finite with 10 rows a cell: the plug-in
    (which counts the file in chunks)."""
    path = _csv(tmp_path, hetero(1500))
    whole, part = _both(monkeypatch, G, ATE, path)
    assert part.method == whole.method == "aipw"
    df = hetero(1500)
    df["X"] = df["X"] + 0.1 * np.random.default_rng(0).normal(size=1500)
    cont = _csv(tmp_path, df, "cont.csv")
    query = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
    whole = _whole(monkeypatch, G, query, cont)
    part = causaldsl.estimate(G, query, cont)
    _same(whole, part)
    assert part.method == "gformula"
    df = binary(1500)
    df["Z"] = (df["Z"] > 0).astype(int)
    disc = _csv(tmp_path, df, "disc.csv")
    whole = _whole(monkeypatch, G, ATE, disc)
    part = causaldsl.estimate(G, ATE, disc)
    assert part.method == whole.method == "plugin" and float(part) == float(whole)


# -- Dask --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_dask_equals_the_dataframe(method):
    """Dask (synchronous scheduler) reduces each partition where it is; the rows sorted so
    that early partitions lack levels."""
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    df = _with_k(1400)
    frame = dd.from_pandas(df, npartitions=9)
    kw = {"method": method, "outcome": "X * C(K) + Z + W", "propensity": "C(K) + Z + W"}
    whole = causaldsl.estimate(GK, ATE, df, **kw)
    with dask.config.set(scheduler="synchronous"):
        part = causaldsl.estimate(GK, ATE, frame, **kw)
    _same(whole, part)
    _same_overlap(whole, part)


@pytest.mark.slow
def test_dask_in_worker_processes():
    """Dask's process scheduler pickles each partition's task (the weighting's per-chunk
    functions, with the model specs) and runs it in another process, as a cluster's workers
    would: the same answer as pandas."""
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    df = _with_k(900)
    whole = causaldsl.estimate(GK, ATT, df, method="aipw")
    with dask.config.set(scheduler="processes", num_workers=2):
        part = causaldsl.estimate(GK, ATT, dd.from_pandas(df, npartitions=4), method="aipw")
    _same(whole, part)
    _same_overlap(whole, part)
