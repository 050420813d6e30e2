"""Syntax trees without recursion: ``fold`` and ``walk`` take trees of any depth, and a Record
compares, hashes and prints a tree as deep as a generated sum of thousands of terms."""

from __future__ import annotations

import sys

import pytest

from causaldsl.syntax.diagnostics import NOWHERE, Span
from causaldsl.syntax.tree import Binary, Call, IfElse, Num, Unary, Var, children, fold, walk

DEEP = 3 * sys.getrecursionlimit()  # deeper than any recursive walk could go


def long_sum(n: int, leaf: object = None) -> Binary:
    e: object = Num(1.0, NOWHERE)
    for i in range(n - 1):
        e = Binary("+", e, leaf if leaf is not None else Num(1.0, Span(1, 4 * i + 5)), NOWHERE)
    assert isinstance(e, Binary)
    return e


def test_fold_gives_values_bottom_up_with_the_hooks_in_order():
    e = IfElse(Var("c", NOWHERE), Binary("-", Num(3.0, NOWHERE), Num(1.0, NOWHERE), NOWHERE),
               Unary("-", Var("x", NOWHERE), NOWHERE), NOWHERE)
    log: list[str] = []

    def leave(x, vs):  # type: ignore[no-untyped-def]
        log.append(f"leave {type(x).__name__}")
        if isinstance(x, Num):
            return x.value
        if isinstance(x, Var):
            return {"c": True, "x": 5.0}[x.name]
        if isinstance(x, Unary):
            return -vs[0]
        if isinstance(x, Binary):
            return vs[0] - vs[1]
        return vs[1] if vs[0] else vs[2]

    value = fold(e, leave, enter=lambda x: log.append(f"enter {type(x).__name__}"),
                 after=lambda x, i, v: log.append(f"after {type(x).__name__} {i} {v}"))
    assert value == 2.0
    assert log == [
        "enter IfElse", "enter Var", "leave Var", "after IfElse 0 True",
        "enter Binary", "enter Num", "leave Num", "after Binary 0 3.0", "enter Num", "leave Num",
        "after Binary 1 1.0", "leave Binary", "after IfElse 1 2.0",
        "enter Unary", "enter Var", "leave Var", "after Unary 0 5.0", "leave Unary",
        "after IfElse 2 -5.0", "leave IfElse"]


def test_a_check_in_after_stops_the_walk_before_the_next_kid():
    e = Call("f", (Var("a", NOWHERE), Var("b", NOWHERE)), NOWHERE)
    seen: list[str] = []

    def after(x, i, v):  # type: ignore[no-untyped-def]
        raise ValueError(f"kid {i}")

    with pytest.raises(ValueError, match="kid 0"):
        fold(e, lambda x, vs: seen.append(getattr(x, "name", "")), after=after)
    assert seen == ["a"]


def test_fold_and_walk_take_any_depth():
    e = long_sum(DEEP)
    assert fold(e, lambda x, vs: x.value if isinstance(x, Num) else vs[0] + vs[1]) == DEEP
    assert sum(isinstance(x, Num) for x in walk(e)) == DEEP
    nested: object = Num(2.0, NOWHERE)
    for _ in range(DEEP):
        nested = Unary("-", nested, NOWHERE)
    assert fold(nested, lambda x, vs: x.value if isinstance(x, Num) else -vs[0]) == 2.0
    assert [type(x).__name__ for x in walk(long_sum(3))] == ["Binary", "Binary", "Num", "Num",
                                                             "Num"]
    assert children(long_sum(2)) == (Num(1.0, NOWHERE), Num(1.0, Span(1, 5)))


def test_a_deep_record_compares_hashes_and_prints():
    a, b = long_sum(DEEP), long_sum(DEEP)
    assert a == b and hash(a) == hash(b) and a is not b
    c = long_sum(DEEP, leaf=Num(2.0, NOWHERE))
    assert a != c and (a == c) is False
    assert len({a, b, c}) == 2
    text = repr(a)
    assert text.startswith("Binary(op='+', left=Binary(op='+', left=Binary(")
    assert text.count("Num(value=1.0") == DEEP


def test_records_compare_and_print_as_before_on_small_trees():
    e = Call("f", (Num(1.0, NOWHERE),), Span(2, 3))
    assert repr(e) == ("Call(func='f', args=(Num(value=1.0, span=Span(line=1, column=1, "
                       "end_line=0)),), span=Span(line=2, column=3, end_line=0))")
    assert e == Call("f", (Num(1.0, NOWHERE),), Span(2, 3))
    assert e != Call("f", (Num(1.0, NOWHERE), Num(1.0, NOWHERE)), Span(2, 3))
    assert e != Call("g", (Num(1.0, NOWHERE),), Span(2, 3)) and e != ("f",)
    assert Var("x", NOWHERE) != Num(1.0, NOWHERE)
    assert hash(e) == hash(Call("f", (Num(1.0, NOWHERE),), Span(2, 3)))
