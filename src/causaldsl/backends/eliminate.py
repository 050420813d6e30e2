"""A contraction path by variable elimination: sum the indices out one at a time, cheapest first
(min-weight: the fewest entries in the product of the operands that hold the index), each in
one step when that product is small, else by pairwise contractions, smallest first.

This is the order exact inference on Bayesian networks uses, and on the sparse einsums that
queries make it finds paths as good as opt_einsum's greedy search for a fraction of its cost
(which is most of what a new question costs). It returns the path in opt_einsum's form, so
``stage`` runs it unchanged.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left as position
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

#: An elimination whose operands' product has at most this many entries is one step, run as
#: one plain einsum loop (no intermediates, no BLAS set-up); larger ones go pairwise, smallest
#: first, so that each step can use BLAS.
PLAIN_EINSUM = 1 << 15


@dataclass(frozen=True)
class EliminationPath:
    """Steps: operand positions popped (descending) and the step's equation; the largest result
    and the total flops (entries visited, summed over steps)."""

    steps: tuple[tuple[tuple[int, ...], str], ...]
    path: tuple[tuple[int, ...], ...]
    largest_intermediate: int
    flops: int


def elimination_path(terms: Sequence[str], output: str, sizes: dict[str, int]
                     ) -> EliminationPath | None:
    """The path for ``einsum(",".join(terms) + "->" + output)`` (one character per index,
    ``sizes`` by character); None when an operand repeats an index or an output index is in
    no operand (cases left to opt_einsum)."""
    # This search is on the path of every new question, so it keeps its state incrementally
    # and its loops plain (docs/exact.md, "the elimination path's bookkeeping"). Operands by
    # id (ids only grow); ``order`` lists the live ids as opt_einsum's positions do (in
    # increasing order, as new ids go last: a position is a bisection); ``holders`` the live
    # ids that hold an index; each operand's indices also as a bit mask, and its entries
    prod = math.prod
    dim = sizes.__getitem__
    ops: dict[int, str] = dict(enumerate(terms))
    op = ops.__getitem__
    entries: dict[int, int] = {}
    masks: dict[int, int] = {}
    holders: dict[str, set[int]] = {}
    bit: dict[str, int] = {}
    for i, t in ops.items():
        m = 0
        for c in t:
            if c in bit:
                holders[c].add(i)
            else:
                bit[c] = 1 << len(bit)
                holders[c] = {i}
            m |= bit[c]
        if m.bit_count() != len(t):  # a repeated index: a trace
            return None
        masks[i] = m
        entries[i] = prod(map(dim, t))
    if not holders.keys() >= set(output):
        return None
    out = set(output)
    pending = holders.keys() - out  # the indices left to sum out
    #: the entries over a set of indices, by mask: what two operands share, remembered
    shared = {b: sizes[c] for c, b in bit.items()}
    shared[0] = 1
    #: no empty axis, so products of entries can be divided
    exact = 0 not in shared.values()

    def over(common: int) -> int:
        """The entries over the indices in the mask ``common`` (remembered in ``shared``)."""
        size = 1
        rest = common
        while rest:
            low = rest & -rest
            size *= shared[low]
            rest ^= low
        shared[common] = size
        return size

    def weight(c: str) -> int:
        """Min-weight's key, packed in one int (cheap to compare in the heap): first the
        entries of the product of the operands that hold ``c``, then their number, then ``c``
        (so that the path does not depend on set order). The product over a union is the
        product over its parts divided by the product over what they share."""
        held = holders[c]
        if exact:
            rest = iter(held)
            first = next(rest)
            size, union = entries[first], masks[first]
            for i in rest:
                common = union & masks[i]
                size = size * entries[i] // (shared.get(common) or over(common))
                union |= masks[i]
        else:  # an empty axis: nothing to divide by
            size = prod(map(dim, set("".join(map(op, held)))))
        return size << 96 | len(held) << 32 | ord(c)

    order: list[int] = list(ops)
    steps: list[tuple[tuple[int, ...], str]] = []
    path: list[tuple[int, ...]] = []
    largest = 0
    flops = 0

    def pair(i: int, j: int) -> str:
        """Contract the operands ``i`` and ``j`` into a new one, which keeps the indices still
        held by other operands or in the output (in ``i``'s order, then ``j``'s); the indices
        it keeps (those it sums out are no longer pending)."""
        nonlocal largest, flops
        new = len(terms) + len(steps)
        si, sj = ops[i], ops[j]
        p, q = position(order, i), position(order, j)
        del order[max(p, q)], order[min(p, q)]
        result = ""
        mi = masks[i]
        m = both = mi | masks[j]
        work = size = entries[i] * entries[j]
        for c in si:
            held = holders[c]
            held.discard(i)
            held.discard(j)
            if held or c in out:
                result += c
                held.add(new)
            else:  # summed out
                m ^= bit[c]
                pending.discard(c)
        for c in sj:
            b = bit[c]
            if b & mi:  # done with i's
                continue
            held = holders[c]
            held.discard(j)
            if held or c in out:
                result += c
                held.add(new)
            else:  # summed out
                m ^= b
                pending.discard(c)
        if exact:  # the entries over the union, then over the result
            common = mi & masks[j]
            work = work // (shared.get(common) or over(common))
            summed = m ^ both
            size = work // (shared.get(summed) or over(summed))
        else:
            work = prod(map(dim, set(si + sj)))
            size = prod(map(dim, result))
        steps.append(((p, q), si + "," + sj + "->" + result) if p > q else
                     ((q, p), sj + "," + si + "->" + result))
        path.append((q, p) if p > q else (p, q))
        del ops[i], ops[j], entries[i], entries[j], masks[i], masks[j]
        ops[new] = result
        masks[new] = m
        entries[new] = size
        order.append(new)
        if size > largest:
            largest = size
        flops += work
        return result

    def contract(ids: list[int], result: str | None = None) -> str:
        """Contract the operands ``ids`` (one, or more than two) as ``pair`` does (into the
        indices ``result`` if given)."""
        nonlocal largest, flops
        new = len(terms) + len(steps)
        union = "".join(dict.fromkeys("".join(map(op, ids))))
        positions = tuple(sorted([position(order, i) for i in ids], reverse=True))
        steps.append((positions, ",".join([ops[order[p]] for p in positions]) + "->"))
        path.append(positions[::-1])
        for p in positions:
            del order[p]
        for i in ids:
            for c in ops.pop(i):
                holders[c].discard(i)
            del entries[i], masks[i]
        if result is None:
            result = "".join([c for c in union if holders[c] or c in out])
        steps[-1] = (positions, steps[-1][1] + result)
        m = 0
        for c in result:
            holders[c].add(new)
            m |= bit[c]
        ops[new] = result
        masks[new] = m
        order.append(new)
        size = entries[new] = prod(map(dim, result))
        if size > largest:
            largest = size
        flops += prod(map(dim, union))
        return union

    def smallest_two(group: Iterable[int]) -> str:
        """Contract the two operands of ``group`` with the fewest entries (ties by id)."""
        a, b = sorted(group, key=lambda i: (entries[i], i))[:2]
        return pair(a, b)

    weights = {c: weight(c) for c in pending}
    # min-weight first. A heap with stale entries skipped: an index's weight changes only
    # when its operands do (and an entry whose weight did not change stays valid, so it is
    # not pushed again)
    heap = list(weights.values())
    heapq.heapify(heap)
    push, pop = heapq.heappush, heapq.heappop
    while pending:
        w = pop(heap)
        c = chr(w & 0xFFFFFFFF)
        if c not in pending or weights[c] != w:
            continue
        held = holders[c]
        if len(held) == 2 and w >> 96 <= PLAIN_EINSUM:  # the most common step
            i, j = held
            touched = pair(i, j) if i < j else pair(j, i)
        elif len(held) == 1 or w >> 96 <= PLAIN_EINSUM:
            # one step: one operand, or a product small enough for one plain einsum loop
            touched = contract(sorted(held))
        else:  # the two smallest first; their result replaces them (and holds only these)
            touched = "".join(dict.fromkeys("".join(map(op, held))))
            while len(held) > 1:
                smallest_two(held)
        # the indices whose operands changed: those that lost all their operands are summed
        # out, the others weighed again (inline, for the common case of two operands)
        for t in touched:
            if t in pending:
                held = holders[t]
                if len(held) == 2 and exact:
                    i, j = held
                    common = masks[i] & masks[j]
                    wt = (entries[i] * entries[j] // (shared.get(common) or over(common)) << 96
                          | 2 << 32 | ord(t))
                elif held:
                    wt = weight(t)
                else:
                    pending.discard(t)
                    continue
                if wt != weights[t]:
                    weights[t] = wt
                    push(heap, wt)
    while len(order) > 1:  # what is left holds only output indices: outer products
        smallest_two(order)
    if ops[order[0]] != output:  # put the output's indices in order
        contract([order[0]], output)
    return EliminationPath(tuple(steps), tuple(path), max(largest, 1), flops)


def ordered_path(terms: Sequence[str], output: str, sizes: Mapping[str, int],
                 rank: Mapping[str, int], budget: int) -> EliminationPath | None:
    """The path that sums the indices out in the order ``rank`` gives (a model's elimination
    order), with no search: each index's operands in one step when their product has at most
    PLAIN_EINSUM entries, else pairwise, smallest first. None when it would cost more than
    ``budget`` flops, or where ``elimination_path`` gives None."""
    ops: list[str | None] = list(terms)  # by id; None once consumed
    live: list[int] = list(range(len(terms)))  # ids in opt_einsum's positions
    holders: dict[str, list[int]] = {}
    for i, t in enumerate(terms):
        if len(set(t)) != len(t):
            return None
        for c in t:
            holders.setdefault(c, []).append(i)
    if set(output) - holders.keys():
        return None
    steps: list[tuple[tuple[int, ...], str]] = []
    path: list[tuple[int, ...]] = []
    largest = 1
    flops = 0

    def contract(ids: list[int], keep: Sequence[str] | None = None) -> None:
        nonlocal largest, flops
        ins = [ops[i] for i in ids]
        union = "".join(dict.fromkeys("".join(ins)))  # type: ignore[arg-type]
        if keep is None:
            mine = set(ids)
            keep = [c for c in union if c in output or not mine.issuperset(holders[c])]
        result = "".join(keep)
        positions = sorted((live.index(i) for i in ids), reverse=True)
        steps.append((tuple(positions), ",".join(ops[live[p]] for p in positions)  # type: ignore[misc]
                      + "->" + result))
        path.append(tuple(positions[::-1]))
        for p in positions:
            del live[p]
        new = len(ops)
        for i in ids:
            ops[i] = None
        ops.append(result)
        live.append(new)
        for c in union:
            held = holders[c] = [i for i in holders[c] if ops[i] is not None]
            if c in result:
                held.append(new)
        size = 1
        for c in result:
            size *= sizes[c]
        largest = max(largest, size)
        work = 1
        for c in union:
            work *= sizes[c]
        flops += work

    def entries(i: int) -> int:
        term = ops[i]
        assert term is not None
        return math.prod([sizes[c] for c in term])

    for c in sorted([c for c in holders if c not in output], key=rank.__getitem__):
        group = holders[c]
        if not group:  # summed out already, with the last operands that held it
            continue
        union = set("".join(ops[i] for i in group))  # type: ignore[misc]
        if len(group) == 1 or math.prod([sizes[x] for x in union]) <= PLAIN_EINSUM:
            contract(list(group))
        else:
            while len(holders[c]) > 1:
                a, b = sorted(holders[c], key=lambda i: (entries(i), i))[:2]
                contract([a, b])
            if holders[c]:
                contract(list(holders[c]))
        if flops > budget:
            return None
    while len(live) > 1:  # what is left holds only output indices: outer products
        a, b = sorted(live, key=lambda i: (entries(i), i))[:2]
        contract([a, b])
    if ops[live[0]] != output:
        contract([live[0]], output)
    return EliminationPath(tuple(steps), tuple(path), largest, flops)


def elimination_order(families: Iterable[Sequence[str]], sizes: Mapping[str, int]
                      ) -> dict[str, int]:
    """A model's elimination order, as each variable's rank: greedy min-fill on the moral graph
    (the fewest edges added among a variable's neighbours; ties by the fewest entries in its
    clique, then by name), found once per model so that a new question plans without searching
    (a question's pruned graph is a subgraph, where the order stays good). ``families``: each
    table's ``(*parents, variable)``."""
    adj: dict[str, set[str]] = {}
    for fam in families:
        for a in fam:
            adj.setdefault(a, set()).update(b for b in fam if b != a)

    def key(v: str) -> tuple[int, int, str]:
        nb = adj[v]
        d = len(nb)  # pairs of neighbours, less the pairs already joined
        fill = d * (d - 1) // 2 - sum(len(adj[a] & nb) for a in nb) // 2
        return fill, math.prod(sizes[u] for u in nb) * sizes[v], v

    current = {v: key(v) for v in adj}
    heap = list(current.values())
    heapq.heapify(heap)
    rank: dict[str, int] = {}
    while heap:
        k = heapq.heappop(heap)
        v = k[2]
        if v in rank or current[v] != k:
            continue
        rank[v] = len(rank)
        nb = adj.pop(v)
        for a in nb:  # its neighbours become a clique
            adj[a].discard(v)
            adj[a].update(b for b in nb if b != a)
        # the fill changes only for the neighbours and for nodes next to two of them
        seen: dict[str, int] = {}
        for a in nb:
            for u in adj[a]:
                seen[u] = seen.get(u, 0) + 1
        touched = nb.union(u for u, n in seen.items() if n > 1)
        for u in touched:
            current[u] = key(u)
            heapq.heappush(heap, current[u])
    return rank
