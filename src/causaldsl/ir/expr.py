"""Expressions of the language, evaluated without Python's eval: over NumPy arrays, so one
evaluation covers every combination of parent values at once (a discrete ``:=`` becomes a
table), with a fixed set of functions. Every walk over a tree goes through ``syntax.tree.fold``
or ``walk``, never Python recursion: a generated sum of thousands of terms is a deep tree."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.core.types import FiniteType, RealType
from causaldsl.syntax.diagnostics import Span
from causaldsl.syntax.tree import Binary as Bin
from causaldsl.syntax.tree import BoolLit, Call, DistCall, IfElse, ListLit, Num, Unary, Var, fold, walk
from causaldsl.syntax.tree import Record as _Record
from causaldsl.syntax.tree import children as _children


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
    for x in walk(e):
        if isinstance(x, Var) and x.name not in seen:
            seen.add(x.name)
            out.append((x.name, x.span))
    return out


def check_calls(e: Any, continuous: bool = True) -> None:
    """Raise ExprError at the first call of an unknown function or with the wrong number of
    arguments, or of a distribution with an unknown name (``continuous``: of a continuous one,
    or with the wrong number of arguments). A distribution's arguments are plain expressions."""
    for i, x in enumerate(walk(e)):
        _check_call(x, continuous if i == 0 else True)


def _check_call(e: Any, continuous: bool) -> None:
    """The checks of :func:`check_calls` on one node."""
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

    def enter(x: Any) -> None:
        if isinstance(x, ListLit):
            raise ExprError("a list [...] can only be the probabilities of Categorical", x.span)

    def after(x: Any, i: int, k: Kind) -> None:  # checked as soon as known, left to right
        if isinstance(x, IfElse) and i == 0:
            _need_bool(k, x.cond.span)
        elif isinstance(x, Call):
            _need_number(k, x.args[i].span)

    def leave(x: Any, ks: list[Kind]) -> Kind:
        if isinstance(x, Num):
            return NUMBER
        if isinstance(x, BoolLit):
            return BOOL
        if isinstance(x, Var):
            return scope.get(x.name, Kind("names", names=frozenset((x.name,))))
        if isinstance(x, Unary):
            if x.op == "not":
                _need_bool(ks[0], x.arg.span)
                return BOOL
            _need_number(ks[0], x.arg.span)
            return NUMBER
        if isinstance(x, IfElse):
            return _join(ks[1], ks[2], x.span)
        if isinstance(x, Bin):
            a, b = ks
            if x.op in ("and", "or"):
                _need_bool(a, x.left.span)
                _need_bool(b, x.right.span)
            elif x.op in ("==", "!="):
                _comparable(a, b, x)
            else:
                _need_number(a, x.left.span)
                _need_number(b, x.right.span)
                return NUMBER if x.op in "+-*/^" else BOOL
            return BOOL
        if isinstance(x, Call):
            return NUMBER
        raise ExprError("this is not an expression", getattr(x, "span", Span(1, 1)))

    kind: Kind = fold(e, leave, kids=_expression_children, enter=enter, after=after)
    return kind


def _expression_children(e: Any) -> tuple[Any, ...]:
    """The subexpressions that have a kind (a distribution's arguments are not walked here)."""
    return () if isinstance(e, DistCall) else _children(e)


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


def rename(e: Any, names: Mapping[str, str]) -> Any:
    """The expression with variables renamed (``names``: old → new); the rest is kept."""

    def kids(x: Any) -> tuple[Any, ...]:
        if isinstance(x, Var):
            return ()
        if isinstance(x, _Record):
            return x._values  # type: ignore[attr-defined]
        return tuple(x) if isinstance(x, tuple) else ()

    def leave(x: Any, values: list[Any]) -> Any:
        if isinstance(x, Var):
            return Var(names.get(x.name, x.name), x.span)
        if isinstance(x, _Record):
            return type(x)(*values)
        return tuple(values) if isinstance(x, tuple) else x

    return fold(e, leave, kids=kids)


def evaluate(e: Any, env: Mapping[str, Any]) -> Any:
    """Evaluate over arrays: ``env`` maps each name to an array (or a label constant)."""

    def enter(x: Any) -> None:
        if isinstance(x, Call):
            check_calls(x)

    def after(x: Any, i: int, v: Any) -> None:  # checked as soon as known, left to right
        if isinstance(x, IfElse) and i == 0:
            _bool(v, x.cond.span)
        elif isinstance(x, Call):
            _num(v, x.args[i].span)

    def leave(x: Any, vs: list[Any]) -> Any:
        if isinstance(x, Num | BoolLit):
            return x.value
        if isinstance(x, Var):
            if x.name not in env:
                raise ExprError(f"unknown name {x.name!r}", x.span)
            return env[x.name]
        if isinstance(x, ListLit):
            return vs
        if isinstance(x, Unary):
            v = vs[0]
            return np.logical_not(_bool(v, x.span)) if x.op == "not" else -_num(v, x.span)
        if isinstance(x, IfElse):
            c = _bool(vs[0], x.cond.span)
            try:
                return np.where(c, vs[1], vs[2])
            except TypeError:  # NumPy's DTypePromotionError: a label and a number (see infer)
                raise ExprError("if … then … else chooses between a label and a number; both "
                                "branches must be labels of one type, or both numbers",
                                x.span) from None
        if isinstance(x, Bin):
            a, b = vs
            op = x.op
            if op in ("and", "or"):
                fa, fb = _bool(a, x.left.span), _bool(b, x.right.span)
                return np.logical_and(fa, fb) if op == "and" else np.logical_or(fa, fb)
            if op in ("==", "!="):
                eq = np.equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
                return eq if op == "==" else np.logical_not(eq)
            xa, xb = _num(a, x.left.span), _num(b, x.right.span)
            with np.errstate(all="ignore"):
                return ARITHMETIC[op](xa, xb)
        if isinstance(x, Call):
            args = [_num(v, a.span) for v, a in zip(vs, x.args, strict=True)]
            with np.errstate(all="ignore"):
                return FUNCTIONS[x.func](*args)
        raise ExprError("this is not an expression", getattr(x, "span", Span(1, 1)))

    return fold(e, leave, kids=_expression_children, enter=enter, after=after)


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
