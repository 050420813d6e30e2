"""The ``causal`` command on long and deeply nested input (issue 17, item 2): each of these was a
RecursionError, exit 3. Now each is answered (with the right number where there is one) or is a
located error, exit 1, within a time limit, and ``causal fmt`` round-trips it.

The commands run in this process (``main``) under a deadline (the ``within`` fixture), so a hang
fails the test instead of hanging the run; one test runs the command as a process, with a
timeout, as a person would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from causaldsl.app.cli import main

DEADLINE = 60  # seconds for one command here: each takes a few


@pytest.fixture
def causal(capsys, within, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """``causal(*args)``: run the command in ``tmp_path`` under the deadline; returns
    (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        with within(DEADLINE):
            code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def ok(result: tuple[int, str, str]) -> str:
    code, out, err = result
    assert code == 0, err[-3000:]
    assert "Traceback" not in err and "internal error" not in err
    return out


def refused(result: tuple[int, str, str]) -> str:
    code, _, err = result
    assert code == 1, (code, err[-3000:])
    assert "Traceback" not in err and "internal error" not in err, err[-3000:]
    return err


def chain(op: str, item: str, n: int) -> str:
    return f" {op} ".join([item] * n)


def model(body: str, query: str) -> str:
    return f"type T = {{a, b, c}}\nmodel m {{\n  A : T ~ [0.3, 0.5, 0.2]\n  {body}\n}}\nquery {query}\n"


def fmt_round_trip(causal, f: str, answer: str | None) -> None:  # type: ignore[no-untyped-def]
    """``causal fmt`` rewrites the file (or leaves it) without error; the result is canonical
    (``fmt --check`` agrees) and means the same: ``causal run`` gives the same answer."""
    ok(causal("fmt", f))
    ok(causal("fmt", "--check", f))
    if answer is not None:
        assert answer in ok(causal("run", f))
    else:
        ok(causal("check", f))


# -- flat chains: answered, with the right number -------------------------------------------------

N_SUM = 2000  # 500 terms was a RecursionError
N_MINUS = 501  # an odd number of minus signs: -1
N_IF = 1000
N_TERMS = 1000

CASES = {
    # a sum of 2000 ones, on the exact route (a finite type) and on the sampling route (Real)
    "sum_exact": (model(f"Y : Bool := {chain('+', '1', N_SUM)} == {N_SUM}", "P(Y = true)"),
                  "= 1\n"),
    "sum_real": (model(f"X : Real := {chain('+', '1', N_SUM)}", "E[X]"), f"= {N_SUM} "),
    "minus_signs": (model(f"X : {{-1, 1}} := {'-' * N_MINUS}1", "P(X = -1)"), "= 1\n"),
    "product": (model(f"X : Real := {chain('*', '1', N_SUM)} * 3", "E[X]"), "= 3 "),
    "nested_if": (model("X : {0, 1} := " + "if A != c then " * N_IF + "1" + " else 0" * N_IF,
                        "P(X = 1)"), "= 0.8\n"),
    "else_if_chain": (model("Y : T := " + "if A == a then b else " * N_IF + "c", "P(Y = b)"),
                      "= 0.3\n"),
    "nested_parentheses": (model("X : Real := " + "(" * N_IF + "1 + 1" + ")" * N_IF, "E[X]"),
                           "= 2 "),
    "nested_calls": (model("X : Real := " + "abs(" * N_IF + "-2" + ")" * N_IF, "E[X]"), "= 2 "),
    # a difference of 1000 terms: 0.3 - 999 * 0.3 = -299.4 (exact)
    "difference_of_queries": (model("", chain("-", "P(A = a)", N_TERMS)), "= -299.4\n"),
    "sum_of_expectations": (model("X : {0, 1, 2} := if A == a then 2 else 0",
                                  chain("+", "E[X]", N_TERMS)), "= 600\n"),
}


def write(name: str, text: str) -> str:
    """Write a file in the current folder (the test's tmp_path); returns its name."""
    Path(name).write_text(text, encoding="utf-8")
    return name


@pytest.mark.parametrize("name", list(CASES))
def test_long_chains_are_answered(causal, name):
    text, answer = CASES[name]
    f = write(f"{name}.causal", text)
    assert f"{f}: ok (1 model, 1 query)" in ok(causal("check", f))
    assert answer in ok(causal("run", f))
    fmt_round_trip(causal, f, answer)


@pytest.mark.parametrize("op", [";", "⊗", ">>", "@"])
def test_a_diagram_of_thousands_of_boxes(causal, op):
    f = write("chain.causal",
              f"type T = {{t0, t1}}\nbox a : T -> T\ndiagram d = {chain(op, 'a', 3000)}\n")
    assert "chain.causal: ok (1 diagram)" in ok(causal("check", f))
    fmt_round_trip(causal, f, None)


def test_a_long_diagram_chain_that_does_not_compose_is_a_located_error(causal):
    f = write("chain.causal", "type T = {t0, t1}\nbox a : T -> T\nbox b : T ⊗ T -> T\n"
              f"diagram d = {chain(';', 'a', 1000)} ; b ; a\n")
    err = refused(causal("check", f))
    assert "chain.causal:4:13: error: cannot compose T with T ⊗ T" in err


# -- imports -------------------------------------------------------------------------------------

def import_chain(n: int, last: str = "") -> str:
    """f0 imports f1, …, f{n-1}, each defining a type; the last imports ``last`` if given."""
    for i in range(n):
        nxt = f"f{i + 1}.causal" if i + 1 < n else last
        head = f'import "{nxt}"\n' if nxt else ""
        write(f"f{i}.causal", f"{head}type T{i} = {{a, b}}\n")
    return "f0.causal"


def test_an_import_chain_of_1500_files(causal):
    f = import_chain(1500)
    main_file = write("main.causal", 'import "f0.causal"\n\nmodel m {\n  X : T1499 ~ [0.25, 0.75]\n'
                      "}\n\nquery P(X = b)\n")
    assert "f0.causal: ok" in ok(causal("check", f))
    assert "= 0.75" in ok(causal("run", main_file))
    ok(causal("fmt", "--check", f, "f1499.causal", main_file))


def test_an_import_chain_that_ends_in_a_missing_file_or_a_cycle(causal):
    f = import_chain(1500, last="missing.causal")
    err = refused(causal("check", f))
    assert "f1499.causal:1:1: error: cannot import 'missing.causal': no such file" in err
    import_chain(1500, last="f0.causal")
    err = refused(causal("check", f))
    assert ("f1499.causal:1:1: error: cannot import 'f0.causal': import cycle: f0.causal → "
            "f1.causal → f2.causal") in err
    assert "f1499.causal → f0.causal\n" in err


def test_as_a_process_with_a_timeout(tmp_path):
    """The command as a person runs it, in a process of its own: the Python stack of a real
    ``causal`` process, and a timeout that fails rather than hangs."""
    (tmp_path / "sum.causal").write_text(CASES["sum_real"][0], encoding="utf-8")
    (tmp_path / "difference.causal").write_text(CASES["difference_of_queries"][0], encoding="utf-8")
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    run = subprocess.run([sys.executable, "-m", "causaldsl.app.cli", "run", "sum.causal",
                          "difference.causal"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert f"= {N_SUM} " in run.stdout and "= -299.4\n" in run.stdout


# -- genuinely nested: a located error past the limit, and only there ---------------------------

def test_nested_lists_are_a_located_error(causal):
    deep = "[" * 1000 + "0.5" + "]" * 1000
    f = write("lists.causal",
              f"model m {{\n  X : {{a, b}} ~ Categorical({deep})\n  Y : Real := {deep}\n}}\n")
    err = refused(causal("check", f))
    assert "lists.causal:2:16: error: Categorical needs 2 probabilities for X : {a, b}, got 1" in err
    assert "lists.causal:3:15: error: a list [...] can only be the probabilities of Categorical" in err
    ok(causal("fmt", "--check", f))  # it parses: fmt has no complaint


def worlds(depth: int) -> str:
    """A query whose potential outcomes nest ``depth`` worlds deep (it is always a)."""
    inner = "B[A = " * depth + "a" + "]" * depth
    return ("type T = {a, b}\nmodel m {\n  exogenous U : T ~ [0.4, 0.6]\n  A : T ~ [0.3, 0.7]\n"
            f"  B : T := if A == U then a else b\n}}\nquery P({inner} = a)\n")


def test_potential_outcomes_nest_up_to_the_documented_depth(causal):
    f = write("worlds.causal", worlds(32))
    assert "= 1\n" in ok(causal("run", f))
    fmt_round_trip(causal, f, "= 1\n")


@pytest.mark.parametrize("depth", [33, 3000])
def test_potential_outcomes_nested_deeper_are_a_located_error(causal, depth):
    f = write("worlds.causal", worlds(depth))
    column = 9 + 6 * (depth - 33)  # the 33rd potential outcome from the inside
    message = (f"worlds.causal:7:{column}: error: B[…] nests worlds 33 deep; potential outcomes "
               "may nest at most 32 deep")
    for command in ("check", "run", "fmt"):
        assert message in refused(causal(command, f))
    write(f, worlds(2))
    query = "P(" + "B[A = " * depth + "a" + "]" * depth + " = a)"
    err = refused(causal("query", f, query))
    assert "query:1:" in err and "potential outcomes may nest at most 32 deep" in err


def test_check_counts_each_kind_of_statement(capsys):
    """An estimate or identify statement is counted as what it is, not as a query."""
    root = Path(__file__).resolve().parents[2] / "examples"
    assert main(["check", str(root / "frontdoor.causal"), str(root / "spector.causal")]) == 0
    out = capsys.readouterr().out
    assert "frontdoor.causal: ok (1 graph, 1 query, 2 identifications)" in out
    assert "spector.causal: ok (1 graph, 1 estimate)" in out
