"""Expressions of the language, evaluated without Python's eval: over NumPy arrays, so one
evaluation covers every combination of parent values at once (a discrete ``:=`` becomes a
table), with a fixed set of functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.core.types import FiniteType, RealType
from causaldsl.syntax.diagnostics import Span
from causaldsl.syntax.tree import Binary as Bin
from causaldsl.syntax.tree import BoolLit, Call, DistCall, IfElse, ListLit, Num, Unary, Var
from causaldsl.syntax.tree import Record as _Record


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


@dataclass(frozen=True)
class Kind:
    """What an expression gives, as checking at load time sees it: ``number``, ``bool``, a
    ``value`` of a finite type whose labels are names (``type``), bare label ``names`` not yet
    tied to a type (``yes``, or an if/else between label names), or ``any`` (a variable of a
    type that mixes numbers and names: checked when it is evaluated)."""

    what: str
    type: FiniteType | None = None
    names: frozenset[str] = frozenset()

    def __str__(self) -> str:
        if self.what == "value":
            return f"a value of {self.type!r}"
        if self.what == "names":
            return f"the label {sorted(self.names)[0]}" if len(self.names) == 1 else "a label"
        return {"number": "a number", "bool": "true or false"}.get(self.what, "a value")


NUMBER, BOOL, ANY = Kind("number"), Kind("bool"), Kind("any")


def kind_of(t: Any) -> Kind:
    """How an expression sees a variable of type ``t`` (as both backends do): Bool as true or
    false, integer labels and Real as numbers, name labels as values of their type."""
    if isinstance(t, RealType):
        return NUMBER
    if not isinstance(t, FiniteType):
        return ANY
    if all(isinstance(v, bool) for v in t.values):
        return BOOL
    if all(isinstance(v, int) and not isinstance(v, bool) for v in t.values):
        return NUMBER
    return Kind("value", t) if all(isinstance(v, str) for v in t.values) else ANY


def infer(e: Any, scope: Mapping[str, Kind]) -> Kind:
    """The kind of an expression whose variables have the kinds in ``scope`` (any other name
    is a label name); raise ExprError, located, where it mixes kinds: a label in arithmetic, a
    number as a condition, an if/else between a label and a number or between two types, a
    comparison of a value with a label its type lacks. The one check both evaluators rely on."""
    if isinstance(e, Num):
        return NUMBER
    if isinstance(e, BoolLit):
        return BOOL
    if isinstance(e, Var):
        return scope.get(e.name, Kind("names", names=frozenset((e.name,))))
    if isinstance(e, ListLit):
        raise ExprError("a list [...] can only be the probabilities of Categorical", e.span)
    if isinstance(e, Unary):
        k = infer(e.arg, scope)
        if e.op == "not":
            _need_bool(k, e.arg.span)
            return BOOL
        _need_number(k, e.arg.span)
        return NUMBER
    if isinstance(e, IfElse):
        _need_bool(infer(e.cond, scope), e.cond.span)
        return _join(infer(e.then, scope), infer(e.other, scope), e.span)
    if isinstance(e, Bin):
        a, b = infer(e.left, scope), infer(e.right, scope)
        if e.op in ("and", "or"):
            _need_bool(a, e.left.span)
            _need_bool(b, e.right.span)
        elif e.op in ("==", "!="):
            _comparable(a, b, e)
        else:
            _need_number(a, e.left.span)
            _need_number(b, e.right.span)
            return NUMBER if e.op in "+-*/^" else BOOL
        return BOOL
    if isinstance(e, Call):
        for x in e.args:
            _need_number(infer(x, scope), x.span)
        return NUMBER
    raise ExprError("this is not an expression", getattr(e, "span", Span(1, 1)))


def _labels(k: Kind) -> bool:
    return k.what in ("value", "names")


def _need_number(k: Kind, span: Span) -> None:
    if _labels(k):
        raise ExprError("a label is not a number here", span)


def _need_bool(k: Kind, span: Span) -> None:
    if k.what not in ("bool", "any"):
        raise ExprError(f"expected true or false here, not {k}", span)


def _join(a: Kind, b: Kind, span: Span) -> Kind:
    """The kind of ``if … then a else b``."""
    where = "if … then … else"
    if ANY in (a, b):
        return ANY
    if not _labels(a) and not _labels(b):
        return NUMBER if NUMBER in (a, b) else BOOL
    if not (_labels(a) and _labels(b)):
        raise ExprError(f"{where} chooses between a label and a number; both branches must be "
                        "labels of one type, or both numbers", span)
    typed = [k.type for k in (a, b) if k.type is not None]
    if len(typed) == 2 and typed[0] != typed[1]:
        raise ExprError(f"{where} chooses between a value of {typed[0]!r} and a value of "
                        f"{typed[1]!r}; both branches must have one type", span)
    names = a.names | b.names
    if not typed:
        return Kind("names", names=names)
    t = typed[0]
    for n in sorted(names):
        if n not in t:
            raise ExprError(f"{where} chooses between a value of {t!r} and {n}, which is not "
                            "one of its values", span)
    return Kind("value", t)


def _comparable(a: Kind, b: Kind, e: Bin) -> None:
    """``a == b`` (or ``!=``): numbers with numbers, labels with labels that can be equal."""
    if ANY in (a, b) or _labels(a) != _labels(b):
        if ANY not in (a, b):
            lab, other = (a, b) if _labels(a) else (b, a)
            raise ExprError(f"{e.op} compares {lab} with {other}, which can never be equal",
                            e.span)
        return
    for x, y in ((a, b), (b, a)):
        if x.what == "value" and y.what == "names":
            assert x.type is not None
            for n in sorted(y.names):
                if n not in x.type:
                    raise ExprError(f"{e.op} compares a value of {x.type!r} with {n}, which is "
                                    "not one of its values", e.span)


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
        try:
            return np.where(c, evaluate(e.then, env), evaluate(e.other, env))
        except TypeError:  # NumPy's DTypePromotionError: a label and a number (see infer)
            raise ExprError("if … then … else chooses between a label and a number; both "
                            "branches must be labels of one type, or both numbers",
                            e.span) from None
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
