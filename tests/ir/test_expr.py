"""Expression semantics on deep trees (issue 17): type inference, evaluation, renaming and the
name and call checks walk a tree with a stack of their own, so a generated sum of thousands of
terms is checked and evaluated; and they report the same first error as before, in the order a
left-to-right reading meets it."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from causaldsl.ir.expr import (
    BOOL,
    NUMBER,
    ExprError,
    check_calls,
    evaluate,
    free_names,
    infer,
    rename,
)
from causaldsl.syntax.diagnostics import NOWHERE, Span
from causaldsl.syntax.tree import Binary, BoolLit, Call, IfElse, ListLit, Num, Unary, Var

DEEP = 3 * sys.getrecursionlimit()


def at(col: int) -> Span:
    return Span(1, col)


def chain(op: str, leaves: list[object]) -> object:
    e = leaves[0]
    for x in leaves[1:]:
        e = Binary(op, e, x, NOWHERE)
    return e


def test_a_long_sum_is_inferred_and_evaluated():
    e = chain("+", [Var(f"x{i % 3}", at(i + 1)) for i in range(DEEP)])
    assert infer(e, {"x0": NUMBER, "x1": NUMBER, "x2": NUMBER}) == NUMBER
    env = {"x0": np.array([1.0, 2.0]), "x1": 1.0, "x2": 0.0}
    assert evaluate(e, env).tolist() == [2 * DEEP // 3, DEEP]  # a third each: 1 or 2, 1, 0
    assert [n for n, _ in free_names(e)] == ["x0", "x1", "x2"]
    check_calls(e)
    renamed = rename(e, {"x1": "y"})
    assert [n for n, _ in free_names(renamed)] == ["x0", "y", "x2"]
    assert evaluate(renamed, {**env, "y": 1.0}).tolist() == [2 * DEEP // 3, DEEP]


def test_deep_nesting_of_every_kind():
    e: object = Var("x", NOWHERE)
    for i in range(DEEP):
        e = [Unary("-", e, NOWHERE), Call("abs", (e,), NOWHERE),
             IfElse(BoolLit(True, NOWHERE), e, Num(0.0, NOWHERE), NOWHERE)][i % 3]
    assert infer(e, {"x": NUMBER}) == NUMBER
    assert float(evaluate(e, {"x": -2.0})) == 2.0
    cond: object = BoolLit(True, NOWHERE)
    for _ in range(DEEP):
        cond = Unary("not", cond, NOWHERE)
    assert infer(cond, {}) == BOOL and bool(evaluate(cond, {})) is (DEEP % 2 == 0)


@pytest.mark.parametrize("expr,col,message", [
    # the condition of an if is checked before its branches are read
    (IfElse(Num(1.0, at(4)), Var("lab", at(11)), Num(0.0, at(20)), at(1)), 4,
     "expected true or false here"),
    # each argument of a call is checked as it is read: the first bad one
    (Call("max", (Var("lab", at(5)), Call("nope", (), at(10))), at(1)), 5,
     "a label is not a number here"),
    # a list is refused before what is in it is read
    (ListLit((Call("nope", (), at(2)),), at(1)), 1, "a list [...] can only be"),
    (Binary("+", Var("lab", at(1)), Unary("not", Num(1.0, at(9)), at(5)), at(1)), 9,
     "expected true or false here"),
])
def test_infer_reports_the_first_error_where_it_did(expr, col, message):
    with pytest.raises(ExprError) as err:
        infer(expr, {})
    assert err.value.span.column == col and message in str(err.value)


def test_evaluate_checks_a_call_before_its_arguments_and_a_condition_before_its_branches():
    bad_call = Call("max", (Var("missing", at(5)),), at(1))
    with pytest.raises(ExprError, match="max takes 2 arguments") as err:
        evaluate(bad_call, {})
    assert err.value.span.column == 1
    with pytest.raises(ExprError, match="expected true or false") as err:
        evaluate(IfElse(Num(1.0, at(4)), Var("missing", at(11)), Num(0.0, at(20)), at(1)), {})
    assert err.value.span.column == 4
    with pytest.raises(ExprError, match="unknown name 'missing'"):
        evaluate(chain("+", [Num(1.0, NOWHERE)] * DEEP + [Var("missing", NOWHERE)]), {})
