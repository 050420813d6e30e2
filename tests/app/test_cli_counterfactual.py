"""``causal run`` on a graph with observed data answers counterfactual queries: identified by
ID*/IDC*, then evaluated on the observed distribution like any other estimand; one that is
not identifiable is a located error with the reason."""

from __future__ import annotations

from pathlib import Path

from causaldsl.app.cli import main

GRAPH = """type Bit = {0, 1}
graph smoking {
  S : Bit
  T : Bit
  C : Bit
  S -> T
  T -> C
  S <-> C
}
observed P(S, T, C) in smoking = [0.5, 0.1, 0.01, 0.02, 0.1, 0.05, 0.02, 0.2]
"""


def run(tmp_path: Path, capsys, text: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    f = tmp_path / "cf.causal"
    f.write_text(GRAPH + text, encoding="utf-8")
    code = main(["run", str(f)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_counterfactual_queries_on_observed_data(tmp_path, capsys):
    # P(C[T = 1] = 1 | T = 0) = Σ_s P(c = 1 | s, t = 1) P(s | t = 0) (IDC*). From the joint
    # (S outermost): P(t = 0) = 0.5 + 0.1 + 0.1 + 0.05 = 0.75, P(s = 0, t = 0) = 0.6,
    # P(s = 1, t = 0) = 0.15, P(c = 1 | s = 0, t = 1) = 0.02 / 0.03,
    # P(c = 1 | s = 1, t = 1) = 0.2 / 0.22, so (0.4 + 0.2 / 0.22 · 0.15) / 0.75 = 0.715152
    want = (0.02 / 0.03 * 0.6 + 0.2 / 0.22 * 0.15) / 0.75
    code, out, err = run(tmp_path, capsys, "query P(C[T = 1] = 1 | T = 0)\n"
                                           "query E[C[T = 1] | T = 0]\n"
                                           "query E[C[T = 1] | T = 0] - E[C | T = 0]\n")
    assert code == 0, err
    assert "identified by idc*" in out
    assert out.count(f"= {want:.6g}") == 2, out
    # E[C | T = 0] = P(c = 1 | t = 0) = (0.1 + 0.05) / 0.75 = 0.2
    assert f"= {want - 0.2:.6g}" in out


def test_a_counterfactual_that_is_not_identified_is_a_located_error(tmp_path, capsys):
    code, _, err = run(tmp_path, capsys, "query P(C[S = 1] = 1, C[S = 0] = 0)\n")
    assert code == 1
    assert "cf.causal:11:1" in err and "not identifiable" in err and "ID* line 8" in err
    assert "Traceback" not in err


def test_a_natural_direct_effect_from_a_graph_and_data(tmp_path, capsys):
    f = tmp_path / "med.causal"
    f.write_text("""type Bit = {0, 1}
graph med {
  X : Bit
  M : Bit
  Y : Bit
  X -> M
  M -> Y
  X -> Y
}
observed P(X, M, Y) in med = [0.2, 0.1, 0.05, 0.15, 0.1, 0.05, 0.15, 0.2]
identify P(Y[X = 1, M = M[X = 0]] = 1)
query E[Y[X = 1, M = M[X = 0]]] - E[Y[X = 0]]
""", encoding="utf-8")
    assert main(["run", str(f)]) == 0
    out = capsys.readouterr().out
    # Σ_m P(m | x = 0) P(y = 1 | x = 1, m): P(m = 0 | x = 0) = 0.3 / 0.5, P(m = 1 | x = 0) =
    # 0.2 / 0.5; P(y = 1 | x = 1, m = 0) = 0.05 / 0.15, P(y = 1 | x = 1, m = 1) = 0.2 / 0.35
    nested = 0.6 * 0.05 / 0.15 + 0.4 * 0.2 / 0.35
    assert "Σ_m P(m|x=0) P(y=1|x=1,m)    (by id*)" in out
    assert f"= {nested:.6g}" in out
    # NDE = that − P(y = 1 | x = 0) = that − 0.25 / 0.5
    assert f"= {nested - 0.5:.6g}" in out


def test_an_inconsistent_counterfactual_is_zero_and_inconsistent_evidence_an_error(
        tmp_path, capsys):
    """ID* returns 0 for an event no model can produce (T[T = 1] = 0; C[T = 1] = 1 beside
    C = 0 and T = 1, one variable by Lemma 24), on every surface; evidence that no model can
    produce leaves the conditional undefined: a located error, as on a model."""
    code, out, err = run(tmp_path, capsys, "query P(T[T = 1] = 0)\n"
                                           "query P(C[T = 1] = 1 | C = 0, T = 1)\n"
                                           "query P(T[T = 1] = 0, C)\n"
                                           "identify P(C[T = 1] = 1, C = 0, T = 1)\n"
                                           "query E[C[T = 1] | T = 0] - P(T[T = 0] = 1)\n")
    assert code == 0, err
    assert out.count("= 0\n") == 3 and "0  0\n1  0\n" in out
    assert "= 0    (by id*)\nP(C[T = 1] = 1, C = 0, T = 1) is 0 in every model: the event is " \
           "inconsistent (C[T = 1] = 1 and C = 0 name one variable" in out
    # E[C[T = 1] | T = 0] as in the first test (0.715152), less 0
    assert f"= {(0.02 / 0.03 * 0.6 + 0.2 / 0.22 * 0.15) / 0.75:.6g}\n" in out
    code, out, err = run(tmp_path, capsys, "query P(C | T[T = 1] = 0)\n")
    assert code == 1 and "cf.causal:11:1" in err and "Traceback" not in err
    assert "P(C | T[T = 1] = 0) is undefined: its evidence T[T = 1] = 0 has probability zero " \
           "in every model" in err
    f = tmp_path / "g.causal"
    f.write_text(GRAPH, encoding="utf-8")
    assert main(["identify", str(f), "P(S[S = 0] = 1 | C = 1)", "--json"]) == 0
    assert '"estimand": "0", "latex": "0", "why": "P(S[S = 0] = 1 | C = 1) is 0 in every ' \
           'model' in capsys.readouterr().out
    assert main(["identify", str(f), "P(C | S[S = 0] = 1)"]) == 1
    assert "error: P(C | S[S = 0] = 1) is undefined" in capsys.readouterr().err


def test_an_open_value_its_world_sets_is_a_located_error_not_zero(tmp_path, capsys):
    """P(T[T = 1]) is [0, 1] (T set to 1 is 1) and E[T[T = 1]] is 1; ID* cannot write that
    as an estimand, so each is a located error (both read 0 when ID* called them
    inconsistent)."""
    for line, query in ((11, "P(T[T = 1])"), (11, "E[T[T = 1]]")):
        code, out, err = run(tmp_path, capsys, f"query {query}\n")
        assert code == 1 and out == "" and "Traceback" not in err
        assert f"cf.causal:{line}:1: error: T[T = 1] has no value and its world sets T to 1" \
            in err
