"""Junction trees: a model compiled once, so that every posterior under one evidence setting
costs one propagation.

The tree's cliques come from a min-fill triangulation of the moral graph (networkx); each
table sits in one clique that holds its family. Given the variables that are set (by ``do``:
their own table dropped; or observed: kept) every table is sliced at their values, and
Shafer–Shenoy propagation sends one message each way along every edge. A message is a planned
contraction of its clique's tables and the messages coming in, never a dense clique potential,
so a tree whose cliques would be too large to hold can still be calibrated. Messages that read
no set value are computed once per *pattern* (which variables are set), and the rest carry a
leading batch axis, so one propagation serves many settings at once. See ``docs/exact.md``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causaldsl.backends.eliminate import PLAIN_EINSUM
from causaldsl.backends.factors import numpy_einsum
from causaldsl.backends.plan import Plan, plan
from causaldsl.core.errors import QueryError

#: The batch axis of a propagation: one entry per setting of the set variables
BATCH = ("#", "batch")
#: A pattern whose plans need an intermediate larger than this (entries) gets no propagation;
#: its questions go to the pruned contraction instead
MAX_MESSAGE_ENTRIES = 2**22
#: A clique that sends two or more messages towards the leaves, and whose open variables have at
#: most this many entries, computes its belief once and divides out each receiver's message
#: (Hugin's way, 0/0 = 0), instead of one product of the other messages per receiver
DENSE_BELIEF = 2**16


@dataclass(frozen=True)
class JunctionTree:
    """Cliques of a model's variables joined in a tree with the running-intersection property.
    ``schedule`` lists the edges ``(child, parent)`` from the leaves to clique 0, the root;
    ``holds`` gives, per clique, the variables whose tables it holds."""

    cliques: tuple[frozenset[str], ...]
    schedule: tuple[tuple[int, int], ...]
    holds: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, families: Mapping[str, Sequence[str]]) -> JunctionTree:
        """The tree of tables whose families (``(*parents, variable)``) are given by variable."""
        import networkx as nx  # here, not at import: a one-shot question never builds a tree
        from networkx.algorithms.approximation import treewidth_min_fill_in

        moral = nx.Graph()
        for v, fam in families.items():
            moral.add_node(v)
            moral.add_nodes_from(fam)
            moral.add_edges_from((a, b) for i, a in enumerate(fam) for b in fam[i + 1:])
        bags = nx.Graph()
        for component in nx.connected_components(moral):
            part = moral.subgraph(component)
            if part.number_of_nodes() == 1:
                bags.add_node(frozenset(component))
                continue
            _, decomposition = treewidth_min_fill_in(part)
            bags = nx.union(bags, decomposition)
        # one tree: join the components' trees by empty separators; order cliques for speed
        cliques = sorted(bags.nodes, key=lambda c: (-len(c), sorted(c)))
        index = {c: i for i, c in enumerate(cliques)}
        tree = nx.relabel_nodes(bags, index)
        roots = [min(comp) for comp in nx.connected_components(tree)]
        tree.add_edges_from((roots[0], r) for r in roots[1:])
        parent = dict(nx.bfs_predecessors(tree, 0))
        order = list(nx.bfs_tree(tree, 0))  # parents before children
        schedule = tuple((c, parent[c]) for c in reversed(order) if c != 0)
        holds: list[list[str]] = [[] for _ in cliques]
        for v, fam in families.items():
            fam_set = set(fam)
            home = min((i for i, c in enumerate(cliques) if fam_set <= c),
                       key=lambda i: (len(cliques[i]), i))
            holds[home].append(v)
        return cls(tuple(cliques), schedule, tuple(tuple(h) for h in holds))

    @classmethod
    def from_order(cls, families: Mapping[str, Sequence[str]], rank: Mapping[str, int]
                   ) -> JunctionTree:
        """The elimination tree of an elimination order (``rank``: a variable's position;
        unranked ones last), without networkx: eliminating v in the moral graph makes the
        clique of v and its neighbours eliminated after it (joined to each other), whose
        parent is the clique of the first of those to be eliminated; that tree has the
        running-intersection property. Cliques come in reverse order of elimination (the root,
        the last one eliminated, first); the components' roots hang from it. Each table sits in
        the clique of its family's first eliminated variable, which holds the whole family."""
        adj: dict[str, set[str]] = {}
        for v, fam in families.items():
            adj.setdefault(v, set())
            for a in fam:
                adj.setdefault(a, set()).update(w for w in fam if w != a)
        last = len(rank)
        order = sorted(adj, key=lambda v: (rank.get(v, last), v))
        pos = {v: k for k, v in enumerate(order)}
        later: dict[str, set[str]] = {}
        for v in order:
            nbrs = {u for u in adj[v] if pos[u] > pos[v]}
            later[v] = nbrs
            for a in nbrs:
                adj[a] |= nbrs - {a}
        index = {v: k for k, v in enumerate(reversed(order))}
        cliques = tuple(frozenset({v} | later[v]) for v in reversed(order))
        schedule = []
        for v in order[:-1]:
            parent = min(later[v], key=pos.__getitem__) if later[v] else order[-1]
            schedule.append((index[v], index[parent]))
        holds: list[list[str]] = [[] for _ in cliques]
        for v, fam in families.items():
            holds[index[min((*fam, v), key=pos.__getitem__)]].append(v)
        return cls(cliques, tuple(schedule), tuple(tuple(h) for h in holds))

    @functools.cached_property
    def neighbours(self) -> tuple[tuple[int, ...], ...]:
        out: list[list[int]] = [[] for _ in self.cliques]
        for c, p in self.schedule:
            out[c].append(p)
            out[p].append(c)
        return tuple(tuple(n) for n in out)

    def home(self, variables: Sequence[str]) -> int | None:
        """The smallest clique holding all of ``variables``, or None."""
        want = set(variables)
        found = [i for i, c in enumerate(self.cliques) if want <= c]
        return min(found, key=lambda i: (len(self.cliques[i]), i)) if found else None


