"""The printer of expression syntax: canonical text with only the parentheses its meaning
needs (``causal fmt`` prints expressions with it; the sampler names reparameterised noise with it)."""

from __future__ import annotations

from typing import Any

from causaldsl.syntax import tree as A
from causaldsl.syntax.query import show_number as num

_PREC = {"if": 0, "or": 1, "and": 2, "not": 3, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4,
         ">=": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7, "^": 8, "atom": 9}


def expr(e: Any, parent: int = 0, right: bool = False) -> str:
    """Print an expression with only the parentheses its meaning needs."""
    if isinstance(e, A.Num):
        return num(e.value)
    if isinstance(e, A.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, A.Var):
        return e.name
    if isinstance(e, A.Call):
        return f"{e.func}({', '.join(expr(a) for a in e.args)})"
    if isinstance(e, A.ListLit):
        return "[" + ", ".join(expr(a) for a in e.items) + "]"
    if isinstance(e, A.IfElse):
        s, p = f"if {expr(e.cond)} then {expr(e.then)} else {expr(e.other)}", _PREC["if"]
    elif isinstance(e, A.Unary):
        p = _PREC["not" if e.op == "not" else "neg"]
        s = f"not {expr(e.arg, p)}" if e.op == "not" else f"-{expr(e.arg, p)}"
    else:
        p = _PREC[e.op]
        if e.op == "^":  # right-associative
            s = f"{expr(e.left, p + 1)} ^ {expr(e.right, p)}"
        elif p == 4:  # comparisons do not chain
            s = f"{expr(e.left, p + 1)} {e.op} {expr(e.right, p + 1)}"
        else:
            s = f"{expr(e.left, p)} {e.op} {expr(e.right, p + 1)}"
    return f"({s})" if p < parent else s
