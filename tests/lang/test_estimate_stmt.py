"""The ``estimate`` statement: parsed, checked by ``causal check`` without reading the data,
printed by ``causal fmt`` so that it reads back equal, and answered by ``causal run`` with the
number the Python API gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import causaldsl
from causaldsl.app.cli import main
from causaldsl.lang import ast as A
from causaldsl.lang.fmt import format_source

REPO = Path(__file__).resolve().parents[2]
GRAPH = """graph g {
  GPA -> PSI -> GRADE
  TUCE -> PSI
  GPA -> GRADE
  TUCE -> GRADE
}
"""
FULL = ('estimate E[GRADE | do(PSI = 1)] - E[GRADE | do(PSI = 0)] in g from "d.csv" by gformula '
        'with outcome = "PSI + GPA + TUCE + I(GPA**2)", level = 0.9, bootstrap = 0, seed = 2, '
        'adjust = {GPA, TUCE}, missing = drop\n')


@pytest.fixture
def folder(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    shutil.copy(REPO / "examples" / "spector.csv", tmp_path / "d.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_statement_parses_into_its_parts():
    from causaldsl.lang.parse import parse_module

    (_, st) = parse_module(GRAPH + FULL, "x.causal").statements
    assert isinstance(st, A.EstimateStmt)
    assert st.target[0] == "g" and st.data == "d.csv" and st.method == "gformula"
    opts = {o.name: (o.kind, o.value) for o in st.options}
    assert opts == {"outcome": ("string", "PSI + GPA + TUCE + I(GPA**2)"),
                    "level": ("number", 0.9), "bootstrap": ("number", 0.0),
                    "seed": ("number", 2.0), "adjust": ("names", ("GPA", "TUCE")),
                    "missing": ("name", "drop")}


def test_fmt_prints_it_so_that_it_reads_back_equal():
    text = GRAPH + "\n" + FULL
    once = format_source(text, "x.causal")
    assert format_source(once, "x.causal") == once
    assert 'with outcome = "PSI + GPA + TUCE + I(GPA**2)", level = 0.9' in once
    from causaldsl.lang.parse import parse_module

    assert parse_module(once, "x.causal").statements[1].replace(span=None) == \
        parse_module(text, "x.causal").statements[1].replace(span=None)


def test_run_answers_with_the_python_apis_number(folder, capsys):
    (folder / "e.causal").write_text(GRAPH + FULL)
    code, out, err = run(capsys, "run", "e.causal", "--json")
    assert code == 0, err
    got = json.loads(out)
    want = causaldsl.estimate(causaldsl.load(folder / "e.causal").models["g"],
                              "E[GRADE | do(PSI = 1)] - E[GRADE | do(PSI = 0)]",
                              folder / "d.csv", method="gformula", level=0.9,
                              outcome="PSI + GPA + TUCE + I(GPA**2)", adjust=["GPA", "TUCE"])
    assert got["value"] == pytest.approx(float(want), abs=1e-12)
    assert got["ci"] == pytest.approx(list(want.ci), abs=1e-12) and got["level"] == 0.9


@pytest.mark.parametrize(("line", "message"), [
    ('estimate E[GRADE | do(PSI = 1)] from "d.csv" with levle = 0.9', "did you mean 'level'"),
    ('estimate E[GRADE | do(PSI = 1)] from "d.csv" with level = 1.9', "between 0 and 1"),
    ('estimate E[GRADE | do(PSI = 1)] from "d.csv" with bootstrap = 1', "at least 2"),
    ('estimate E[GRADE | do(PSI = 1)] from "d.csv" with bootstrap = 2.5', "a whole number"),
    ('estimate E[GRADE | do(PSI = 1)] from "d.csv" with missing = maybe', "error, drop and censored"),
    ('estimate E[GRADE | do(PSI = 1)] from "d.csv" with outcome = 3', "a string in quotes"),
    ('estimate E[GRADE | do(PSI = 1)] from "d.csv" with level = 0.9, level = 0.8', "twice"),
    ('estimate E[GRADE | do(PSI = 1)] in h from "d.csv"', "no model or graph named 'h'"),
    ('estimate E[GRADE | do(PSI)] from "d.csv"', "name the treatment's value"),
    ('estimate E[GRAD | do(PSI = 1)] from "d.csv"', "GRAD"),
    ('estimate E[GRADE | do(PSI = 1)] from "nope.csv"', "no such file"),
    ('estimate E[GRADE | do(PSI = 1)] from "d.csv" with adjust = {GPQ}', "did you mean 'GPA'"),
    ('estimate E[GRADE | do(PSI = 1)] from "d.csv" with outcome = "PSI + open(\'x\')"',
     "may not"),
])
def test_check_refuses_what_cannot_run_and_reads_no_data(folder, capsys, line, message):
    (folder / "e.causal").write_text(GRAPH + line + "\n")
    code, _, err = run(capsys, "check", "e.causal")
    assert code == 1 and message in err, err
    assert "e.causal:7:" in err  # located on the statement's line


def test_check_does_not_read_the_data(folder, capsys):
    """A FIFO or a huge file would be read by run, not by check: check opens it only to see
    that it is a regular file (here: a file of junk passes check; run reports it)."""
    (folder / "junk.csv").write_bytes(b"\x00\x01not,a\ncsv")
    (folder / "e.causal").write_text(GRAPH + 'estimate E[GRADE | do(PSI = 1)] from "junk.csv"\n')
    assert run(capsys, "check", "e.causal")[0] == 0
    code, _, err = run(capsys, "run", "e.causal")
    assert code == 1 and "no column" in err
