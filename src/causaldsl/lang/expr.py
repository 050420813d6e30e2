"""Expressions of the language, evaluated without Python's eval: over NumPy arrays, so one
evaluation covers every combination of parent values at once (a discrete ``:=`` becomes a
table), with a fixed set of functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .ast import Binary as Bin
from .ast import BoolLit, Call, IfElse, ListLit, Num, Unary, Var, _Record
from .diagnostics import Span

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "floor": np.floor,
    "ceil": np.ceil, "round": np.round, "sin": np.sin, "cos": np.cos, "tanh": np.tanh,
    "min": np.minimum, "max": np.maximum, "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "logit": lambda p: np.log(p / (1.0 - p)), "clip": np.clip,
}

#: Distribution constructors: those with finite support give tables; the rest are continuous.
DISCRETE = {"Bernoulli", "Categorical", "Uniform"}
CONTINUOUS = {"Normal", "LogNormal", "Exponential", "Gamma", "Beta", "Uniform", "StudentT",
              "Cauchy", "Laplace", "HalfNormal"}


class ExprError(Exception):
    """An expression is ill-formed for its use; carries the span to point at."""

    def __init__(self, message: str, span: Span):
        super().__init__(message)
        self.span = span


def free_names(e: Any) -> list[tuple[str, Span]]:
    """Variable names an expression reads, in order of first appearance."""
    out: list[tuple[str, Span]] = []
    seen: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, Var):
            if x.name not in seen:
                seen.add(x.name)
                out.append((x.name, x.span))
        elif isinstance(x, Call | ListLit):
            for a in x.args if isinstance(x, Call) else x.items:
                walk(a)
        elif isinstance(x, Unary):
            walk(x.arg)
        elif isinstance(x, Bin):
            walk(x.left)
            walk(x.right)
        elif isinstance(x, IfElse):
            walk(x.cond)
            walk(x.then)
            walk(x.other)

    walk(e)
    return out


def rename(e: Any, names: Mapping[str, str]) -> Any:
    """The expression with variables renamed (``names``: old → new); the rest is kept."""
    if isinstance(e, Var):
        return Var(names.get(e.name, e.name), e.span)
    if isinstance(e, tuple):
        return tuple(rename(x, names) for x in e)
    if isinstance(e, _Record):
        return type(e)(*(rename(x, names) for x in e._values))  # type: ignore[attr-defined]
    return e


def evaluate(e: Any, env: Mapping[str, Any]) -> Any:
    """Evaluate over arrays: ``env`` maps each name to an array (or a label constant)."""
    if isinstance(e, Num):
        return e.value
    if isinstance(e, BoolLit):
        return e.value
    if isinstance(e, Var):
        if e.name not in env:
            raise ExprError(f"unknown name {e.name!r}", e.span)
        return env[e.name]
    if isinstance(e, ListLit):
        return [evaluate(x, env) for x in e.items]
    if isinstance(e, Unary):
        v = evaluate(e.arg, env)
        return np.logical_not(_bool(v, e.span)) if e.op == "not" else -_num(v, e.span)
    if isinstance(e, IfElse):
        c = _bool(evaluate(e.cond, env), e.cond.span)
        return np.where(c, evaluate(e.then, env), evaluate(e.other, env))
    if isinstance(e, Bin):
        a, b = evaluate(e.left, env), evaluate(e.right, env)
        op = e.op
        if op in ("and", "or"):
            fa, fb = _bool(a, e.left.span), _bool(b, e.right.span)
            return np.logical_and(fa, fb) if op == "and" else np.logical_or(fa, fb)
        if op in ("==", "!="):
            eq = np.equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
            return eq if op == "==" else np.logical_not(eq)
        x, y = _num(a, e.left.span), _num(b, e.right.span)
        with np.errstate(all="ignore"):
            return {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
                    "^": np.power, "<": np.less, "<=": np.less_equal, ">": np.greater,
                    ">=": np.greater_equal}[op](x, y)
    if isinstance(e, Call):
        fn = FUNCTIONS.get(e.func)
        if fn is None:
            raise ExprError(f"unknown function {e.func!r}; the functions are "
                            f"{', '.join(sorted(FUNCTIONS))}", e.span)
        args = [_num(evaluate(a, env), a.span) for a in e.args]
        with np.errstate(all="ignore"):
            return fn(*args)
    raise ExprError("this is not an expression", getattr(e, "span", Span(1, 1)))


def _num(v: Any, span: Span) -> Any:
    arr = np.asarray(v)
    if arr.dtype == object or arr.dtype.kind in "US":
        raise ExprError("a label is not a number here", span)
    return arr.astype(float) if arr.dtype == bool else arr


def _bool(v: Any, span: Span) -> Any:
    arr = np.asarray(v)
    if arr.dtype != bool:
        raise ExprError("expected true or false here", span)
    return arr
