"""`causal posteriors`: every observed variable's posterior from one junction tree, as text or
JSON, equal to the same questions asked one by one; bad settings get a located message and exit
status 1, never a traceback."""

import json

import pytest

from causaldsl import read
from causaldsl.app.cli import main

FILE = "examples/smoking.causal"


def test_json_equals_the_questions_asked_one_by_one(capsys):
    assert main(["posteriors", FILE, "--given", "C = yes", "--do", "T = no", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["given"] == {"C": "yes"} and out["do"] == {"T": "no"}
    model = read(FILE)
    assert set(out["posteriors"]) == {"S"}  # H is latent; T and C are set
    want = model.query("P(S | do(T = no), C = yes)")
    assert out["posteriors"]["S"] == pytest.approx(
        {str(k): p for k, p in want.to_dict().items()}, abs=1e-12)


def test_text_prints_each_posterior_with_its_question(capsys):
    assert main(["posteriors", FILE, "--given", "S = yes"]) == 0
    out = capsys.readouterr().out
    assert "P(T | S = yes)" in out and "P(C | S = yes)" in out
    assert "0.617778" in out  # P(C = yes | S = yes) = 5.56 / 9 (tests/backends/test_junction.py)


@pytest.mark.parametrize("argv, message", [
    (["--given", "C = maybe"], "'maybe' is not a value of C"),
    (["--given", "H = yes"], "latent"),
    (["--given", "Q = yes"], "not a variable"),
    (["--given", "C = yes", "--do", "C = no"], "both given and set"),
    (["--given", "C yes"], "expected NAME = VALUE"),
    (["--given", "S = yes, T = no, C = no"], "nothing is left"),
])
def test_bad_settings_are_refused_with_a_message(capsys, argv, message):
    assert main(["posteriors", FILE, *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
