"""IPW and AIPW in chunks for a treatment with three or more levels (a multinomial logistic
propensity, class 0 the reference, fitted by Newton's method one pass a step): the same
estimate, standard error, interval, means, coefficients and overlap diagnostics as the
in-memory estimators on the same rows, and the same messages for bad input; no whole read and
no warning saying so.

The tolerance, 1e-9 relative, as in test_weighting_chunks.py (the same float64 arithmetic
summed in another order). Caught by it: a propensity information without its cross-class
blocks (``-e_i e_j zzᵀ``, i ≠ j: Newton still ends at the fit, but the bread's propensity
block is wrong, so the propensity coefficients' and the means' standard errors are off by
percents), a bread row without the other classes' ``-e_j`` in ``∂ log e_l / ∂η_j`` (only the
term's own class), the coefficients laid out class-major instead of ``glm.Family``'s (column,
class) order (the coefficient table differs), a reference class other than the first level, a
softmax over the k-1 non-reference classes alone. The hand-worked case checks the fit's value
without the in-memory estimator: a saturated propensity's MLE is the cells' frequencies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl import DataError
from causaldsl.core.errors import FitError
from causaldsl.estimation import data as D
from causaldsl.model.graph import ADMG

from .datasets import G, declared_graph, multilevel
from .test_moments import RTOL, _csv, _same, small_chunks  # noqa: F401 (autouse)
from .test_weighting_chunks import _both, _messages, _same_overlap, _whole

METHODS = ("ipw", "aipw")
#: a contrast of two levels, one within the stratum W = b (a CATE), one on those treated at b;
#: with the levels each weights by (the overlap diagnostics' keys)
QUERIES = (("E[Y | do(X = b)] - E[Y | do(X = a)]", "ab"),
           ("E[Y | do(X = c), W = b] - E[Y | do(X = a), W = b]", "ac"),
           ("E[Y[X = c] | X = b] - E[Y[X = a] | X = b]", "abc"))


def _read_in_chunks(part) -> None:  # type: ignore[no-untyped-def]
    assert part.details["read"] == "in chunks"
    assert not any("read into memory" in w for w in part.warnings)
    assert "multinomial" in part.details["described"]


#: with four levels, the effect on the treated at c of d against b: three classes, none the
#: reference, in each weight (``e_c / e_d`` and ``e_c / e_b``)
ATT4 = "E[Y[X = d] | X = c] - E[Y[X = b] | X = c]"
CASES = [(3, *q) for q in QUERIES] + [(4, ATT4, "bcd")] + \
    [pytest.param(4, *q, marks=pytest.mark.slow) for q in QUERIES]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("k", "query", "used"), CASES)
def test_k_levels_from_csv_chunks_equal_the_whole_read(tmp_path, monkeypatch, method, k,
                                                         query, used):
    """An ATE-style contrast, a CATE and the effect on the treated, with 3 and 4 levels; the
    propensity's coefficients are named by column and class, as in memory, and the overlap
    diagnostics are by the levels the terms weight by, each with a histogram per arm."""
    path = _csv(tmp_path, multilevel(k=k))
    _, part = _both(monkeypatch, G, query, path, method=method)
    _read_in_chunks(part)
    prop = part.details["models"]["propensity (multinomial)"]
    assert len(prop) == 3 * (k - 1) and "W[T.b] [level 2]" in prop
    assert ("outcome Y (linear)" in part.details["models"]) == (method == "aipw")
    assert list(part.diagnostics) == [f"X = {v}" for v in used]
    assert all(set(d["histogram"]) == set("abcd"[:k]) for d in part.diagnostics.values())


@pytest.mark.parametrize("method", METHODS)
def test_a_binary_outcome(tmp_path, monkeypatch, method):
    """A 0/1 outcome with three levels: AIPW's outcome model is logistic (its own Newton
    passes before the propensity's); a risk difference and the effect on the treated."""
    path = _csv(tmp_path, multilevel(k=3, binary_outcome=True))
    for query in ("P(Y = 1 | do(X = c)) - P(Y = 1 | do(X = a))",
                  "E[Y[X = b] | X = c] - E[Y[X = a] | X = c]"):
        _, part = _both(monkeypatch, G, query, path, method=method)
        _read_in_chunks(part)
        logistic = [m for m in part.details["models"] if m.startswith("outcome Y")
                    and m.endswith("(logistic)")]
        assert len(logistic) == (method == "aipw")


