"""The JAX evaluation of expressions, and the affine forms the sampler reads off them, on deep
trees (issue 17): a generated sum, an ``if … else if …`` chain between label names (a chain of
Choices, resolved and compared without recursion), nested calls."""

from __future__ import annotations

import sys

import jax.numpy as jnp
import numpy as np

import causaldsl
from causaldsl.backends.closed import _affine
from causaldsl.backends.jaxexpr import Cat, _equal, evaluate, to_index
from causaldsl.backends.program import affine_coefficient
from causaldsl.core.types import FiniteType
from causaldsl.syntax.diagnostics import NOWHERE
from causaldsl.syntax.tree import Binary, BoolLit, Call, IfElse, Num, Unary, Var

DEEP = 3 * sys.getrecursionlimit()
T = FiniteType(["a", "b", "c"])


def else_if_chain(n: int) -> object:
    """if A == a then b else if A == a then b … else c: b where A is a, else c."""
    e: object = Var("c", NOWHERE)
    for _ in range(n):
        e = IfElse(Binary("==", Var("A", NOWHERE), Var("a", NOWHERE), NOWHERE), Var("b", NOWHERE),
                   e, NOWHERE)
    return e


def test_a_long_label_chain_is_resolved_and_compared():
    env = {"A": Cat(jnp.asarray([0, 1, 2]), T)}
    value = evaluate(else_if_chain(DEEP), env)
    assert to_index(value, T, "Y").tolist() == [1, 2, 2]
    assert _equal(value, evaluate(Var("b", NOWHERE), env), "here").tolist() == [True, False, False]
    assert _equal(value, value, "here").tolist() == [True, True, True]
    # two choices between names, compared where they stand: b/c against a/b (by A's value)
    other = evaluate(IfElse(Binary("==", Var("A", NOWHERE), Var("c", NOWHERE), NOWHERE),
                            Var("b", NOWHERE), Var("a", NOWHERE), NOWHERE), env)
    assert _equal(value, other, "here").tolist() == [False, False, False]
    assert _equal(other, evaluate(else_if_chain(3), {"A": Cat(jnp.asarray([2, 0, 2]), T)}),
                  "here").tolist() == [False, False, False]
    flipped = {"A": Cat(jnp.asarray([2, 1, 0]), T)}
    assert _equal(evaluate(else_if_chain(2), flipped), other, "here").tolist() == [False, False,
                                                                                     True]


def test_long_and_deep_arithmetic():
    e: object = Var("x", NOWHERE)
    for i in range(DEEP):
        e = Binary("+", e, Num(1.0, NOWHERE), NOWHERE) if i % 2 else Call("abs", (e,), NOWHERE)
    assert float(evaluate(e, {"x": jnp.asarray(-1.0)})) == 1 + DEEP // 2
    cond: object = BoolLit(False, NOWHERE)
    for _ in range(DEEP):
        cond = Unary("not", cond, NOWHERE)
    assert bool(evaluate(cond, {})) is (DEEP % 2 == 1)


def test_affine_forms_of_a_long_sum():
    terms: object = Num(1.0, NOWHERE)
    for i in range(DEEP):
        term = Binary("*", Num(2.0, NOWHERE), Var("U", NOWHERE), NOWHERE) if i == DEEP // 2 else \
            Unary("-", Num(1.0, NOWHERE), NOWHERE)
        terms = Binary("+" if i % 3 else "-", terms, term, NOWHERE)
    # the U term stands at i = DEEP // 2 = 1500, added (1500 % 3 == 0: subtracted)
    sign = -1.0 if (DEEP // 2) % 3 == 0 else 1.0
    assert affine_coefficient(terms, "U") == 2.0 * sign
    assert affine_coefficient(Binary("/", terms, Num(4.0, NOWHERE), NOWHERE), "U") == sign / 2
    assert affine_coefficient(Binary("*", terms, Var("U", NOWHERE), NOWHERE), "U") is None
    const, load = _affine(terms, {"U": (0.0, {"u": 1.0})})
    minus = sum(1 for i in range(DEEP) if i != DEEP // 2 and i % 3 == 0)
    plus = DEEP - 1 - minus
    assert const == 1.0 - plus + minus and load == {"u": 2.0 * sign}


def test_a_long_sum_sampled_forward():
    n = 2000
    model = causaldsl.parse("model m {\n  U : Real ~ Normal(0, 1)\n  X : Real := "
                            + " + ".join(["abs(1)"] * n) + " + 0 * U\n}\n").models["m"]
    answer = model.query("E[X]", method="forward", samples=100)
    assert np.isclose(float(answer), n)
