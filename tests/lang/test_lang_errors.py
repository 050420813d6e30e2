"""Bad .causal input found by review: each is a located error at load time (`causal check`
reports it, `causal run` the same), never a traceback and never a silent wrong answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from causaldsl.app.answer import answer
from causaldsl.app.cli import main
from causaldsl.ir.expr import ARITY, FUNCTIONS
from causaldsl.lang.loader import parse
from causaldsl.syntax.diagnostics import SourceError


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


# -- expressions are type-checked at load ------------------------------------------------------

YN_MODEL = "type YN = {{no, yes}}\nmodel m {{\n  X : YN ~ Uniform()\n  R : Real ~ Normal(0, 1)\n" \
           "  {line}\n}}\nquery P(X)\n"


@pytest.mark.parametrize("line,where,message", [
    # a finite model: NumPy's DTypePromotionError was a traceback
    ("Y : {0, 1} := if X == yes then 1 else no", "5:17",
     "if … then … else chooses between a label and a number; both branches must be labels of "
     "one type, or both numbers"),
    ("Y : YN := if X == yes then no else 0", "5:13",
     "if … then … else chooses between a label and a number"),
    # a sampled one: the error surfaced only when a query ran
    ("Y : YN := if R > 0 then 1 else no", "5:13",
     "if … then … else chooses between a label and a number"),
    ("Y : Real := if R > 0 then X else 0", "5:15",
     "if … then … else chooses between a label and a number"),
    ("Y : {a, b} := if X == yes then a else X", "5:17",
     "if … then … else chooses between a value of YN = {no, yes} and a, which is not one of "
     "its values"),
    ("Y : Real := 2 * X + 1", "5:19", "a label is not a number here"),
    ("Y : {0, 1} := X + 1", "5:17", "a label is not a number here"),
    ("Y : Real := if R then 1 else 0", "5:18", "expected true or false here, not a number"),
    ("Y : Bool := R and true", "5:15", "expected true or false here, not a number"),
    ("Y : Bool := not X", "5:19", "expected true or false here, not a value of YN = {no, yes}"),
    ("Y : Bool := X == 1", "5:15",
     "== compares a value of YN = {no, yes} with a number, which can never be equal"),
    ("Y : Bool := X != maybe", "5:15",
     "!= compares a value of YN = {no, yes} with maybe, which is not one of its values"),
    ("Y : Bool := [X, 1] == X", "5:15", "a list [...] can only be the probabilities of Categorical"),
    ("Y : Real := [R, 1]", "5:15", "a list [...] can only be the probabilities of Categorical"),
])
def test_expressions_are_type_checked_at_load(tmp_path, capsys, line, where, message):
    text = YN_MODEL.format(line=line)
    if "maybe" in line:
        text = "type Maybe = {maybe}\n" + text
        where = f"{int(where.split(':')[0]) + 1}:{where.split(':')[1]}"
    check_fails(tmp_path, capsys, text, where, message)


def test_well_typed_expressions_still_load():
    prog = parse("type YN = {no, yes}\nmodel m {\n  X : YN ~ Uniform()\n  B : Bool ~ [0.5, 0.5]\n"
                 "  Y : {0, 1, 2} := if X == yes then 1 + B else 0\n"
                 "  Z : YN := if B then X else no\n  W : Bool := (if B then yes else no) == X\n}\n")
    m = prog["m"]
    assert m.query("P(Y = 2)") == pytest.approx(0.25)
    assert m.query("P(Z = yes)") == pytest.approx(0.25)
    assert m.query("P(W = true)") == pytest.approx(0.5)


# -- sampling mechanisms are type-checked at load, like the exact ones -------------------------

@pytest.mark.parametrize("line,where,message", [
    ("Y : Real ~ Normal(X, 1)", "5:21", "a parameter of Normal is a number, not a value of "
                                        "YN = {no, yes}"),
    ("Y : Real ~ Normal(0, yes)", "5:24", "a parameter of Normal is a number, not the label yes"),
    ("Y : Real ~ Normal(sigmoid(X), 1)", "5:29", "a label is not a number here"),
    ("Y : Real ~ Normal(if X == yes then 1 else no, 1)", "5:21",
     "if … then … else chooses between a label and a number"),
    ("Y : Real ~ Exponential()", "5:14", "Exponential takes 1 argument, got 0"),
    ("Y : Real ~ Normal(0, 1, 2)", "5:14", "Normal takes 2 arguments, got 3"),
    ("Y : YN ~ Bernoulli(sigmoid(R), 1)", "5:12",
     "Bernoulli(p) takes one probability and needs a type with two values; Y has type "
     "YN = {no, yes}"),
    ("Y : {a, b, c} ~ Bernoulli(sigmoid(R))", "5:19", "Bernoulli(p) takes one probability and "
                                                      "needs a type with two values"),
    ("Y : YN ~ Categorical([sigmoid(R), 0.5, 0.5])", "5:12",
     "Categorical needs 2 probabilities for Y : YN = {no, yes}, got 3"),
    ("Y : YN ~ Bernoulli(if R > 0 then X else 0.5)", "5:22",
     "if … then … else chooses between a label and a number"),
    ("Y : YN := R > 0", "5:13", "Y := … gives true or false, which is not a value of "
                                "YN = {no, yes}"),
    ("Y : {0, 1} := R > 0", "5:17", "Y := … gives true or false, which is not a value of {0, 1}"),
    ("Y : Bool := round(R)", "5:15", "Y := … gives a number, which is not a value of Bool"),
    ("Y : Real := if R > 0 then X else X", "5:15",
     "Y := … gives a value of YN = {no, yes}, but Y : Real is a number"),
    ("Y : {a, b} := if R > 0 then X else X", "5:17", "Y := … can give no, which is not a value "
                                                     "of {a, b}"),
    # the distribution's name is checked against the type before its parameters
    ("Y : YN ~ Normal(if X then 1 else 0, 1)", "5:12", "Normal is a continuous distribution, but "
     "Y has the finite type YN; use Bernoulli, Categorical or Uniform()"),
    ("Y : YN ~ Normal(R, 1)", "5:12", "Normal is a continuous distribution, but Y has the finite "
                                      "type YN; use Bernoulli, Categorical or Uniform()"),
    ("Y : YN ~ Uniform(0, 1)", "5:12", "Uniform is a continuous distribution, but Y has the "
                                       "finite type YN"),
    ("Y : Real ~ Bernoulli(0.5)", "5:14", "Bernoulli is not a continuous distribution"),
    # a table's value is shown as written
    ("Y : {0, 1} := X == yes", "5:17", "Y := … gives false at X = no, which is not a value of "
                                       "{0, 1}"),
])
def test_sampling_mechanisms_are_type_checked_at_load(tmp_path, capsys, line, where, message):
    check_fails(tmp_path, capsys, YN_MODEL.format(line=line), where, message)


def test_sampling_mechanisms_that_type_check_still_sample():
    prog = parse("type YN = {no, yes}\nmodel m {\n  X : YN ~ Uniform()\n  B : Bool ~ [0.5, 0.5]\n"
                 "  R : Real ~ Normal(0, 1)\n  Y : {no, yes, maybe} := if R > 0 then X else X\n"
                 "  Z : Real := -B + R\n  N : Real ~ Normal(if X == yes then 1 else 0, 1)\n}\n")
    m = prog["m"]
    y = m.query("P(Y = yes)", samples=4000)
    assert abs(float(y) - 0.5) < 4 * y.se and m.query("P(Y = maybe)", samples=500) == 0
    z = m.query("E[Z]", samples=4000)
    assert abs(float(z) + 0.5) < 4 * z.se


# -- observed data from a CSV file -------------------------------------------------------------

CSV_GRAPH = ('type YN = {no, yes}\ngraph g {\n  S : YN\n  T : YN\n  S -> T\n}\n'
             'observed P(S, T) in g from "data.csv"\nquery P(T | do(S = yes))\n')


@pytest.mark.parametrize("data,message", [
    ("S,T\nyes,no\nyes\nno,no\n",  # a short row: was AttributeError on None
     "cannot read 'data.csv': line 3 has 1 value, but the header names 2 columns (S, T)"),
    ("S,T\nyes,no,no\n", "cannot read 'data.csv': line 2 has 3 values, but the header names 2 "
                         "columns (S, T)"),
    ("S,T,P\nno,no,0.5\nno,yes,abc\nyes,no,0.25\nyes,yes,0.25\n",
     "cannot read 'data.csv': line 3: P is 'abc', not a number"),
    ("S,T,P\nno,no,nan\nno,yes,0.5\nyes,no,0.25\nyes,yes,0.25\n",
     "cannot read 'data.csv': line 2: P is 'nan', not a number"),
    ("S,T\nyes,no\n\nyes,maybe\n", "cannot read 'data.csv': line 4: 'maybe' is not a value"),
    ("S,T\n", "cannot read 'data.csv': the file has no rows"),
    ("", "cannot read 'data.csv': the file has no rows"),
    ("S,U\nyes,no\n", "cannot read 'data.csv': no column 'T'; its columns are S, U"),
    # issue 17: float() reads 0.1_25 as 0.125; a column named twice was read as its last copy
    ("S,T,P\nno,no,0.1_25\nno,yes,0.375\nyes,no,0.25\nyes,yes,0.25\n",
     "cannot read 'data.csv': line 2: P is '0.1_25', not a number"),
    ("S,T,P\nno,no,1_0\n", "cannot read 'data.csv': line 2: P is '1_0', not a number"),
    ("S,T,P\nno,no,infinity\n", "cannot read 'data.csv': line 2: P is 'infinity', not a number"),
    ("S,T,S\nyes,no,no\n", "cannot read 'data.csv': line 1: the header names column 'S' twice"),
    ("S,T,P,P\nno,no,0.5,0.5\n",
     "cannot read 'data.csv': line 1: the header names column 'P' twice"),
])
def test_a_bad_csv_row_is_named_by_its_line(tmp_path, capsys, data, message):
    (tmp_path / "data.csv").write_text(data, encoding="utf-8")
    check_fails(tmp_path, capsys, CSV_GRAPH, "7:1", message)


def test_a_csv_that_is_not_utf8_is_named_by_its_line(tmp_path, capsys):
    """A latin-1 file: the line and column of the first byte that is not UTF-8 (was a byte
    position in the decoder's buffer)."""
    rows = "".join("yes,no\n" for _ in range(5000)) + "yes,caf\xe9\n"
    (tmp_path / "data.csv").write_bytes(("S,T\n" + rows).encode("latin-1"))
    check_fails(tmp_path, capsys, CSV_GRAPH, "7:1", "cannot read 'data.csv': line 5002, column "
                                                   "8: the byte 0xe9 is not UTF-8; save the "
                                                   "file as UTF-8")


def test_csv_numbers_that_are_decimals_still_read(tmp_path):
    import numpy as np

    from causaldsl.lang.loader import load

    (tmp_path / "data.csv").write_text("S,T,P\nno,no, 0.125\nno,yes,+.375\nyes,no,2.5e-1\n"
                                       "yes,yes,25E-2\n")
    (tmp_path / "g.causal").write_text(CSV_GRAPH)
    (obs,) = load(tmp_path / "g.causal").observations["g"]
    np.testing.assert_allclose(obs.probs, [[0.125, 0.375], [0.25, 0.25]])


def test_a_csv_with_blank_lines_or_a_byte_order_mark_reads(tmp_path):
    import numpy as np

    from causaldsl.lang.loader import load

    tmp = tmp_path
    (tmp / "data.csv").write_bytes("\ufeffS,T\r\nyes,no\r\n\r\nno,no\r\n".encode())
    (tmp / "g.causal").write_text(CSV_GRAPH)
    (obs,) = load(tmp / "g.causal").observations["g"]
    np.testing.assert_allclose(obs.probs, [[0.5, 0.0], [0.5, 0.0]])


# -- causal check rejects the queries causal run rejects, with the same message ----------------

FINITE = ("type YN = {no, yes}\nmodel m {\n  S : YN ~ [0.6, 0.4]\n"
          "  C : YN ~ table(S) { no: [0.9, 0.1], yes: [0.3, 0.7] }\n  N : {0, 1} := 1\n}\n")
CONTINUOUS = ("type YN = {no, yes}\nmodel m {\n  exogenous U : Real ~ Normal(0, 1)\n"
              "  X : Real := U\n  C : YN ~ Bernoulli(sigmoid(X))\n  Y : Real ~ Normal(X, 1)\n}\n")
GRAPH = "type YN = {no, yes}\ngraph m {\n  S : YN\n  C : YN\n  S -> C\n}\n"


@pytest.mark.parametrize("model,query", [
    (FINITE, "E[C]"),                              # was accepted by check
    (FINITE, "E[C | do(S)]"),
    (FINITE, "E[N] + E[C]"),
    (FINITE, "P(C = yes) + P(S)"),                 # a sum of a number and a table
    (FINITE, "2 * P(C | S) - P(S = no)"),
    (FINITE, "-P(C)"),
    (FINITE, "E[N | do(S)] - E[N]"),
    (FINITE, "E[C[S = yes]]"),
    (FINITE, "P(C[S = yes]) + P(C = no)"),
    (CONTINUOUS, "P(Y)"),
    (CONTINUOUS, "P(Y = 0.5)"),
    (CONTINUOUS, "E[C]"),
    (CONTINUOUS, "E[Y | X]"),
    (CONTINUOUS, "P(C | do(X))"),
    (CONTINUOUS, "E[Y | do(C)] + P(C = yes)"),
    (CONTINUOUS, "E[C[X = 1]]"),
    (CONTINUOUS, "P(Y[X = 1])"),
    (CONTINUOUS, "P(C[X = 1] | X)"),
    (GRAPH, "E[C]"),
])
def test_check_rejects_what_run_rejects_with_the_same_message(tmp_path, capsys, model, query):
    from causaldsl import CausalError

    if model is GRAPH:  # with data, so that only the query is wrong
        model += "observed P(S, C) in m = [0.25, 0.25, 0.25, 0.25]\n"
    options = {"samples": 50} if model is CONTINUOUS else {}
    with pytest.raises(CausalError) as answered:  # what run met when it answered the query
        answer(parse(model), query, "m", **options)
    where = f"{model.count(chr(10)) + 1}:1"
    check_fails(tmp_path, capsys, model + f"query {query}\n", where, str(answered.value))


def test_a_query_of_a_graph_without_data_is_found_by_check(tmp_path, capsys):
    text = GRAPH + "query P(C | do(S = yes))\nidentify P(C | do(S)) in m\n"
    check_fails(tmp_path, capsys, text, "7:1", "m is a graph without mechanisms and without "
                                               "observed data; add `observed P(...) in m = "
                                               "[...]` to answer queries")
    # data given after the query is data all the same; identify needs none
    parse(text + "observed P(S, C) in m = [0.25, 0.25, 0.25, 0.25]\n")
    parse(GRAPH + "identify P(C | do(S)) in m\n")


def test_a_query_of_a_graph_that_is_not_identifiable_is_found_by_check(tmp_path, capsys):
    """The bow X -> Y, X <-> Y: P(Y | do(X)) has a hedge, so run refuses it; check did not."""
    bow = ("type YN = {no, yes}\ngraph bow {\n  X : YN\n  Y : YN\n  X -> Y\n  X <-> Y\n}\n"
           "observed P(X, Y) in bow = [0.1, 0.2, 0.3, 0.4]\n")
    check_fails(tmp_path, capsys, bow + "query P(Y | do(X = yes))\n", "9:1",
                "P(Y | do(X)) is not identifiable: the graph has a hedge for it")
    parse(bow + "identify P(Y | do(X)) in bow\n")  # identify says so as its answer
    parse(bow.replace("  X <-> Y\n", "") + "query P(Y | do(X = yes))\n")  # no hidden cause


def test_well_formed_queries_still_check(tmp_path, capsys):
    f = tmp_path / "ok.causal"
    f.write_text(FINITE + "query E[N | do(S)]\nquery E[N | S = yes] - E[N]\n"
                 "query P(C = yes | do(S = yes)) - P(C = yes | do(S = no))\nquery P(C | S)\n")
    assert main(["check", str(f)]) == 0 and main(["run", str(f)]) == 0


# -- integer labels with a sign ----------------------------------------------------------------

def test_a_label_with_a_plus_sign_is_a_number_like_any_integer_label():
    """``{-1, +1}`` is the numeric type {-1, 1}, as ``{0, 1}`` is {0, 1} (it was the mixed type
    of the number -1 and the name "+1": P(X = +1) was an error, E[X] refused)."""
    from causaldsl import FiniteType
    from causaldsl.lang.fmt import format_source

    text = ("type Sign = {-1, +1}\nmodel m {\n  X : Sign ~ [0.25, 0.75]\n"
            "  Y : Sign ~ table(X) { -1: [1, 0], +1: [0.5, 0.5] }\n"
            "  Z : {0, 1} := if X == +1 then 1 else 0\n}\n")
    prog = parse(text)
    assert prog.types["Sign"].values == (-1, 1) and prog.types["Sign"] == FiniteType([-1, 1])
    m = prog["m"]
    assert m.query("P(X = +1)") == m.query("P(X = 1)") == pytest.approx(0.75)
    assert m.query("E[X]") == pytest.approx(0.5)  # -0.25 + 0.75
    assert m.query("E[Y]") == pytest.approx(-0.25 + 0.75 * 0.0)  # Y = -1 w.p. 0.625, +1 0.375
    assert m.query("E[Z]") == pytest.approx(0.75)
    assert "type Sign = {-1, 1}" in format_source(text)
    with pytest.raises(SourceError, match="value 1 is listed twice"):
        parse("type T = {1, +1}\n")


# -- the bytes of a file -----------------------------------------------------------------------

SMALL = "type YN = {no, yes}\nmodel m {\n  A : YN ~ [0.25, 0.75]\n}\nquery P(A = yes)\n"


def test_a_byte_order_mark_is_no_part_of_the_source(tmp_path, capsys):
    f = tmp_path / "bom.causal"
    f.write_bytes(b"\xef\xbb\xbf" + SMALL.replace("\n", "\r\n").encode())  # as Notepad saves
    assert main(["check", str(f)]) == 0  # was: unexpected character '\ufeff' at 1:1
    assert main(["run", str(f), "--json"]) == 0
    assert '"value": 0.75' in capsys.readouterr().out
    assert parse("\ufeff" + SMALL)["m"].query("P(A = yes)") == pytest.approx(0.75)
    from causaldsl.lang.fmt import format_source

    assert main(["fmt", str(f)]) == 0  # the canonical form has none
    assert f.read_bytes() == format_source(SMALL).encode()


def test_a_file_that_is_not_utf8_is_an_error_at_its_byte(tmp_path, capsys):
    bad = tmp_path / "latin1.causal"
    bad.write_bytes(SMALL.replace("model m {", "model m {  # café").encode("latin-1"))
    message = f"{bad}:2:17: error: the file is not UTF-8 text (byte 0xe9 here); save it as UTF-8"
    for command in (["check"], ["run"], ["fmt", "--check"]):
        assert main([*command, str(bad)]) == 1
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    before = bad.read_bytes()
    assert main(["fmt", str(bad)]) == 1 and bad.read_bytes() == before  # nothing changed
    importer = tmp_path / "main.causal"
    importer.write_text('import "latin1.causal"\nquery P(A = yes) in m\n')
    assert main(["check", str(importer)]) == 1
    assert "latin1.causal:2:17: error: the file is not UTF-8 text" in capsys.readouterr().err
    with pytest.raises(SourceError, match="not UTF-8 text"):
        __import__("causaldsl").load(bad)


# -- syntax errors name what they expected, readably and in full -------------------------------

@pytest.mark.parametrize("text,where,expected", [
    ("graph g { A -> B }\nidentify P(B | do(A)) in g by cxmb\n", "2:31",
     "expected a method (backdoor, adjustment, frontdoor, comb, id)"),            # was METHOD
    ("model m {\n  - A : Bool ~ [0.5, 0.5]\n}\n", "2:3",
     "expected 'exogenous', 'latent', 'param', '}', a name"),                              # was ROLE
    ("type YN = {no, yes}\nbox f : YN -> YN\ndiagram d = f f\n", "3:15",
     "expected ';', '>>', '@', '⊗', end of file, a new statement (type, model, graph, …)"),
    ("model m {\n  Y : Real ~ Normal(1 2)\n}\n", "2:23",
     "expected ')', ',', an operator"),  # was cut at 8 of 14 names, half of them impossible
    ("model m {\n  Y : Real := if 1 > 2 then 1 else 2\n  Z : Real := (Y", "3:17",
     "expected '(', ')', an operator"),
])
def test_syntax_errors_name_what_they_expected_readably(text, where, expected):
    import re

    with pytest.raises(SourceError) as e:
        parse(text)
    first = str(e.value).splitlines()[0]
    assert first.startswith(f"<string>:{where}: error: ") and first.endswith(expected), first
    assert not re.search(r"\b[A-Z][A-Z_]+\b|__ANON", first), first  # no terminal's name


def test_expected_names_are_readable_for_every_terminal():
    import re

    from causaldsl.lang.parse import expected_names
    from causaldsl.syntax.grammars import parser

    for t in parser("causal.lark", "start").terminals:
        shown = ", ".join(expected_names([t.name]))
        assert not re.search(r"\b[A-Z][A-Z_]+\b|__", shown), (t.name, shown)


def test_query_syntax_errors_list_only_what_can_come_next():
    from causaldsl import QuerySyntaxError
    from causaldsl.syntax.query import parse_query

    for text, expected in (("P(C) + 2 * ", "expected 'E', '(', 'P'"),
                           ("P(C | do(S = yes)", "expected ',', ')'")):
        with pytest.raises(QuerySyntaxError) as e:
            parse_query(text)
        assert str(e.value).splitlines()[0].endswith(expected), str(e.value)


def test_a_table_too_large_to_make_is_refused_before_it_is_allocated(tmp_path: Path):
    """``Y := X`` over a type of 20,000 labels needs a 20,000 × 20,000 table (3.0 GiB of
    float64): refused at load with its size and the limit, under a 1 GiB address-space cap that
    the allocation would break (issue 17, item 4)."""
    import subprocess
    import sys

    labels = ", ".join(f"v{i}" for i in range(20_000))
    src = tmp_path / "big.causal"
    src.write_text(f"type Big = {{{labels}}}\nmodel m {{\n  X : Big := v0\n  Y : Big := X\n}}\n")
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
            "from causaldsl.app.cli import main\n"
            f"sys.exit(main(['check', {str(src)!r}]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert ("4:3: error: Y := … needs a table of 20,000 × 20,000 = 400,000,000 entries (3.0 GiB), "
            "above the limit of 268,435,456 entries (2.0 GiB)") in done.stderr
    assert "Traceback" not in done.stderr


