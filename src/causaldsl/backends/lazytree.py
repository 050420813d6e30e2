"""One question answered on the model's junction tree by only the messages its values change.

A message from a subtree whose tables read no given value (no evidence, no intervention) is the
model's own, the same for every question: it is computed once, when first needed, and kept.
A question computes only the messages from subtrees that read one of its values, towards the
clique that holds its outcomes, then that clique's joint of the outcomes. That is the reuse of
pyAgrum's LazyPropagation, for one question at a time and without planning: each message is one
``numpy.einsum`` over its clique. It is chosen where those einsums cost little (small cliques:
alarm, hepar2, win95pts), before any plan is made; elsewhere the pruned contraction answers.
See docs/exact.md §11.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causaldsl.backends.junction import JunctionTree

#: NumPy's einsum takes fewer than 64 operands and 52 subscripts: a clique past either is never
#: lazy (its questions go to the pruned contraction)
MAX_OPERANDS = 32
MAX_WIRES = 52

Edge = tuple[int, int]


@dataclass(eq=False)
class LazyTree:
    """A model's junction tree with its tables (``families``: a variable's table's wires,
    parents first; ``sizes``: each variable's number of values), and the messages of subtrees
    that read no given value, kept once computed (``prior``: per directed edge, the message
    and its wires); ``homes`` and ``orders`` keep each outcome set's clique and each root's
    walk."""

    tree: JunctionTree
    tables: Mapping[str, np.ndarray]
    families: Mapping[str, tuple[str, ...]]
    sizes: Mapping[str, int]
    prior: dict[Edge, tuple[np.ndarray, tuple[str, ...]]] = field(default_factory=dict)
    homes: dict[tuple[str, ...], int | None] = field(default_factory=dict)
    orders: dict[int, tuple[Edge, ...]] = field(default_factory=dict)

    @functools.cached_property
    def readers(self) -> dict[str, frozenset[int]]:
        """Per variable, the cliques holding a table that reads it (its own included)."""
        out: dict[str, set[int]] = {}
        for c, held in enumerate(self.tree.holds):
            for v in held:
                for w in self.families[v]:
                    out.setdefault(w, set()).add(c)
        return {w: frozenset(cs) for w, cs in out.items()}

    @functools.cached_property
    def step_cost(self) -> tuple[float, ...]:
        """Per clique, what one einsum over it visits: its entries times its operands (its
        tables and a message from each neighbour); infinite past NumPy's einsum limits."""
        out = []
        for c, clique in enumerate(self.tree.cliques):
            operands = len(self.tree.holds[c]) + len(self.tree.neighbours[c])
            if operands > MAX_OPERANDS or len(clique) > MAX_WIRES:
                out.append(math.inf)
            else:
                out.append(float(math.prod(self.sizes[v] for v in clique) * max(operands, 1)))
        return tuple(out)

    @functools.cached_property
    def prior_cost(self) -> dict[Edge, float]:
        """Per directed edge, what its message costs with no value given, its whole subtree's
        messages included (an upper bound once some are kept): the edges towards the root
        from the leaves up, then those away from it from the root down, each from the costs
        of the edges into its sender."""
        out: dict[Edge, float] = {}
        nb, step = self.tree.neighbours, self.step_cost
        schedule = self.tree.schedule  # (child, parent), leaves first
        for i, j in [*schedule, *((p, c) for c, p in reversed(schedule))]:
            out[(i, j)] = step[i] + sum(out[(k, i)] for k in nb[i] if k != j)
        return out

    @functools.cached_property
    def feasible(self) -> frozenset[int]:
        """The cliques that can hold a question's outcomes at a finite cost: none of their
        subtrees holds a clique past NumPy's einsum limits (on pathfinder every subtree of
        every clique holds its hub, so none can)."""
        return frozenset(
            r for r in range(len(self.tree.cliques)) if self.step_cost[r] < math.inf and
            all(self.prior_cost[(k, r)] < math.inf for k in self.tree.neighbours[r]))

    def _post_order(self, i: int, j: int) -> list[Edge]:
        """The directed edges of the subtree behind ``i`` (seen from ``j``), each after the
        edges into its sender, ending with ``(i, j)``; iterative (trees can be deep)."""
        out: list[Edge] = []
        stack: list[tuple[Edge, bool]] = [((i, j), False)]
        while stack:
            (a, b), done = stack.pop()
            if done:
                out.append((a, b))
                continue
            stack.append(((a, b), True))
            stack.extend(((k, a), False) for k in self.tree.neighbours[a] if k != b)
        return out

    def joint(self, outcomes: Sequence[str], values: Mapping[str, int],
              dropped: frozenset[str], budget: float) -> np.ndarray | None:
        """The unnormalised joint of ``outcomes`` (axes in their order) with ``values`` (a
        variable's position of its value: evidence and interventions) given and the tables of
        ``dropped`` (the intervened variables, which ``values`` holds too) left out; None when
        no clique holds the outcomes, or when the messages this question computes (and the
        kept ones it first needs) would cost more than ``budget``."""
        root = self._home(tuple(outcomes))
        if root is None or root not in self.feasible or self._least(root) > budget:
            return None
        touched: set[int] = set()
        for v in values:  # an intervened variable has its value too: its table's clique
            touched |= self.readers.get(v, frozenset())
        # which messages into the root's subtrees read a value: post-order from the root
        fresh: list[Edge] = []
        reads: dict[Edge, bool] = {}
        for i, j in self._towards(root):
            reads[(i, j)] = i in touched or any(
                reads[(k, i)] for k in self.tree.neighbours[i] if k != j)
            if reads[(i, j)]:
                fresh.append((i, j))
        # what the question costs: its own messages, the root's joint, and the kept messages
        # they read that are not computed yet (with their subtrees)
        cost = self.step_cost[root]
        senders: list[tuple[int, int]] = [*fresh, (root, -1)]  # -1: the root sends nowhere
        for i, j in senders:
            cost += self.step_cost[i] if j >= 0 else 0.0
            for k in self.tree.neighbours[i]:
                if k != j and not reads[(k, i)] and (k, i) not in self.prior:
                    cost += self.prior_cost[(k, i)]
            if cost > budget:
                return None
        messages: dict[Edge, tuple[np.ndarray, tuple[str, ...]]] = {}

        def incoming(i: int, j: int) -> list[tuple[np.ndarray, tuple[str, ...]]]:
            return [messages[(k, i)] if reads[(k, i)] else self._prior_message(k, i)
                    for k in self.tree.neighbours[i] if k != j]

        for i, j in fresh:
            messages[(i, j)] = self._send(i, self.tree.cliques[i] & self.tree.cliques[j],
                                          incoming(i, j), values, dropped)
        ops = self._operands(root, values, dropped) + incoming(root, -1)
        if not set(outcomes) <= {w for _, wires in ops for w in wires}:
            return None  # an outcome no operand reads: left to the pruned contraction
        return _einsum(ops, tuple(outcomes))

    def _least(self, root: int) -> float:
        """The least any question answered at ``root`` costs: its own einsum, and each message
        into it either computed (at least its sender's einsum) or kept (free once computed):
        found before walking the tree, so that a model whose cliques are large (munin1) turns
        its questions away at once."""
        return self.step_cost[root] + sum(
            0.0 if (k, root) in self.prior else min(self.step_cost[k], self.prior_cost[(k, root)])
            for k in self.tree.neighbours[root])

    def _home(self, outcomes: tuple[str, ...]) -> int | None:
        """The smallest clique holding the outcomes (kept per outcomes)."""
        if outcomes not in self.homes:
            self.homes[outcomes] = self.tree.home(outcomes)
        return self.homes[outcomes]

    def _towards(self, root: int) -> tuple[Edge, ...]:
        """Every directed edge towards ``root``, each after the edges into its sender (kept
        per root)."""
        hit = self.orders.get(root)
        if hit is None:
            hit = self.orders[root] = tuple(
                e for k in self.tree.neighbours[root] for e in self._post_order(k, root))
        return hit

    def _prior_message(self, i: int, j: int) -> tuple[np.ndarray, tuple[str, ...]]:
        """The message ``(i, j)`` with no value given, its subtree's computed first (kept)."""
        hit = self.prior.get((i, j))
        if hit is None:
            for a, b in self._post_order(i, j):
                if (a, b) not in self.prior:
                    self.prior[(a, b)] = self._send(
                        a, self.tree.cliques[a] & self.tree.cliques[b],
                        [self.prior[(k, a)] for k in self.tree.neighbours[a] if k != b],
                        {}, frozenset())
            hit = self.prior[(i, j)]
        return hit

    def _operands(self, clique: int, values: Mapping[str, int], dropped: frozenset[str]
                  ) -> list[tuple[np.ndarray, tuple[str, ...]]]:
        """A clique's tables, each sliced at the given values, without the dropped ones."""
        out = []
        for v in self.tree.holds[clique]:
            if v in dropped:
                continue
            fam = self.families[v]
            arr = self.tables[v]
            if any(w in values for w in fam):
                arr = arr[tuple(values[w] if w in values else slice(None) for w in fam)]
                fam = tuple(w for w in fam if w not in values)
            out.append((arr, fam))
        return out

    def _send(self, i: int, separator: frozenset[str],
              ins: list[tuple[np.ndarray, tuple[str, ...]]], values: Mapping[str, int],
              dropped: frozenset[str]) -> tuple[np.ndarray, tuple[str, ...]]:
        """Clique ``i``'s tables times the messages ``ins``, summed down to the separator's
        wires that they read (along the others the message would be constant: left out)."""
        ops = self._operands(i, values, dropped) + ins
        read = {w for _, wires in ops for w in wires}
        out = tuple(sorted(w for w in separator & read))
        return _einsum(ops, out), out


def _einsum(ops: Sequence[tuple[np.ndarray, tuple[Hashable, ...]]], out: tuple[Hashable, ...]
            ) -> np.ndarray:
    """One einsum of the operands (array, wires) down to ``out``, wires numbered locally."""
    local: dict[Hashable, int] = {}
    args: list[Any] = []
    for arr, wires in ops:
        args += [arr, [local.setdefault(w, len(local)) for w in wires]]
    if not args:
        return np.ones(())
    args.append([local[w] for w in out])
    return np.asarray(np.einsum(*args))
