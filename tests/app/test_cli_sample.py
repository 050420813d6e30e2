"""``causal sample``: rows drawn from a model written as CSV, TSV, Parquet or Feather that the data
layer reads back as they were drawn, an effect estimated from them (``causal estimate``) that
recovers the model's exact one, and bad input as a clean error (exit 1, or 2 for usage), with
nothing written and no traceback."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl.app.cli import main
from causaldsl.estimation.data import load
from tests.backends.montecarlo import K

REPO = Path(__file__).resolve().parents[2]
SMOKING = str(REPO / "examples" / "smoking.causal")
FIRING = str(REPO / "examples" / "firing_squad.causal")
LINEAR = str(REPO / "examples" / "linear.causal")


@pytest.fixture
def causal(capsys, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """``causal(*args)``: the command run in ``tmp_path``; (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        assert "Traceback" not in out.err and "internal error" not in out.err, out.err
        return code, out.out, out.err

    return run


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".parquet", ".feather"])
def test_written_rows_read_back_as_drawn(causal, tmp_path, ext):
    """The file holds what ``model.sample`` draws with the same seed, and the data layer reads
    it back, typed by the model, to the same positions. Catches: codes written instead of
    labels, the index written as a column, a format whose labels do not round-trip (Bool's
    true/false, integer labels)."""
    path = tmp_path / f"rows{ext}"
    code, out, err = causal("sample", FIRING, "-n", "500", "--seed", "4", "-o", str(path),
                            "--columns", "C, D, D[A=false]")
    assert code == 0, err
    assert out.startswith(f"wrote {path}: 500 rows")
    m = list(causaldsl.load(FIRING).models.values())[-1]
    drawn = m.sample(500, seed=4, columns=["C", "D", "D[A = false]"])
    types = {c: m[c].type for c in ("C", "D")}
    data = load(path, ["C", "D", "D[A = false]"], {**types, "D[A = false]": m["D"].type})
    assert list(data.frame.columns) == ["C", "D", "D[A = false]"]
    for c in drawn.columns:
        np.testing.assert_array_equal(data.codes(c), drawn[c].cat.codes)


def test_integer_labels_and_real_columns_round_trip_through_csv(causal, tmp_path):
    path = tmp_path / "rows.csv"
    (tmp_path / "m.causal").write_text(
        "type N = {0, 1, 2}\nmodel m {\n  A : N ~ [0.2, 0.3, 0.5]\n  Y : Real ~ Normal(A, 1)\n}\n")
    assert causal("sample", "m.causal", "-n", "300", "-o", str(path))[0] == 0
    m = causaldsl.load(tmp_path / "m.causal").models["m"]
    drawn = m.sample(300)
    data = load(path, ["A", "Y"], {"A": m["A"].type, "Y": m["Y"].type})
    np.testing.assert_array_equal(data.codes("A"), drawn["A"].cat.codes)
    np.testing.assert_array_equal(data.frame["Y"], drawn["Y"])  # floats written exactly


def test_standard_output_is_csv(causal):
    code, out, _ = causal("sample", SMOKING, "-n", "200", "--do", "S=yes", "-o", "-")
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == ["S", "T", "C"] and len(frame) == 200
    assert (frame["S"] == "yes").all()
    drawn = causaldsl.load(SMOKING).models["smoking"].sample(200, do={"S": "yes"})
    assert list(frame["C"]) == list(drawn["C"])


def test_do_may_be_repeated_and_potential_outcomes_are_columns(causal):
    code, out, _ = causal("sample", FIRING, "-n", "100", "--do", "W=false", "--do", "do(C = true)",
                          "--columns", "A,D,D[A=false]", "-o", "-")
    assert code == 0
    frame = pd.read_csv(io.StringIO(out), dtype=str)
    assert list(frame.columns) == ["A", "D", "D[A = false]"]
    # C = true: both shoot; had A not shot, B still does
    assert set(frame["A"]) == {"true"} and set(frame["D[A = false]"]) == {"true"}


TRIAL = """# Z confounds the treatment X and the outcome Y
type B = {0, 1}
model trial {
  Z : B ~ [0.6, 0.4]
  X : B ~ table(Z) { 0: [0.7, 0.3], 1: [0.2, 0.8] }
  Y : B ~ table(X, Z) {
    (0, 0): [0.8, 0.2], (0, 1): [0.5, 0.5],
    (1, 0): [0.6, 0.4], (1, 1): [0.1, 0.9]
  }
}
"""
EFFECT = "P(Y = 1 | do(X = 1)) - P(Y = 1 | do(X = 0))"


