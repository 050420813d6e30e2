"""``causal estimate``: a published analysis reproduced (Spector & Mazzeo's PSI data, Greene's
logit), the JSON an analyst scripts against, and bad input as located errors, exit 1, with
nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from causaldsl.app.cli import main

REPO = Path(__file__).resolve().parents[2]
SPECTOR = str(REPO / "examples" / "spector.causal")
DATA = str(REPO / "examples" / "spector.csv")
EFFECT = "P(GRADE = 1 | do(PSI = 1)) - P(GRADE = 1 | do(PSI = 0))"


def run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_greenes_logit_coefficients_to_the_digits_published(capsys):
    """Greene, Econometric Analysis (5th ed.), table 21.1, logit of GRADE on GPA, TUCE, PSI:
    constant -13.02135, GPA 2.826113, TUCE 0.0951577, PSI 2.378688 (statsmodels prints the
    same). The g-formula's outcome model is that logit; its effect is the average change in
    P(GRADE = 1) when PSI is set to 1 rather than 0 for every student."""
    code, out, err = run(capsys, "estimate", SPECTOR, EFFECT, "--data", DATA, "--method",
                         "gformula", "--json")
    assert code == 0, err
    ans = json.loads(out)
    coefs = {c: v["coef"] for c, v in ans["models"]["outcome GRADE = 1 (logistic)"].items()}
    assert coefs["Intercept"] == pytest.approx(-13.02135, abs=5e-6)
    assert coefs["GPA"] == pytest.approx(2.826113, abs=5e-7)
    assert coefs["TUCE"] == pytest.approx(0.0951577, abs=5e-8)
    assert coefs["PSI"] == pytest.approx(2.378688, abs=5e-7)
    assert ans["method"] == "gformula" and ans["n"] == 32 and ans["adjustment"] == ["GPA", "TUCE"]
    lo, hi = ans["ci"]
    assert lo < ans["value"] < hi and ans["se"] > 0
    # the effect is the mean over students of the logit's two predictions, a number in (0, 1)
    assert 0 < ans["value"] < 1


def test_text_output_states_the_method_and_interval(capsys):
    code, out, _ = run(capsys, "estimate", SPECTOR, EFFECT, "--data", DATA, "--bootstrap", "50",
                       "--seed", "3")
    assert code == 0
    assert "augmented IPW" in out and "95% CI" in out and "bootstrap percentile" in out
    # 32 rows: a resample can separate the logit perfectly; such replicates are left out, said
    done = json.loads(run(capsys, "estimate", SPECTOR, EFFECT, "--data", DATA, "--bootstrap",
                          "50", "--seed", "3", "--json")[1])
    assert done["bootstrap"] + done.get("bootstrap_failed", 0) == 50


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "nope.csv"], "no such file"),
    (["--data", DATA, "--method", "gformula", "--outcome", "PSI + I(__import__('os').getpid())"],
     "may not"),
    (["--data", DATA, "--adjust", "GPA"], "not a valid adjustment set"),
    (["--data", DATA, "--level", "1.5"], "between 0 and 1"),
    (["--data", SPECTOR], "cannot tell the format"),
])
def test_bad_input_is_a_located_error(capsys, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "estimate", SPECTOR, EFFECT, *args)
    assert code == 1 and message in err and "Traceback" not in err
    assert err.startswith(SPECTOR) and not list(tmp_path.iterdir())


def test_a_query_the_data_cannot_answer(capsys):
    code, _, err = run(capsys, "estimate", SPECTOR, "E[GRADE | do(PSI)]", "--data", DATA)
    assert code == 1 and "name the treatment's value" in err


OBSERVED = """type B = {0, 1}
graph g {
  Z : B
  X : B
  Y : B
  Z -> X -> Y
  Z -> Y
}
observed P(Z, X, Y) in g = [0.3, 0.2, 0.1, 0.4, 0, 0, 0, 0]
query E[Y | do(X = 1)] - E[Y | do(X = 0)]
query E[Y | X = 1]
query 2 * P(Y = 1 | do(X = 1)) - P(Y = 0 | do(X = 0))
"""


def test_expectations_and_sums_on_observed_data(capsys, tmp_path):
    """The stratum Z = 1 has probability 0 (weight 0), so within Z = 0: P(Y=1 | X=0) =
    0.2/0.5 = 0.4 and P(Y=1 | X=1) = 0.4/0.5 = 0.8; the effect is 0.8 - 0.4 = 0.4;
    E[Y | X = 1] = 0.8; 2 · 0.8 - 0.6 = 1.0. (Was: "only P(...) queries can be answered".)"""
    f = tmp_path / "obs.causal"
    f.write_text(OBSERVED)
    code, _, err = run(capsys, "check", str(f))
    assert code == 0, err
    code, out, err = run(capsys, "run", str(f), "--json")
    assert code == 0, err
    values = [json.loads(line)["value"] for line in out.splitlines()]
    assert values == pytest.approx([0.4, 0.8, 1.0], abs=1e-12)
