"""The elimination planner: its path, run step by step, equals one direct einsum on random
sparse einsums (indices shared by any number of operands, some summed, some kept, output in any
order); it reports the largest intermediate its steps make; on a chain it is linear."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from causaldsl.backends.eliminate import elimination_path

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
