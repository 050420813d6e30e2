"""Graph algorithms shared by causal models, their graph view and the backends: topological
order (or the cycle that forbids one), and classes of linked items."""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def topological_order(parents: Mapping[str, Sequence[str]]) -> tuple[list[str], list[str]]:
    """Kahn's algorithm, ties broken by the mapping's order. Returns ``(order, cycle)``:
    ``cycle`` is empty when the graph is acyclic, else one directed cycle, in causal order."""
    pos = {n: i for i, n in enumerate(parents)}
    indeg = {n: len(ps) for n, ps in parents.items()}
    children: dict[str, list[str]] = {n: [] for n in parents}
    for n, ps in parents.items():
        for p in ps:
            children[p].append(n)
    ready = [(pos[n], n) for n, d in indeg.items() if d == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, n = heapq.heappop(ready)
        order.append(n)
        for c in children[n]:
            indeg[c] -= 1
            if indeg[c] == 0:
                heapq.heappush(ready, (pos[c], c))
    if len(order) == len(parents):
        return order, []
    done = set(order)
    left = {n: [p for p in ps if p not in done] for n, ps in parents.items() if n not in done}
    # every leftover node has a leftover parent: walk parents until a node repeats
    n = next(iter(left))
    path: list[str] = []
    index: dict[str, int] = {}
    while n not in index:
        index[n] = len(path)
        path.append(n)
        n = left[n][0]
    return order, list(reversed(path[index[n]:]))


def linked_classes(items: Sequence[T], links: Iterable[tuple[T, T]]) -> list[list[T]]:
    """The classes of ``items`` joined by ``links`` (union-find), each in item order, the
    classes ordered by their first item."""
    root: dict[T, T] = {i: i for i in items}

    def find(i: T) -> T:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for a, b in links:
        root[find(a)] = find(b)
    out: dict[T, list[T]] = {}
    for i in items:
        out.setdefault(find(i), []).append(i)
    return list(out.values())