@pytest.mark.parametrize("method", METHODS)
def test_a_numeric_treatment_sorted_so_chunks_lack_arms(tmp_path, monkeypatch, method):
    """X as the numbers 0, 1, 2, 3 (four levels) and the rows sorted by X: every chunk but a
    few holds one arm only, so most chunks' scores miss three of the four classes."""
    df = multilevel(k=4)
    df["X"] = df["X"].map({"a": 0, "b": 1, "c": 2, "d": 3})
    df = df.sort_values("X", kind="stable").reset_index(drop=True)
    path = _csv(tmp_path, df)
    _, part = _both(monkeypatch, G, "E[Y | do(X = 3)] - E[Y | do(X = 1)]", path,
                    method=method, outcome="X * W + Z", propensity="Z * W")
    _read_in_chunks(part)
    assert "Z:W[T.b] [level 3]" in part.details["models"]["propensity (multinomial)"]


def test_a_declared_level_no_row_has(tmp_path, monkeypatch):
    """X declared {a, b, c, d} with no row at d (and W's c in no row): the propensity has the
    three levels present, as in memory, and ``auto`` picks AIPW in chunks; asking about d, or
    about the stratum W = c, gets the in-memory message."""
    target = causaldsl.parse(declared_graph("Arm", "a, b, c, d")).models["g"]
    path = _csv(tmp_path, multilevel(k=3))
    whole, part = _both(monkeypatch, target, QUERIES[0][0], path)
    assert part.method == whole.method == "aipw"
    assert len(part.details["models"]["propensity (multinomial)"]) == 6
    said = _messages(monkeypatch, DataError, target, "E[Y | do(X = d)] - E[Y | do(X = a)]",
                     path, method="ipw")
    assert "X = d" in said
    said = _messages(monkeypatch, DataError, target,
                     "E[Y | do(X = c), W = c] - E[Y | do(X = a), W = c]", path, method="aipw")
    assert "W = c" in said


@pytest.mark.parametrize("method", METHODS)
def test_bad_input_is_said_as_in_memory(tmp_path, monkeypatch, method):
    """Perfect separation (X's level is Z's third), and a propensity formula with collinear
    columns: the in-memory messages, word for word (the separation's count of rows at fitted
    probability 0 or 1 summed over the chunks)."""
    df = multilevel(k=3)
    df["X"] = np.select([df["Z"] < -0.4, df["Z"] < 0.4], ["a", "b"], "c")
    said = _messages(monkeypatch, FitError, G, QUERIES[0][0], _csv(tmp_path, df, "sep.csv"),
                     method=method)
    assert said.startswith("the propensity model separates the data perfectly")
    path = _csv(tmp_path, multilevel(k=3), "ok.csv")
    said = _messages(monkeypatch, FitError, G, QUERIES[0][0], path, method=method,
                     propensity="Z + W + I(2 * Z)")
    assert "the propensity model's columns are collinear: I(2 * Z)" in said


#: The hand-worked data: W a confounder (labels a, b), X three numbers, Y by cell.
#:   W = a (6 rows): X = 0: Y 1, 3 (mean 2); X = 1: Y 4, 6 (mean 5); X = 2: Y 7, 7 (mean 7)
#:   W = b (5 rows): X = 0: Y 1;              X = 1: Y 2, 3, 4 (mean 3); X = 2: Y 10
HAND = pd.DataFrame({"W": list("aaaaaabbbbb"), "X": [0, 0, 1, 1, 2, 2, 0, 1, 1, 1, 2],
                     "Y": [1.0, 3, 4, 6, 7, 7, 1, 2, 3, 4, 10]})
