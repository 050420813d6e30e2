"""The printer of expression syntax: canonical text with only the parentheses its meaning
needs (``causal fmt`` prints expressions with it; the sampler names reparameterised noise with it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from causaldsl.syntax import tree as A
from causaldsl.syntax.query import show_number as num

_PREC = {"if": 0, "or": 1, "and": 2, "not": 3, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4,
         ">=": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7, "^": 8, "atom": 9}


def expr(e: Any, parent: int = 0, right: bool = False) -> str:
    """Print an expression with only the parentheses its meaning needs (``parent``: the
    precedence of the context it stands in). Iterative: a chain of thousands of terms is a
    tree as deep, and its text is written piece by piece from a stack, not by recursion."""
    return write(e, parent, _pieces)


def write(e: Any, parent: int, pieces: Callable[[Any], str | tuple[int, list[Any]]]) -> str:
    """The text of a tree from ``pieces`` (a node's text, or its precedence and its parts:
    text and (child, the precedence it stands in)), parenthesised where a part binds looser
    than its context; from a stack, so a tree may be any depth."""
    out: list[str] = []
    todo: list[Any] = [(e, parent)]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        x, outer = item
        got = pieces(x)
        if isinstance(got, str):
            out.append(got)
            continue
        p, parts = got
        todo.extend(reversed(["(", *parts, ")"] if p < outer else parts))
    return "".join(out)


def _pieces(e: Any) -> str | tuple[int, list[Any]]:
    """An expression's text when it is an atom; else its precedence and its parts in order:
    text, and (subexpression, the precedence it stands in)."""
    if isinstance(e, A.Num):
        return num(e.value)
    if isinstance(e, A.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, A.Var):
        return e.name
    if isinstance(e, A.Call | A.ListLit):
        head, items, close = (f"{e.func}(", e.args, ")") if isinstance(e, A.Call) else \
            ("[", e.items, "]")
        parts: list[Any] = [head]
        for i, a in enumerate(items):
            parts += [", " if i else "", (a, 0)]
        return _PREC["atom"], [*parts, close]
    if isinstance(e, A.IfElse):
        return _PREC["if"], ["if ", (e.cond, 0), " then ", (e.then, 0), " else ", (e.other, 0)]
    if isinstance(e, A.Unary):
        p = _PREC["not" if e.op == "not" else "neg"]
        return p, ["not " if e.op == "not" else "-", (e.arg, p)]
    p = _PREC[e.op]
    if e.op == "^":  # right-associative
        return p, [(e.left, p + 1), " ^ ", (e.right, p)]
    if p == 4:  # comparisons do not chain
        return p, [(e.left, p + 1), f" {e.op} ", (e.right, p + 1)]
    return p, [(e.left, p), f" {e.op} ", (e.right, p + 1)]