# -- integers beyond what Python reads or a float holds (issue 17) -----------------------------

BIG = "1" * 4400  # more digits than Python's int() reads (4300)


@pytest.mark.parametrize("text,where", [
    (f"type T = {{0, {BIG}}}\nmodel m {{ X : T ~ [0.5, 0.5] }}\nquery P(X)\n", "1:14"),
    (f"type T = {{0, -{BIG}}}\n", "1:14"),
    (f"model m {{\n  X : {{a, {BIG}}} ~ [0.5, 0.5]\n}}\n", "2:11"),
    (f"type T = {{0, 1}}\nmodel m {{ X : T ~ [0.5, 0.5] }}\nquery P(X = {BIG})\n", "3:13"),
    (f"diagram d = copy(Bool, {BIG})\n", "1:24"),
])
def test_an_integer_longer_than_python_reads_is_a_located_error(tmp_path, capsys, text, where):
    err = check_fails(tmp_path, capsys, text, where, "the integer 11111111…1111 has 4400 "
                                                     "digits, more than the 4300 an integer "
                                                     "may have")
    assert "ValueError" not in err


def test_an_integer_of_4300_digits_is_still_a_label():
    label = "1" * 4300
    prog = parse(f"type T = {{0, {label}}}\nmodel m {{\n  X : T ~ [0.25, 0.75]\n}}\n")
    assert prog["m"].query(f"P(X = {label})") == pytest.approx(0.75)


