"""Data in a Dask DataFrame: the plug-in's sufficient statistics (the distinct rows of the
columns it needs, with their counts) are computed by Dask where the partitions are, and only
they come back; the answers, types and messages equal those of the same rows in pandas. The
g-formula's moments are summed there too (test_moments.py), and IPW's and AIPW's sums
(test_weighting_chunks.py); IV computes the needed columns into memory. Dask is test-only and optional
(its synchronous scheduler and its default threaded one stand for a cluster's here)."""

from __future__ import annotations

import numpy as np
import pytest

import causaldsl
from causaldsl import DataError
from causaldsl.estimation import data as D

from .test_csv_counts import ATE, G, _frame, _same

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

NAMES = ["Z", "S", "X", "Y"]


def _dask(df, partitions: int = 7):  # type: ignore[no-untyped-def]
    return dd.from_pandas(df, npartitions=partitions)


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_plugin_counts_from_dask_equal_the_dataframes(scheduler):
    """The same counts, types, estimate and delta-method se as from the pandas frame (exactly:
    the same integer counts reach the same arithmetic); a count summed wrong across
    partitions, or a partition dropped, would change n and the estimate."""
    df = _frame(1000)
    with dask.config.set(scheduler=scheduler):
        counted = D.load_counts(_dask(df), NAMES)
        a = causaldsl.estimate(G, ATE, _dask(df), method="plugin")
    # only the distinct rows came back (3 × 2 × 2 × 2 = 24 at most), standing for 1000
    assert counted.weights is not None and len(counted.frame) <= 24 and counted.n == 1000
    _same(D.load(df, NAMES).discrete(), counted.discrete(), NAMES)
    b = causaldsl.estimate(G, ATE, df, method="plugin")
    assert float(a) == float(b) and a.se == b.se and a.n == b.n == 1000


def test_plugin_bootstrap_from_dask_equals_the_dataframes():
    df = _frame(600, seed=3)
    a = causaldsl.estimate(G, ATE, _dask(df), method="plugin", bootstrap=40, seed=2)
    b = causaldsl.estimate(G, ATE, df, method="plugin", bootstrap=40, seed=2)
    assert a.se == b.se and a.ci == b.ci


def test_missing_values_and_absent_columns_said_as_for_pandas():
    df = _frame(300).astype({"Z": float})
    df.loc[[5, 100, 250], "Z"] = np.nan  # in three different partitions
    with pytest.raises(DataError) as pandas_said:
        D.load_counts(df, NAMES)
    with pytest.raises(DataError) as dask_said:
        D.load_counts(_dask(df), NAMES)
    assert "Z (3 of 300 rows)" in str(dask_said.value)
    assert str(dask_said.value).replace("the Dask DataFrame", "the DataFrame") == \
        str(pandas_said.value)
    kept = D.load_counts(_dask(df), NAMES, missing="drop")
    assert kept.dropped == 3 and kept.n == 297
    _same(D.load(df, NAMES, missing="drop").discrete(), kept.discrete(), NAMES)
    with pytest.raises(DataError, match=r"the Dask DataFrame has no column Q \(its columns: id"):
        D.load_counts(_dask(df), ["Z", "Q"])


def test_model_based_estimators_read_the_needed_columns():
    """AIPW on a Dask DataFrame is AIPW on its rows (its sums computed by Dask)."""
    df = _frame(800, seed=5)
    a = causaldsl.estimate(G, ATE, _dask(df), method="aipw")
    b = causaldsl.estimate(G, ATE, df, method="aipw")
    assert float(a) == pytest.approx(float(b), abs=1e-12) and a.se == pytest.approx(b.se)


def test_censored_is_refused_by_counting():
    """missing='censored' (the g-formula's) would silently act as 'drop' for counts."""
    with pytest.raises(DataError, match="counting frequencies needs complete rows"):
        D.load_counts(_frame(50), NAMES, missing="censored")
