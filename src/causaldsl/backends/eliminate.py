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
    if any(len(set(t)) != len(t) for t in terms) or \
            set(output) - {c for t in terms for c in t}:
        return None
    # operands by id (ids only grow); ``order`` lists the live ids as opt_einsum's positions do
    ops: dict[int, str] = dict(enumerate(terms))
    sets: dict[int, frozenset[str]] = {i: frozenset(t) for i, t in ops.items()}
    order: list[int] = list(ops)
    holders: dict[str, set[int]] = {}
    for i, t in ops.items():
        for c in t:
            holders.setdefault(c, set()).add(i)
    out = set(output)
    steps: list[tuple[tuple[int, ...], str]] = []
    path: list[tuple[int, ...]] = []
    largest = 0
    flops = 0
    next_id = len(terms)
    dim = sizes.__getitem__

    def weight(c: str) -> tuple[int, int]:
        held = holders[c]
        return math.prod(map(dim, frozenset().union(*(sets[i] for i in held)))), len(held)

    def contract(ids: list[int], result: str | None = None) -> int:
        """Contract the operands ``ids`` into a new one, which keeps the indices still held
        by other operands or in the output (in the order ``result`` if given)."""
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
    # min-weight first; ties by the index itself, so the path does not depend on set order.
    # A heap with stale entries skipped: an index's weight changes only when its operands do
    heap = [(w, c) for c, w in weights.items()]
    heapq.heapify(heap)
    while pending:
        w, c = heapq.heappop(heap)
        if c not in pending or weights[c] != w:
            continue
        group = sorted(holders[c])
        touched = set().union(*(sets[i] for i in group))
        if len(group) == 1 or w[0] <= PLAIN_EINSUM:
            # one step: one operand, or a product small enough for one plain einsum loop
            contract(group)
            group = []
        while len(group) > 1:  # the two smallest first; their result replaces them
            a, b = sorted(group, key=lambda i: (math.prod(map(dim, ops[i])), i))[:2]
            new = contract([a, b])
            group = sorted(holders[c])
            touched |= sets[new]
        pending -= {t for t in touched if not holders[t]}  # only these can have lost all
        for t in touched & pending:
            weights[t] = weight(t)
            heapq.heappush(heap, (weights[t], t))
    while len(order) > 1:  # what is left holds only output indices: outer products
        a, b = sorted(order, key=lambda i: (math.prod(map(dim, ops[i])), i))[:2]
        contract([a, b])
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
