"""Contraction plans: an einsum over named indices with an order planned by opt_einsum.

Pure planning (no JAX), so that analyses can reason about cost without compiling anything.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from causaldsl.backends.eliminate import elimination_path, ordered_path
from causaldsl.core.checks import MAX_ENTRIES, count
from causaldsl.core.errors import QueryError

#: The largest intermediate tensor (in entries) a plan may create: 2^28 float64 = 2 GiB.
MAX_INTERMEDIATE = MAX_ENTRIES


#: A model's elimination order plans a question when the path it gives costs at most this many
#: flops (a tenth of a millisecond or so); dearer questions are worth a search.
ORDERED_FLOPS = 10**5
#: Contractions with more flops than this by greedy's order get a randomised search too.
SEARCH_FLOPS = 10**6
#: What the search may cost: a tenth of the time greedy's order would take at FLOPS_PER_SECOND,
#: and never more than MAX_SEARCH_SECONDS. Each search is timed against it beforehand: greedy's
#: is taken to cost GREEDY_OVER_ELIMINATION times the elimination order's measured time, and a
#: randomised trial what greedy's took (``_trials``).
FLOPS_PER_SECOND = 10**9
MAX_SEARCH_SECONDS = 1.0
GREEDY_OVER_ELIMINATION = 3.0


@dataclass(frozen=True)
class Plan:
    """An einsum equation, its operand shapes, and a pairwise contraction path."""

    equation: str
    shapes: tuple[tuple[int, ...], ...]
    path: tuple[tuple[int, ...], ...]
    largest_intermediate: int
    flops: int
    #: the path as opt_einsum runs it: operand positions to pop (descending), and an equation
    steps: tuple[tuple[tuple[int, ...], str], ...] = ()


def plan(operands: Sequence[tuple[Sequence[Hashable], Sequence[int]]],
         output: Sequence[Hashable], limit: int | None = None, search: bool = True,
         order_by: Mapping[Any, int] | None = None) -> Plan:
    """Plan ``einsum`` over operands given as (index names, shape); output names its indices.

    Tries several optimisers and keeps the path with the smallest largest intermediate (memory
    first, then flops); with ``search`` false, only variable elimination (a quick plan, to
    decide whether a contraction is worth doing). ``order_by`` ranks the index names (a model's
    elimination order): the indices are summed out in that order when that costs at most
    ORDERED_FLOPS, with no search at all. Raises QueryError when even the best plan exceeds
    ``limit`` entries.
    """
    import opt_einsum  # here: a one-shot command plans by buckets and never loads it

    limit = MAX_INTERMEDIATE if limit is None else limit
    symbols: dict[Hashable, str] = {}

    def sym(k: Hashable) -> str:
        if k not in symbols:
            symbols[k] = opt_einsum.get_symbol(len(symbols))
        return symbols[k]

    terms = ["".join(sym(i) for i in idx) for idx, _ in operands]
    eq = ",".join(terms) + "->" + "".join(sym(i) for i in output)
    shapes = tuple(tuple(int(s) for s in shp) for _, shp in operands)
    n = len(shapes)
    if n == 0:
        return Plan(eq, shapes, (), 1, 1)
    # variable elimination first: it costs a fraction of opt_einsum's search, which was most
    # of a new question's time (dp on 10 operands with 60-state wires took seconds for a
    # question answered in milliseconds). Where its order is costly, opt_einsum's greedy and a
    # randomised search bounded in time may find better.
    ranks = None
    if order_by is not None:
        last = len(order_by)  # names without a rank (batch axes, copies) go last
        ranks = {symbols[k]: order_by.get(k, last) for k in symbols}
    t0 = time.perf_counter()
    best = _eliminate(terms, eq.split("->")[1], shapes, ranks) if ranks is not None else None
    if best is None:
        best = _eliminate(terms, eq.split("->")[1], shapes)
    spent = time.perf_counter() - t0
    if best is None:
        best = _better(best, eq, shapes, "optimal" if n <= 4 else "greedy")
    elif search and best[0][1] > SEARCH_FLOPS and \
            (n <= 4 or _trials(best[0][1], GREEDY_OVER_ELIMINATION * spent) >= 1):
        # greedy's order can cost 100× the best one's; randomised greedy runs search for a
        # time in proportion to the work it may save (a second at most), in as many trials
        # as greedy's own time says fit in it (the trials' clock is read between trials)
        t0 = time.perf_counter()
        best = _better(best, eq, shapes, "optimal" if n <= 4 else "greedy")
        assert best is not None  # _better keeps the best it was given
        trials = _trials(best[0][1], time.perf_counter() - t0)
        if n > 4 and best[0][1] > SEARCH_FLOPS and trials >= 2:
            budget = _budget(best[0][1])
            for minimize in ("flops", "size"):
                best = _better(best, eq, shapes, opt_einsum.RandomGreedy(
                    max_repeats=min(256, trials // 2), max_time=budget / 2,
                    minimize=minimize))
    assert best is not None
    (largest, flops), path, steps = best
    if largest > limit:
        raise QueryError(f"this query needs an intermediate table of {count(largest)} entries, "
                         f"above the limit of {limit:,}; condition on fewer variables or ask "
                         "about fewer at once")
    return Plan(eq, shapes, tuple(tuple(p) for p in path), largest, flops, steps)


Best = tuple[tuple[int, int], Any, tuple[tuple[tuple[int, ...], str], ...]]


def _budget(flops: int) -> float:
    """The seconds a search may take for a contraction of ``flops``: a tenth of its time at
    FLOPS_PER_SECOND, at most MAX_SEARCH_SECONDS."""
    return min(MAX_SEARCH_SECONDS, flops / FLOPS_PER_SECOND / 10)


def _trials(flops: int, trial_seconds: float) -> int:
    """How many searches of ``trial_seconds`` each fit in ``_budget(flops)``."""
    return int(_budget(flops) / max(trial_seconds, 1e-9))


def _better(best: Best | None, eq: str, shapes: tuple[tuple[int, ...], ...],
            optimize: object) -> Best | None:
    """The better of ``best`` and the path ``optimize`` finds: the smaller largest
    intermediate, then the fewer flops."""
    import opt_einsum

    try:
        path, info = opt_einsum.contract_path(eq, *shapes, shapes=True, optimize=optimize)
    except (MemoryError, RecursionError):  # pragma: no cover - optimiser gave up
        return best
    key = (int(info.largest_intermediate), int(info.opt_cost))
    if best is None or key < best[0]:
        return key, path, tuple((tuple(c[0]), c[2]) for c in info.contraction_list)
    return best


def _eliminate(terms: Sequence[str], output: str, shapes: tuple[tuple[int, ...], ...],
               order_by: Mapping[str, int] | None = None) -> Best | None:
    """The elimination path (``eliminate``), in the order ``order_by`` ranks when given (None
    when that costs more than ORDERED_FLOPS), or None where it does not apply (opt_einsum then
    plans, and reports any shape that does not match)."""
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes, strict=True):
        if len(term) != len(shape):
            return None
        for c, n in zip(term, shape, strict=True):
            if sizes.setdefault(c, n) != n:
                return None
    found = (elimination_path(terms, output, sizes) if order_by is None else
             ordered_path(terms, output, sizes, order_by, ORDERED_FLOPS))
    if found is None:
        return None
    return (found.largest_intermediate, found.flops), found.path, found.steps
