"""The bootstrap's progress: ``progress=True`` draws a bar on standard error that reaches the
replicates asked for, and changes no number; without it nothing is printed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl.model.graph import ADMG

ATE = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
G = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])


def _frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    x = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return pd.DataFrame({"Z": z, "X": x, "Y": 2 * x + z + rng.normal(size=n)})


def test_the_bootstrap_draws_a_bar_only_when_asked(capfd):
    df = _frame()
    quiet = causaldsl.estimate(G, ATE, df, method="gformula", bootstrap=40, seed=3)
    assert capfd.readouterr() == ("", "")
    loud = causaldsl.estimate(G, ATE, df, method="gformula", bootstrap=40, seed=3,
                              progress=True)
    out, err = capfd.readouterr()
    assert out == "" and "bootstrap" in err and "40/40" in err and "replicate" in err
    assert float(loud) == float(quiet) and loud.se == quiet.se and loud.ci == quiet.ci


def test_a_callback_still_hears_each_chunk():
    heard = []
    causaldsl.estimate(G, ATE, _frame(), method="gformula", bootstrap=150, seed=3,
                       progress=lambda done, total: heard.append((done, total)))
    assert heard == [(64, 150), (128, 150), (150, 150)]  # chunks of 64 replicates (400 rows)


def test_bad_arguments_are_refused_before_any_bar(capsys):
    """A bar drawn and then an error would leave a stray bar on the terminal."""
    from causaldsl import QueryError

    graph = causaldsl.parse("graph g { X -> Y }").models["g"]
    df = pd.DataFrame({"X": [0, 1, 0, 1], "Y": [0.1, 0.5, 0.2, 0.7]})
    for bad in ({"bootstrap": 1}, {"bootstrap": 10, "method": "magic"},
                {"bootstrap": 10, "level": 1.5}):
        with pytest.raises(QueryError):
            causaldsl.estimate(graph, "E[Y | do(X = 1)]", df, progress=True, **bad)
        assert capsys.readouterr().err == ""
