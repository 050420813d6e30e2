"""Assumptions stated in the language: `query ... assuming response_functions` answers a
counterfactual on tables that the model alone does not determine, by the canonical
response-function model, and names the assumption; `--assume response-functions` states it on
the command line. The formatter keeps it, and misuse is a located error."""

from __future__ import annotations

import json

import pytest

from causaldsl.app.cli import main
from causaldsl.lang.fmt import format_source
from causaldsl.lang.loader import parse

MODEL = """type B = {no, yes}
model trial {
  X : B ~ [0.6, 0.4]
  Y : B ~ table(X) { no: [0.8, 0.2], yes: [0.3, 0.7] }
}
"""
PN = "P(Y[X = no] = no | X = yes, Y = yes)"
PNS = "P(Y[X = yes] = yes, Y[X = no] = no)"


def test_the_assumption_is_parsed_kept_and_round_trips():
    text = MODEL + f"query {PN} in trial assuming response_functions\nquery {PN}\n"
    prog = parse(text)
    (a, _), (b, _) = prog.statements
    assert a.assume == "response_functions" and a.target[0] == "trial" and b.assume is None
    canonical = format_source(text)
    assert f"query {PN} in trial assuming response_functions\n" in canonical
    assert format_source(canonical) == canonical
    assert [s.assume for s, _ in parse(canonical).statements] == ["response_functions", None]


def test_a_counterfactual_on_tables_is_answered_where_the_user_assumes_response_functions(
        tmp_path, capsys):
    path = tmp_path / "pn.causal"
    path.write_text(MODEL + f"query {PN} assuming response_functions\n"
                    f"query {PNS} assuming response_functions\n")
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    # X is a root, so under independent rows PN = P(Y = no | X = no) = 0.8 and
    # PNS = P(Y = yes | X = yes) P(Y = no | X = no) = 0.7 * 0.8 = 0.56
    assert f"{PN}  [trial]  (assuming response functions:" in out
    assert "= 0.8\n" in out and "= 0.56\n" in out
    assert main(["run", str(path), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["assumption"] for r in rows] == ["response_functions"] * 2
    assert rows[0]["value"] == pytest.approx(0.8, abs=1e-12)
    assert rows[1]["value"] == pytest.approx(0.56, abs=1e-12)


def test_without_the_assumption_the_error_says_how_to_state_it(tmp_path, capsys):
    path = tmp_path / "pn.causal"
    path.write_text(MODEL + f"query {PN}\nquery P(Y = yes | do(X = yes))\n")
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err
    assert "not determined by model trial" in err and "assuming response_functions" in err
    assert "--assume response-functions" in err
    assert main(["run", str(path), "--assume", "response-functions"]) == 0
    out = capsys.readouterr().out
    assert "= 0.8\n" in out and "= 0.7\n" in out  # interventional answers are unchanged
    assert main(["query", str(path), PN, "--assume", "response-functions"]) == 0
    assert "(assuming response functions" in capsys.readouterr().out


@pytest.mark.parametrize(("tail", "message"), [
    ("query P(X) assuming noise", "6:21: error: unexpected 'noise'; expected an assumption "
                                  "(response_functions)"),
    ("query P(Y = yes | do(X = yes)) in g assuming response_functions",
     "`assuming response_functions` is an assumption about a model's tables; g is a graph"),
])
def test_misuse_is_a_located_error(tmp_path, capsys, tail, message):
    path = tmp_path / "bad.causal"
    path.write_text("type B = {no, yes}\ngraph g {\n  X : B\n  Y : B\n  X -> Y }\n"
                    if "in g" in tail else MODEL)
    with path.open("a") as f:
        f.write("observed P(X, Y) in g = [0.4, 0.1, 0.2, 0.3]\n" if "in g" in tail else "")
        f.write(tail + "\n")
    assert main(["check", str(path)]) == 1
    assert message in capsys.readouterr().err
