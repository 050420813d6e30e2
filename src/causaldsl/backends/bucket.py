"""Bucket elimination in a model's elimination order, planned and run on the host: how the
NumPy tier answers a query shape (docs/exact.md §6).

A new question costs what its plan costs to make, and a path search or a staged plan costs more
than the arithmetic of most questions. Here the plan is one pass over the sliced tables in the
model's order (``eliminate.elimination_order``): each summed variable's tables are joined by one
``numpy.einsum`` and the variable summed out, with no search and no staging. Where that order
would cost more than a budget of flops, there is no bucket plan and the staged contraction
(``exact.SlicedContraction``) serves instead.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.backends.factors import Factor

#: the most operands one step joins (NumPy's einsum takes fewer than 64) and the most wires it
#: reads (its subscripts are 52 letters)
MAX_OPERANDS = 32
MAX_WIRES = 52
#: one step: the slots it reads, each slot's einsum sublist, and the sublist of its result
Step = tuple[tuple[int, ...], tuple[tuple[int, ...], ...], tuple[int, ...]]


@dataclass(frozen=True)
class BucketPlan:
    """Tables sliced at the given values (``picks``: per table, per axis, the position of the
    value that slices it, or None), then ``steps``, each appending its result to the slots; the
    last step gives the result over the output wires. ``flops`` counts the entries each step
    visits, ``largest`` the largest result (the output's included)."""

    arrays: tuple[np.ndarray, ...]
    picks: tuple[tuple[int | None, ...], ...]
    steps: tuple[Step, ...]
    flops: int
    largest: int

    @classmethod
    def of(cls, factors: Sequence[Factor], given: Mapping[Any, int],
           output: Sequence[Hashable], rank: Mapping[Any, int], budget: int
           ) -> BucketPlan | None:
        """The plan for ``factors`` (arrays known) sliced at the ``given`` wires (wire → the
        position of its value) down to ``output``; None when it would cost more than ``budget``
        flops, or when an output wire is in no table."""
        arrays: list[np.ndarray] = []
        picks: list[tuple[int | None, ...]] = []
        # the slots not yet read, each with its wires, in slot order; and, per wire, the live
        # slots that hold it (dicts keep the slots in the order they were added, so in slot
        # order too): a wire's bucket is found without a pass over every live slot
        live: dict[int, tuple[Hashable, ...]] = {}
        holders: dict[Hashable, dict[int, None]] = {}
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
            slot = len(arrays)
            live[slot] = ws
            for w in ws:
                holders.setdefault(w, {})[slot] = None
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
            bucket = [(s, live[s]) for s in holders[w]]
            for s, ws in bucket:  # read now: no longer live
                del live[s]
                for x in ws:
                    del holders[x][s]
            joined = fewer(bucket)
            if joined is None:
                return None
            group = joined
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
            slot = len(arrays) + len(steps) - 1
            live[slot] = tuple(result)
            for x in result:
                holders[x][slot] = None
        joined = fewer(list(live.items()))
        work = math.prod(sizes[x] for x in output)
        flops += work
        largest = max(largest, work)
        if joined is None or flops > budget or len(output) > MAX_WIRES:
            return None
        steps.append(_step(joined, output))
        return cls(tuple(arrays), tuple(picks), tuple(steps), flops, largest)

    def run(self, idx: Any) -> np.ndarray:
        """The result over the output wires, with the given values at positions ``idx``."""
        slots: list[Any] = [a[tuple(slice(None) if j is None else idx[j] for j in pk)]
                            if any(j is not None for j in pk) else a
                            for a, pk in zip(self.arrays, self.picks, strict=True)]
        for reads, subs, result in self.steps:
            args: list[Any] = []
            for s, sub in zip(reads, subs, strict=True):
                args += [slots[s], sub]
            slots.append(np.einsum(*args, result) if args else np.ones(()))
        return np.asarray(slots[-1])


def _step(reads: Sequence[tuple[int, tuple[Hashable, ...]]], result: Sequence[Hashable]
          ) -> Step:
    """One einsum over the slots ``reads`` (slot, wires), its wires numbered from 0 (NumPy's
    einsum takes at most 52 of them)."""
    local: dict[Hashable, int] = {}
    subs = tuple(tuple(local.setdefault(x, len(local)) for x in ws) for _, ws in reads)
    return tuple(s for s, _ in reads), subs, tuple(local[x] for x in result)
