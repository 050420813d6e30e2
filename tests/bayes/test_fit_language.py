"""Unknown tables and ``fit`` in the language: parsing, formatting, the checks ``causal check``
makes without reading data, and ``causal run`` / ``causal fit`` / ``causal query`` answering
with posteriors (text and JSON), never a traceback."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import causaldsl
from causaldsl.app.cli import main
from causaldsl.lang.fmt import format_source
from causaldsl.syntax.diagnostics import SourceError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

MODEL = """type YesNo = {no, yes}
model xy {
  X : YesNo ~ unknown
  Y : YesNo ~ table(X) unknown Dirichlet([2, 1])
}
"""


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    # X: 3 no, 7 yes; Y | no: 2 no, 1 yes; Y | yes: 2 no, 5 yes
    rows = ["no,no"] * 2 + ["no,yes"] + ["yes,no"] * 2 + ["yes,yes"] * 5
    path = tmp_path / "xy.csv"
    path.write_text("X,Y\n" + "\n".join(rows) + "\n")
    return path


def test_priors_are_read_as_written():
    model = causaldsl.parse(MODEL).models["xy"]
    assert model.unknown == ("X", "Y")
    np.testing.assert_array_equal(model.variables["X"].mechanism.concentration, [1, 1])
    np.testing.assert_array_equal(model.variables["Y"].mechanism.concentration,
                                  [[2, 1], [2, 1]])


def test_fmt_keeps_unknown_tables_and_fit(tmp_path: Path):
    text = MODEL.replace("unknown Dirichlet", "unknown   Dirichlet") + \
        'fit xy to "xy.csv" by nuts with draws=100 , seed = 3\nquery P(Y)\n'
    out = format_source(text, "x.causal")
    assert "Y : YesNo ~ table(X) unknown Dirichlet([2, 1])" in out
    assert 'fit xy to "xy.csv" by nuts with draws = 100, seed = 3' in out
    assert format_source(out, "x.causal") == out


def test_the_posterior_in_a_file(tmp_path: Path, data: Path):
    f = tmp_path / "m.causal"
    f.write_text(MODEL + f'fit xy to "{data.name}" with draws = 20000\n'
                 "query P(Y = yes | do(X = yes))\nquery P(Y | X)\n")
    code, out, err = run("run", str(f))
    assert code == 0, err
    # Y | X = yes ~ Dirichlet(2 + 2, 1 + 5) = (4, 6): mean 0.6, sd sqrt(24 / (100·11)) = 0.1477;
    # 20,000 draws: the mean's se 0.001
    value = float(out.split("P(Y = yes | do(X = yes))  [xy]\n= ")[1].split()[0])
    assert abs(value - 0.6) < 0.005
    assert "exact: 20000 draws" in out and "credible interval" in out
    code, out, err = run("run", str(f), "--json")
    assert code == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert lines[0]["fit"] == "xy" and lines[0]["method"] == "exact" and lines[0]["rows"] == 10
    assert abs(lines[1]["estimate"] - 0.6) < 0.005 and lines[1]["identified"]
    assert lines[2]["axes"] == ["Y", "X"] and len(lines[2]["table"]) == 4
    # causal query runs the file's fit of the model first; its summary goes to stderr
    code, out, err = run("query", str(f), "P(Y = yes | X = no)")
    assert code == 0, err
    # Y | X = no ~ Dirichlet(2 + 2, 1 + 1) = (4, 2): mean 1/3
    assert abs(float(out.split("\n= ")[1].split()[0]) - 1 / 3) < 0.01
    assert "fitted xy" in err


def test_causal_fit(tmp_path: Path, data: Path):
    f = tmp_path / "m.causal"
    f.write_text(MODEL)
    code, out, err = run("fit", str(f), "--data", str(data), "--method", "mle",
                         "--bootstrap", "50", "-q", "P(Y = yes | X = yes)", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["method"] == "mle" and got["answers"][0]["estimate"] == pytest.approx(5 / 7)
    code, out, err = run("fit", str(f), "--data", str(data), "-q", "P(Z = yes)")
    assert code == 1 and "Z" in err and "Traceback" not in err
    code, out, err = run("fit", str(f), "--data", str(tmp_path / "none.csv"))
    assert code == 1 and "no such file" in err


@pytest.mark.parametrize("text, message", [
    (MODEL + "query P(Y)\n", "unknown tables (X, Y): learn them first"),
    (MODEL + 'fit zz to "xy.csv"\n', "fit zz: not a model"),
    ("type YesNo = {no, yes}\nmodel k { X : YesNo ~ [0.5, 0.5] }\nfit k to \"xy.csv\"\n",
     "nothing to learn"),
    (MODEL + 'fit xy to "xy.csv" with draw = 10\n', "unknown option 'draw' of fit"),
    (MODEL + 'fit xy to "xy.csv" with draws = 0.5\n', "draws takes a whole number"),
    (MODEL + 'fit xy to "missing.csv"\n', "cannot read 'missing.csv'"),
    (MODEL.replace("Dirichlet([2, 1])", "Dirichlet(0)"), "each must be a positive number"),
    (MODEL.replace("Dirichlet([2, 1])", "Dirichlet([1, 2, 3])"), "has 3 parameters"),
    (MODEL.replace("table(X)", "table(Q)"), "'Q' is not a variable of model xy"),
])
def test_check_errors(tmp_path: Path, data: Path, text: str, message: str):
    f = tmp_path / "bad.causal"
    (tmp_path / "xy.csv").write_text(data.read_text())
    f.write_text(text)
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        causaldsl.load(f)
    code, _out, err = run("check", str(f))
    assert code == 1 and "bad.causal:" in err and "Traceback" not in err


def test_identify_statements_need_no_fit():
    prog = causaldsl.parse(MODEL + "identify P(Y | do(X)) in xy\n")
    assert len(prog.statements) == 1


def test_check_of_a_bayesian_file_does_not_import_jax():
    code = ("import sys\nfrom causaldsl.app.cli import main\n"
            "assert main(['check', 'examples/smoking_bayes.causal']) == 0\n"
            "assert 'jax' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_example_runs():
    code, out, err = run("run", str(EXAMPLES / "smoking_bayes.causal"))
    assert code == 0, err
    assert "nuts: 1000 draws, 2 chains" in out and "P(C = yes | do(S = yes))" in out


def test_a_model_with_unknown_tables_is_written_as_it_reads():
    """The writer gives back each prior: a dropped Dirichlet or a wrong default would make
    the model read back differently."""
    from causaldsl.lang.writer import model_source
    from causaldsl.model.builder import ModelBuilder

    model = causaldsl.parse(MODEL.replace("X : YesNo ~ unknown",
                                          "X : YesNo ~ unknown Dirichlet(0.25)")).models["xy"]
    text = model_source(model)
    assert "Dirichlet(0.25)" in text and "Dirichlet([2, 1])" in text
    assert causaldsl.parse(text).models["xy"] == model
    b = ModelBuilder("rows")
    b.observed("X", ["no", "yes"], [0.5, 0.5])
    b.observed("Y", ["no", "yes"], given="X", unknown=[[1, 2], [3, 4]])
    with pytest.raises(causaldsl.CausalError, match="differs from row to row"):
        model_source(b.build())


def test_the_repl_fits_and_answers_with_the_posterior(tmp_path: Path, data: Path):
    """A fit typed at the prompt is kept for the queries after it, typed or bare."""
    from causaldsl.app.repl import Session

    out, err = io.StringIO(), io.StringIO()
    s = Session(out, err)
    s.define(MODEL)
    s.define(f'fit xy to "{data}" with draws = 20000')
    s.ask("P(Y = yes | X = yes)")
    assert err.getvalue() == "", err.getvalue()
    text = out.getvalue()
    # Y | X = yes ~ Dirichlet(2 + 2, 1 + 5) = (4, 6): mean 0.6
    assert "fitted xy: X, Y learned from 10 rows" in text
    assert abs(float(text.split("P(Y = yes | X = yes)  [xy]\n= ")[1].split()[0]) - 0.6) < 0.005
