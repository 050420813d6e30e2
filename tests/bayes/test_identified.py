"""What the data can decide: with H hidden, the smoking model's front-door effect is
identified, and its posterior concentrates on the true value as data grow; in the bow graph
the effect is not, its posterior stays wide, and the answer says so with the hedge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl.model.builder import ModelBuilder
from causaldsl.model.causal_model import Role, Variable

YN = ["no", "yes"]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def rows_like(model, names: list[str], n: int) -> pd.DataFrame:
    """``n`` rows whose frequencies are the model's observed joint, rounded: data with no
    sampling noise, so a posterior can only be off by what the data cannot tell."""
    joint = np.asarray(model.query(f"P({', '.join(names)})").probs)
    counts = np.round(joint * n).astype(int)
    rows = []
    for idx in np.ndindex(*counts.shape):
        rows += [tuple(YN[i] for i in idx)] * counts[idx]
    return pd.DataFrame(rows, columns=names)


def smoking_unknown():
    b = ModelBuilder("smoking_bayes")
    b.latent("H", YN, [0.5, 0.5])
    b.observed("S", YN, given="H", unknown=True)
    b.observed("T", YN, given="S", unknown=True)
    b.observed("C", YN, given=["T", "H"], unknown=True)
    return b.build()


def bow_unknown():
    b = ModelBuilder("bow")
    b.latent("U", YN, [0.5, 0.5])
    b.observed("X", YN, given="U", unknown=True)
    b.observed("Y", YN, given=["X", "U"], unknown=True)
    return b.build()


def bow_truth():
    b = ModelBuilder("bow_truth")
    b.latent("U", YN, [0.5, 0.5])
    b.observed("X", YN, {"no": [0.8, 0.2], "yes": [0.3, 0.7]}, given="U")
    b.observed("Y", YN, {("no", "no"): [0.9, 0.1], ("no", "yes"): [0.5, 0.5],
                         ("yes", "no"): [0.6, 0.4], ("yes", "yes"): [0.2, 0.8]},
               given=["X", "U"])
    return b.build()


def test_the_answer_says_when_the_data_cannot_decide_it():
    truth = bow_truth()
    fitted = bow_unknown().fit(rows_like(truth, ["X", "Y"], 200), "nuts", draws=200,
                               warmup=200, seed=1)
    effect = fitted.query("P(Y = yes | do(X = yes))")
    assert not effect.identified
    assert "hedge" in effect.why.lower() or "not identifiable" in effect.why.lower()
    assert "NOT IDENTIFIED" in str(effect)
    seen = fitted.query("P(Y = yes | X = yes)")  # observational: the data decide it
    assert seen.identified and "NOT IDENTIFIED" not in str(seen)
    # the same query is identified when the data hold the confounder's column
    full = ModelBuilder("bow_seen")
    full.observed("U", YN, [0.5, 0.5])
    full.observed("X", YN, given="U", unknown=True)
    full.observed("Y", YN, given=["X", "U"], unknown=True)
    u = truth.variables["U"]
    seen_u = truth.replace([Variable("U", u.type, Role.OBSERVED, (), u.mechanism)])
    both = full.build().fit(rows_like(seen_u, ["U", "X", "Y"], 200), draws=50)
    assert both.method == "exact" and both.query("P(Y = yes | do(X = yes))").identified


@pytest.mark.slow
def test_front_door_concentrates_and_the_bow_stays_wide():
    truth = causaldsl.load(EXAMPLES / "smoking.causal").model
    true_effect = truth.query("P(C = yes | do(S = yes))")  # 0.49
    sds = []
    for n in (500, 8000):
        fitted = smoking_unknown().fit(rows_like(truth, ["S", "T", "C"], n), "nuts",
                                       draws=1000, warmup=500, seed=2)
        post = fitted.query("P(C = yes | do(S = yes))")
        assert post.identified
        sds.append(post.sd)
    # 16 times the data: the sd shrinks about 4-fold (as 1/sqrt(n)); at least 2.5-fold
    assert sds[1] < sds[0] / 2.5
    # with rows at the true frequencies, the front-door value of the data is the truth up to
    # rounding (under 1e-3 here): within 3 posterior sds
    assert abs(post.mean - true_effect) < 3 * sds[1]

    bow = bow_truth()
    wide = []
    for n in (500, 8000):
        fitted = bow_unknown().fit(rows_like(bow, ["X", "Y"], n), "nuts", draws=1000,
                                   warmup=500, seed=3)
        post = fitted.query("P(Y = yes | do(X = yes))")
        assert not post.identified
        wide.append(post.sd)
    # not identified: 16 times the data leave the sd above half of what it was (an
    # identified answer would shrink it to a quarter)
    assert wide[1] > wide[0] / 2
