"""The expression printer writes any depth (a sum of thousands of terms, a run of minus signs)
without recursion, and prints exactly what the recursive printer it replaced printed."""

from __future__ import annotations

import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from causaldsl.lang.loader import parse
from causaldsl.syntax import tree as A
from causaldsl.syntax.diagnostics import NOWHERE
from causaldsl.syntax.printer import _PREC, expr
from causaldsl.syntax.query import show_number

DEEP = 3 * sys.getrecursionlimit()


def recursive(e: Any, parent: int = 0) -> str:
    """The printer as it was (recursive): the reference for small trees."""
    if isinstance(e, A.Num):
        return show_number(e.value)
    if isinstance(e, A.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, A.Var):
        return e.name
    if isinstance(e, A.Call):
        return f"{e.func}({', '.join(recursive(a) for a in e.args)})"
    if isinstance(e, A.ListLit):
        return "[" + ", ".join(recursive(a) for a in e.items) + "]"
    if isinstance(e, A.IfElse):
        s, p = (f"if {recursive(e.cond)} then {recursive(e.then)} else {recursive(e.other)}",
                _PREC["if"])
    elif isinstance(e, A.Unary):
        p = _PREC["not" if e.op == "not" else "neg"]
        s = f"not {recursive(e.arg, p)}" if e.op == "not" else f"-{recursive(e.arg, p)}"
    else:
        p = _PREC[e.op]
        if e.op == "^":
            s = f"{recursive(e.left, p + 1)} ^ {recursive(e.right, p)}"
        elif p == 4:
            s = f"{recursive(e.left, p + 1)} {e.op} {recursive(e.right, p + 1)}"
        else:
            s = f"{recursive(e.left, p)} {e.op} {recursive(e.right, p + 1)}"
    return f"({s})" if p < parent else s


leaves = st.one_of(st.builds(lambda v: A.Num(v, NOWHERE), st.sampled_from([0.0, 1.0, 2.5])),
                   st.builds(lambda v: A.BoolLit(v, NOWHERE), st.booleans()),
                   st.builds(lambda n: A.Var(n, NOWHERE), st.sampled_from(["x", "y"])))
OPS = ["+", "-", "*", "/", "^", "and", "or", "==", "<", ">="]
trees = st.recursive(leaves, lambda sub: st.one_of(
    st.builds(lambda op, a, b: A.Binary(op, a, b, NOWHERE), st.sampled_from(OPS), sub, sub),
    st.builds(lambda op, a: A.Unary(op, a, NOWHERE), st.sampled_from(["-", "not"]), sub),
    st.builds(lambda c, a, b: A.IfElse(c, a, b, NOWHERE), sub, sub, sub),
    st.builds(lambda a: A.Call("max", tuple(a), NOWHERE), st.lists(sub, max_size=3)),
    st.builds(lambda a: A.ListLit(tuple(a), NOWHERE), st.lists(sub, min_size=1, max_size=2))),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(trees, st.sampled_from([0, 5, 9]))
def test_the_same_text_as_the_recursive_printer(e, parent):
    assert expr(e, parent) == recursive(e, parent)


def test_long_and_deep_expressions_print_and_read_back():
    n = DEEP
    total = "1" + " - 2" * (n - 1) + " + " + "-" * n + "x"
    text = f"model m {{\n  x : Real ~ Normal(0, 1)\n  y : Real := {total}\n}}\n"
    mech = parse(text)["m"].variables["y"].mechanism
    assert expr(mech.expr) == total
    nested = "(" * n + "x + 1" + ")" * n + " * 2"
    mech = parse(text.replace(total, nested))["m"].variables["y"].mechanism
    assert expr(mech.expr) == "(x + 1) * 2"
