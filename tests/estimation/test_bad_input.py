"""Bad input to ``estimate``: each case is refused with its own message (the regex pins the
part that names what is wrong; no other case's regex matches it), and the refusal changes
nothing: no file appears in the
working folder, the caller's DataFrame is as it was."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl import DataError, FitError, QueryError
from causaldsl.core.errors import NotIdentifiable
from causaldsl.model.graph import ADMG

from .datasets import ATE, RISK_DIFFERENCE, G, declared_graph, hetero

THREE = causaldsl.parse(declared_graph("Dose", "lo, mid, hi")).models["g"]
G2 = ADMG(["Z", "Z2", "W", "X", "Y"], [("Z", "X"), ("Z2", "X"), ("W", "X"), ("Z", "Y"),
                                       ("Z2", "Y"), ("W", "Y"), ("X", "Y")])
CONFOUNDED = ADMG(["X", "Y"], [("X", "Y")], [("X", "Y")])
FRONTDOOR = ADMG(["X", "M", "Y"], [("X", "M"), ("M", "Y")], [("X", "Y")])


def _dose(df: pd.DataFrame) -> pd.DataFrame:
    """X as lo/hi labels: the declared Dose has a level, mid, that no row has."""
    return df.assign(X=np.where(df.X == 1, "hi", "lo"))


def _separated(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(Y=(df.Z > 0).astype(int))  # Z alone predicts Y perfectly


# (id, graph, query, data edit, keyword arguments, error, message)
CASES: list[tuple[str, Any, str, Callable[[pd.DataFrame], pd.DataFrame], dict[str, Any],
                  type[Exception], str]] = [
    ("empty-stratum-inferred", G, "E[Y | do(X = 1), W = c] - E[Y | do(X = 0), W = c]",
     lambda d: d, {}, DataError,
     r"no row of the DataFrame has W = c \(the column's values: a, b\)"),
    ("empty-stratum-declared", THREE, "E[Y | do(X = hi), W = c] - E[Y | do(X = lo), W = c]",
     _dose, {}, DataError,
     r"no row of the DataFrame is in the stratum W = c of E\[Y \| do\(X = hi\), W = c\]"),
    ("level-without-rows-declared", THREE, "E[Y | do(X = mid)] - E[Y | do(X = lo)]", _dose,
     {"method": "gformula"}, DataError,
     r"no row of the DataFrame has X = mid: its effect cannot be estimated"),
    ("level-without-rows-inferred", G, "E[Y | do(X = mid)] - E[Y | do(X = lo)]", _dose,
     {"method": "aipw"}, DataError,
     r"no row of the DataFrame has X = mid \(the column's values: hi, lo\)"),
    ("level-without-rows-numeric", G, "E[Y | do(X = 2)] - E[Y | do(X = 0)]", lambda d: d,
     {"method": "ipw"}, DataError,
     r"no row of the DataFrame has X = 2; weighting needs a value the data hold \(0, 1\)"),
    ("one-level-only", G, "E[Y | do(X = 1)]", lambda d: d.assign(X=1), {"method": "ipw"},
     DataError,
     r"every row of the DataFrame has X = 1(\.0)?: weighting needs rows at two settings"),
    ("separation-outcome", G, RISK_DIFFERENCE, _separated, {"method": "gformula"}, FitError,
     r"the outcome model separates the data perfectly"),
    ("separation-propensity", G, ATE, lambda d: d.assign(X=(d.Z > 0).astype(int)),
     {"method": "ipw"}, FitError, r"the propensity model separates the data perfectly"),
    ("collinear-covariates", G2, ATE, lambda d: d.assign(Z2=d.Z), {"method": "gformula"},
     FitError, r"the outcome model's columns are collinear: Z2 is a combination of the "
     r"columns before it"),
    ("collinear-propensity", G2, ATE, lambda d: d.assign(Z2=2 * d.Z), {"method": "ipw"},
     FitError, r"the propensity model's columns are collinear: Z2 is a combination"),
    ("not-identifiable", CONFOUNDED, ATE, lambda d: d, {}, NotIdentifiable,
     r"P\(Y \| do\(X\)\) is not identifiable: the graph has a hedge for it, the c-forests "
     r"F = \{X, Y\} and F' = \{Y\}"),
    ("front-door-only", FRONTDOOR, ATE, lambda d: d.assign(M=d.Z), {}, QueryError,
     r"P\(Y \| do\(X\)\) has no back-door adjustment set in this graph \(it is identified by "
     r"frontdoor: .*\); the estimators gformula, ipw and aipw need one; the plug-in "
     r"evaluates the formula on frequencies, but .* continuous"),
    ("level-above-one", G, ATE, lambda d: d, {"level": 1.5}, QueryError,
     r"level=1\.5: a confidence level is between 0 and 1"),
    ("level-zero", G, ATE, lambda d: d, {"level": 0}, QueryError,
     r"level=0: a confidence level is between 0 and 1"),
    ("one-replicate", G, ATE, lambda d: d, {"bootstrap": 1}, QueryError,
     r"bootstrap=1: the number of replicates is 0 \(none\) or at least 2"),
    ("negative-replicates", G, ATE, lambda d: d, {"bootstrap": -5}, QueryError,
     r"bootstrap=-5: the number of replicates"),
    ("unknown-method", G, ATE, lambda d: d, {"method": "tmle"}, QueryError,
     r"unknown estimation method 'tmle'; use one of auto, plugin, gformula, ipw, aipw, iv"),
    ("outcome-formula-without-treatment", G, ATE, lambda d: d,
     {"method": "gformula", "outcome": "Z + W"}, QueryError,
     r"the outcome model 'Z \+ W' does not use the treatment X"),
]


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = Path(dirpath, name).stat()
            out[os.path.join(dirpath, name)] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return hetero(400, seed=31)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_its_own_message_and_nothing_changes(case, base, tmp_path,
                                                                        monkeypatch):
    _, target, query, edit, kwargs, error, message = case
    monkeypatch.chdir(tmp_path)
    df = edit(base)
    copy = df.copy(deep=True)
    before = _tree(tmp_path)
    with pytest.raises(error, match=message) as info:
        causaldsl.estimate(target, query, df, **kwargs)
    # its own message: no other case's pattern matches it (a catch-all message would)
    others = [c[0] for c in CASES if c[0] != case[0] and re.search(c[6], str(info.value))]
    assert not others
    pd.testing.assert_frame_equal(df, copy)
    assert _tree(tmp_path) == before


def test_the_hedge_is_on_the_error(base):
    with pytest.raises(NotIdentifiable) as info:
        causaldsl.estimate(CONFOUNDED, ATE, base)
    assert info.value.hedge == (frozenset({"X", "Y"}), frozenset({"Y"}))
