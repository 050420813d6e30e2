"""Expressions of the language, evaluated without Python's eval: over NumPy arrays, so one
evaluation covers every combination of parent values at once (a discrete ``:=`` becomes a
table), with a fixed set of functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .ast import Binary as Bin
from .ast import BoolLit, Call, DistCall, IfElse, ListLit, Num, Unary, Var, _Record
from .diagnostics import Span


def functions(xp: Any) -> dict[str, Callable[..., Any]]:
    """The functions an expression may call, over the array module ``xp`` (NumPy or JAX)."""
    return {
        "exp": xp.exp, "log": xp.log, "sqrt": xp.sqrt, "abs": xp.abs, "floor": xp.floor,
        "ceil": xp.ceil, "round": xp.round, "sin": xp.sin, "cos": xp.cos, "tanh": xp.tanh,
        "min": xp.minimum, "max": xp.maximum, "sigmoid": lambda x: 1.0 / (1.0 + xp.exp(-x)),
        "logit": lambda p: xp.log(p / (1.0 - p)), "clip": xp.clip,
    }


def arithmetic(xp: Any) -> dict[str, Callable[[Any, Any], Any]]:
    """The numeric binary operators, over the array module ``xp``."""
    return {"+": xp.add, "-": xp.subtract, "*": xp.multiply, "/": xp.divide, "^": xp.power,
            "<": xp.less, "<=": xp.less_equal, ">": xp.greater, ">=": xp.greater_equal}


FUNCTIONS = functions(np)
ARITHMETIC = arithmetic(np)

#: How many arguments each function takes: NumPy would read an extra one as its ``out=`` array.
ARITY = {"exp": 1, "log": 1, "sqrt": 1, "abs": 1, "floor": 1, "ceil": 1, "round": 1, "sin": 1,
         "cos": 1, "tanh": 1, "min": 2, "max": 2, "sigmoid": 1, "logit": 1, "clip": 3}

#: Distribution constructors: those with finite support give tables; the rest are continuous,
#: each with its number of arguments.
DISCRETE = {"Bernoulli", "Categorical", "Uniform"}
CONTINUOUS = {"Normal": 2, "LogNormal": 2, "Exponential": 1, "Gamma": 2, "Beta": 2,
              "Uniform": 2, "StudentT": 3, "Cauchy": 2, "Laplace": 2, "HalfNormal": 1}


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
        if isinstance(x, Var) and x.name not in seen:
            seen.add(x.name)
            out.append((x.name, x.span))
        for c in _children(x):
            walk(c)

    walk(e)
    return out


def check_calls(e: Any, continuous: bool = True) -> None:
    """Raise ExprError at the first call of an unknown function or with the wrong number of
    arguments, or of a distribution with an unknown name (``continuous``: of a continuous one,
    or with the wrong number of arguments)."""
    if isinstance(e, Call) and e.func not in FUNCTIONS:
        raise ExprError(f"unknown function {e.func!r}; the functions are "
                        f"{', '.join(sorted(FUNCTIONS))}", e.span)
    if isinstance(e, Call) and len(e.args) != ARITY[e.func]:
        raise ExprError(f"{e.func} takes {_count(ARITY[e.func])}, got {len(e.args)}", e.span)
    if isinstance(e, DistCall) and not continuous and e.name not in DISCRETE:
        raise ExprError(f"{e.name} is not a distribution over a finite type; use one of "
                        f"{', '.join(sorted(DISCRETE))}", e.span)
    if isinstance(e, DistCall) and continuous:
        if e.name not in CONTINUOUS:
            raise ExprError(f"{e.name} is not a continuous distribution; the distributions are "
                            f"{', '.join(sorted(CONTINUOUS))}", e.span)
        if len(e.args) != CONTINUOUS[e.name]:
            raise ExprError(f"{e.name} takes {_count(CONTINUOUS[e.name])}, got "
                            f"{len(e.args)}", e.span)
    for x in _children(e):
        check_calls(x)  # a distribution's arguments are plain expressions


def _count(n: int) -> str:
    return f"{n} argument{'' if n == 1 else 's'}"


def _children(e: Any) -> tuple[Any, ...]:
    if isinstance(e, Call | DistCall):
        return tuple(e.args)
    if isinstance(e, ListLit):
        return tuple(e.items)
    if isinstance(e, Unary):
        return (e.arg,)
    if isinstance(e, Bin):
        return (e.left, e.right)
    if isinstance(e, IfElse):
        return (e.cond, e.then, e.other)
    return ()


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
            return ARITHMETIC[op](x, y)
    if isinstance(e, Call):
        check_calls(e)
        fn = FUNCTIONS[e.func]
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