def test_estimate_on_sampled_rows_recovers_the_models_effect(causal, tmp_path):
    """Sample the model to a CSV file, then `causal estimate` on that file. The plug-in
    (back-door over Z) is the nonparametric MLE of the effect, so its error has the variance of
    the efficient influence function, known from the tables. With m1(z) = P(Y=1 | X=1, z),
    m0(z) = P(Y=1 | X=0, z), e(z) = P(X=1 | z):

      effect = Σ_z P(z) (m1 - m0) = 0.6·(0.4 - 0.2) + 0.4·(0.9 - 0.5) = 0.28
      V = Σ_z P(z) [m1(1-m1)/e + m0(1-m0)/(1-e)] + Var_z(m1 - m0)
        = 0.6·(0.24/0.3 + 0.16/0.7) + 0.4·(0.09/0.8 + 0.25/0.2) + 0.0096 = 1.171743

    so the estimate lies within K = 4.5 standard errors √(V/n) of 0.28 (each term a binomial
    variance p(1 - p) over the arm's share), and its reported se within a factor 2 of √(V/n).
    Catches rows that do not follow the model (a do ignored, a table misread), labels written
    in a form the data layer misreads, and an estimate that does not read the file."""
    (tmp_path / "trial.causal").write_text(TRIAL)
    m = causaldsl.load(tmp_path / "trial.causal").models["trial"]
    truth = float(m.query(EFFECT))
    assert truth == pytest.approx(0.28, abs=1e-12)
    v = 0.6 * (0.4 * 0.6 / 0.3 + 0.2 * 0.8 / 0.7) + 0.4 * (0.9 * 0.1 / 0.8 + 0.5 * 0.5 / 0.2) \
        + (0.6 * 0.2**2 + 0.4 * 0.4**2 - 0.28**2)
    assert v == pytest.approx(1.171743, abs=1e-6)
    n = 50_000
    assert causal("sample", "trial.causal", "-n", str(n), "--seed", "12", "-o", "rows.csv")[0] == 0
    code, out, err = causal("estimate", "trial.causal", EFFECT, "--data", "rows.csv", "--json")
    assert code == 0, err
    ans = json.loads(out)
    se = math.sqrt(v / n)
    assert ans["n"] == n
    assert abs(ans["value"] - truth) <= K * se, (ans["value"], truth, se)
    assert 0.5 * se <= ans["se"] <= 2 * se, (ans["se"], se)


def test_continuous_rows(causal):
    code, out, _ = causal("sample", LINEAR, "-n", "1000", "--columns", "X, Y, Y[X = 1]", "-o", "-")
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    np.testing.assert_allclose(frame["Y[X = 1]"] - frame["Y"], 2 - 2 * frame["X"], atol=1e-9)


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["--do", "Ss=yes"], "did you mean 'S'"),
    (["--do", "S=maybe"], "not a value of YesNo"),
    (["--do", "S"], "NAME = VALUE"),
    (["--do", "S=yes", "--do", "S=no"], "S is set twice"),
    (["--columns", "H"], "H is latent in model smoking"),
    (["--columns", "Cc"], "did you mean 'C'"),
    (["--columns", "C, C[S = yes]"], "not determined by model smoking"),
    (["--in", "nope"], "no model or graph named 'nope'"),
])
def test_bad_input_is_an_error_with_exit_1(causal, tmp_path, args, message):
    code, out, err = causal("sample", SMOKING, "-n", "10", *args, "-o", "rows.csv")
    assert code == 1 and message in err, err
    assert not out and not list(tmp_path.iterdir())


@pytest.mark.parametrize("output", ["nowhere/rows.csv", "rows.xlsx", "rows", "folder.csv"])
def test_an_output_that_cannot_be_written_is_said_before_any_work(causal, tmp_path, output):
    (tmp_path / "folder.csv").mkdir()
    code, _, err = causal("sample", SMOKING, "-n", "10", "-o", output)
    assert code == 1 and err.startswith(output) and "cannot" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.csv"]


def test_a_file_that_cannot_be_read(causal):
    code, _, err = causal("sample", "nope.causal", "-n", "10", "-o", "-")
    assert code == 1 and "no such file" in err


@pytest.mark.parametrize("n", ["-1", "1.5", "ten", str(2**31)])
def test_a_bad_row_count_is_a_usage_error(causal, tmp_path, n):
    code, _, err = causal("sample", SMOKING, "-n", n, "-o", "rows.csv")
    assert code == 2 and "number of rows" in err
    assert not list(tmp_path.iterdir())


def test_a_bad_seed_is_a_usage_error(causal):
    code, _, err = causal("sample", SMOKING, "-n", "5", "--seed", "-1", "-o", "-")
    assert code == 2 and "seed" in err


def test_help_has_an_example(causal):
    code, out, _ = causal("sample", "--help")
    assert code == 0 and "causal sample examples/smoking.causal -n 1000" in out
