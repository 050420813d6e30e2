"""The .causal language: every example checks and runs, answers match the core API and hand
arithmetic, and bad input gets located errors (file:line:col, a caret, a suggestion)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causaldsl import FiniteType, Opaque, Role
from causaldsl.app.answer import answer
from causaldsl.app.cli import main
from causaldsl.lang.loader import load, parse
from causaldsl.syntax.diagnostics import SourceError
from examples.smoking import smoking_model

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.causal"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_checks(path, capsys):
    assert main(["check", str(path)]) == 0
    assert "ok" in capsys.readouterr().out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_runs(path, capsys):
    assert main(["run", str(path)]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_napkin_example_is_identified_and_not_by_the_naive_formula(capsys):
    assert main(["run", "--json", str(ROOT / "examples" / "napkin.causal")]) == 0
    (out,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert out["identifiable"] and out["method"] == "id"
    assert out["estimand"] == "(Σ_w P(w) P(x,y|w,z)) / (Σ_w P(w) P(x|w,z))"


def test_the_example_set_covers_the_issue():
    names = {p.stem for p in EXAMPLES}
    assert {"smoking", "frontdoor", "sprinkler", "firing_squad", "napkin", "linear",
            "diagrams"} <= names


def test_smoking_file_equals_the_python_builder():
    prog = load(ROOT / "examples" / "smoking.causal")
    model, built = prog["smoking"], smoking_model()
    assert model.variables.keys() == built.variables.keys()
    for name, v in built.variables.items():
        w = model.variables[name]
        assert (w.parents, w.role, w.mechanism) == (v.parents, v.role, v.mechanism)


def test_run_prints_the_answers_of_the_core_api(capsys):
    assert main(["run", str(ROOT / "examples" / "smoking.causal"), "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    m = smoking_model()
    by_query = {d["query"]: d for d in lines}
    do_yes = by_query["P(C | do(S = yes))"]["table"]
    assert [r["values"] for r in do_yes] == [["no"], ["yes"]]
    np.testing.assert_allclose([r["p"] for r in do_yes],
                               m.query("P(C | do(S = yes))").probs, atol=1e-12)
    # the average causal effect, by hand: 0.49 - 0.28 = 0.21
    ace = by_query["P(C = yes | do(S = yes)) - P(C = yes | do(S = no))"]["value"]
    assert ace == pytest.approx(0.21, abs=1e-12)


def test_firing_squad_by_hand(capsys):
    assert main(["run", str(ROOT / "examples" / "firing_squad.causal"), "--json"]) == 0
    vals = [json.loads(x)["value"] for x in capsys.readouterr().out.splitlines()]
    # P(D) = P(U or W) = 1 - 0.3 * 0.9 = 0.73; do(A = false): D = B = U, 0.7; do(A = true): 1
    # counterfactuals: D[A = false] = U, so P(U | D) = 0.7 / 0.73; PN = P(not U | A) = 0.03 / 0.73
    assert vals == pytest.approx([0.73, 0.7, 1.0, 0.7 / 0.73, 0.03 / 0.73], abs=1e-12)


def test_sprinkler_by_hand(capsys):
    assert main(["run", str(ROOT / "examples" / "sprinkler.causal"), "--json"]) == 0
    vals = [json.loads(x)["value"] for x in capsys.readouterr().out.splitlines()]
    # P(wet) = 0.6 (1 - 0.4 * 0.8) + 0.4 (1 - 0.9 * 0.3) = 0.408 + 0.292 = 0.7
    # P(slippery) = 0.7 * 0.9 + 0.3 * 0.05 = 0.645; do(sprinkler on): wet for sure, 0.9
    assert vals[0] == pytest.approx(0.645, abs=1e-12)
    assert vals[1] == pytest.approx(0.9, abs=1e-12)
    # P(rain | slippery) = Σ_s P(s) P(rain|s) P(slip | wet) / 0.645, wet certain when raining
    rain_and_slip = (0.6 * 0.2 + 0.4 * 0.7) * 0.9
    assert vals[2] == pytest.approx(rain_and_slip / 0.645, abs=1e-12)


def test_query_command(capsys):
    assert main(["query", str(ROOT / "examples" / "smoking.causal"), "P(T = yes | do(S = no))"]) == 0
    assert "0.1" in capsys.readouterr().out


def test_graph_block_has_latent_for_each_bidirected_edge():
    prog = load(ROOT / "examples" / "frontdoor.causal")
    g = prog["frontdoor"]
    assert g.latent == ("U_S_C",) and g.variables["C"].parents == ("T", "U_S_C")
    obs = prog.observations["frontdoor"][0]
    assert obs.variables == ("S", "T", "C") and obs.probs.shape == (2, 2, 2)
    assert obs.probs[1, 0, 1] == 0.05  # S = yes, T = no, C = yes: the sixth entry
    napkin = load(ROOT / "examples" / "napkin.causal")["napkin"]
    assert napkin.variables["W"].type is Opaque and napkin.roles["U_W_X"] is Role.LATENT


def test_diagram_forms_agree():
    prog = load(ROOT / "examples" / "diagrams.causal")
    net, net2 = prog["net"], prog["net2"]
    yn = FiniteType(["no", "yes"])
    assert net.dom == () and net.cod == (yn,)
    assert net2.cod == (yn, yn, yn)


def test_functional_mechanism_becomes_a_table():
    prog = parse("model m {\n exogenous U : Bool ~ Bernoulli(0.25)\n X : {lo, hi} := if U then hi else lo\n}")
    np.testing.assert_allclose(prog["m"].variables["X"].mechanism.array, [[1, 0], [0, 1]])


# -- errors -------------------------------------------------------------------------------------

BAD = {
    "unknown type": ("model m {\n  D : Dose ~ [1.0]\n}", 2, 7, "unknown type 'Dose'"),
    "table sum": ("type YN = {no, yes}\nmodel m {\n  S : YN ~ [0.5, 0.6]\n}", 3, 12,
                  "sums to 1.1, not 1 (off by +0.1)"),
    "unknown parent": ("type YN = {no, yes}\nmodel m {\n  S : YN ~ [0.5, 0.5]\n"
                       "  T : YN ~ table(Ss) { no: [1, 0], yes: [0, 1] }\n}", 4, 18,
                       "did you mean 'S'?"),
    "missing row": ("type YN = {no, yes}\nmodel m {\n  S : YN ~ [0.5, 0.5]\n"
                    "  T : YN ~ table(S) { no: [1, 0] }\n}", 4, 12, "no row for S = yes"),
    "cycle": ("graph g { A -> B -> A }", 1, 16, "cycle: B → A → B"),
    "syntax": ("model m {\n  S : Bool ~ Bernoulli(0.5\n}", 3, 1, "unexpected '}'"),
    "keyword as name": ("model m {\n  table : Bool ~ [0.5, 0.5]\n}", 2, 3, "keyword"),
    "duplicate": ("model m {\n  A : Bool ~ [0.5, 0.5]\n  A : Bool ~ [0.5, 0.5]\n}", 3, 3,
                  "defined twice"),
    "query unknown variable": ("model m {\n  A : Bool ~ [0.5, 0.5]\n}\nquery P(B)", 4, 9,
                               "'B' is not a variable of model m"),
    "query latent": ("model m {\n  latent A : Bool ~ [0.5, 0.5]\n}\nquery P(A)", 4, 1,
                     "A is latent"),
    "value not in type": ("model m {\n  A : Bool ~ [0.5, 0.5]\n}\nquery P(A = maybe)", 4, 1,
                          "'maybe' is not a value of A"),
    "observed shape": ("graph g {\n  A : Bool\n}\nobserved P(A) in g = [1.0]", 4, 1,
                       "needs 2 numbers"),
    "observed sum": ("graph g {\n  A : Bool\n}\nobserved P(A) in g = [0.5, 0.6]", 4, 1,
                     "sum to 1.1"),
    "function value": ("model m {\n  A : Bool ~ [0.5, 0.5]\n  B : {x, y} := A\n}", 3, 17,
                       "not a value of {x, y}"),
    "continuous distribution": ("model m {\n  exogenous U : Real ~ Foo(0, 1)\n}", 2, 24,
                                "Foo is not a continuous distribution"),
    "continuous arity": ("model m {\n  exogenous U : Real ~ Normal(0, 1, 2)\n}", 2, 24,
                         "Normal takes 2 arguments, got 3"),
    "continuous function": ("model m {\n  exogenous U : Real ~ Normal(0, 1)\n"
                            "  X : Real := frob(U)\n}", 3, 15, "unknown function 'frob'"),
    "number overflows": ("model m {\n  X : Real ~ Normal(1e400, 1)\n}", 2, 21,
                         "the number 1e400 is too large"),
    "table number overflows": ("model m {\n  X : Bool ~ [0.5, -1e400]\n}", 2, 20,
                               "the number -1e400 is too large"),
    "bound overflows": ("type R = Real in [0, 2e308]", 1, 22, "the number 2e308 is too large"),
    "query number overflows": ("model m {\n  X : Real ~ Normal(0, 1)\n}\nquery P(X = 1e400)",
                               4, 13, "the number 1e400 is too large"),
    "coefficient overflows": ("model m {\n  X : Bool ~ [0.5, 0.5]\n}\n"
                              "query 1e300 * (1e300 * P(X = true))", 4, 7,
                              "the coefficient 1e300 times"),
}


def test_real_bounds_parse_with_either_bracket_and_print_back():
    """A closing ``]`` after a number is a bound (it once lexed as a list's bracket)."""
    prog = parse("""
model m {
  A : Real in [0, 2] ~ Uniform(0, 2)
  B : Real in (-inf, 1] := 1 - A
  C : Real in [-1.5, 2e3) ~ Normal(0, 1)
  D : Real in (0, inf] ~ Exponential(1)
  S : {a, b} ~ [0.5, 0.5]
  X : Real ~ Normal(if S == a then 1 else 0, 1)
}
""")
    m = prog.models["m"]
    shown = {n: str(m.variables[n].type) for n in "ABCD"}
    assert shown == {"A": "Real in [0, 2]", "B": "Real in (-inf, 1]",
                     "C": "Real in [-1.5, 2000]", "D": "Real in [0, inf)"}
    again = parse("model r {" + "".join(f" {n} : {t} ~ Normal(0, 1)\n" for n, t in shown.items())
                  + "}").models["r"]
    assert all(again.variables[n].type == m.variables[n].type for n in shown)


def located(tmp_path, capsys, text: str, line: int, col: int, message: str) -> str:
    """``causal check`` of ``text`` exits 1 with ``message`` at ``line:col``, no traceback;
    returns what it printed."""
    f = tmp_path / "bad.causal"
    f.write_text(text)
    assert main(["check", str(f)]) == 1
    err = capsys.readouterr().err
    assert f"{f}:{line}:{col}: error:" in err, err
    assert message in err, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_gets_a_located_error(name, tmp_path, capsys):
    assert "^" in located(tmp_path, capsys, *BAD[name])


def test_all_errors_of_a_file_are_reported():
    text = ("type YN = {no, yes}\nmodel m {\n  S : YN ~ [0.5, 0.6]\n"
            "  T : YN ~ table(Ss) { no: [1, 0], yes: [0, 1] }\n  D : Dose ~ [1.0]\n}")
    with pytest.raises(SourceError) as e:
        parse(text)
    assert [d.span.line for d in e.value.diagnostics] == [3, 4, 5]


def test_usage_errors_and_missing_files(tmp_path, capsys):
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["check", str(tmp_path / "nope.causal")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_check_does_not_import_jax():
    code = ("import sys\nfrom causaldsl.app.cli import main\n"
            f"assert main(['check', {str(ROOT / 'examples' / 'smoking.causal')!r}]) == 0\n"
            "assert 'jax' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_the_command_line_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "causaldsl.app.cli", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("causal ")


# -- fuzzing: random text and mutations of the examples never crash the checker -------------

SOURCES = [p.read_text() for p in EXAMPLES]


@st.composite
def mutated(draw):
    src = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, max(len(src) - 1, 0)))
        op = draw(st.sampled_from(["delete", "insert", "replace"]))
        ch = draw(st.sampled_from(list("{}()[],:=~;-><|#\"0123456789 abcXYZ\n⊗@")))
        src = (src[:i] + src[i + 1:] if op == "delete" else src[:i] + ch + src[i:]
               if op == "insert" else src[:i] + ch + src[i + 1:])
    return src


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated(), st.text(max_size=200)))
def test_check_never_crashes(tmp_path_factory, text):
    d = tmp_path_factory.mktemp("fuzz")
    f = d / "fuzz.causal"
    f.write_text(text, encoding="utf-8")
    before = sorted(p.name for p in d.iterdir())
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["check", str(f)])
    assert code in (0, 1), err.getvalue()
    if code == 1:
        assert f"{f}:" in err.getvalue() and "Traceback" not in err.getvalue()
    assert sorted(p.name for p in d.iterdir()) == before  # nothing written