ZEROS = "1" + "0" * 400  # an integer label beyond the floats (1e400)


@pytest.mark.parametrize("text,where", [
    (f"type T = {{0, {ZEROS}}}\nmodel m {{\n  X : T ~ [0.5, 0.5]\n}}\nquery E[X]\n", "5:1"),
    (f"type T = {{0, {ZEROS}}}\nmodel m {{\n  X : T ~ [0.5, 0.5]\n  Y : Bool := X > 1\n}}\n",
     "4:12"),
])
def test_an_integer_label_beyond_the_floats_is_no_number(tmp_path, capsys, text, where):
    check_fails(tmp_path, capsys, text, where, "the value 10000000…0000 (401 digits) of T is "
                                               "too large for a number (beyond ±1.8e+308)")


def test_an_integer_label_beyond_the_floats_is_still_a_label():
    prog = parse(f"type T = {{0, {ZEROS}}}\nmodel m {{\n  X : T ~ [0.25, 0.75]\n}}\n")
    assert prog["m"].query(f"P(X = {ZEROS})") == pytest.approx(0.75)


# -- an imported file that is no .causal file is not quoted (issue 17) --------------------------

SECRET = "hunter2:x:0:0:hunter2:/home:/bin/bash\nsecond line\n"


@pytest.mark.parametrize("name", ["secret.txt", "secret.causal"])
def test_an_imported_file_that_does_not_parse_is_located_but_not_quoted(tmp_path, capsys, name):
    (tmp_path / name).write_text(SECRET)
    f = tmp_path / "bad.causal"
    f.write_text(f'import "{name}"\nmodel m {{\n  X : {{a, b}} ~ [0.5, 0.5]\n}}\n')
    for command in ("check", "run"):
        assert main([command, str(f)]) == 1
        err = capsys.readouterr().err
        assert f"{tmp_path / name}:1:1: error: an imported file that does not parse as .causal; " \
               f"its text is not shown (causal check {tmp_path / name} shows it)" in err, err
        assert "hunter2" not in err and "second" not in err and "Traceback" not in err


