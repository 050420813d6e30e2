"""Results as pandas DataFrames (issue 18, item 2) and an identification in a notebook as
LaTeX (item 3): each row carries its labels, a batch's rows their setting, and the numbers
are the result's own (a transposed table or a row given the wrong setting would not match)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import causaldsl

MODEL = """type B = {0, 1}
model m {
  S : B ~ [0.4, 0.6]
  T : B ~ table(S) { 0: [0.9, 0.1], 1: [0.2, 0.8] }
  C : {lo, hi} ~ table(T) { 0: [0.7, 0.3], 1: [0.25, 0.75] }
}
"""


def model():
    return causaldsl.parse(MODEL).models["m"]


def test_a_distribution_row_by_row():
    d = model().query("P(C, T | do(S = 1))")
    df = d.to_pandas()
    assert list(df.columns) == ["C", "T", "P"]
    for _, row in df.iterrows():
        assert row["P"] == d.prob(C=row["C"], T=row["T"])
    assert list(df["C"].cat.categories) == ["lo", "hi"] and df["C"].cat.ordered
    # P(C = hi, T = 1 | do(S = 1)) = 0.8 · 0.75
    assert df[(df.C == "hi") & (df["T"] == 1)]["P"].item() == 0.8 * 0.75


def test_expectations_and_batches_carry_their_settings():
    m = model()
    e = m.query("E[T | S]").to_pandas()
    assert list(e.columns) == ["S", "E"]
    np.testing.assert_allclose(e["E"], [0.1, 0.8], atol=1e-12)
    b = m.query_batch("P(T | do(S))", {"S": [1, 0, 1]}).to_pandas()
    assert list(b.columns) == ["setting", "S", "T", "P"] and len(b) == 6
    # setting 1 is do(S = 0): P(T = 1) = 0.1
    one = b[(b.setting == 1) & (b["T"] == 1)]
    assert one["S"].item() == 0 and one["P"].item() == 0.1
    n = m.query_batch("E[T | do(S)]", {"S": [1, 0]}).to_pandas()
    assert list(n.columns) == ["setting", "S", "value"] and n["S"].tolist() == [1, 0]
    np.testing.assert_allclose(n["value"], [0.8, 0.1], atol=1e-12)
    # a batch over tables alone has no settings: rows are numbered
    t = m.query_batch("P(T = 1)", tables={"S": np.array([[0.5, 0.5], [0.0, 1.0]])}).to_pandas()
    assert list(t.columns) == ["setting", "value"]
    np.testing.assert_allclose(t["value"], [0.5 * 0.1 + 0.5 * 0.8, 0.8], atol=1e-12)


def test_an_identification_as_a_row_and_as_latex():
    i = model().identify("P(C | do(S))")
    df = i.to_pandas()
    assert df.loc[0, "query"] == "P(C | do(S))" and df.loc[0, "method"] == i.method
    assert df.loc[0, "latex"] == i.latex() and df.loc[0, "estimand"] == i.formula()
    latex = i._repr_latex_()
    assert latex.startswith("$$") and latex.endswith("$$") and i.latex() in latex
    assert f"(by {i.method})" in latex


def test_a_posterior_summary():
    from causaldsl.model.builder import ModelBuilder

    b = ModelBuilder("xy")
    b.observed("X", ["no", "yes"], unknown=True)
    b.observed("Y", ["no", "yes"], given="X", unknown=True)
    df = pd.DataFrame({"X": ["no", "yes", "yes"], "Y": ["no", "yes", "no"]})
    fitted = b.build().fit(df, draws=500, seed=1)
    one = fitted.query("P(Y = yes | X = yes)")
    row = one.to_pandas().iloc[0]
    assert row["estimate"] == one.mean and row["low"] == one.interval[0]
    table = fitted.query("P(Y | X)").to_pandas()
    assert list(table.columns[:2]) == ["Y", "X"] and len(table) == 4
    np.testing.assert_allclose(table["estimate"], np.asarray(fitted.query("P(Y | X)").mean)
                               .reshape(-1))
