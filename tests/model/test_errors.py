"""Every error the core raises, with its message: what went wrong, and where.

Each test checks the class and the text (``match=``), because a user acts on the message. The
last group checks that a failing build or query changes nothing. Known bugs are strict xfails
whose reason starts with ``BUG:``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from causaldsl import (
    Bool,
    Box,
    CausalError,
    CausalTypeError,
    CompositionError,
    CycleError,
    Diagram,
    DuplicateVariableError,
    FiniteType,
    LatentQueryError,
    MechanismError,
    ModelBuilder,
    Node,
    QueryError,
    QuerySyntaxError,
    Real,
    Table,
    TableError,
    UnknownVariableError,
    ZeroProbabilityError,
    cut,
    do,
    parse_query,
    program,
)
from causaldsl.model.causal_model import CausalModel, Variable

YesNo = FiniteType("YesNo", ["no", "yes"])
Level = FiniteType("Level", ["lo", "mid", "hi"])


def smoking_builder() -> ModelBuilder:
    m = ModelBuilder("smoking")
    m.latent("H", YesNo, [0.5, 0.5])
    m.observed("S", YesNo, given="H", table={"no": [0.8, 0.2], "yes": [0.3, 0.7]})
    m.observed("T", YesNo, given="S", table={"no": [0.9, 0.1], "yes": [0.2, 0.8]})
    m.observed("C", YesNo, given=("T", "H"), table={
        ("no", "no"): [0.9, 0.1], ("no", "yes"): [0.6, 0.4],
        ("yes", "no"): [0.7, 0.3], ("yes", "yes"): [0.2, 0.8]})
    return m


@pytest.fixture
def model() -> CausalModel:
    """A fresh model per test, so no compiled-query cache is shared between tests."""
    return smoking_builder().build()


def build_with(*declarations: tuple[str, object, object]) -> CausalModel:
    """Build a model with a root A : YesNo, a root L : Level, and the given declarations."""
    m = ModelBuilder("t")
    m.observed("A", YesNo, [0.5, 0.5])
    m.observed("L", Level, [0.2, 0.3, 0.5])
    for name, table, given in declarations:
        m.observed(name, YesNo, table, given=given)
    return m.build()


# -- tables ------------------------------------------------------------------------------------

def test_row_that_does_not_sum_to_one_names_the_row_and_by_how_much():
    with pytest.raises(TableError, match=re.escape(
            "row yes of variable B (given A) sums to 0.9, not 1 (off by -0.1)")):
        build_with(("B", {"no": [0.5, 0.5], "yes": [0.3, 0.6]}, "A"))


def test_row_of_two_parents_is_named_by_both_labels():
    table = np.full((2, 3, 2), 0.5)
    table[1, 2] = [0.5, 0.75]
    with pytest.raises(TableError, match=re.escape(
            "row (yes, hi) of variable B (given A, L) sums to 1.25, not 1 (off by +0.25)")):
        build_with(("B", table, ("A", "L")))


def test_root_table_that_does_not_sum_to_one():
    with pytest.raises(TableError, match=re.escape(
            "the table of variable B sums to 1.1, not 1 (off by +0.1)")):
        build_with(("B", [0.5, 0.6], ()))


def test_negative_entry_names_row_and_value():
    with pytest.raises(TableError, match=re.escape(
            "table of variable B (given A) has a negative entry -0.5 at row no, value yes")):
        build_with(("B", [[1.5, -0.5], [0.5, 0.5]], "A"))


def test_negative_entry_in_a_root_table():
    with pytest.raises(TableError, match=re.escape(
            "table of variable B has a negative entry -0.5 at value yes")):
        build_with(("B", [1.5, -0.5], ()))


def test_non_finite_entry():
    with pytest.raises(TableError, match="table of variable B has a non-finite entry nan at "
                                         "value yes"):
        build_with(("B", [0.5, float("nan")], ()))


def test_wrong_table_shape_is_checked_against_the_parent_types():
    with pytest.raises(TableError, match=re.escape(
            "table of variable B (given L) has shape (2, 2), but Level → YesNo needs shape "
            "(3, 2) (one row per value of Level, 2 entries per row)")):
        build_with(("B", [[0.5, 0.5], [0.5, 0.5]], "L"))


def test_wrong_table_shape_with_two_parents():
    with pytest.raises(TableError, match=re.escape(
            "has shape (2, 2, 2), but YesNo ⊗ Level → YesNo needs shape (2, 3, 2)")):
        build_with(("B", np.full((2, 2, 2), 0.5), ("A", "L")))


def test_row_of_the_wrong_length():
    with pytest.raises(TableError, match="a row of the table of variable B has 3 entries, but "
                                         "YesNo has 2 values"):
        build_with(("B", {"no": [0.5, 0.5], "yes": [0.2, 0.3, 0.5]}, "A"))


def test_table_dict_missing_a_row():
    with pytest.raises(TableError, match=re.escape("table of variable B has no row for A = yes")):
        build_with(("B", {"no": [0.5, 0.5]}, "A"))


def test_table_dict_missing_a_row_of_two_parents():
    rows = {(a, lvl): [0.5, 0.5] for a in YesNo for lvl in Level if (a, lvl) != ("no", "mid")}
    with pytest.raises(TableError, match=re.escape(
            "table of variable B has no row for A, L = (no, mid)")):
        build_with(("B", rows, ("A", "L")))


def test_label_not_in_the_type_in_a_table_key():
    with pytest.raises(TableError, match=re.escape(
            "table of variable B: row key 'maybe': 'maybe' is not a value of YesNo; its values "
            "are {no, yes}")):
        build_with(("B", {"no": [0.5, 0.5], "yes": [0.5, 0.5], "maybe": [0.5, 0.5]}, "A"))


def test_label_not_in_the_type_in_a_tuple_key():
    with pytest.raises(TableError, match=re.escape(
            "row key ('yes', 'top'): 'top' is not a value of Level")):
        build_with(("B", {("yes", "top"): [0.5, 0.5]}, ("A", "L")))


def test_label_not_in_the_type_in_a_row_dict():
    with pytest.raises(TableError, match=re.escape(
            "table of variable B: 'perhaps' is not a value of YesNo")):
        build_with(("B", {"no": [0.5, 0.5], "yes": {"yes": 0.5, "perhaps": 0.5}}, "A"))


def test_key_with_the_wrong_number_of_labels():
    with pytest.raises(TableError, match=re.escape(
            "table of variable B has row key ('no', 'lo'), but it has 1 parent")):
        build_with(("B", {("no", "lo"): [0.5, 0.5], "yes": [0.5, 0.5]}, "A"))


def test_table_that_is_not_numeric():
    with pytest.raises(TableError, match="table of variable B is not numeric"):
        build_with(("B", ["half", "half"], ()))


def test_table_on_a_real_variable():
    m = ModelBuilder("r")
    m.observed("X", YesNo, [0.5, 0.5])
    m.observed("Y", Real, [0.5, 0.5])
    with pytest.raises(TableError, match="variable Y has a table, but a table needs finite types"):
        m.build()


def test_box_checks_its_table():
    with pytest.raises(TableError, match=re.escape(
            "row yes of box f sums to 1.1, not 1 (off by +0.1)")):
        Box("f", (YesNo,), (YesNo,), Table([[0.5, 0.5], [0.5, 0.6]], 1))


def test_box_with_an_array_mechanism_is_converted_or_refused():
    bad = np.array([[0.5, 0.5], [0.5, 0.6]])
    with pytest.raises(CausalError, match=re.escape("sums to 1.1")):
        Box("f", (YesNo,), (YesNo,), bad)  # type: ignore[arg-type]


# -- structure ---------------------------------------------------------------------------------

def test_cycle_is_named_in_causal_order():
    m = ModelBuilder("loop")
    m.observed("B", YesNo, np.eye(2), given="A")
    m.observed("A", YesNo, np.eye(2), given="B")
    with pytest.raises(CycleError, match=re.escape("model loop has a cycle: A → B → A")) as info:
        m.build()
    assert info.value.cycle == ["A", "B"]


def test_longer_cycle_and_self_loop():
    m = ModelBuilder("loop")
    m.observed("A", YesNo, np.eye(2), given="C")
    m.observed("B", YesNo, np.eye(2), given="A")
    m.observed("C", YesNo, np.eye(2), given="B")
    with pytest.raises(CycleError, match=re.escape("B → C → A → B")):
        m.build()
    m = ModelBuilder("self")
    m.observed("A", YesNo, np.eye(2), given="A")
    with pytest.raises(CycleError, match=re.escape("model self has a cycle: A → A")):
        m.build()


def test_unknown_parent_with_a_suggestion():
    m = ModelBuilder("t")
    m.observed("Smoking", YesNo, [0.5, 0.5])
    m.observed("Tar", YesNo, np.eye(2), given="Smokng")
    with pytest.raises(UnknownVariableError, match=re.escape(
            "variable Tar has parent 'Smokng', which is not a variable of model t; did you mean "
            "'Smoking'?")):
        m.build()


def test_unknown_parent_without_a_close_match_has_no_suggestion():
    m = ModelBuilder("t")
    m.observed("A", YesNo, [0.5, 0.5])
    m.observed("B", YesNo, np.eye(2), given="Zebra")
    with pytest.raises(UnknownVariableError, match=r"model t$"):
        m.build()


def test_duplicate_variable_is_refused_at_once():
    m = ModelBuilder("t")
    m.observed("A", YesNo, [0.5, 0.5])
    with pytest.raises(DuplicateVariableError, match="variable A is defined twice in model t"):
        m.latent("A", YesNo, [0.5, 0.5])


def test_duplicate_variable_in_from_variables():
    with pytest.raises(DuplicateVariableError, match="variable A is defined twice in model m"):
        CausalModel.from_variables([Variable("A", YesNo), Variable("A", YesNo)], "m")


def test_duplicate_parent():
    with pytest.raises(DuplicateVariableError, match="variable B lists a parent twice: A, A"):
        build_with(("B", np.full((2, 2, 2), 0.5), ("A", "A")))


def test_exogenous_variable_with_parents():
    m = ModelBuilder("t")
    m.observed("A", YesNo, [0.5, 0.5])
    m.variable("U", YesNo, np.eye(2), given="A", role="exogenous")
    with pytest.raises(CausalTypeError, match="exogenous variable U cannot have parents"):
        m.build()


def test_variable_name_must_be_an_identifier():
    with pytest.raises(CausalTypeError, match="variable name '2A' must be an identifier"):
        ModelBuilder().observed("2A", YesNo, [0.5, 0.5])


def test_bad_finite_types():
    with pytest.raises(CausalTypeError, match="finite type T lists value 'a' twice"):
        FiniteType("T", ["a", "b", "a"])
    with pytest.raises(CausalTypeError, match="finite type T has no values"):
        FiniteType("T", [])
    with pytest.raises(CausalTypeError, match=re.escape(
            "value 1.5 of a finite type must be a name or an integer")):
        FiniteType("T", [1.5])  # type: ignore[list-item]


# -- queries -----------------------------------------------------------------------------------

def test_query_on_a_latent_variable(model):
    with pytest.raises(LatentQueryError, match=re.escape(
            "P(C | H = yes): H is latent in model smoking; a query can only mention observed "
            "variables")):
        model.query("P(C | H = yes)")
    with pytest.raises(LatentQueryError, match="H is latent"):
        model.query("P(H)")
    with pytest.raises(LatentQueryError, match="H is latent"):
        model.query("P(C | do(H = yes))")


def test_query_on_an_exogenous_variable():
    m = ModelBuilder("scm")
    m.exogenous("U", Bool, [0.9, 0.1])
    m.observed("X", Bool, given="U", table=np.eye(2))
    with pytest.raises(LatentQueryError, match="U is exogenous in model scm"):
        m.build().query("P(X | U = true)")


def test_query_on_an_unknown_variable_with_a_suggestion(model):
    with pytest.raises(UnknownVariableError, match=re.escape(
            "P(Cancer): 'Cancer' is not a variable of model smoking")):
        model.query("P(Cancer)")
    with pytest.raises(UnknownVariableError, match=re.escape(
            "P(C | do(SS = yes)): 'SS' is not a variable of model smoking; did you mean 'S'?")):
        model.query("P(C | do(SS = yes))")


def test_value_not_in_the_type(model):
    with pytest.raises(QueryError, match=re.escape(
            "P(C = maybe): 'maybe' is not a value of C : YesNo; its values are {no, yes}")):
        model.query("P(C = maybe)")
    with pytest.raises(QueryError, match=re.escape("'perhaps' is not a value of S : YesNo")):
        model.query("P(C | do(S = perhaps))")


def test_value_not_in_the_type_after_the_shape_is_compiled(model):
    model.query("P(C = yes | S = no)")
    with pytest.raises(QueryError, match=re.escape("'maybe' is not a value of S : YesNo")):
        model.query("P(C = yes | S = maybe)")


def test_variable_both_outcome_and_intervention(model):
    with pytest.raises(QueryError, match=re.escape(
            "P(C | do(C = yes)): C appears both as outcome and as intervention")):
        model.query("P(C | do(C = yes))")
    with pytest.raises(QueryError, match="T appears both as intervention and as evidence"):
        model.query("P(C | do(T = yes), T = no)")


def test_an_integer_too_large_for_a_float_is_a_query_error():
    from causaldsl.lang.loader import parse

    m = parse("model m {\n  X : Real ~ Normal(0, 1)\n  Y : Real := X + 1\n}\n").model
    with pytest.raises(QueryError, match=r"X = 9+ is too large"):
        m.query(f"E[Y | do(X = {'9' * 400})]")


def test_variable_given_twice(model):
    # the message is accurate but reads oddly ("both as evidence and as evidence")
    with pytest.raises(QueryError, match="S is given twice"):
        model.query("P(C | S = yes, S = no)")


@pytest.mark.parametrize("text,column,message", [
    ("P(C = )", 7, "unexpected ')'; expected a quoted value, a variable name, a number"),
    ("P(C || S)", 6, "unexpected '| S)'; expected 'do', a variable name"),
    ("Q(C)", 1, "unexpected 'Q(C)'"),
    ("", 1, "unexpected end of query"),
    ("P(C = yes) + 1", 15, "unexpected end of query; expected '*'"),
    ("1e400 * P(C = yes)", 1, "the number 1e400 is too large"),
    ("P(C = yes | S = -1e999)", 17, "the number -1e999 is too large"),
    ("1e200 * (1e200 * P(C = yes))", 1, "the coefficient 1e200 times"),
])
def test_query_syntax_error_has_column_and_caret(model, text, column, message):
    with pytest.raises(QuerySyntaxError) as info:
        model.query(text)
    e = info.value
    assert (e.text, e.column) == (text, column)
    first, shown, caret = str(e).split("\n")
    assert first.startswith(f"query:1:{column}: ") and message in first
    assert shown == f"  {text}"
    assert caret == "  " + " " * (column - 1) + "^"
    assert isinstance(e, QueryError)


def test_query_that_ends_too_early_says_so():
    with pytest.raises(QuerySyntaxError, match="query:1:18: unexpected end of query"):
        parse_query("P(C | do(S = yes)")


def test_zero_probability_evidence():
    m = ModelBuilder("z")
    m.observed("A", YesNo, [1.0, 0.0])
    m.observed("B", YesNo, given="A", table=[[0.9, 0.1], [0.2, 0.8]])
    z = m.build()
    with pytest.raises(ZeroProbabilityError, match=re.escape(
            "P(B | A = yes): the evidence has probability zero, so the conditional is "
            "undefined")):
        z.query("P(B | A = yes)")
    with pytest.raises(ZeroProbabilityError, match=re.escape(
            "the evidence has probability zero at A = yes")):
        z.query("P(B | A)")
    with pytest.raises(ZeroProbabilityError, match=re.escape(
            "the evidence of setting 1 ({'A': 'yes'}) has probability zero")):
        z.query_batch("P(B | A)", {"A": ["no", "yes"]})
    assert issubclass(ZeroProbabilityError, QueryError)


def test_missing_table():
    m = ModelBuilder("partial")
    m.observed("A", YesNo)
    m.observed("B", YesNo, given="A", table=np.eye(2))
    partial = m.build()
    with pytest.raises(MechanismError, match=re.escape(
            "variable A of model partial has no table; exact answers need every variable the "
            "query depends on to have one")):
        partial.query("P(B)")
    # do(A) cuts A's missing table away, so this one is answerable
    assert partial.query("P(B = yes | do(A = yes))") == 1.0


def test_box_without_a_table_has_no_exact_meaning():
    from causaldsl.backends.exact import tensor

    with pytest.raises(MechanismError, match="box f has no table, so it has no exact meaning"):
        tensor(Box("f", (YesNo,), (YesNo,)).diagram)


def test_sum_of_distributions(model):
    with pytest.raises(QueryError, match=re.escape(
            "every term of a sum must be a number, but P(C) is a distribution")):
        model.query("P(C) + P(S = yes)")


def test_expectation_of_labels_that_are_not_numbers(model):
    with pytest.raises(QueryError, match=re.escape(
            "E[C] needs numeric values, but C : YesNo = {no, yes} has labels that are not "
            "numbers")):
        model.query("E[C | do(S = yes)]")


def test_plan_over_the_intermediate_limit():
    m = ModelBuilder("wide")
    for i in range(29):
        m.observed(f"X{i}", YesNo, [0.5, 0.5])
    with pytest.raises(QueryError, match=re.escape(
            "this query needs an intermediate table of 536,870,912 entries, above the limit of "
            "268,435,456")):
        m.build().query("P(" + ", ".join(f"X{i}" for i in range(29)) + ")")


def test_batch_errors(model):
    with pytest.raises(QueryError, match=re.escape(
            "batched variable S must appear in the query's condition (after '|')")):
        model.query_batch("P(C)", {"S": ["yes"]})
    with pytest.raises(QueryError, match=re.escape(
            "batched values have different lengths: [1, 2]")):
        model.query_batch("P(C | S, T)", {"S": ["yes"], "T": ["no", "yes"]})
    with pytest.raises(QueryError, match="query_batch needs values or tables to batch over"):
        model.query_batch("P(C | S)")
    with pytest.raises(QueryError, match=re.escape("E[C] needs numeric values")):
        model.query_batch("E[C | S]", {"S": ["yes"]})
    with pytest.raises(QueryError, match=re.escape("query_batch takes one query")):
        model.query_batch("P(C = yes | S) - P(C = yes)", {"S": ["yes"]})
    bad = np.stack([np.eye(2), [[0.5, 0.5], [0.5, 0.6]]])
    with pytest.raises(TableError, match=re.escape("row yes of variable T (set 1) sums to 1.1")):
        model.query_batch("P(C | do(S = yes))", tables={"T": bad})
    with pytest.raises(QueryError, match="batch sizes differ: 3 value settings but 2 tables for T"):
        model.query_batch("P(C | S)", {"S": ["no", "yes", "no"]}, tables={"T": np.stack([np.eye(2)] * 2)})


def test_real_variables_cannot_be_queried_exactly():
    m = ModelBuilder("r")
    m.observed("Y", Real)
    m.observed("X", YesNo, [0.5, 0.5])
    r = m.build()
    with pytest.raises(MechanismError, match=re.escape(
            "variable Y has type Real, which is not finite; exact answers need finite types")):
        r.query("P(Y)", backend="exact")
    # by default a model with a Real variable is sampled, which asks for an expectation
    with pytest.raises(QueryError, match=re.escape(
            "P(Y = 1): Y is continuous, so P(Y = …) is zero")):
        r.query("P(Y = 1)")
    with pytest.raises(MechanismError, match="variable Y of model r has no mechanism"):
        r.query("E[Y]")


def test_result_indexing_errors(model):
    d = model.query("P(C | S)")
    with pytest.raises(QueryError, match=re.escape("prob() needs exactly S, C; got S")):
        d.prob(S="yes")
    with pytest.raises(QueryError, match=re.escape("P(C | S) has 2 axes (S, C); got 3 labels")):
        d["yes", "no", "no"]
    with pytest.raises(CausalTypeError, match="'maybe' is not a value of YesNo"):
        d["maybe"]
    with pytest.raises(QueryError, match="an expectation needs exactly one variable"):
        model.query("P(C, T)").expectation()


# -- diagrams ----------------------------------------------------------------------------------

Temp = FiniteType("Temp", ["cold", "hot"])


def test_composition_type_mismatch_names_the_wire():
    f = Box("f", (YesNo,), (YesNo,))
    g = Box("g", (Temp,), (Temp,))
    with pytest.raises(CompositionError, match=re.escape(
            "cannot compose: output wire 1 ('y0') has type YesNo, but input wire 1 ('x0') of "
            "the next diagram expects Temp")):
        f >> g
    with pytest.raises(CompositionError, match=re.escape(
            "output wire 2 ('x1') has type Temp, but input wire 2 ('x1') of the next diagram "
            "expects YesNo")):
        Diagram.id(YesNo, Temp) >> Diagram.id(YesNo, YesNo)


def test_composition_count_mismatch():
    f = Box("f", (YesNo,), (YesNo,))
    with pytest.raises(CompositionError, match=re.escape(
            "cannot compose YesNo with YesNo ⊗ YesNo: the first has 1 output wire, the second "
            "2 inputs")):
        f >> Diagram.id(YesNo, YesNo)
    assert issubclass(CompositionError, CausalTypeError)


def test_program_type_mismatch_names_the_wire():
    g = Box("g", (Temp,), (Temp,))
    with pytest.raises(CompositionError, match=re.escape(
            "argument 1 of box g is wire 'x' of type YesNo, but the box expects Temp")):
        @program(YesNo)
        def bad(x):
            return g(x)


def test_box_outside_a_program():
    f = Box("f", (YesNo,), (YesNo,))
    with pytest.raises(CausalTypeError, match="box f was applied to wires outside a program"):
        f("x")


def test_ill_formed_diagrams():
    f = Box("f", (YesNo,), (Temp,))
    with pytest.raises(CausalTypeError, match="box f reads wire 'w' before it is defined"):
        Diagram(("x",), (YesNo,), (Node(f, ("w",), ("y",)),), ("y",))
    with pytest.raises(CausalTypeError, match="input 1 of box f has type YesNo, but wire 'x' "
                                              "has type Temp"):
        Diagram(("x",), (Temp,), (Node(f, ("x",), ("y",)),), ("y",))


# -- surgery -----------------------------------------------------------------------------------

def test_surgery_errors(model):
    with pytest.raises(CausalError, match="do\\(\\) needs at least one variable and value"):
        do(model)
    with pytest.raises(CausalError, match="cut\\(\\) needs at least one variable"):
        cut(model)
    with pytest.raises(UnknownVariableError, match="'Smoke' is not a variable of model smoking"):
        do(model, Smoke="yes")
    with pytest.raises(CausalTypeError, match="'maybe' is not a value of YesNo"):
        do(model, S="maybe")
    with pytest.raises(TableError, match=re.escape(
            "the table of variable S sums to 0.9, not 1 (off by -0.1)")):
        model.intervene("S", [0.5, 0.4], given=())


def test_query_reading_an_open_input_as_outcome(model):
    with pytest.raises(QueryError, match="S"):
        cut(model, "S").query("P(S)")


def test_query_that_leaves_an_input_open(model):
    with pytest.raises(QueryError, match="S"):
        cut(model, "S").query("P(C)")


# -- wrong argument types at the public API (issue 17) -----------------------------------------
# Each is the project's error saying what was expected and what was given, never a raw
# TypeError or AttributeError from deep inside.

@pytest.mark.parametrize("call, error, message", [
    (lambda m: m.query(None), QueryError, re.escape(
        'query takes a query: a string such as "P(Y | do(X = x))" or a parsed query '
        "(causaldsl.parse_query), got None")),
    (lambda m: m.query(5), QueryError, "query takes a query: .*, got int 5"),
    (lambda m: m.query(["P(C)"]), QueryError, r"got list \['P\(C\)'\]"),
    (lambda m: m.query_batch(None, {"S": ["yes"]}), QueryError,
     "query_batch takes a query: .*, got None"),
    (lambda m: m.identify(None), QueryError, "identify takes a query: .*, got None"),
    (lambda m: m.query_batch("P(C | S)", 5), QueryError,
     r'query_batch\'s values are a dict of columns, \{"S": \["no", "yes"\]\}, or a list of '
     "dicts, one per setting.*; got int 5"),
    (lambda m: m.query_batch("P(C | S)", {"S": "yes"}), QueryError,
     "the column of S is str 'yes', not a list of values"),
    (lambda m: m.query_batch("P(C | S)", {5: ["yes"]}), QueryError,
     "a key is int 5, not a variable name"),
    (lambda m: m.query_batch("P(C | S)", ["yes"]), QueryError,
     "a setting is str 'yes', not a dict"),
    (lambda m: m.query_batch("P(C | do(S = yes))", tables=5), QueryError,
     "query_batch's tables are a dict from a variable's name to its stacked tables, "
     r'\{"T": array\}, got int 5'),
    (lambda m: m.query_batch("P(C | do(S = yes))", tables={0: np.eye(2)}), QueryError,
     "keyed by variable names, got int 0"),
    (lambda m: m.do(5), CausalTypeError,
     r'do\(\) takes variables and their values, do\(\{"S": "yes"\}\) or do\(S="yes"\), got '
     "int 5"),
    (lambda m: m.do({5: "yes"}), CausalTypeError,
     r"a variable that do\(\) sets must be a name \(a str\), got int 5"),
    (lambda m: m.cut(None), CausalTypeError,
     r'cut\(\) takes the names of the variables to cut, e.g. cut\("S", "T"\), got None'),
    (lambda m: m.cut(["S"]), CausalTypeError, r"got list \['S'\]"),
    (lambda m: m.intervene(None, [0.5, 0.5]), CausalTypeError,
     r"the variable of intervene\(\) must be a name \(a str\), got None"),
    (lambda m: m.intervene("T", [0.5, 0.5], given=5), CausalTypeError,
     r'given \(the new parents of T\) is a name or a list of names, e.g. "X" or \["X", "Z"\], '
     "got int 5"),
    (lambda m: m.intervene("T", [0.5, 0.5], given=["S", 1]), CausalTypeError,
     r"which holds int 1"),
    (lambda m: do(None, S="yes"), CausalTypeError,
     r"do\(\) takes a CausalModel first, e.g. do\(model, …\), got None"),
    (lambda m: cut("S"), CausalTypeError, r"cut\(\) takes a CausalModel first.*got str 'S'"),
    (lambda m: m[5], UnknownVariableError, "5 is not a variable of model smoking"),
    (lambda m: m[["S"]], UnknownVariableError, r"\['S'\] is not a variable of model smoking"),
])
def test_wrong_arguments_of_a_model_are_clear_errors(model, call, error, message):
    with pytest.raises(error, match=message):
        call(model)


@pytest.mark.parametrize("text, given", [(None, "None"), (5, "int 5"), (b"P(C)", "bytes b'P\\(C\\)'")])
def test_parse_query_of_something_that_is_no_string(text, given):
    with pytest.raises(QueryError, match=r'parse_query takes a query string such as "P\(Y \| '
                                         rf'do\(X = x\)\)", got {given}$'):
        parse_query(text)


def test_query_batch_takes_an_iterator_of_settings(model):
    batch = model.query_batch("P(C = yes | S)", iter([{"S": "no"}, {"S": "yes"}]))
    want = [model.query("P(C = yes | S = no)"), model.query("P(C = yes | S = yes)")]
    assert np.allclose(np.asarray(batch), want)


@pytest.mark.parametrize("call, message", [
    (lambda b: ModelBuilder(5), r"the name of a model must be a name \(a str\), got int 5"),
    (lambda b: b.observed("W", YesNo, np.eye(2), given=5),
     r'given \(the parents of W\) is a name or a list of names, e.g. "X" or \["X", "Z"\], got '
     "int 5"),
    (lambda b: b.observed("W", YesNo, np.eye(2), given=("S", None)), "which holds None"),
    (lambda b: b.observed("W", None), r"the type of variable W is a FiniteType, Real, or a list "
                                      r'of labels such as \["no", "yes"\], got None'),
    (lambda b: b.observed("W", 2), "got int 2"),
    (lambda b: b.observed("W", "ab"), "got str 'ab'"),  # not the type {a, b}
    (lambda b: b.variable("W", YesNo, role="hidden"),
     "the role of variable W is 'observed', 'latent' or 'exogenous', got str 'hidden'"),
    (lambda b: b.type("W", None), r"the values of type W are a list of labels such as "
                                  r'\["no", "yes"\], got None'),
    (lambda b: b.type(None, ["a"]), r"the name of a type must be a name \(a str\), got None"),
])
def test_wrong_arguments_of_the_builder_are_clear_errors(call, message):
    b = smoking_builder()
    with pytest.raises(CausalTypeError, match=message):
        call(b)
    assert "W" not in b._specs  # nothing was declared


# -- pgmpy -------------------------------------------------------------------------------------

def test_pgmpy_parent_states_in_another_order_are_reordered():
    pgmpy_models = pytest.importorskip("pgmpy.models")
    from pgmpy.factors.discrete import TabularCPD

    from causaldsl.interop.pgmpy import from_pgmpy

    bn = pgmpy_models.DiscreteBayesianNetwork([("Rain", "Wet")])
    bn.add_cpds(
        TabularCPD("Rain", 2, [[0.8], [0.2]], state_names={"Rain": ["no", "yes"]}),
        TabularCPD("Wet", 2, [[0.9, 0.1], [0.1, 0.9]], evidence=["Rain"], evidence_card=[2],
                   state_names={"Wet": ["dry", "wet"], "Rain": ["yes", "no"]}))
    m = from_pgmpy(bn)
    # the CPD's columns are Rain = yes, no: P(Wet = dry | Rain = yes) = 0.9, (… | no) = 0.1
    assert m.query("P(Wet = dry | Rain = yes)") == pytest.approx(0.9, abs=1e-12)
    assert m.query("P(Wet = dry | Rain = no)") == pytest.approx(0.1, abs=1e-12)


# -- failing changes nothing -------------------------------------------------------------------

def test_failing_build_leaves_the_builder_usable():
    m = ModelBuilder("t")
    m.observed("A", YesNo, [0.5, 0.5])
    m.observed("B", YesNo, np.eye(2), given="C")
    with pytest.raises(UnknownVariableError):
        m.build()
    with pytest.raises(UnknownVariableError):  # the same again: nothing was half-registered
        m.build()
    with pytest.raises(DuplicateVariableError):
        m.observed("A", YesNo, [0.1, 0.9])
    with pytest.raises(CausalTypeError):
        m.observed("not a name", YesNo, [0.1, 0.9])
    m.observed("C", YesNo, given="A", table=[[0.9, 0.1], [0.2, 0.8]])
    built = m.build()
    assert list(built.variables) == ["A", "C", "B"]
    assert built["A"].mechanism.array.tolist() == [0.5, 0.5]    # not the refused redeclaration
    assert "not a name" not in built
    assert abs(built.query("P(B = yes)") - (0.5 * 0.1 + 0.5 * 0.8)) < 1e-12


def test_failing_table_build_can_be_retried_after_a_fix():
    m = ModelBuilder("t")
    m.observed("A", YesNo, [0.5, 0.5])
    m.observed("B", YesNo, given="A", table={"no": [0.5, 0.5]})
    with pytest.raises(TableError):
        m.build()
    with pytest.raises(TableError):
        m.build()


def test_failing_queries_change_nothing(model):
    before = model.query("P(C | do(S))").to_numpy()
    p = model.query("P(C = yes | S = yes)")
    bad = ["P(H)", "P(Cancer)", "P(C = maybe)", "P(C | do(C = yes))", "P(C | do(S = yes)",
           "P(C) + P(S = yes)", "E[C]"]
    for text in bad:
        with pytest.raises(CausalError):
            model.query(text)
    with pytest.raises(CausalError):
        model.query_batch("P(C)", {"S": ["yes"]})
    assert np.array_equal(model.query("P(C | do(S))").to_numpy(), before)
    # the repeat may come from another tier (the answer table), summed in another order
    assert model.query("P(C = yes | S = yes)") == pytest.approx(p, rel=4e-16, abs=0)
    assert model.query("P(C = yes | do(S = no))") == pytest.approx(0.28, abs=1e-12)
    assert model == smoking_builder().build()


def test_zero_probability_error_changes_nothing():
    m = ModelBuilder("z")
    m.observed("A", YesNo, [1.0, 0.0])
    m.observed("B", YesNo, given="A", table=[[0.9, 0.1], [0.2, 0.8]])
    z = m.build()
    for _ in range(2):  # the second time comes from the caches, and still raises
        with pytest.raises(ZeroProbabilityError):
            z.query("P(B | A = yes)")
    assert z.query("P(B = yes | A = no)") == pytest.approx(0.1, abs=1e-12)
    assert z.query("P(B = yes | do(A = yes))") == pytest.approx(0.8, abs=1e-12)


def test_failing_surgery_leaves_the_model_unchanged(model):
    with pytest.raises(CausalError):
        model.intervene("S", [0.5, 0.4], given=())
    with pytest.raises(CausalError):
        model.do(S="maybe")
    assert model["S"].parents == ("H",)
    assert model == smoking_builder().build()
    assert model.query("P(C = yes | do(S = yes))") == pytest.approx(0.49, abs=1e-12)
