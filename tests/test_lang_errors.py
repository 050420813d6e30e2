"""Bad .causal input found by review: each is a located error at load time (`causal check`
reports it, `causal run` the same), never a traceback and never a silent wrong answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from causaldsl.cli import main
from causaldsl.lang.diagnostics import SourceError
from causaldsl.lang.expr import ARITY, FUNCTIONS
from causaldsl.lang.loader import parse


def check_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                where: str, message: str) -> str:
    """``causal check`` and ``causal run`` both exit 1 with ``bad.causal:where: error: message``
    and no traceback; returns what check printed."""
    f = tmp_path / "bad.causal"
    f.write_text(text, encoding="utf-8")
    assert main(["check", str(f)]) == 1
    out = capsys.readouterr()
    assert f"{f}:{where}: error: {message}" in out.err, out.err
    assert "Traceback" not in out.err and "ok" not in out.out
    assert main(["run", str(f)]) == 1
    again = capsys.readouterr().err
    assert f"{f}:{where}: error: {message}" in again and "Traceback" not in again, again
    return out.err


# -- the arity of built-in functions -----------------------------------------------------------

def test_every_function_has_an_arity():
    assert set(ARITY) == set(FUNCTIONS)


@pytest.mark.parametrize("mechanism,where,message", [
    ("Y : {0, 1, 2} := exp(X, X)", "3:20", "exp takes 1 argument, got 2"),  # was NumPy's out=
    ("Y : {0, 1, 2} := min(X)", "3:20", "min takes 2 arguments, got 1"),    # was a traceback
    ("Y : {0, 1, 2} := clip(X, 0)", "3:20", "clip takes 3 arguments, got 2"),
    ("Y : Real := exp(X, X)", "3:15", "exp takes 1 argument, got 2"),
    ("Y : Real := 1 + max(X)", "3:19", "max takes 2 arguments, got 1"),
    ("Y : Real ~ Normal(exp(X, 1), 1)", "3:21", "exp takes 1 argument, got 2"),
    ("Y : Bool ~ Bernoulli(sigmoid(X, X))", "3:24", "sigmoid takes 1 argument, got 2"),
])
def test_function_arity_is_checked_at_load(tmp_path, capsys, mechanism, where, message):
    text = f"model m {{\n  X : {{0, 1, 2}} ~ Uniform()\n  {mechanism}\n}}\nquery P(X)\n"
    check_fails(tmp_path, capsys, text, where, message)


def test_functions_with_the_right_arity_still_evaluate():
    prog = parse("model m {\n  X : {0, 1, 2} ~ Uniform()\n  Y : {0, 1, 2} := min(X, 1) + "
                 "round(exp(0))\n  Z : {0, 1, 2} := clip(X, 0, 1)\n}\n")
    assert prog["m"].query("P(Y = 2)") == pytest.approx(2 / 3)
    assert prog["m"].query("P(Z = 1)") == pytest.approx(2 / 3)
    with pytest.raises(SourceError):
        parse("model m {\n  X : {0, 1, 2} ~ Uniform()\n  Y : {0, 1, 2} := exp(X, X)\n}\n")