@dataclass(frozen=True)
class Operand:
    """A clique's table, sliced at the set values: its wires after slicing (the batch axis
    first where a value slices it), and per axis of the full table the position of the value
    that slices it (None: kept)."""

    var: str
    wires: tuple[Hashable, ...]
    picks: tuple[int | None, ...]

    @property
    def batched(self) -> bool:
        return any(j is not None for j in self.picks)


@dataclass(eq=False)
class Propagation:
    """Shafer–Shenoy propagation on a tree for one pattern: ``set_vars`` (do, then observed)
    take their values, by position, from the index vectors given to ``calibrate``. Plans are
    made when the pattern is first seen; messages that read no set value are computed then too
    (constants of the pattern)."""

    tree: JunctionTree
    tables: Mapping[str, np.ndarray]
    families: Mapping[str, tuple[str, ...]]
    sizes: Mapping[str, int]
    do_vars: tuple[str, ...]
    observed: tuple[str, ...]
    operands: tuple[tuple[Operand, ...], ...] = ()
    #: directed edges in the order messages are sent: collect (leaves to root), distribute
    order: tuple[tuple[int, int], ...] = ()
    plans: dict[tuple[int, int], Plan] = field(default_factory=dict)
    batched: dict[tuple[int, int], bool] = field(default_factory=dict)
    wires: dict[tuple[int, int], tuple[Hashable, ...]] = field(default_factory=dict)
    constants: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    #: cliques that send by division: the plan of their belief, its wires, and its value where
    #: it reads no set value
    dense: dict[int, Plan] = field(default_factory=dict)
    dense_wires: dict[int, tuple[Hashable, ...]] = field(default_factory=dict)
    dense_constants: dict[int, np.ndarray] = field(default_factory=dict)
    by_division: set[tuple[int, int]] = field(default_factory=set)
    belief_plans: dict[int, tuple[tuple[Hashable, ...], Plan]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_at = {v: j for j, v in enumerate((*self.do_vars, *self.observed))}
        dropped = set(self.do_vars)
        ops = []
        for held in self.tree.holds:
            row = []
            for v in held:
                if v in dropped:
                    continue
                fam = self.families[v]
                picks = tuple(set_at.get(w) for w in fam)
                wires = tuple(w for w, j in zip(fam, picks, strict=True) if j is None)
                row.append(Operand(v, (BATCH, *wires) if any(
                    j is not None for j in picks) else wires, picks))
            ops.append(tuple(row))
        self.operands = tuple(ops)
        collect = self.tree.schedule
        self.order = (*collect, *((p, c) for c, p in reversed(collect)))
        children: dict[int, int] = {}
        for _, p in collect:
            children[p] = children.get(p, 0) + 1
        for k, edge in enumerate(self.order):
            i = edge[0]
            if k >= len(collect) and children.get(i, 0) >= 2 and \
                    math.prod(self.sizes[v] for v in self._open(i)) <= DENSE_BELIEF:
                self._plan_dense(edge)
            else:
                self._plan_message(edge)

    # -- plans -----------------------------------------------------------------------------
    def _open(self, clique: int) -> frozenset[str]:
        return self.open_vars[clique]

    @functools.cached_property
    def open_vars(self) -> tuple[frozenset[str], ...]:
        """Per clique, its variables that are not set."""
        fixed = {*self.do_vars, *self.observed}
        return tuple(c - fixed for c in self.tree.cliques)

    def _inputs(self, clique: int, but: int | None) -> list[tuple[int, int]]:
        return [(k, clique) for k in self.tree.neighbours[clique] if k != but]

    def _shape(self, wires: Sequence[Hashable]) -> tuple[int, ...]:
        return tuple(1 if w == BATCH else self.sizes[w] for w in wires)  # type: ignore[index]

    def _plan_message(self, edge: tuple[int, int]) -> None:
        """Plan one message: the separator's open variables that its inputs read (a variable
        none reads would make the message constant along it, so it is left out)."""
        i, j = edge
        ins = self._inputs(i, j)
        terms = self._terms(i, ins)
        read = {w for wires, _ in terms for w in wires}
        self.batched[edge] = BATCH in read
        sep = sorted(self._open(i) & self._open(j) & read)
        out = (BATCH, *sep) if self.batched[edge] else tuple(sep)
        self.wires[edge] = out
        self.plans[edge] = quick_plan(terms, out)
        if not self.batched[edge]:
            self.constants[edge] = self._contract(self.plans[edge], [
                *(self.tables[o.var] for o in self.operands[i]),
                *(self.constants[e] for e in ins)])

    def belief_plan(self, clique: int) -> tuple[tuple[Hashable, ...], Plan]:
        """The plan of a clique's belief over every variable its tables and messages read
        (cached per pattern)."""
        hit = self.belief_plans.get(clique)
        if hit is None:
            terms = self._terms(clique, self._inputs(clique, None))
            out = _belief_wires(terms)
            hit = self.belief_plans[clique] = (out, quick_plan(terms, out))
        return hit

    def _terms(self, clique: int, ins: list[tuple[int, int]]
               ) -> list[tuple[tuple[Hashable, ...], tuple[int, ...]]]:
        """The operands of a contraction at ``clique``: its tables, then the messages ``ins``,
        as (wires, planning shape)."""
        return [(o.wires, self._shape(o.wires)) for o in self.operands[clique]] + \
               [(self.wires[e], self._shape(self.wires[e])) for e in ins]

    def _plan_dense(self, edge: tuple[int, int]) -> None:
        """Plan a message sent by division: the sender's belief (planned with its first such
        message), divided by the receiver's message and summed down to the separator."""
        i, j = edge
        self.by_division.add(edge)
        if i not in self.dense:
            ins = self._inputs(i, None)
            terms = self._terms(i, ins)
            out = self.dense_wires[i] = _belief_wires(terms)
            self.dense[i] = quick_plan(terms, out)
            if BATCH not in out:
                self.dense_constants[i] = self._contract(self.dense[i], [
                    *(self.tables[o.var] for o in self.operands[i]),
                    *(self.constants[e] for e in ins)])
        bw = self.dense_wires[i]
        self.batched[edge] = BATCH in bw
        self.wires[edge] = tuple(w for w in bw if w == BATCH or w in self._open(j))
        if not self.batched[edge]:
            self.constants[edge] = self._divide(self.dense_constants[i], bw, self.constants[
                (j, i)], self.wires[(j, i)], self.wires[edge])

    @staticmethod
    def _divide(belief: np.ndarray, bw: tuple[Hashable, ...], m: np.ndarray,
                mw: tuple[Hashable, ...], out: tuple[Hashable, ...]) -> np.ndarray:
        """Σ over the belief's wires not in ``out`` of belief / m (0 where m is 0)."""
        order = sorted(range(len(mw)), key=lambda k: bw.index(mw[k]))
        shape = [1] * len(bw)
        for k in order:
            shape[bw.index(mw[k])] = m.shape[k]
        aligned = np.transpose(m, order).reshape(shape)
        q = np.divide(belief, aligned, out=np.zeros(np.broadcast_shapes(belief.shape, shape)),
                      where=aligned > 0)
        return np.einsum(q, list(range(len(bw))), [bw.index(w) for w in out])

    @staticmethod
    def _contract(p: Plan, ops: list[Any]) -> np.ndarray:
        ops = list(ops)
        if not p.steps:
            return np.asarray(numpy_einsum(p.equation, *ops)) if ops else np.ones(())
        for positions, eq in p.steps:
            ins = [ops.pop(k) for k in positions]
            ops.append(numpy_einsum(eq, *ins))
        (result,) = ops
        return np.asarray(result)

    # -- calibration ---------------------------------------------------------------------
    def calibrate(self, idx: np.ndarray) -> Calibrated:
        """Send every message for the settings ``idx`` (one row per setting, a column per set
        variable); messages are rescaled to sum to one, their scales kept for P(evidence)."""
        idx = np.asarray(idx, dtype=np.intp)
        n = idx.shape[0]
        sliced = [[self._slice(o, idx) for o in row] for row in self.operands]
        messages: dict[tuple[int, int], np.ndarray] = dict(self.constants)
        log_scale = np.zeros(n)
        n_collect = len(self.tree.schedule)
        beliefs: dict[int, np.ndarray] = {}
        for k, edge in enumerate(self.order):
            if not self.batched[edge]:
                continue
            i, j = edge
            if edge in self.by_division:
                if i not in beliefs:
                    beliefs[i] = self._batch(self._contract(self.dense[i], [*sliced[i], *(
                        self._batch(messages[e], self.batched[e], n)
                        for e in self._inputs(i, None))]), True, n)
                back = self._batch(messages[(j, i)], self.batched[(j, i)], n)
                back_wires = self.wires[(j, i)] if self.batched[(j, i)] else \
                    (BATCH, *self.wires[(j, i)])
                m = self._divide(beliefs[i], self.dense_wires[i],
                                 back if self.batched[(j, i)] else back[None], back_wires,
                                 self.wires[edge])
            else:
                m = self._contract(self.plans[edge], [*sliced[i], *(
                    self._batch(messages[e], self.batched[e], n) for e in self._inputs(i, j))])
            m = self._batch(m, True, n)
            total = m.reshape(n, -1).sum(axis=1)
            safe = np.where(total > 0, total, 1.0)
            m = m / safe.reshape((n,) + (1,) * (m.ndim - 1))
            if k < n_collect:
                with np.errstate(divide="ignore"):
                    log_scale += np.where(total > 0, np.log(safe), -np.inf)
            messages[edge] = m
        return Calibrated(self, sliced, messages, log_scale, n, beliefs)

    def _slice(self, o: Operand, idx: np.ndarray) -> np.ndarray:
        arr = self.tables[o.var]
        if not o.batched:
            return arr
        at = tuple(slice(None) if j is None else idx[:, j] for j in o.picks)
        # NumPy puts the advanced (batch) axis first when the sliced axes are not adjacent, and
        # in place when they are: move it first in both cases
        first = next(k for k, j in enumerate(o.picks) if j is not None)
        out = arr[at]
        adjacent = all(o.picks[k] is not None for k in range(first, first + sum(
            j is not None for j in o.picks)))
        return np.moveaxis(out, first, 0) if adjacent else out

    @staticmethod
    def _batch(arr: np.ndarray, batched: bool, n: int) -> np.ndarray:
        if batched:
            return arr if arr.shape[:1] == (n,) else np.broadcast_to(arr, (n, *arr.shape[1:]))
        return arr


@dataclass(eq=False)
class Calibrated:
    """A calibrated tree: every message sent, for ``n`` settings. ``marginal`` reads the joint
    of variables held together by one clique from it."""

    propagation: Propagation
    sliced: list[list[np.ndarray]]
    messages: dict[tuple[int, int], np.ndarray]
    log_scale: np.ndarray
    n: int
    #: the beliefs that dense senders computed (wires ``Propagation.dense_wires``); messages
    #: came in since, so they are the cliques' calibrated (unnormalised) beliefs
    dense: dict[int, np.ndarray]
    beliefs: dict[tuple[int, tuple[str, ...]], np.ndarray] = field(default_factory=dict)
    clique_beliefs: dict[int, np.ndarray] = field(default_factory=dict)

    def evidence(self) -> np.ndarray:
        """P(observed values) in the cut model, per setting (0 where it underflows: see
        ``possible``)."""
        return np.exp(self.log_evidence())

    def log_evidence(self) -> np.ndarray:
        """log P(observed values) per setting, -inf where it is zero: messages are rescaled,
        so evidence far below float64's smallest number is still told from impossible."""
        if not self.propagation.observed:
            return np.zeros(self.n)
        root = self._unnormalised(0, ()).reshape(self.n)
        with np.errstate(divide="ignore"):
            return np.log(root) + self.log_scale

    def possible(self) -> np.ndarray:
        """Per setting, whether its evidence has a positive probability."""
        return self.log_evidence() > -np.inf

    def marginal(self, variables: Sequence[str]) -> np.ndarray | None:
        """P(variables | set values), shape ``(n, *sizes)``, normalised; None when no clique
        holds them all. Rows whose evidence has probability zero are zeros."""
        home = self.propagation.tree.home(variables)
        if home is None:
            return None
        joint = self._unnormalised(home, tuple(variables))
        z = joint.reshape(self.n, -1).sum(axis=1)
        return joint / np.where(z > 0, z, 1.0).reshape((self.n,) + (1,) * len(variables))

    def _unnormalised(self, clique: int, variables: tuple[str, ...]) -> np.ndarray:
        """The clique's belief summed down to ``variables`` (batch axis first)."""
        key = (clique, variables)
        hit = self.beliefs.get(key)
        if hit is not None:
            return hit
        bw, belief = self._belief(clique)
        out = np.einsum(belief, list(range(len(bw))),
                        [0, *(bw.index(v) if v in bw else _missing(v) for v in variables)])
        self.beliefs[key] = out
        return out

    def _belief(self, clique: int) -> tuple[tuple[Hashable, ...], np.ndarray]:
        """The clique's calibrated belief over the variables it reads, batch axis first."""
        p = self.propagation
        if clique in self.dense:
            bw = p.dense_wires[clique]
            belief = self.dense[clique]
            if bw[:1] != (BATCH,):
                bw, belief = (BATCH, *bw), belief[None]
            return bw, p._batch(belief, True, self.n)
        hit = self.clique_beliefs.get(clique)
        bw, pl = p.belief_plan(clique)
        if hit is None:
            ins = p._inputs(clique, None)
            hit = p._contract(pl, [*self.sliced[clique], *(self.messages[e] for e in ins)])
            if bw[:1] != (BATCH,):
                hit = hit[None]
            hit = p._batch(hit, True, self.n)
            self.clique_beliefs[clique] = hit
        return (bw if bw[:1] == (BATCH,) else (BATCH, *bw)), hit


def _belief_wires(terms: Sequence[tuple[tuple[Hashable, ...], tuple[int, ...]]]
                  ) -> tuple[Hashable, ...]:
    """Every wire the operands read, sorted, the batch axis first where one reads it."""
    read = {w for wires, _ in terms for w in wires}
    out = tuple(sorted(read - {BATCH}))  # type: ignore[type-var]
    return (BATCH, *out) if BATCH in read else out


def _missing(v: str) -> int:
    raise KeyError(f"{v} is not read by its clique")


def quick_plan(terms: Sequence[tuple[tuple[Hashable, ...], tuple[int, ...]]],
               out: tuple[Hashable, ...]) -> Plan:
    """One einsum step when every index together has at most PLAIN_EINSUM entries (no path
    to plan: a clique's tables and messages are small); else variable elimination."""
    sizes: dict[Hashable, int] = {}
    for wires, shape in terms:
        sizes.update(zip(wires, shape, strict=True))
    if len(terms) > 1 and math.prod(sizes.values()) <= PLAIN_EINSUM:
        if math.prod(sizes[w] for w in out) > MAX_MESSAGE_ENTRIES:
            raise QueryError(f"a message of {math.prod(sizes[w] for w in out):,} entries, "
                             f"above the limit of {MAX_MESSAGE_ENTRIES:,}")
        import opt_einsum

        letters = {w: opt_einsum.get_symbol(k) for k, w in enumerate(sizes)}
        words = ["".join(letters[w] for w in wires) for wires, _ in terms]
        result = "->" + "".join(letters[w] for w in out)
        return Plan(",".join(words) + result, tuple(shape for _, shape in terms),
                    (tuple(range(len(terms))),), math.prod(sizes[w] for w in out),
                    math.prod(sizes.values()),  # the step pops operands last first
                    ((tuple(range(len(terms) - 1, -1, -1)), ",".join(words[::-1]) + result),))
    return plan(terms, out, MAX_MESSAGE_ENTRIES, search=False)