GW = ADMG(["W", "X", "Y"], [("W", "X"), ("W", "Y"), ("X", "Y")])


@pytest.mark.parametrize("method", METHODS)
def test_a_saturated_propensity_gives_the_stratified_means(tmp_path, monkeypatch, method):
    """The propensity ``1 + W`` is saturated (two cells, two free probabilities each), so its
    MLE is the cells' frequencies (e_1(a) = 2/6, e_1(b) = 3/5, ...) and Hájek's IPW is the
    stratified mean ``Σ_w P(w) ȳ_{w,x}``; AIPW with the saturated outcome model ``C(X) * W``
    is too (each cell's residuals sum to zero under its constant weight). By hand, with
    P(a) = 6/11, P(b) = 5/11:
    E[Y | do(X = 1)] = (6·5 + 5·3)/11 = 45/11, E[Y | do(X = 0)] = (6·2 + 5·1)/11 = 17/11,
    so the ATE is 28/11; E[Y | do(X = 2)] = (6·7 + 5·10)/11 = 92/11, less 17/11 is 75/11; on
    those treated at 1, P(a | X = 1) = 2/5 and P(b | X = 1) = 3/5: 2/5·(5 - 2) + 3/5·(3 - 1)
    = 12/5. Read in chunks of 4 rows."""
    monkeypatch.setattr(D, "CSV_CHUNK_ROWS", 4)
    path = _csv(tmp_path, HAND)
    kw = {"method": method} | ({"outcome": "C(X) * W"} if method == "aipw" else {})
    for query, value in (("E[Y | do(X = 1)] - E[Y | do(X = 0)]", 28 / 11),
                         ("E[Y | do(X = 2)] - E[Y | do(X = 0)]", 75 / 11),
                         ("E[Y[X = 1] | X = 1] - E[Y[X = 0] | X = 1]", 12 / 5)):
        part = causaldsl.estimate(GW, query, path, **kw)
        assert part.details["read"] == "in chunks"
        np.testing.assert_allclose(float(part), value, rtol=RTOL)
    prop = part.details["models"]["propensity (multinomial)"]
    # log-odds against X = 0 in the cell W = a: log(2/2) = 0 for both classes
    np.testing.assert_allclose([prop["Intercept [level 1]"][0], prop["Intercept [level 2]"][0]],
                               [0.0, 0.0], atol=1e-9)
    # W = b: log(3/1) and log(1/1), less the intercepts
    np.testing.assert_allclose([prop["W[T.b] [level 1]"][0], prop["W[T.b] [level 2]"][0]],
                               [np.log(3.0), 0.0], atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_dask_equals_the_dataframe(method):
    """A Dask DataFrame (synchronous scheduler), three levels, the rows sorted by W so that
    early partitions lack a level of the formulas' W."""
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    df = multilevel(k=3).sort_values("W", kind="stable").reset_index(drop=True)
    kw = {"method": method, "outcome": "X * W + Z", "propensity": "W * Z"}
    whole = causaldsl.estimate(G, QUERIES[2][0], df, **kw)
    with dask.config.set(scheduler="synchronous"):
        part = causaldsl.estimate(G, QUERIES[2][0], dd.from_pandas(df, npartitions=7), **kw)
    _same(whole, part)
    _same_overlap(whole, part)
    _read_in_chunks(part)


@pytest.mark.slow
def test_a_bootstrap_still_reads_the_file_whole(tmp_path, monkeypatch):
    """What chunks cannot do with three levels either: a bootstrap resamples rows in memory,
    with the warning that says so, and the in-memory answer."""
    path = _csv(tmp_path, multilevel(300, k=3))
    whole = _whole(monkeypatch, G, QUERIES[0][0], path, method="ipw", bootstrap=8, seed=1)
    part = causaldsl.estimate(G, QUERIES[0][0], path, method="ipw", bootstrap=8, seed=1)
    assert float(part) == float(whole) and part.se == whole.se and "read" not in part.details
    assert any("read into memory" in w and "bootstrap" in w for w in part.warnings)
