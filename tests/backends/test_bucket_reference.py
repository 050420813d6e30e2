"""The bucket planner returns exactly the plan of its earlier implementation (kept below as the
reference), which found each wire's bucket by a pass over every live slot: the same slicing,
steps, flops and largest result, or None at the same budget, on random sets of tables: wires
shared by many tables, given values that slice them, outputs, orders that leave some wires
unranked, buckets of more than MAX_OPERANDS tables (joined in chunks) and budgets that cut the
plan off part-way."""

from __future__ import annotations

import math
from collections.abc import Hashable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from causaldsl.backends.bucket import MAX_OPERANDS, MAX_WIRES, BucketPlan, Step, _step
from causaldsl.backends.factors import Factor


def reference(factors, given, output, rank, budget):  # type: ignore[no-untyped-def]
    """``BucketPlan.of`` as it was (its fields), scanning every live slot per wire."""
    arrays: list[np.ndarray] = []
    picks: list[tuple[int | None, ...]] = []
    live: list[tuple[int, tuple[Hashable, ...]]] = []  # (slot, wires) not yet read
    sizes: dict[Hashable, int] = {}
    count: dict[Hashable, int] = {}  # how many live slots hold a wire
    for f in factors:
        assert f.array is not None
        pk = tuple(given.get(w) for w in f.wires)
        ws = tuple(w for w, j in zip(f.wires, pk, strict=True) if j is None)
        for w, n, j in zip(f.wires, f.shape, pk, strict=True):
            if j is None:
                sizes[w] = n
                count[w] = count.get(w, 0) + 1
        live.append((len(arrays), ws))
        arrays.append(f.array)
        picks.append(pk)
    if any(w not in sizes for w in output):
        return None
    out = set(output)
    last = len(rank)
    steps: list[Step] = []
    flops = 0
    largest = 1

    def fewer(group: list[tuple[int, tuple[Hashable, ...]]]
              ) -> list[tuple[int, tuple[Hashable, ...]]] | None:
        """The group joined MAX_OPERANDS at a time, every wire kept, until one einsum
        can take it; None past the budget or NumPy's 52 wires."""
        nonlocal flops, largest
        while len(group) > MAX_OPERANDS:
            chunk, group = group[:MAX_OPERANDS], group[MAX_OPERANDS:]
            union = list(dict.fromkeys(x for _, ws in chunk for x in ws))
            size = math.prod(sizes[x] for x in union)
            flops += size
            if flops > budget or len(union) > MAX_WIRES:
                return None
            largest = max(largest, size)
            for x in union:
                count[x] -= sum(x in ws for _, ws in chunk) - 1
            steps.append(_step(chunk, union))
            group.append((len(arrays) + len(steps) - 1, tuple(union)))
        return group

    # in the order's ranks; wires it does not rank last, in the order the tables give them
    for w in sorted([w for w in count if w not in out], key=lambda w: rank.get(w, last)):
        if not count.get(w):  # summed out with the tables that held it
            continue
        joined = fewer([f for f in live if w in f[1]])
        if joined is None:
            return None
        group = joined
        live = [f for f in live if w not in f[1]]
        held: dict[Hashable, int] = {}  # the union of the group's wires, and how often
        for _, ws in group:
            for x in ws:
                held[x] = held.get(x, 0) + 1
        work = 1
        size = 1
        result = []
        for x, k in held.items():
            work *= sizes[x]
            if x in out or count[x] > k:  # read after this step
                result.append(x)
                size *= sizes[x]
                count[x] -= k - 1
            else:
                count[x] = 0
        flops += work
        if flops > budget or len(held) > MAX_WIRES:
            return None
        largest = max(largest, size)
        steps.append(_step(group, result))
        live.append((len(arrays) + len(steps) - 1, tuple(result)))
    joined = fewer(live)
    work = math.prod(sizes[x] for x in output)
    flops += work
    largest = max(largest, work)
    if joined is None or flops > budget or len(output) > MAX_WIRES:
        return None
    steps.append(_step(joined, output))
    return tuple(arrays), tuple(picks), tuple(steps), flops, largest


@st.composite
def problems(draw):  # type: ignore[no-untyped-def]
    """Tables over up to 12 wires (sizes 1-3), some given, an output, a partial order, a budget."""
    n_wires = draw(st.integers(1, 12))
    wires = [f"w{i}" for i in range(n_wires)]
    sizes = {w: draw(st.integers(1, 3)) for w in wires}
    many = draw(st.booleans())  # a bucket past MAX_OPERANDS: chunks
    n_tables = draw(st.integers(MAX_OPERANDS + 1, MAX_OPERANDS + 8) if many
                    else st.integers(1, 10))
    factors = []
    for _ in range(n_tables):
        ws = draw(st.lists(st.sampled_from(wires), min_size=0, max_size=4, unique=True))
        shape = tuple(sizes[w] for w in ws)
        factors.append(Factor(tuple(ws), shape, np.ones(shape)))
    given_wires = draw(st.lists(st.sampled_from(wires), max_size=3, unique=True))
    given_at = {w: j for j, w in enumerate(given_wires)}
    free = [w for w in wires if w not in given_at]
    output = draw(st.lists(st.sampled_from(free), max_size=2, unique=True)) if free else []
    ranked = draw(st.permutations(wires))
    rank = {w: i for i, w in enumerate(ranked[:draw(st.integers(0, n_wires))])}
    budget = draw(st.sampled_from([1, 10, 100, 10 ** 4, 10 ** 9]))
    return factors, given_at, output, rank, budget


@settings(max_examples=400, deadline=None)
@given(problems())
def test_the_bucket_plan_is_the_references(problem):  # type: ignore[no-untyped-def]
    want = reference(*problem)
    got = BucketPlan.of(*problem)
    if want is None:
        assert got is None
        return
    assert got is not None
    arrays, picks, steps, flops, largest = want
    assert got.arrays == arrays  # the same array objects, in the same slots
    assert got.picks == picks
    assert got.steps == steps
    assert (got.flops, got.largest) == (flops, largest)


def test_a_chain_with_an_unranked_wire_and_a_wide_bucket():  # type: ignore[no-untyped-def]
    """A hand-made case of each branch: a bucket of MAX_OPERANDS + 3 tables on one wire (joined
    32 at a time first), a chain summed in the order, an unranked wire left for the last step,
    a given wire sliced."""
    hub = [Factor(("h",), (2,), np.full(2, 0.5)) for _ in range(MAX_OPERANDS + 2)]
    chain = [Factor(("h", "a"), (2, 3), np.ones((2, 3))),
             Factor(("a", "b"), (3, 3), np.ones((3, 3))),
             Factor(("b", "c", "u"), (3, 2, 2), np.ones((3, 2, 2)))]
    problem = (hub + chain, {"c": 1}, ["u"], {"h": 0, "a": 1}, 10 ** 9)
    got = BucketPlan.of(*problem)
    assert got is not None
    assert (got.arrays, got.picks, got.steps, got.flops, got.largest) == reference(*problem)
    assert len(got.steps[0][0]) == MAX_OPERANDS  # the wide bucket: a chunk of 32 first
    assert got.picks[-1] == (None, 1, None)  # c sliced at its value
    # the chunk (visits h: 2), h's bucket (h, a: 6), a's (a, b: 9), b's, unranked so last of
    # the order (b, u with c sliced: 6), then the output u (2)
    assert len(got.steps) == 5
    assert (got.flops, got.largest) == (2 + 6 + 9 + 6 + 2, 3)
