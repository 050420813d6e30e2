"""The plug-in estimator: the identified formula on the data's frequencies, its delta-method
standard error, and its bootstrap; hand-checked on small tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl import DataError, QueryError
from causaldsl.core.errors import PositivityError
from causaldsl.model.graph import ADMG

ATE = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
BACKDOOR = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])


def _rows(table: list[tuple[int, int, int, int]], scale: int = 1) -> pd.DataFrame:
    rows = []
    for z, x, y, k in table:
        rows += [(z, x, y)] * (k * scale)
    return pd.DataFrame(rows, columns=["Z", "X", "Y"])


# 20 rows per stratum of Z: P(Y=1 | X, Z) = 0.2, 0.6 (Z=0) and 0.5, 0.9 (Z=1); P(Z) = 1/2
COUNTS = [(0, 0, 1, 2), (0, 0, 0, 8), (0, 1, 1, 6), (0, 1, 0, 4),
          (1, 0, 1, 5), (1, 0, 0, 5), (1, 1, 1, 9), (1, 1, 0, 1)]


def test_backdoor_by_hand_with_the_delta_method_se():
    """ATE = ½(0.6 - 0.2) + ½(0.9 - 0.5) = 0.4. The delta method's variance of the
    standardised difference: with saturated strata it is Σ_z P(z)² [p1(1-p1)/n1 + p0(1-p0)/n0]
    + Var_z(effect_z)/n: here ¼[(.24/10 + .16/10) + (.09/10 + .25/10)] + (0.4-0.4)²... = 0.0185
    (the effect is 0.4 in both strata, so the last term is 0) → se 0.136 at 40 rows."""
    df = _rows(COUNTS)
    e = causaldsl.estimate(BACKDOOR, ATE, df, method="plugin")
    assert float(e) == pytest.approx(0.4, abs=1e-12)
    want = np.sqrt(0.25 * ((0.24 + 0.16) / 10 + (0.09 + 0.25) / 10))
    assert e.se == pytest.approx(want, rel=1e-9)
    assert e.method == "plugin" and e.n == 40


def test_auto_picks_the_plugin_for_finite_data_with_enough_rows_per_cell():
    e = causaldsl.estimate(BACKDOOR, ATE, _rows(COUNTS, 10))  # 400 rows, 8 cells
    assert e.method == "plugin" and float(e) == pytest.approx(0.4, abs=1e-12)
    # a saturated AIPW has the same influence function, so the same standard error
    a = causaldsl.estimate(BACKDOOR, ATE, _rows(COUNTS, 10), method="aipw", outcome="C(X) * C(Z)",
                           propensity="C(Z)")
    assert float(a) == pytest.approx(0.4, abs=1e-9) and a.se == pytest.approx(e.se, rel=1e-6)


def test_the_frontdoor_formula_from_data():
    """X → M → Y with X ↔ Y: no back-door set, so auto evaluates the front-door formula.
    Counts make P(m|x), P(x), P(y|x,m) round numbers; the formula's value by hand:
    P(y=1|do(x=1)) = Σ_m P(m|x=1) Σ_x' P(x') P(y=1|x',m)."""
    g = ADMG(["X", "M", "Y"], [("X", "M"), ("M", "Y")], [("X", "Y")])
    rows = []
    # (x, m, y, count): P(x=1) = 1/2; P(m=1|x=0) = 1/4, P(m=1|x=1) = 3/4
    for x, m, y, k in [(0, 0, 0, 12), (0, 0, 1, 3), (0, 1, 0, 2), (0, 1, 1, 3),
                       (1, 0, 0, 3), (1, 0, 1, 2), (1, 1, 0, 3), (1, 1, 1, 12)]:
        rows += [(x, m, y)] * k
    df = pd.DataFrame(rows, columns=["X", "M", "Y"])
    # P(y=1|x,m): (0,0) 3/15 = .2, (0,1) 3/5 = .6, (1,0) 2/5 = .4, (1,1) 12/15 = .8
    inner = {0: 0.5 * 0.2 + 0.5 * 0.4, 1: 0.5 * 0.6 + 0.5 * 0.8}  # Σ_x' P(x') P(y=1|x',m)
    want = (0.25 * inner[0] + 0.75 * inner[1]) - (0.75 * inner[0] + 0.25 * inner[1])
    e = causaldsl.estimate(g, "P(Y = 1 | do(X = 1)) - P(Y = 1 | do(X = 0))", df)
    assert e.method == "plugin" and float(e) == pytest.approx(want, abs=1e-12)
    assert "frontdoor" in e.details["described"]


def test_bootstrap_resamples_the_table_and_drops_undefined_replicates():
    df = _rows(COUNTS, 5)
    e = causaldsl.estimate(BACKDOOR, ATE, df, method="plugin", bootstrap=2000, seed=1)
    # the bootstrap se estimates the delta method's within its Monte Carlo error
    # (relative sd about 1/sqrt(2·2000) = 1.6%, and the delta method's own O(1/n) error)
    assert e.se == pytest.approx(e.details["se_delta"], rel=0.1)
    assert e.details["bootstrap"] + e.details["bootstrap_failed"] == 2000


def test_positivity_by_the_textbook_rule_and_refusal_named():
    """Z's type has a label c that no row has: its stratum has weight 0 and does not block
    the answer. Rows with Z = c but none treated make the formula undefined, named."""
    g = causaldsl.parse("type Three = {a, b, c}\n"
                        "graph g {\n  Z : Three\n  Z -> X -> Y\n  Z -> Y\n}\n").models["g"]
    df = _rows(COUNTS).assign(Z=lambda d: d.Z.map({0: "a", 1: "b"}))
    ok = causaldsl.estimate(g, ATE, df, method="plugin")
    assert float(ok) == pytest.approx(0.4, abs=1e-12)
    bad = pd.concat([df, pd.DataFrame({"Z": ["c"] * 3, "X": [0] * 3, "Y": [1, 0, 1]})])
    with pytest.raises(PositivityError, match=r"P\(X = 1, Z = c\) = 0"):
        causaldsl.estimate(g, ATE, bad, method="plugin")


def test_the_plugin_needs_finite_variables_and_no_counterfactual():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"Z": rng.normal(size=50), "X": rng.integers(0, 2, 50),
                       "Y": rng.normal(size=50)})
    with pytest.raises(DataError, match=r"(Z, Y|Y, Z) are continuous"):
        causaldsl.estimate(BACKDOOR, ATE, df, method="plugin")
    with pytest.raises(QueryError, match="effects on the treated"):
        causaldsl.estimate(BACKDOOR, "E[Y[X = 1] | X = 1]", _rows(COUNTS), method="plugin")


def test_identification_evaluate_takes_a_dataframe_or_a_file_with_its_labels(tmp_path):
    """Was: a misleading message (evaluate(df)), a raw ValueError (names=...) and labels 0/1.
    Now the data layer counts the frequencies and the answer keeps the data's labels."""
    from causaldsl.analysis.identify import identify

    df = _rows(COUNTS).assign(X=lambda d: d.X.map({0: "no", 1: "yes"}))
    i = identify(BACKDOOR, "P(Y | do(X))")
    d = i.evaluate(df)
    assert d.given_types[0].values == ("no", "yes")
    # P(Y = 1 | do(X = yes)) = ½ 0.6 + ½ 0.9 = 0.75; do(X = no): ½ 0.2 + ½ 0.5 = 0.35
    assert d.probs[1, 1] == pytest.approx(0.75) and d.probs[0, 1] == pytest.approx(0.35)
    df.to_csv(tmp_path / "d.csv", index=False)
    assert identify(BACKDOOR, "P(Y = 1 | do(X = yes))").evaluate(tmp_path / "d.csv") == \
        pytest.approx(0.75)
