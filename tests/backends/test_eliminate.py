"""The elimination planner: its path, run step by step, equals one direct einsum on random
sparse einsums (indices shared by any number of operands, some summed, some kept, output in any
order); it reports the largest intermediate its steps make; on a chain it is linear. The same for
the path in a given order, and the min-fill order itself on small graphs worked by hand."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from causaldsl.backends.eliminate import elimination_order, elimination_path, ordered_path

LETTERS = "abcdefghij"


@st.composite
def einsums(draw):  # type: ignore[no-untyped-def]
    n_idx = draw(st.integers(1, 8))
    idx = LETTERS[:n_idx]
    sizes = {c: draw(st.integers(1, 3)) for c in idx}
    terms = draw(st.lists(st.lists(st.sampled_from(idx), min_size=0, max_size=4, unique=True)
                          .map("".join), min_size=1, max_size=7))
    used = sorted({c for t in terms for c in t})
    output = "".join(draw(st.permutations(used))[: draw(st.integers(0, len(used)))])
    return terms, output, sizes


def run(steps, arrays):  # type: ignore[no-untyped-def]
    """The steps as ``stage`` runs them: pop the positions, append the result."""
    live = list(arrays)
    largest = 0
    for positions, eq in steps:
        ins = [live.pop(i) for i in positions]
        res = np.einsum(eq, *ins)
        largest = max(largest, res.size)
        live.append(res)
    (result,) = live
    return result, largest


@settings(max_examples=300, deadline=None)
@given(case=einsums(), seed=st.integers(0, 2**32 - 1))
def test_the_path_computes_the_einsum(case, seed):
    terms, output, sizes = case
    rng = np.random.default_rng(seed)
    arrays = [rng.random([sizes[c] for c in t]) for t in terms]
    found = elimination_path(terms, output, sizes)
    assert found is not None
    got, largest = run(found.steps, arrays)
    want = np.einsum(",".join(terms) + "->" + output, *arrays)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert found.largest_intermediate == max(largest, 1)
    assert len(found.path) == len(found.steps)


def test_a_chain_is_contracted_link_by_link():
    """A chain of 30 matrices a0a1, a1a2, …: elimination never makes more than a matrix (a bad
    order would make an intermediate with many open indices), and its flops are the 29 matrix
    products, 29 · 4^3, plus one transpose of the 4 × 4 result into the output's order."""
    symbols = list("abcdefghijklmnopqrstuvwxyzABCDE")
    terms = [symbols[i] + symbols[i + 1] for i in range(30)]
    sizes = dict.fromkeys(symbols, 4)
    found = elimination_path(terms, symbols[0] + symbols[30], sizes)
    assert found is not None
    assert found.largest_intermediate == 16
    assert found.flops == 29 * 4**3 + 16
    rng = np.random.default_rng(0)
    arrays = [rng.random((4, 4)) for _ in terms]
    got, _ = run(found.steps, arrays)
    np.testing.assert_allclose(got, np.linalg.multi_dot(arrays), rtol=1e-12)


def test_cases_it_leaves_to_opt_einsum():
    assert elimination_path(["aa"], "a", {"a": 2}) is None  # a repeated index: a trace
    assert elimination_path(["a"], "ab", {"a": 2, "b": 2}) is None  # b is in no operand


def test_flops_count_every_step():
    """Two vectors a, b into the outer product ab: one step over 2 · 3 entries."""
    found = elimination_path(["a", "b"], "ab", {"a": 2, "b": 3})
    assert found is not None and found.flops == 6 and math.prod((2, 3)) == found.largest_intermediate


@settings(max_examples=300, deadline=None)
@given(case=einsums(), seed=st.integers(0, 2**32 - 1), order=st.randoms(use_true_random=False))
def test_the_path_in_a_given_order_computes_the_einsum(case, seed, order):
    """Any order gives a correct path (the order changes only the cost); its flops and largest
    intermediate are those its steps make."""
    terms, output, sizes = case
    letters = sorted(sizes)
    order.shuffle(letters)
    rng = np.random.default_rng(seed)
    arrays = [rng.random([sizes[c] for c in t]) for t in terms]
    found = ordered_path(terms, output, sizes, {c: i for i, c in enumerate(letters)}, 10**9)
    assert found is not None
    got, largest = run(found.steps, arrays)
    want = np.einsum(",".join(terms) + "->" + output, *arrays)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert found.largest_intermediate == max(largest, 1)
    flops = 0
    live = [t for t in terms]
    for positions, eq in found.steps:  # each step visits the product of its indices' sizes
        ins = [live.pop(i) for i in positions]
        flops += math.prod(sizes[c] for c in set("".join(ins)))
        live.append(eq.split("->")[1])
    assert found.flops == flops