def test_an_imported_file_with_several_syntax_errors_is_counted_not_quoted(tmp_path):
    (tmp_path / "two.causal").write_text("model a {\n  X : ~\n}\nmodel b {\n  Y : ~\n}\n")
    with pytest.raises(SourceError) as e:
        parse_file(tmp_path, 'import "two.causal"\n')
    assert "does not parse as .causal (2 syntax errors)" in str(e.value)
    assert "X : ~" not in str(e.value)


def test_an_imported_file_that_parses_is_still_quoted(tmp_path):
    (tmp_path / "sums.causal").write_text("model m {\n  X : {a, b} ~ [0.5, 0.6]\n}\n")
    with pytest.raises(SourceError) as e:
        parse_file(tmp_path, 'import "sums.causal"\n')
    assert "sums.causal:2:16: error: the table of variable X sums to 1.1" in str(e.value)
    assert " 2 |   X : {a, b} ~ [0.5, 0.6]" in str(e.value)


def test_a_file_checked_by_name_is_still_quoted(tmp_path, capsys):
    f = tmp_path / "secret.txt"
    f.write_text(SECRET)
    assert main(["check", str(f)]) == 1
    assert " 1 | hunter2:x:0:0" in capsys.readouterr().err  # the user named it: no leak


def parse_file(tmp_path: Path, text: str):
    from causaldsl.lang.loader import load

    (tmp_path / "main.causal").write_text(text)
    return load(tmp_path / "main.causal")


def test_numbers_are_written_in_ascii_digits(tmp_path: Path, capsys):
    """``\\d`` matched any script's digits, which Python's float() reads: ``-.০၉`` was a number
    that ``causal fmt`` rewrote into text its own ``--check`` refused (found by tools/fuzz.py)."""
    src = tmp_path / "u.causal"
    src.write_text("graph g { X -> Y }\nidentify P(Y = -.০၉ | do(X = ٣))\n", encoding="utf-8")
    assert main(["check", str(src)]) == 1
    assert "2:16: error: unexpected '-'; expected a \"quoted\" value, a name, a number" in \
        capsys.readouterr().err
    for text in ("model m { X : Real := ٣ }", "model m { X : Real := 1e٣ }"):
        src.write_text(text + "\n", encoding="utf-8")
        assert main(["check", str(src)]) == 1
        err = capsys.readouterr().err
        assert "error: unexpected character" in err and "Traceback" not in err
