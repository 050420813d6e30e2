"""Overlap diagnostics: where the propensity nearly reaches 0 over a region of a covariate, the
estimate warns and names that covariate (and not a balanced one); where the arms overlap well,
it stays silent."""

from __future__ import annotations

import pytest

import causaldsl

from .datasets import ATE, G, hetero, poor_overlap


@pytest.fixture(scope="module")
def poor():  # type: ignore[no-untyped-def]
    return causaldsl.estimate(G, ATE, poor_overlap())  # auto: aipw for a binary treatment


def test_near_violations_warn_and_name_the_covariate(poor):
    """P(X = 1 | Z) = sigmoid(-1 - 3 Z) < 0.01 for Z > 1.20, about 11.5% of 2,000 rows (≈ 230;
    binomial sd ≈ 14, so 150 is 5 sd below); the control rows beyond the largest treated Z
    are some percent of rows, above the 1% that names a covariate. W is balanced: unnamed."""
    assert poor.method == "aipw"
    low = [w for w in poor.warnings if w.startswith("poor overlap")]
    assert any("P(X = 1 | covariates) below 0.01" in w for w in low)
    named = [w for w in poor.warnings if w.startswith("the treatment arms differ most in")]
    assert len(named) == 1 and "Z (" in named[0] and "rows outside the range" in named[0]
    assert "W" not in named[0]
    d = poor.diagnostics["X = 1"]
    assert d["rows_below_0.01"] > 150 and d["propensity_min"] < 1e-3
    assert poor.to_dict()["warnings"] == list(poor.warnings)


def test_good_overlap_gives_no_warning():
    """hetero(): P(X = 1 | Z, W) = sigmoid(0.2 + 0.6 Z - 0.4 W) stays within
    sigmoid(±(0.6 + 0.6 × 3.5)) ⊂ [0.06, 0.94] for |Z| < 3.5 (all 2,000 rows but ~1)."""
    e = causaldsl.estimate(G, ATE, hetero(), method="ipw")
    assert e.warnings == ()
    for level in ("X = 0", "X = 1"):
        assert e.diagnostics[level]["rows_below_0.01"] == 0
        assert e.diagnostics[level]["propensity_min"] > 0.01
