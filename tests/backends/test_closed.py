"""Closed forms of linear-Gaussian models at the edge of the floats (issue 17): a number a
mechanism cannot have (beyond ±1.8e308, a division by zero, a complex power) is a QueryError
naming the variable, never an OverflowError, inf or nan; a deviation whose square is beyond the
floats is still answered, exactly."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import causaldsl
from causaldsl import CausalModel, QueryError
from causaldsl.app.cli import main
from causaldsl.model.estimate import Estimate


def model_with(mechanism: str) -> CausalModel:
    return causaldsl.parse("model m {\n  exogenous U : Real ~ Normal(0, 1)\n"
                           f"  X : Real := {mechanism}\n  Y : Real ~ Normal(X, 1)\n}}\n"
                           ).models["m"]


@pytest.mark.parametrize("mechanism, message", [
    ("2 ^ 2000 * U", r"variable X := 2 \^ 2000 \* U: 2 \^ 2000 is beyond the floating-point "
                     r"range \(±1.8e\+308\); rescale the model"),
    ("2 ^ 2000", r"2 \^ 2000 is beyond the floating-point range"),
    ("2 ^ 2000 * U * U", r"2 \^ 2000 is beyond"),  # not affine, and no float either
    ("10 ^ 300 * 10 ^ 300 * U", r"variable X := 10 \^ 300 \* 10 \^ 300 \* U: a number in it "
                                r"leaves the floating-point range"),  # was nan
    ("10 ^ 307 * 100 + U", "a number in it leaves the floating-point range"),
    ("0 ^ -1 + U", r"variable X := 0 \^ \(-1\) \+ U: 0 \^ \(-1\) divides by zero"),
    ("(-8) ^ 0.5 + U", r"\(-8\) \^ 0.5 is not a real number"),
])
def test_numbers_beyond_the_floats_are_query_errors(mechanism, message):
    m = model_with(mechanism)
    for q in ("E[X]", "E[Y]", "E[X | Y = 1]"):
        with pytest.raises(QueryError, match=message):
            m.query(q)


def test_a_deviation_whose_variance_overflows_is_answered_exactly():
    """X = 2^1000 U: Var X = 2^2000 is no float, but sd X = 2^1000 is, and given Y = X + noise
    the mean of X is Y's value times Var X / (Var X + 1), which is 1 in floats."""
    m = model_with("2 ^ 1000 * U")
    x = m.query("E[X]")
    assert isinstance(x, Estimate) and float(x) == 0.0 and x.details["sd"] == 2.0 ** 1000
    given = m.query("E[X | Y = 1]")
    assert float(given) == 1.0 and math.isfinite(given.details["sd"])
    assert m.query("E[Y | do(X = 3)]") == 3.0


def test_scaling_leaves_ordinary_answers_as_they_were():
    m = model_with("0.5 * U")
    # X = U / 2, Y = X + N(0, 1): E[X | Y = 1] = Var X / Var Y = 0.25 / 1.25
    x = m.query("E[X | Y = 1]")
    assert abs(float(x) - 0.2) < 1e-15
    assert abs(x.details["sd"] - math.sqrt(0.25 - 0.25 ** 2 / 1.25)) < 1e-15


def test_the_cli_says_so_with_exit_1(tmp_path: Path, capsys):
    f = tmp_path / "big.causal"
    f.write_text("model m {\n  exogenous U : Real ~ Normal(0, 1)\n  X : Real := 2 ^ 2000 * U\n"
                 "}\nquery E[X]\n")
    assert main(["run", str(f)]) == 1
    err = capsys.readouterr().err
    assert f"{f}:5:1: error: variable X := 2 ^ 2000 * U: 2 ^ 2000 is beyond the floating-point " \
           "range" in err and "Traceback" not in err
