"""Expressions of the language compiled to JAX: the same syntax tree that ``lang.expr`` evaluates
on NumPy grids, traced into a jitted sampler. No Python from a model file is ever run.

Finite values travel as integer positions. An expression sees a finite parent as its label when
the labels are numbers or bools, and as a :class:`Cat` (position and type) otherwise, which may
only be compared with a label name or another value of its type. A label name written in an
expression is a :class:`Lab`; ``if … then … else`` between label names is a :class:`Cat` when a
branch has a type, and a :class:`Choice` (resolved by :func:`to_index` against the type it is
assigned to, or by ``==``) when every branch is a bare label name.

Trees are walked with ``syntax.tree.fold``, not recursion: a generated sum, or an ``if … else
if …`` chain, is as deep as it is long.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpyro.distributions as dist

from causaldsl.core.errors import MechanismError
from causaldsl.core.types import FiniteType, Type
from causaldsl.ir.expr import CONTINUOUS, arithmetic, functions
from causaldsl.syntax.tree import (
    Binary,
    BoolLit,
    Call,
    DistCall,
    IfElse,
    ListLit,
    Num,
    Unary,
    Var,
    children,
    fold,
    walk,
)

FUNCTIONS = functions(jnp)
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    **arithmetic(jnp), "and": jnp.logical_and, "or": jnp.logical_or}


@dataclass(frozen=True)
class Cat:
    """A value of a finite type whose labels are names: its position, and the type."""

    index: Any
    type: FiniteType


@dataclass(frozen=True)
class Lab:
    """A label name written in an expression (``yes``), not yet tied to a type."""

    name: str


@dataclass(frozen=True)
class Choice:
    """``if cond then a else b`` between label names whose type is not known yet (each branch a
    :class:`Lab` or another Choice): the type it is assigned to, or compared with, resolves it."""

    cond: Any
    then: Lab | Choice
    other: Lab | Choice


Labels = Cat | Lab | Choice


def as_value(index: Any, t: Type) -> Any:
    """What an expression sees for a variable: a number, a bool, or a Cat."""
    if not isinstance(t, FiniteType):
        return index
    if all(isinstance(v, bool) for v in t.values):
        return jnp.asarray([bool(v) for v in t.values])[index]
    nums = t.numeric()
    if nums is not None and all(isinstance(v, int) for v in t.values):
        return jnp.asarray(nums)[index]
    return Cat(index, t)


def to_index(value: Any, t: FiniteType, owner: str) -> Any:
    """The position in ``t`` of an expression's result (a label, a choice between labels, a
    bool or a number)."""
    if isinstance(value, Cat):
        if value.type == t:
            return value.index
        if any(v not in t for v in value.type.values):
            raise MechanismError(f"{owner}: a value of {value.type!r} cannot be a value of "
                                 f"{t!r}")
        # every label of its type is one of t's (as the exact tables map them, by label)
        return jnp.asarray([t.index(v) for v in value.type.values])[value.index]
    if isinstance(value, Lab | Choice):
        return _resolve(value, t, owner)
    nums = t.numeric()
    if nums is None:
        raise MechanismError(f"{owner}: a number cannot be a value of {t!r}")
    arr = jnp.asarray(value, dtype=float)
    return jnp.argmax(arr[..., None] == jnp.asarray(nums), axis=-1)


def evaluate(e: Any, env: Mapping[str, Any]) -> Any:
    """Evaluate an expression with JAX; ``env`` maps names to values (see :func:`as_value`)."""

    def leave(x: Any, vs: list[Any]) -> Any:
        if isinstance(x, Num | BoolLit):
            return x.value
        if isinstance(x, Var):
            return env[x.name] if x.name in env else Lab(x.name)
        if isinstance(x, Unary):
            return jnp.logical_not(vs[0]) if x.op == "not" else -_num(vs[0])
        if isinstance(x, IfElse):
            c, a, b = vs
            if isinstance(a, Labels) or isinstance(b, Labels):
                return _choose(c, a, b, x)
            return jnp.where(c, a, b)
        if isinstance(x, Binary):
            a, b = vs
            if x.op in ("==", "!="):
                eq = _equal(a, b, f"line {x.span.line}: {x.op}")
                return eq if x.op == "==" else jnp.logical_not(eq)
            return OPERATORS[x.op](_num(a), _num(b))
        if isinstance(x, Call):
            return FUNCTIONS[x.func](*(_num(v) for v in vs))
        raise MechanismError(f"line {getattr(x, 'span', None)}: not an expression: {x!r}")

    return fold(e, leave, kids=_kids)


def _kids(e: Any) -> tuple[Any, ...]:
    """The subexpressions :func:`evaluate` walks (a list or a distribution is no value)."""
    return () if isinstance(e, ListLit | DistCall) else children(e)


def distribution(call: DistCall, env: Mapping[str, Any], t: Type, owner: str) -> Any:
    """The NumPyro distribution of ``~ Name(args)``; finite types sample positions."""
    if isinstance(t, FiniteType):
        if call.name == "Bernoulli":
            (arg,) = call.args
            if isinstance(arg, Call) and arg.func == "sigmoid" and len(arg.args) == 1:
                # the same distribution on the log-odds: one op fewer per gradient, and no
                # log of a probability rounded to 0 or 1
                return dist.Bernoulli(logits=jnp.asarray(evaluate(arg.args[0], env),
                                                         dtype=float))
            p = evaluate(arg, env)
            return dist.Bernoulli(probs=jnp.asarray(p, dtype=float))
        if call.name == "Categorical":
            items = call.args[0].items if len(call.args) == 1 and isinstance(call.args[0], ListLit) \
                else call.args
            probs = jnp.broadcast_arrays(*(jnp.asarray(evaluate(a, env), dtype=float)
                                           for a in items))
            return dist.Categorical(probs=jnp.stack(probs, axis=-1))
        if call.name == "Uniform" and not call.args:
            return dist.Categorical(probs=jnp.full(t.size, 1.0 / t.size))
        raise MechanismError(f"{owner}: {call.name} is not a distribution over {t!r}")
    if call.name not in CONTINUOUS:
        raise MechanismError(f"{owner}: {call.name} is not a continuous distribution; use one of "
                             f"{', '.join(sorted(CONTINUOUS))}")
    if len(call.args) != CONTINUOUS[call.name]:
        raise MechanismError(f"{owner}: {call.name} takes {CONTINUOUS[call.name]} arguments, got "
                             f"{len(call.args)}")
    args = [jnp.asarray(_num(evaluate(a, env)), dtype=float) for a in call.args]
    cls = getattr(dist, call.name)  # the language's names are NumPyro's
    return cls(*args, validate_args=False)  # the program checks parameters, traced or not


def _choose(c: Any, a: Any, b: Any, e: IfElse) -> Cat | Choice:
    """``if c then a else b`` where a branch is a label: a Cat when a branch has a type (the
    other branch is resolved against it), else a Choice left for its use to resolve."""
    where = f"line {e.span.line}: if … then … else"
    for x in (a, b):
        if not isinstance(x, Labels):
            raise MechanismError(f"{where} chooses between a label and a number; both branches "
                                 "must be labels of one type, or both numbers")
    typed = [x for x in (a, b) if isinstance(x, Cat)]
    if not typed:
        return Choice(c, a, b)
    t = typed[0].type
    if any(x.type != t for x in typed):
        raise MechanismError(f"{where} chooses between a value of {typed[0].type!r} and a value "
                             f"of {typed[1].type!r}; both branches must have one type")
    return Cat(jnp.where(c, to_index(a, t, where), to_index(b, t, where)), t)


def _resolve(value: Lab | Choice, t: FiniteType, owner: str) -> Any:
    """The positions in ``t`` of a label name, or of a choice between label names."""

    def leave(x: Any, vs: list[Any]) -> Any:
        if isinstance(x, Lab):
            if x.name not in t:
                raise MechanismError(f"{owner}: {x.name} is not a value of {t!r}")
            return jnp.asarray(t.index(x.name))
        return jnp.where(x.cond, vs[0], vs[1])

    return fold(value, leave, kids=_branches)


def _branches(x: Any) -> tuple[Any, ...]:
    """The two branches of a Choice (a chain of them is as deep as it is long)."""
    return (x.then, x.other) if isinstance(x, Choice) else ()


def _num(v: Any) -> Any:
    """A number: true and false count as 1 and 0 (as NumPy's evaluation has them)."""
    if isinstance(v, Labels):
        raise MechanismError("a label is not a number here")
    arr = jnp.asarray(v)
    return arr.astype(float) if arr.dtype == bool else v


def _equal(a: Any, b: Any, where: str) -> Any:
    if isinstance(a, Choice) and isinstance(b, Choice):  # as positions among their names
        names = FiniteType(sorted({x.name for c in (a, b) for x in walk(c, _branches)
                                   if isinstance(x, Lab)}))
        return _resolve(a, names, where) == _resolve(b, names, where)
    if isinstance(b, Choice):
        a, b = b, a
    if isinstance(a, Choice):  # compared branch by branch (b is no Choice)
        return fold(a, lambda x, vs: jnp.where(x.cond, vs[0], vs[1]) if isinstance(x, Choice)
                    else _equal(x, b, where), kids=_branches)
    if isinstance(a, Lab) and isinstance(b, Cat):
        a, b = b, a
    if isinstance(a, Cat):
        if isinstance(b, Lab):
            if b.name not in a.type:
                raise MechanismError(f"{where} compares a value of {a.type!r} with {b.name}, "
                                     "which is not one of its values")
            return a.index == a.type.index(b.name)
        if isinstance(b, Cat):
            if b.type == a.type:
                return a.index == b.index
            same = jnp.asarray([b.type.index(v) if v in b.type else -1 for v in a.type.values])
            return same[a.index] == b.index  # two types: equal where the labels are
        raise MechanismError(f"{where} compares a value of {a.type!r} with a number")
    if isinstance(a, Lab) or isinstance(b, Lab):
        return jnp.asarray(a == b) if isinstance(a, Lab) and isinstance(b, Lab) else \
            jnp.asarray(False)
    return jnp.equal(a, b)