def test_every_causal_block_of_the_reference_parses():
    text = (ROOT / "docs" / "language.md").read_text()
    blocks = [b.split("\n", 1)[1] for b in text.split("```")[1::2] if b.startswith("causal\n")]
    assert len(blocks) >= 7
    for b in blocks:
        parse(b)


def test_paper_example_from_a_file_without_tables(capsys):
    """JKZ's example: the joint over (S, T, C) and the graph S → T → C, S ↔ C; P(C | do(S)) by
    comb disintegration and by ID agree, and equal the formula computed here by hand:
    P(c | do(s)) = Σ_t P(t|s) Σ_s' P(s') P(c|s',t)."""
    assert main(["run", "--json", str(ROOT / "examples" / "frontdoor.causal")]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    by_fd, by_id, point = out
    assert by_fd["method"] == "comb" and by_id["method"] == "id"
    assert by_fd["estimand"] == by_id["estimand"]
    p = np.array([0.5, 0.1, 0.01, 0.02, 0.1, 0.05, 0.02, 0.2]).reshape(2, 2, 2)  # S, T, C
    ps = p.sum(axis=(1, 2))
    pt_s = p.sum(axis=2) / ps[:, None]
    pc_st = p / p.sum(axis=2, keepdims=True)
    want = np.einsum("st,r,rtc->sc", pt_s, ps, pc_st)  # rows do(S = no, yes), columns C
    for res in (by_fd, by_id):
        got = np.array([r["p"] for r in res["answer"]["table"]]).reshape(2, 2)
        np.testing.assert_allclose(got, want, atol=1e-12)
    assert point["identified_by"] == "frontdoor"
    np.testing.assert_allclose([r["p"] for r in point["table"]], want[1], atol=1e-12)
    # by hand, do(S = yes), C = yes: P(T=no|yes) = 0.15/0.35, P(T=yes|yes) = 0.2/0.35 ...
    assert want[1, 1] == pytest.approx(0.5422975, abs=1e-6)


def test_identify_command(tmp_path, capsys):
    f = ROOT / "examples" / "frontdoor.causal"
    assert main(["identify", str(f), "P(C | do(S))", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["identifiable"] and out["method"] == "frontdoor"
    assert out["estimand"] == "Σ_t P(t|s) Σ_s' P(s') P(c|s',t)"
    bow = tmp_path / "bow.causal"
    bow.write_text("graph bow { X -> Y  X <-> Y }\n")
    assert main(["identify", str(bow), "P(Y | do(X))"]) == 0
    assert "not identifiable" in capsys.readouterr().out
    assert main(["identify", str(f), "P(C | do(S))", "--method", "comb"]) == 0
    assert "(by comb)" in capsys.readouterr().out
    assert main(["identify", str(ROOT / "examples" / "napkin.causal"), "P(Y | do(X))",
                 "--method", "comb"]) == 1
    assert "does not have the comb shape" in capsys.readouterr().err
    assert main(["identify", str(f), "P(H | do(S))"]) == 1
    assert "not a variable" in capsys.readouterr().err
    prec = tmp_path / "precision.causal"
    prec.write_text("graph g { U -> X  W -> X  X -> M -> Y  W -> Y  V -> Y }\n"
                    "identify P(Y | do(X)) in g by adjustment\n")
    assert main(["identify", str(prec), "P(Y | do(X))", "--method", "adjustment", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "adjustment" and out["estimand"] == "Σ_{w,v} P(y|x,w,v) P(w,v)"
    assert main(["run", str(prec)]) == 0
    assert "Σ_{w,v} P(y|x,w,v) P(w,v)" in capsys.readouterr().out


def test_observed_from_csv_samples_and_probability_column(tmp_path):
    (tmp_path / "samples.csv").write_text("S,T\nyes,no\nyes,yes\nno,no\nyes,no\n")
    (tmp_path / "table.csv").write_text("S,T,P\nno,no,0.1\nno,yes,0.2\nyes,no,0.3\nyes,yes,0.4\n")
    (tmp_path / "g.causal").write_text(
        'type YN = {no, yes}\ngraph g {\n  S : YN\n  T : YN\n  S -> T\n}\n'
        'observed P(S, T) in g from "samples.csv"\nobserved P(S, T) in g from "table.csv"\n')
    prog = load(tmp_path / "g.causal")
    samples, table = prog.observations["g"]
    # 4 samples: (yes, no) twice, (yes, yes) once, (no, no) once
    np.testing.assert_allclose(samples.probs, [[0.25, 0.0], [0.5, 0.25]])
    np.testing.assert_allclose(table.probs, [[0.1, 0.2], [0.3, 0.4]])
    (tmp_path / "bad.causal").write_text(
        'type YN = {no, yes}\ngraph g {\n  S : YN\n}\nobserved P(S) in g from "missing.csv"\n')
    with pytest.raises(SourceError, match=r"cannot read 'missing\.csv'"):
        load(tmp_path / "bad.causal")


def test_import_brings_definitions_and_cycles_are_errors(tmp_path):
    (tmp_path / "types.causal").write_text("type YN = {no, yes}\n")
    (tmp_path / "main.causal").write_text(
        'import "types.causal"\nmodel m {\n  A : YN ~ [0.25, 0.75]\n}\nquery P(A = yes)\n')
    prog = load(tmp_path / "main.causal")
    assert prog["m"].query("P(A = yes)") == pytest.approx(0.75)
    (tmp_path / "ask.causal").write_text('import "main.causal"\nquery P(A = no)\n')
    assert load(tmp_path / "ask.causal").statements[0][1] == "m"  # a bare query asks the import
    (tmp_path / "a.causal").write_text('import "b.causal"\n')
    (tmp_path / "b.causal").write_text('import "a.causal"\n')
    with pytest.raises(SourceError, match="import cycle"):
        load(tmp_path / "a.causal")


def test_observed_probabilities_within_the_tolerance_are_renormalised():
    """Observed data, like a table, may sum to one within 1e-6; it is divided by its sum."""
    prog = parse("type YN = {no, yes}\ngraph g {\n  X : YN\n  Y : YN\n  X -> Y\n}\n"
                 "observed P(X, Y) in g = [0.1, 0.2, 0.3, 0.4000001]\n")
    (obs,) = prog.observations["g"]
    assert abs(obs.probs.sum() - 1.0) < 1e-15
    assert obs.probs[1, 1] == pytest.approx(0.4000001 / 1.0000001, abs=1e-15)
    with pytest.raises(SourceError, match=r"observed probabilities sum to 1.000002, not 1"):
        parse("graph g {\n  A : Bool\n}\nobserved P(A) in g = [0.5, 0.500002]\n")


def test_a_file_imported_along_two_paths_is_read_once_and_does_not_clash(tmp_path):
    (tmp_path / "d.causal").write_text(
        "type YN = {no, yes}\ngraph g {\n  X : YN\n  Y : YN\n  X -> Y\n}\n"
        "observed P(X, Y) in g = [0.1, 0.2, 0.3, 0.4]\n")
    (tmp_path / "b.causal").write_text('import "d.causal"\nmodel mb {\n  A : YN ~ [0.5, 0.5]\n}\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.causal").write_text(
        'import "../d.causal"\nmodel mc {\n  B : YN ~ [0.25, 0.75]\n}\n')
    (tmp_path / "a.causal").write_text('import "b.causal"\nimport "sub/c.causal"\n'
                                       'import "./d.causal"\nquery P(A = yes) in mb\n')
    prog = load(tmp_path / "a.causal")
    assert list(prog.types) == ["YN"] and set(prog.models) == {"g", "mb", "mc"}
    assert prog.models["mb"].variables["A"].type is prog.models["mc"].variables["B"].type
    assert len(prog.observations["g"]) == 1  # not once per path
    assert answer(prog, prog.statements[0][0].query, "mb")[0] == pytest.approx(0.5)
    # distinct definitions of one name in two files still clash
    (tmp_path / "e.causal").write_text("type YN = {no, yes}\n")
    (tmp_path / "clash.causal").write_text('import "d.causal"\nimport "e.causal"\n')
    with pytest.raises(SourceError, match="type YN is defined twice"):
        load(tmp_path / "clash.causal")
    (tmp_path / "local.causal").write_text('import "d.causal"\ntype YN = {no, yes}\n')
    with pytest.raises(SourceError, match="type YN is defined twice"):
        load(tmp_path / "local.causal")


def test_the_repl_loads_a_file_twice_and_files_that_share_an_import(tmp_path):
    import io

    from causaldsl.app.repl import Session

    (tmp_path / "d.causal").write_text("type YN = {no, yes}\n")
    (tmp_path / "b.causal").write_text('import "d.causal"\nmodel mb {\n  A : YN ~ [0.5, 0.5]\n}\n'
                                       "query P(A = yes)\n")
    out, err = io.StringIO(), io.StringIO()
    s = Session(out, err)
    for f in ("d.causal", "d.causal", "b.causal", "b.causal"):
        s.load(str(tmp_path / f))
    assert err.getvalue() == "" and list(s.program.models) == ["mb"]
    assert out.getvalue().count("P(A = yes)") == 2  # answered at each :load
    s.define("type YN = {no, yes}")  # typed here: a definition of its own
    assert "type YN is defined twice" in err.getvalue()


def test_a_file_that_is_not_utf8_is_named_where_it_is_imported(tmp_path, capsys):
    import io

    from causaldsl.app.repl import Session

    (tmp_path / "latin.causal").write_bytes(b"type Z = {a, b}\n# caf\xe9\n")
    (tmp_path / "main.causal").write_text('import "latin.causal"\n')
    (tmp_path / "odd.causal").write_bytes(b'import "a\x00b"\nimport "nope.causal"\n')
    assert main(["check", str(tmp_path / "main.causal"), str(tmp_path / "latin.causal"),
                 str(tmp_path / "odd.causal")]) == 1
    err = capsys.readouterr().err
    assert err.count(f"{tmp_path / 'latin.causal'}:2:6: error: the file is not UTF-8 text "
                     "(byte 0xe9 here)") == 2
    assert "cannot import 'a\\x00b': embedded null byte" in err
    assert "cannot import 'nope.causal': no such file" in err and "Traceback" not in err
    assert main(["fmt", str(tmp_path / "latin.causal")]) == 1
    assert f"{tmp_path / 'latin.causal'}:2:6: error: the file is not UTF-8" in capsys.readouterr().err
    out, err = io.StringIO(), io.StringIO()
    s = Session(out, err)
    s.load(str(tmp_path / "main.causal"))
    s.load(str(tmp_path / "latin.causal"))
    assert err.getvalue().count("latin.causal:2:6: error: the file is not UTF-8 text") == 2
    assert s.program is None  # nothing was defined


def test_a_program_without_a_model_says_so_when_asked(tmp_path):
    from causaldsl.core.errors import CausalError

    f = tmp_path / "types.causal"
    f.write_text("type YN = {no, yes}\n")
    prog = load(f)
    for ask in (lambda: answer(prog, "P(A)"), lambda: prog.model, lambda: prog.target()):
        with pytest.raises(CausalError, match=f"no model in {f}"):
            ask()
    prog = parse("model coin {\n  A : Bool ~ [0.5, 0.5]\n}\n")
    with pytest.raises(CausalError, match="no model or graph named 'cion' in <string>; did you "
                                          "mean 'coin'"):
        answer(prog, "P(A)", "cion")
    assert prog.target() == "coin" and answer(prog, "P(A = true)") == (0.5, None)


def test_every_syntax_error_is_reported():
    text = "model m {\n  S : Bool ~ Bernoulli(0.5\n}\ntype T = {a b}\nquery P(S\n"
    with pytest.raises(SourceError) as e:
        parse(text)
    assert [(d.span.line, d.span.column) for d in e.value.diagnostics] == [(3, 1), (4, 13), (5, 10)]
    assert "unexpected end of file" in e.value.diagnostics[-1].message