def test_the_order_is_followed_and_the_budget_kept():
    """A chain a-b-c-d of 2 × 2 tables (ab, bc, cd) down to a: summed in the order d, c, b the
    path is three matrix-vector steps of 4 entries each (12 flops); in the order b, c, d it
    first joins ab and bc into ac (8 entries visited), then ac and cd over a, c, d (8 more; d
    goes with c, as no other table holds it): 16 flops. With a budget of 15 flops the second
    order is abandoned, the first kept."""
    terms, sizes = ["ab", "bc", "cd"], dict.fromkeys("abcd", 2)
    good = ordered_path(terms, "a", sizes, {"d": 0, "c": 1, "b": 2}, 15)
    assert good is not None and good.flops == 12 and good.largest_intermediate == 2
    assert [(sorted(eq.split("->")[0].split(",")), eq.split("->")[1]) for _, eq in good.steps] \
        == [(["cd"], "c"), (["bc", "c"], "b"), (["ab", "b"], "a")]
    bad = ordered_path(terms, "a", sizes, {"b": 0, "c": 1, "d": 2}, 10**6)
    assert bad is not None and bad.flops == 16 and bad.largest_intermediate == 4
    assert ordered_path(terms, "a", sizes, {"b": 0, "c": 1, "d": 2}, 15) is None
    assert ordered_path(["aa"], "a", {"a": 2}, {"a": 0}, 10) is None  # left to opt_einsum


def test_the_min_fill_order():
    """A chain a → b → c → d moralises to a path: the ends add no fill (a, then d, by name),
    then the new ends. A v-structure a → c ← b with c → d: a, b, c form a triangle once
    married, d adds no fill and goes first; then a, b and c add none either."""
    sizes = dict.fromkeys("abcd", 2)
    chain = elimination_order([("a",), ("a", "b"), ("b", "c"), ("c", "d")], sizes)
    assert sorted(chain, key=chain.__getitem__) == ["a", "b", "c", "d"]
    vee = elimination_order([("a",), ("b",), ("a", "b", "c"), ("c", "d")], sizes)
    assert sorted(vee, key=vee.__getitem__)[0] == "d"
    # a star: the hub's three neighbours are pairwise unjoined (3 fill edges), each leaf adds
    # none; so leaves go first (x, then y, by name) until the hub has one neighbour left and
    # ties with it (fill 0, 4 entries each), where the name puts h before z
    star = elimination_order([("h",), ("h", "x"), ("h", "y"), ("h", "z")],
                             dict.fromkeys("hxyz", 2))
    assert sorted(star, key=star.__getitem__) == ["x", "y", "h", "z"]


def test_the_search_is_bounded_by_its_measured_cost(monkeypatch):
    """The planner searches beyond the elimination order only as far as a tenth of the
    arithmetic pays for: ``_trials`` counts the searches of a measured cost that fit in that
    budget (10^9 flops at FLOPS_PER_SECOND: 0.1 s; a second at most), and a contraction
    whose elimination order is dear enough still gets greedy's search and finds its better
    order. A search run whatever it costs (as before), or one skipped where it pays, fails."""
    from causaldsl.backends import plan as planner

    assert planner._budget(10**9) == 0.1
    assert planner._budget(10**13) == planner.MAX_SEARCH_SECONDS
    assert planner._trials(10**9, 0.01) == 10
    assert planner._trials(10**7, 0.002) == 0  # 1 ms of budget, a 2 ms search: none
    assert planner._trials(10**12, 0.004) == 250

    searched: list[object] = []
    better = planner._better

    def spy(best, eq, shapes, optimize):  # type: ignore[no-untyped-def]
        searched.append(optimize)
        return better(best, eq, shapes, optimize)

    monkeypatch.setattr(planner, "_better", spy)
    # a cycle of five 300 x 300 matrices: ~10^8 flops by elimination, a budget of ~10 ms
    big = [(("a", "b"), (300, 300)), (("b", "c"), (300, 300)), (("c", "d"), (300, 300)),
           (("d", "e"), (300, 300)), (("e", "a"), (300, 300))]
    planned = planner.plan(big, ["a"])
    assert "greedy" in searched  # the elimination took well under a millisecond: it pays
    assert planned.flops <= 5 * 300**3  # a cycle of matrix products: O(n^3) a step
    # the same, with greedy's search taken to cost a billion eliminations: none fits
    searched.clear()
    monkeypatch.setattr(planner, "GREEDY_OVER_ELIMINATION", 1e9)
    alone = planner.plan(big, ["a"])
    assert searched == []
    assert alone.flops <= 5 * 300**3
