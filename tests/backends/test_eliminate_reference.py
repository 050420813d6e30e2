"""The elimination planner returns exactly the path of its first, plain implementation (kept
below as the reference): the same steps, path, largest intermediate and flops, on random
einsums: indices shared by many operands, some summed, some kept, empty axes, and products both
below and above the size that is done in one step (so both the one-step and the pairwise
branches, and the outer products at the end, are compared)."""

from __future__ import annotations

import heapq
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causaldsl.backends import eliminate
from causaldsl.backends.eliminate import elimination_path


def reference(terms, output, sizes, plain):  # type: ignore[no-untyped-def]
    """``elimination_path`` as first written (commit 2e36337), with ``PLAIN_EINSUM`` as
    ``plain``: frozensets, recomputed unions, positions by ``list.index``."""
    if any(len(set(t)) != len(t) for t in terms) or \
            set(output) - {c for t in terms for c in t}:
        return None
    ops = dict(enumerate(terms))
    sets = {i: frozenset(t) for i, t in ops.items()}
    order = list(ops)
    holders: dict[str, set[int]] = {}
    for i, t in ops.items():
        for c in t:
            holders.setdefault(c, set()).add(i)
    out = set(output)
    steps: list = []
    path: list = []
    largest = 0
    flops = 0
    next_id = len(terms)
    dim = sizes.__getitem__

    def weight(c):  # type: ignore[no-untyped-def]
        held = holders[c]
        return math.prod(map(dim, frozenset().union(*(sets[i] for i in held)))), len(held)

    def contract(ids, result=None):  # type: ignore[no-untyped-def]
        nonlocal largest, flops, next_id
        union = "".join(dict.fromkeys("".join(ops[i] for i in ids)))
        if result is None:
            mine = set(ids)
            result = "".join(c for c in union if c in out or not holders[c] <= mine)
        positions = sorted((order.index(i) for i in ids), reverse=True)
        steps.append((tuple(positions), ",".join(ops[order[p]] for p in positions) + "->" +
                      result))
        path.append(tuple(sorted(positions)))
        for p in positions:
            order.pop(p)
        for i in ids:
            del sets[i]
            for c in ops.pop(i):
                holders[c].discard(i)
        new = next_id
        next_id += 1
        ops[new] = result
        sets[new] = frozenset(result)
        order.append(new)
        for c in result:
            holders[c].add(new)
        largest = max(largest, math.prod(map(dim, result)))
        flops += math.prod(map(dim, union))
        return new

    pending = {c for t in terms for c in t} - out
    weights = {c: weight(c) for c in pending}
    heap = [(w, c) for c, w in weights.items()]
    heapq.heapify(heap)
    while pending:
        w, c = heapq.heappop(heap)
        if c not in pending or weights[c] != w:
            continue
        group = sorted(holders[c])
        touched = set().union(*(sets[i] for i in group))
        if len(group) == 1 or w[0] <= plain:
            contract(group)
            group = []
        while len(group) > 1:
            a, b = sorted(group, key=lambda i: (math.prod(map(dim, ops[i])), i))[:2]
            new = contract([a, b])
            group = sorted(holders[c])
            touched |= sets[new]
        pending -= {t for t in touched if not holders[t]}
        for t in touched & pending:
            weights[t] = weight(t)
            heapq.heappush(heap, (weights[t], t))
    while len(order) > 1:
        a, b = sorted(order, key=lambda i: (math.prod(map(dim, ops[i])), i))[:2]
        contract([a, b])
    if ops[order[0]] != output:
        contract([order[0]], output)
    return tuple(steps), tuple(path), max(largest, 1), flops


#: indices from a wide alphabet (opt_einsum's symbols go beyond ASCII), so that the packed
#: heap keys and bit masks see characters far apart
SYMBOLS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c0\u00c1\u4e00\u4e01"


@st.composite
def einsums(draw, max_size: int = 4, zero: bool = False):  # type: ignore[no-untyped-def]
    n_idx = draw(st.integers(1, 14))
    idx = draw(st.permutations(SYMBOLS))[:n_idx]
    sizes = {c: draw(st.integers(0 if zero else 1, max_size)) for c in idx}
    terms = draw(st.lists(st.lists(st.sampled_from(idx), min_size=0, max_size=5, unique=True)
                          .map("".join), min_size=1, max_size=12))
    used = sorted({c for t in terms for c in t})
    output = "".join(draw(st.permutations(used))[: draw(st.integers(0, len(used)))])
    return terms, output, sizes


def same(terms, output, sizes, plain):  # type: ignore[no-untyped-def]
    want = reference(terms, output, sizes, plain)
    found = elimination_path(terms, output, sizes)
    assert found is not None and want is not None
    assert (found.steps, found.path, found.largest_intermediate, found.flops) == want


@settings(max_examples=400, deadline=None)
@given(case=einsums(), plain=st.sampled_from([1, 4, 64, eliminate.PLAIN_EINSUM]))
def test_the_same_path_as_the_reference(case, plain):
    """With the one-step limit from 1 (every product of two or more operands is done
    pairwise) to the real one."""
    terms, output, sizes = case
    with pytest.MonkeyPatch.context() as m:
        m.setattr(eliminate, "PLAIN_EINSUM", plain)
        same(terms, output, sizes, plain)


@settings(max_examples=200, deadline=None)
@given(case=einsums(max_size=3, zero=True))
def test_the_same_path_with_empty_axes(case):
    """Axes of size 0: products of zero entries, which the planner cannot divide by."""
    terms, output, sizes = case
    same(terms, output, sizes, eliminate.PLAIN_EINSUM)


@settings(max_examples=100, deadline=None)
@given(case=einsums(max_size=12))
def test_the_same_path_on_large_products(case):
    """Larger axes, so that the real one-step limit is crossed."""
    terms, output, sizes = case
    same(terms, output, sizes, eliminate.PLAIN_EINSUM)


def test_the_cases_left_to_opt_einsum_are_the_same():
    for terms, output in ((["ab", "bb"], "a"), (["a"], "ab"), (["ab", "a"], "c")):
        sizes = dict.fromkeys("abc", 2)
        assert elimination_path(terms, output, sizes) is None
        assert reference(terms, output, sizes, eliminate.PLAIN_EINSUM) is None
