"""The exact semantics: a functor from diagrams to tensors, and compiled exact queries.

There is one interpretation, and both uses go through it. A node's tensor is its box's table
with one axis per wire (:func:`node_factor`). A set of such tensors is contracted as one einsum
over wire indices: opt_einsum plans its order (:func:`plan_factors`), and :func:`stage` runs
every step whose operands are all known ahead of time, on the host, returning the rest as a
function of the operands given later. :func:`tensor` contracts every node of a diagram, with
everything known. A compiled query contracts the nodes of the model's diagram that the query
reads (the intervened variables cut, only ancestors of what it reads kept, so never the full
joint) with one-hot operands for the given values; what is left after staging is run by NumPy
on the first call and ``jax.jit`` later. Compiled queries are cached per query *shape* (which
variables, which carry values), so new values, new evidence or new tables reuse them, and
``vmap`` batches many of each in one call.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from causaldsl.backends import jax64
from causaldsl.backends import plan as planner
from causaldsl.backends.bucket import BucketPlan
from causaldsl.backends.eliminate import elimination_order
from causaldsl.backends.factors import (
    Factor,
    Staged,
    no_table_error,
    node_factor,
    numpy_einsum,
    ones_factor,
    plan_factors,
    stage,
)
from causaldsl.backends.plan import ORDERED_FLOPS, Plan
from causaldsl.core.dag import linked_classes
from causaldsl.core.errors import QueryError, ZeroProbabilityError
from causaldsl.core.memo import cached_on
from causaldsl.core.types import FiniteType
from causaldsl.ir.diagram import Diagram, Node
from causaldsl.ir.mechanism import TOLERANCE, Table, renormalised
from causaldsl.model.causal_model import CausalModel, finite
from causaldsl.model.checks import check_query
from causaldsl.model.distribution import Batch, Distribution, Expectations, do_axis, table_kind
from causaldsl.model.surgery import cut
from causaldsl.syntax.query import (
    Event,
    Expect,
    Linear,
    Prob,
    batch_columns,
    bind,
    not_numeric_error,
    parse_query,
    table_term_error,
)

if TYPE_CHECKING:  # the junction tree's module loads when a tree is first built
    from causaldsl.backends.junction import Calibrated, JunctionTree, Propagation
    from causaldsl.backends.lazytree import LazyTree

# -- slicing at given values ----------------------------------------------------------------

@dataclass(frozen=True)
class SlicedContraction:
    """Tables contracted down to ``output`` after slicing each at the given values: a given
    value fixes its wire, so the wire leaves the plan, and a point query on 400 variables is a
    product of 400 numbers. Staged with the model's tables known (tables that no value slices
    are contracted ahead of time), and, for batches over tables, with every table an argument
    (when first asked for)."""

    plan: Plan
    #: the tables' positions in the operands: those no value slices first, so that on ties the
    #: planner contracts them first and those steps are done ahead of time
    order: tuple[int, ...]
    #: per operand table, per axis: the position in the value indices that slices it, or None
    picks: tuple[tuple[int | None, ...], ...]
    #: per operand table: the model's array where a value slices it (an argument of
    #: ``model_tables``), None where none does (known ahead of time)
    sliced_arrays: tuple[np.ndarray | None, ...]
    model_tables: Staged
    #: the extra operands' arrays (known ahead of time), after the tables
    extra: tuple[np.ndarray, ...]

    @functools.cached_property
    def given_tables(self) -> Staged:
        """The plan staged with every table an argument: for batches over tables only, so
        staged when first asked for."""
        return stage(self.plan, [*([None] * len(self.picks)), *self.extra])

    @classmethod
    def of(cls, tables: Sequence[Factor], given: Mapping[Any, int],
           known: Sequence[Factor], output: Sequence[Hashable],
           order_by: Mapping[Any, int] | None = None) -> SlicedContraction:
        """``given`` maps a wire to its value's position in the indices; ``known`` are extra
        operands known ahead of time (ones along unread wires); ``order_by``: the model's
        elimination order (``plan.plan``)."""
        picks_of = [tuple(given.get(w) for w in f.wires) for f in tables]
        order = tuple(sorted(range(len(tables)), key=lambda i: any(
            j is not None for j in picks_of[i])))
        picks = tuple(picks_of[i] for i in order)
        ordered = [tables[i] for i in order]
        sliced = [Factor(tuple(w for w, j in zip(f.wires, pk, strict=True) if j is None),
                         tuple(n for n, j in zip(f.shape, pk, strict=True) if j is None),
                         f.array if all(j is None for j in pk) else None)
                  for f, pk in zip(ordered, picks, strict=True)]
        p = plan_factors([*sliced, *known], output, order_by=order_by)
        extra = tuple(f.array for f in known)
        return cls(p, order, picks, tuple(None if s.array is not None else f.array
                                          for f, s in zip(ordered, sliced, strict=True)),
                   stage(p, [*(f.array for f in sliced), *extra]), extra)  # type: ignore[arg-type]

    def run(self, tables: Sequence[Any] | None, idx: Any, xp: Any,
            einsum: Callable[..., Any]) -> Any:
        """The contraction at value indices ``idx``, with the model's tables (``tables`` None)
        or with ``tables`` (one array per table, in the order given to ``of``); ``xp`` (NumPy
        or jax.numpy) slices and ``einsum`` contracts."""
        if tables is None:
            args = [xp.asarray(arr)[_at(pk, idx)] for arr, pk in
                    zip(self.sliced_arrays, self.picks, strict=True) if arr is not None]
            return self.model_tables.run(args, einsum)
        return self.given_tables.run([xp.asarray(tables[i])[_at(pk, idx)] for i, pk in
                                      zip(self.order, self.picks, strict=True)], einsum)


def _at(picks: tuple[int | None, ...], idx: Any) -> tuple[Any, ...]:
    """The index that slices a table at the given values (``picks`` as in SlicedContraction)."""
    return tuple(slice(None) if j is None else idx[j] for j in picks)


def contract(factors: Sequence[Factor], output: Sequence[Hashable],
             limit: int | None = None) -> np.ndarray:
    """Contract factors whose arrays are all known, on the host, down to ``output``."""
    if not factors:
        return np.ones(())
    staged = stage(plan_factors(factors, output, limit), [f.array for f in factors])
    return np.asarray(staged.run([], numpy_einsum))


# -- the functor on arbitrary diagrams ----------------------------------------------------------

def tensor(diagram: Diagram) -> np.ndarray:
    """The stochastic matrix of a diagram, shape ``(*dom sizes, *cod sizes)``.

    Every box needs a table. Copies become diagonals, discards sums, swaps permutations.
    """
    return contract(*diagram_factors(diagram))


def diagram_factors(diagram: Diagram) -> tuple[list[Factor], list[Hashable]]:
    """A diagram as a contraction: each node's tensor, a constant along each input that no node
    reads, and a delta that ties each output wire already seen (an input, or a copy) to a fresh
    axis; and the output axes, the inputs then the outputs."""
    sizes = {w: finite(t, f"wire {w}").size for w, t in diagram.wire_types.items()}
    factors = [node_factor(node) for node in diagram.nodes]
    output: list[Hashable] = list(diagram.inputs)
    read = {w for n in diagram.nodes for w in n.inputs}
    factors += [ones_factor(w, sizes[w]) for w in diagram.inputs if w not in read]
    seen: set[str] = set(diagram.inputs)
    for k, w in enumerate(diagram.outputs):
        if w in seen:  # a copy (or identity): tie a fresh output axis to the wire by a delta
            factors.append(Factor((w, ("out", k)), (sizes[w], sizes[w]), np.eye(sizes[w])))
            output.append(("out", k))
        else:
            output.append(w)
            seen.add(w)
    return factors, output


# -- compiled queries ----------------------------------------------------------------------------

#: Tiered evaluation of a query shape, each tier paid for by the calls before it. The first
#: call runs the staged plan in NumPy, so a question asked once is not kept waiting. The shape's
#: whole answer table (every value of every given variable at once; at most SHAPE_TABLE_LIMIT
#: entries) is built from the STEADY_TIER_CALL-th call on, once its cost (flops, and STEP_FLOPS
#: a step) is no more than the NumPy calls' (or below TABLE_FLOPS_FREE), and later calls are
#: lookups. A shape with no table is jitted once the NumPy calls have taken JIT_SECONDS, about
#: what a compilation costs. So no call pays much more than a first call, and a repeated
#: question never costs more than twice its cheapest tier.
STEADY_TIER_CALL = 2
SHAPE_TABLE_LIMIT = 2**20
TABLE_FLOPS_FREE = 10**5
JIT_SECONDS = 0.1
#: The NumPy tier eliminates buckets in the model's order (``bucket.BucketPlan``) when that
#: costs at most this many flops; dearer shapes are worth a searched, staged plan
BUCKET_FLOPS = ORDERED_FLOPS
#: A shape's answer table is planned by buckets when that costs at most this many flops (the
#: tier rule then decides whether it pays)
TABLE_BUCKET_FLOPS = 2**40
#: What one step of a plan costs on the host beyond its flops (about 20 µs of Python and
#: NumPy set-up), in flops
STEP_FLOPS = 20_000
#: A new question is answered from a junction tree calibrated at its given values when one is
#: kept (``posteriors`` calibrates), or once this many question shapes have been asked under
#: those values; the newest CALIBRATIONS_KEPT calibrations are kept
AUTO_CALIBRATE = 3
CALIBRATIONS_KEPT = 16
#: Once this many question shapes have been planned for the pruned contraction, the engine
#: builds the elimination tree of the model's order and answers a new question on it by only the
#: messages its values change (``lazytree``), where those cost at most LAZY_FLOPS entries: the
#: tree and its kept messages cost a few milliseconds, which a command asking a handful of
#: questions would not get back; a session that has asked this many will likely ask more
LAZY_AFTER = 8
LAZY_FLOPS = 200_000
#: Answers of the lazy tree kept per engine (a repeated question is a look-up), oldest dropped
LAZY_ANSWERS_KEPT = 4096
#: After this many new questions in a row over LAZY_FLOPS, the engine stops asking the lazy tree
#: (its cliques are too large for most questions: andes, munin1), which saves each new question
#: the walk over the tree that finds its cost
LAZY_MISSES = 4
#: how many sets of given values the engine counts question shapes for, at most
SHAPES_COUNTED = 4096


def _cost(p: BucketPlan | Plan) -> int:
    return p.flops + STEP_FLOPS * len(p.steps)


@dataclass(frozen=True)
class QueryAxes:
    """What a compiled query takes and returns: it takes the indices of the values of
    ``value_vars`` (the valued interventions, the valued evidence, then the ``picked``
    outcomes), and its result has one axis per free intervention, free evidence and outcome
    left open, in that order.

    Valued outcomes are normally result axes too (the answer for each of their values is read
    off one result); they are ``picked`` by a one-hot instead when those axes together would
    make a result larger than SHAPE_TABLE_LIMIT, as in a point query on 400 variables, whose
    answer is a product of 400 numbers."""

    value_vars: tuple[str, ...]
    value_types: tuple[FiniteType, ...]
    free_do: tuple[str, ...]
    free_evidence: tuple[str, ...]
    outcomes: tuple[str, ...]
    picked: tuple[str, ...] = ()

    @property
    def result(self) -> tuple[str, ...]:
        return (*self.free_do, *self.free_evidence, *self.outcomes)


@dataclass(eq=False)
class EveryValueTable:
    """A shape's answer table: its factors contracted down to ``output`` (the given variables,
    then the result's axes), planned when first asked and built when asked; nothing when it
    would have more than SHAPE_TABLE_LIMIT entries or need a larger intermediate. Planned by
    buckets in the model's order (``rank``) where that keeps every intermediate within the
    limit, else by variable elimination: the table is built when it pays, not searched for."""

    factors: tuple[Factor, ...]
    output: tuple[Hashable, ...]
    rank: Mapping[Any, int] | None = None
    _plan: BucketPlan | Plan | None = None
    _planned: bool = False

    def plan(self) -> BucketPlan | Plan | None:
        if not self._planned:
            self._planned = True
            if self.output or self.factors:
                bucket = None if self.rank is None else BucketPlan.of(
                    self.factors, {}, self.output, self.rank, TABLE_BUCKET_FLOPS)
                if bucket is not None and bucket.largest <= SHAPE_TABLE_LIMIT:
                    self._plan = bucket
                    return self._plan
                try:
                    self._plan = plan_factors(self.factors, self.output, SHAPE_TABLE_LIMIT,
                                              search=False)
                except QueryError:
                    self._plan = None
        return self._plan

    def build(self) -> np.ndarray | None:
        p = self.plan()
        if p is None:
            return None
        if isinstance(p, BucketPlan):
            return np.ascontiguousarray(p.run(np.zeros(0, dtype=np.int32)))
        staged = stage(p, [f.array for f in self.factors])
        return np.ascontiguousarray(staged.run([], numpy_einsum))


@dataclass(frozen=True)
class Contraction:
    """A query shape's staged contraction, in the forms its tiers and batches call. Each returns
    the result (axes ``QueryAxes.result``), normalised where there is evidence, and the
    normaliser: the evidence's probability, or 1."""

    #: ``(tables, idx)``, JAX: the tables are arguments and nothing that reads one is done ahead
    #: of time; batches over tables vmap it
    jax_given_tables: Callable[..., Any]
    #: ``(idx)``, JAX: the model's tables baked in and table-only steps done ahead of time;
    #: jitted for single queries, vmapped for batches of values
    jax: Callable[..., Any]
    #: ``(idx)``: the same on the host with NumPy, for shapes without a bucket plan
    numpy: Callable[..., Any]


def normalised(joint: Any, xp: Any, n_out: int, normalise: bool, z: Any = None
               ) -> tuple[Any, Any]:
    """A joint over the result's axes (the outcomes last, ``n_out`` of them) divided by the
    evidence's probability, and that probability: the joint summed over the outcomes, or ``z``
    when given (computed apart, as where outcomes are picked); 1 without evidence."""
    if not normalise:
        return joint, xp.ones(())
    if z is None:
        z = joint.sum(axis=tuple(range(joint.ndim - n_out, joint.ndim)), keepdims=True)
    else:
        z = xp.reshape(z, (*xp.shape(z), *([1] * n_out)))
    return joint / xp.where(z > 0, z, 1.0), z


@dataclass(eq=False, kw_only=True)
class CompiledQuery:
    """One query shape, planned.

    ``evaluate(idx)`` takes the indices of the given values (interventions, then evidence) and
    returns the result over (free do, free evidence, outcomes), normalised where there is
    evidence, and the normaliser. It runs NumPy the first times (bucket elimination where it
    fits BUCKET_FLOPS, else the staged plan), and afterwards looks the answer up in the shape's
    answer table or, for shapes too large for one, calls the jitted ``contraction.jax``. The
    staged contraction (``plan``, ``hoisted``, ``contraction``) is made when first needed.
    """

    prob: Prob
    table_vars: tuple[str, ...]        # whose tables are operands, in order
    axes: QueryAxes
    normalise: bool                    # there is evidence: divide by its probability
    #: the NumPy tier's plan, where the model's elimination order keeps it within BUCKET_FLOPS
    bucket: BucketPlan | None
    #: the same contraction with every given variable left open, axes (values, result)
    every_value_table: EveryValueTable
    #: plans and stages the contraction: (plan, steps hoisted, contraction)
    staging: Callable[[], tuple[Plan, int, Contraction]]
    evaluations: int = 0               # counted until the shape reaches its steady tier
    numpy_seconds: float = 0.0         # what the NumPy tier has cost so far
    jitted: Callable[..., Any] | None = None
    shape_table: np.ndarray | None = None        # normalised answers for every setting of the values
    shape_normalisers: np.ndarray | None = None  # and their normalisers (evidence probabilities)
    shape_table_tried: bool = False

    @functools.cached_property
    def _staged(self) -> tuple[Plan, int, Contraction]:
        return self.staging()

    @property
    def plan(self) -> Plan:
        """The staged contraction's plan (made when first asked for)."""
        return self._staged[0]

    @property
    def hoisted(self) -> int:
        """The staged plan's steps done ahead of time."""
        return self._staged[1]

    @property
    def contraction(self) -> Contraction:
        """The staged contraction, in the forms the jitted tier and batches call."""
        return self._staged[2]

    @property
    def numpy_cost(self) -> int:
        """What one NumPy evaluation costs: flops, and STEP_FLOPS a step."""
        if self.bucket is not None:
            return self.bucket.flops + STEP_FLOPS * len(self.bucket.steps)
        return _cost(self.plan)

    def numpy(self, idx: np.ndarray) -> tuple[Any, Any]:
        """One evaluation on the host, by the bucket plan where there is one."""
        if self.bucket is None:
            return self.contraction.numpy(idx)
        return normalised(self.bucket.run(idx), np, len(self.axes.outcomes), self.normalise)

    def evaluate(self, idx: np.ndarray) -> tuple[Any, Any]:
        """The answer for one setting of the values, through the cheapest tier."""
        if self.shape_table is not None:
            at = tuple(idx)
            return self.shape_table[at], self.shape_normalisers[at]  # type: ignore[index]
        if self.jitted is not None:
            return self.jitted(idx)
        self.evaluations += 1
        if self.evaluations >= STEADY_TIER_CALL:
            if not self.shape_table_tried and self._table_is_paid_for() and \
                    self.try_shape_table() is not None:
                return self.evaluate(idx)
            if self.every_value_table.plan() is None and self.numpy_seconds >= JIT_SECONDS:
                self.jitted = jax64.jax().jit(self.contraction.jax)
                return self.jitted(idx)
        start = time.perf_counter()
        try:
            return self.numpy(idx)
        finally:
            self.numpy_seconds += time.perf_counter() - start

    def _table_is_paid_for(self) -> bool:
        """Whether the answer table costs no more than the NumPy calls so far (flops, and
        STEP_FLOPS for each step's set-up)."""
        table = self.every_value_table.plan()
        return table is not None and (_cost(table) <= TABLE_FLOPS_FREE or
                                      _cost(table) <= self.evaluations * self.numpy_cost)

    def try_shape_table(self) -> np.ndarray | None:
        """The shape's answer table over (values, free do, free evidence, outcomes), computed
        on first use; None when it is too large."""
        if not self.shape_table_tried:
            self.shape_table_tried = True
            joint = self.every_value_table.build()
            if joint is not None:  # z has the value axes too
                p, z = normalised(joint, np, len(self.axes.outcomes), self.normalise)
                self.shape_normalisers = (z if self.normalise else
                                          np.ones(p.shape[: len(self.axes.value_vars)]))
                self.shape_table = p
        return self.shape_table

    def indices(self, values: Mapping[str, Any]) -> np.ndarray:
        """The indices of ``values`` (by variable; a query gives a variable one role only)."""
        return np.array([t.index(values[v]) for v, t in zip(
            self.axes.value_vars, self.axes.value_types, strict=True)], dtype=np.int32)


class Prepared(NamedTuple):
    """An exact query made ready on its first evaluation: its compiled shape, the indices of
    its values, and what turns the compiled result into the answer."""

    compiled: CompiledQuery
    indices: np.ndarray
    read: Callable[[np.ndarray], Distribution | float]


class AnswerLayout(NamedTuple):
    """How a compiled result becomes the answer: ``pick`` indexes it to the valued outcomes;
    the outcomes left open are ``variables``, the free interventions and evidence ``given``."""

    pick: tuple[Any, ...]
    variables: tuple[str, ...]
    types: tuple[FiniteType, ...]
    given: tuple[str, ...]
    given_types: tuple[FiniteType, ...]


class ExactEngine:
    """Exact queries on one model: tables on the device, compiled functions per query shape."""

    def __init__(self, model: CausalModel):
        self.model = model
        self._compiled: dict[Any, CompiledQuery] = {}
        self._batch_functions: dict[Any, Callable[..., Any]] = {}
        self._strictly_positive: dict[str, bool] = {}
        self._prepared: dict[Prob, Prepared] = {}
        self._multiworld: dict[Prob, tuple[ExactEngine, Prob]] = {}  # counterfactual → its query
        self._propagations: dict[tuple[tuple[str, ...], tuple[str, ...]], Propagation | None] = {}
        #: calibrated trees by set values (do, then observed, as (variable, index) pairs), newest
        #: last; and how many question shapes each set of values has been asked with
        self._calibrated: dict[tuple[Any, ...], Calibrated] = {}
        self._shapes_under: dict[tuple[Any, ...], set[Any]] = {}
        self.tree_answers = 0  # questions answered from a calibrated junction tree (for tests)
        self._lazy: LazyTree | None = None
        self._lazy_built = False
        #: the lazy tree's answers by question: the outcomes' joint (read-only), normalised
        self._lazy_joints: dict[Prob, np.ndarray] = {}
        self.lazy_answers = 0  # questions answered by the lazy tree (for tests)
        self._lazy_misses = 0  # new questions in a row that the lazy tree found too costly

    # -- compile -----------------------------------------------------------------------
    @functools.cached_property
    def _producers(self) -> dict[str, Node]:
        return self.model.diagram.producers()

    @functools.cached_property
    def _elimination_rank(self) -> dict[str, int]:
        """The model's elimination order (min-fill, found once), by which a new question's
        contraction is planned without a search."""
        sizes = {v: self._size(v) for v in self.model.variables
                 if isinstance(self.model.variables[v].type, FiniteType)}
        return elimination_order([(*n.inputs, *n.outputs) for n in self._producers.values()
                                  if all(w in sizes for w in (*n.inputs, *n.outputs))], sizes)

    def table(self, var: str) -> np.ndarray:
        """A variable's table (host memory; jit moves it to the device when it is an argument)."""
        node = self._producers.get(var)
        if node is None:  # an input of the diagram
            raise no_table_error(var, None, self.model.name)
        return node_factor(node, self.model.name).array  # type: ignore[return-value]

    def _size(self, var: str) -> int:
        return finite(self.model.variables[var].type, var).size

    def compile(self, prob: Prob, checked: bool = False) -> CompiledQuery:
        """Plan and stage one query shape (cached): cut, prune, plan, hoist. ``checked``: the
        caller has already checked ``prob`` against the model."""
        key = prob.shape_key
        hit = self._compiled.get(key)
        if hit is not None:
            return hit
        if not checked:
            check_query(self.model, prob)
        mutilated, keep = self._cut_and_prune(prob)
        tables = self._table_factors(mutilated, keep)
        axes = self._axes(prob)
        if prob.evidence and axes.value_vars:
            picked = set(axes.picked)  # read by the answer, like the result's axes
            tables = self._drop_constant_groups(tables, set(axes.value_vars) - picked,
                                                set(axes.result) | picked)
            keep = {w for f in tables.values() for w in f.wires}  # type: ignore[misc]
        cq = self._stage_query(prob, tables, keep, axes)
        self._compiled[key] = cq
        return cq

    def _cut_and_prune(self, prob: Prob) -> tuple[CausalModel, set[str]]:
        """Cut the intervened variables, and keep the ancestors of the outcomes and evidence in
        the cut model (the walk stops at the cuts); refuse to read an input of the model."""
        m = self.model
        do_vars = [e.var for e in prob.interventions]
        mutilated = cut(m, *do_vars) if do_vars else m
        keep = mutilated.ancestors([e.var for e in (*prob.outcomes, *prob.evidence)])
        open_inputs = [v for v in m.inputs if v in keep and v not in do_vars]
        if open_inputs:
            names = ", ".join(open_inputs)
            raise QueryError(f"{prob}: the answer depends on {names}, an input of model {m.name} "
                             f"(it was cut); set it with do({open_inputs[0]} = …), or ask for the "
                             f"whole channel with do({open_inputs[0]})")
        return mutilated, keep

    def _table_factors(self, mutilated: CausalModel, keep: set[str]) -> dict[str, Factor]:
        """The tensor of each kept node of the cut model's diagram, by the variable it defines."""
        tables = {}
        for node in mutilated.diagram.nodes:
            (v,) = node.outputs
            if v in keep:
                finite(node.box.cod[0], f"variable {v}")
                tables[v] = node_factor(node, self.model.name)
        return tables

    def _axes(self, prob: Prob) -> QueryAxes:
        variables = self.model.variables
        free_do = tuple(e.var for e in prob.interventions if e.value is None)
        free_evidence = tuple(e.var for e in prob.evidence if e.value is None)
        outcomes = tuple(e.var for e in prob.outcomes)
        picked: tuple[str, ...] = ()
        if math.prod(self._size(v) for v in (*free_do, *free_evidence, *outcomes)) > \
                SHAPE_TABLE_LIMIT:
            picked = tuple(e.var for e in prob.outcomes if e.value is not None)
            outcomes = tuple(e.var for e in prob.outcomes if e.value is None)
        value_vars = tuple(e.var for e in (*prob.interventions, *prob.evidence)
                           if e.value is not None) + picked
        return QueryAxes(value_vars=value_vars,
                         value_types=tuple(finite(variables[v].type, v) for v in value_vars),
                         free_do=free_do, free_evidence=free_evidence, outcomes=outcomes,
                         picked=picked)

    def _drop_constant_groups(self, tables: dict[str, Factor], fixed: set[str],
                              needed: set[str]) -> dict[str, Factor]:
        """Drop the tables that, once the given values are fixed, share no variable (directly or
        through other tables) with what the answer reads: their product is a constant that the
        normalisation cancels. Only strictly positive tables are dropped, so evidence of
        probability zero is still detected."""
        owner: dict[Hashable, str] = {}  # a variable's first table; later ones link to it
        links = []
        for v, f in tables.items():
            for u in f.wires:
                if u not in fixed:
                    links.append((v, owner.setdefault(u, v)))
        wanted = {owner[u] for u in needed if u in owner}
        drop = set()
        for group in linked_classes(tuple(tables), links):
            if not wanted & set(group) and all(self._positive(v, tables[v]) for v in group):
                drop.update(group)
        return {v: f for v, f in tables.items() if v not in drop}

    def _positive(self, var: str, table: Factor) -> bool:
        hit = self._strictly_positive.get(var)
        if hit is None:
            hit = bool(np.all(table.array > 0))  # type: ignore[operator]
            self._strictly_positive[var] = hit
        return hit

    def _stage_query(self, prob: Prob, tables: dict[str, Factor], keep: set[str],
                     axes: QueryAxes) -> CompiledQuery:
        """Plan the contraction of the kept tables, each sliced at the given values (a given
        value fixes its wire, so the wire leaves the contraction), down to the result's axes:
        by buckets in the model's order where that fits BUCKET_FLOPS, and staged (searched,
        hoisted) when first needed."""
        table_factors = list(tables.values())
        # do(X) that nothing kept reads: the result is constant along X's axis
        ones = [ones_factor(v, self._size(v)) for v in axes.free_do if v not in keep]
        normalise = bool(prob.evidence)
        given = {v: j for j, v in enumerate(axes.value_vars)}
        rank = self._elimination_rank
        bucket = None
        if not axes.picked:  # picked outcomes need a normaliser of their own: staged
            bucket = BucketPlan.of([*table_factors, *ones], given, axes.result, rank,
                                   BUCKET_FLOPS)
            if bucket is not None and bucket.largest > planner.MAX_INTERMEDIATE:
                bucket = None
        # where the model's order was too costly for buckets it is for the staged plan too:
        # that plan searches at once instead of trying the order again
        order = rank if bucket is not None else None

        def staging() -> tuple[Plan, int, Contraction]:
            main = SlicedContraction.of(table_factors, given, ones, axes.result, order)
            normaliser = None
            if normalise and axes.picked:  # the evidence's probability sums the picked outcomes
                unpicked = {v: j for v, j in given.items() if v not in set(axes.picked)}
                normaliser = SlicedContraction.of(table_factors, unpicked, ones,
                                                  (*axes.free_do, *axes.free_evidence), order)
            return main.plan, main.model_tables.hoisted, self._contraction(
                main, normaliser, axes, normalise)

        cq = CompiledQuery(prob=prob, table_vars=tuple(tables), axes=axes, normalise=normalise,
                           bucket=bucket, staging=staging,
                           every_value_table=self._every_value_table(table_factors, axes, keep))
        if bucket is None:  # staged now: a plan over the memory limit is refused before it runs
            cq.plan  # noqa: B018
        return cq

    def _contraction(self, main: SlicedContraction, normaliser: SlicedContraction | None,
                     axes: QueryAxes, normalise: bool) -> Contraction:
        """The staged contraction in the forms its tiers call, normalised by the evidence's
        probability: the joint's sum over the outcomes, or, when outcomes were picked, the
        ``normaliser`` contraction (which leaves them open and sums them out)."""
        n_out = len(axes.outcomes)

        def run(tabs: Sequence[Any] | None, idx: Any, xp: Any = None,
                einsum: Callable[..., Any] | None = None) -> tuple[Any, Any]:
            if xp is None:  # JAX: traced by jit or vmap
                xp = jax64.jnp()
                einsum = xp.einsum
            assert einsum is not None
            joint = xp.asarray(main.run(tabs, idx, xp, einsum))
            z = None if normaliser is None else xp.asarray(normaliser.run(tabs, idx, xp, einsum))
            return normalised(joint, xp, n_out, normalise, z)

        return Contraction(
            jax_given_tables=lambda tabs, idx: run(tabs, idx),
            jax=lambda idx: run(None, idx),
            numpy=lambda idx: run(None, idx, np, numpy_einsum))

    def _every_value_table(self, tables: list[Factor], axes: QueryAxes, keep: set[str]
                           ) -> EveryValueTable:
        """What computes the shape's answer table: the same contraction with every given
        variable left open, so one table holds the (unnormalised) answer for every setting."""
        if axes.picked:  # the result was too large to hold every outcome value
            return EveryValueTable((), ())
        output = tuple([*axes.value_vars, *axes.result])
        sizes = {v: self._size(v) for v in output}
        if math.prod(sizes.values()) > SHAPE_TABLE_LIMIT:
            return EveryValueTable((), ())
        unread = [v for v in (*axes.value_vars, *axes.free_do) if v not in keep]
        return EveryValueTable((*tables, *(ones_factor(v, sizes[v]) for v in unread)), output,
                               self._elimination_rank)

    # -- evaluate ----------------------------------------------------------------------
    def evaluate(self, prob: Prob) -> Distribution | float:
        """Answer one probability query exactly."""
        if prob.is_counterfactual:
            return self._counterfactual(prob)
        prepared = self._prepared.get(prob)
        if prepared is None:
            joint = self._lazy_joints.get(prob) if self._lazy_joints else None
            if joint is not None:
                return self._read_joint(prob, joint)
            check_query(self.model, prob)  # values too: the compiled shape may be shared
            from_tree = self._from_tree(prob)
            if from_tree is not None:
                return from_tree
            lazy = self._lazy_answer(prob)
            if lazy is not None:
                return lazy
            prepared = self._prepare(prob)
        cq, idx, read = prepared
        joint, z = cq.evaluate(idx)
        if cq.normalise:
            z = np.asarray(z)
            if not z.min() > 0:
                faint = self._faint_evidence(prob)
                if faint is not None:
                    return faint
                self._refuse_zero_evidence(prob, cq, z)
        return read(np.asarray(joint))

    def _faint_evidence(self, prob: Prob) -> Distribution | float | None:
        """The answer from a calibrated tree where the contraction's P(evidence) is 0 in
        float64 but the tree, whose messages are rescaled, finds it positive (evidence below
        about 1e-308); None where the tree cannot tell or agrees it is impossible."""
        cal = self._calibrated_for(prob)
        if cal is None or not cal.possible()[0]:
            return None
        self.tree_answers += 1
        return self._tree_answer(prob, cal)

    # -- junction tree -------------------------------------------------------------------
    @functools.cached_property
    def junction_tree(self) -> JunctionTree | None:
        """The model's junction tree, built when first needed; None when a variable has no
        table (a continuous or cut model)."""
        families = self._table_families()
        if families is None:
            return None
        from causaldsl.backends.junction import JunctionTree

        return JunctionTree.of(families)

    def _table_families(self) -> dict[str, tuple[str, ...]] | None:
        """Each variable's table's wires (parents, then itself); None when one has no table."""
        families = {}
        for node in self.model.diagram.nodes:
            (v,) = node.outputs
            if not isinstance(node.box.mechanism, Table) or \
                    not isinstance(self.model.variables[v].type, FiniteType):
                return None
            families[v] = (*node.inputs, v)
        return families

    @functools.cached_property
    def _tree_tables(self) -> tuple[dict[str, tuple[str, ...]], dict[str, np.ndarray],
                                    dict[str, int]]:
        """Each table's family and array, and each variable's size, for propagations."""
        families = {v: (*n.inputs, v) for v, n in self._producers.items()}
        return (families, {v: self.table(v) for v in families},
                {v: self._size(v) for v in self.model.variables})

    def _propagation(self, do_vars: tuple[str, ...], observed: tuple[str, ...]
                     ) -> Propagation | None:
        """The propagation plan of one pattern (cached); None without a tree, when an input
        of the model is left unset, or when a message would be too large to plan."""
        key = (do_vars, observed)
        if key not in self._propagations:
            tree = self.junction_tree
            prop = None
            if tree is not None and set(self.model.inputs) <= set(do_vars):
                families, tables, sizes = self._tree_tables
                from causaldsl.backends.junction import Propagation

                try:
                    prop = Propagation(tree, tables, families, sizes, do_vars, observed)
                except QueryError:
                    prop = None
            self._propagations[key] = prop
        return self._propagations[key]

    def calibrate(self, do: Mapping[str, Any] | None = None,
                  evidence: Mapping[str, Any] | None = None) -> Calibrated | None:
        """The junction tree calibrated at these values (kept for the questions that follow,
        the newest CALIBRATIONS_KEPT); None where the model has no tree."""
        do, evidence = dict(do or {}), dict(evidence or {})
        key = self._tree_key(do, evidence)
        hit = self._calibrated.pop(key, None)
        if hit is None:
            prop = self._propagation(tuple(do), tuple(evidence))
            if prop is None:
                return None
            variables = self.model.variables
            idx = np.array([finite(variables[v].type, v).index(x) for v, x in
                            (*do.items(), *evidence.items())], dtype=np.intp).reshape(1, -1)
            hit = prop.calibrate(idx)
        self._calibrated[key] = hit
        while len(self._calibrated) > CALIBRATIONS_KEPT:
            self._calibrated.pop(next(iter(self._calibrated)))
        return hit

    @staticmethod
    def _tree_key(do: Mapping[str, Any], evidence: Mapping[str, Any]) -> tuple[Any, ...]:
        return frozenset(do.items()), frozenset(evidence.items())

    def _from_tree(self, prob: Prob) -> Distribution | float | None:
        """Answer a new question from a calibrated tree, where one is kept for its values (or
        this is the AUTO_CALIBRATE-th question shape asked under them) and one clique holds
        its outcomes; else None, for the pruned contraction."""
        given = (*prob.interventions, *prob.evidence)
        if not given or any(e.value is None for e in given) or prob.is_counterfactual or \
                prob.shape_key in self._compiled:
            return None
        do = {e.var: e.value for e in prob.interventions}
        evidence = {e.var: e.value for e in prob.evidence}
        key = self._tree_key(do, evidence)
        if key not in self._calibrated:
            if len(self._shapes_under) > SHAPES_COUNTED:  # many settings, each asked little
                self._shapes_under.clear()
            shapes = self._shapes_under.setdefault(key, set())
            shapes.add(prob.shape_key)
            if len(shapes) < AUTO_CALIBRATE:
                return None
        cal = self._calibrated_for(prob)
        if cal is None:
            return None
        self.tree_answers += 1
        return self._tree_answer(prob, cal)

    def _lazy_tree(self) -> LazyTree | None:
        """The lazy tree (built once LAZY_AFTER shapes have been planned), or None: not yet,
        or the model has no junction tree."""
        if not self._lazy_built:
            if len(self._compiled) < LAZY_AFTER:
                return None
            self._lazy_built = True
            if self._table_families() is not None:
                from causaldsl.backends.junction import JunctionTree
                from causaldsl.backends.lazytree import LazyTree

                families, tables, sizes = self._tree_tables
                # the elimination tree of the order the bucket plans use: no networkx import
                tree = JunctionTree.from_order(families, self._elimination_rank)
                lazy = LazyTree(tree, tables, families, sizes)
                self._lazy = lazy if lazy.feasible else None  # else no question could use it
        return self._lazy

    def _lazy_answer(self, prob: Prob) -> Distribution | float | None:
        """A new question answered by the lazy tree (``lazytree``), where every given variable
        has a value, one clique holds the outcomes and the messages it changes cost at most
        LAZY_FLOPS; else None, for the pruned contraction (which also says why evidence of
        probability zero has no answer)."""
        given = (*prob.interventions, *prob.evidence)
        if LAZY_FLOPS <= 0 or prob.is_counterfactual or prob.shape_key in self._compiled or \
                any(e.value is None for e in given):
            return None
        lazy = self._lazy_tree()
        do = frozenset(e.var for e in prob.interventions)
        if lazy is None or self._lazy_misses >= LAZY_MISSES or not set(self.model.inputs) <= do:
            return None
        variables = self.model.variables
        values = {e.var: finite(variables[e.var].type, e.var).index(e.value) for e in given
                  if e.value is not None}
        outcomes = [e.var for e in prob.outcomes]
        if values.keys() & set(outcomes):
            return None
        joint = lazy.joint(outcomes, values, do, LAZY_FLOPS)
        if joint is None:
            self._lazy_misses += 1
            return None
        self._lazy_misses = 0
        if prob.evidence:
            z = joint.sum()
            if not z > 0:
                return None
            joint = joint / z
        joint.setflags(write=False)
        self._lazy_joints[prob] = joint
        while len(self._lazy_joints) > LAZY_ANSWERS_KEPT:
            self._lazy_joints.pop(next(iter(self._lazy_joints)))
        self.lazy_answers += 1
        return self._read_joint(prob, joint)

    def _read_joint(self, prob: Prob, joint: np.ndarray) -> Distribution | float:
        """The answer from the outcomes' joint (a calibrated tree's or the lazy tree's):
        valued outcomes picked, the others its axes."""
        variables = self.model.variables
        pick: list[Any] = []
        names = []
        for e in prob.outcomes:
            if e.value is None:
                pick.append(slice(None))
                names.append(e.var)
            else:
                pick.append(finite(variables[e.var].type, e.var).index(e.value))
        out = joint[tuple(pick)]
        if not names:
            return float(out)
        return Distribution(tuple(names), tuple(finite(variables[v].type, v) for v in names),
                            out, title=str(prob))

    def _calibrated_for(self, prob: Prob) -> Calibrated | None:
        """The tree calibrated at a question's given values, where every given variable has a
        value and one clique holds its outcomes; else None."""
        tree = self.junction_tree
        if any(e.value is None for e in (*prob.interventions, *prob.evidence)) or \
                tree is None or tree.home([e.var for e in prob.outcomes]) is None:
            return None
        return self.calibrate({e.var: e.value for e in prob.interventions},
                              {e.var: e.value for e in prob.evidence})

    def _tree_answer(self, prob: Prob, cal: Calibrated) -> Distribution | float:
        outcomes = [e.var for e in prob.outcomes]
        _refuse_impossible(cal, prob)
        joint = cal.marginal(outcomes)
        assert joint is not None
        return self._read_joint(prob, joint[0])

    def posteriors(self, evidence: Mapping[str, Any] | None = None,
                   do: Mapping[str, Any] | None = None) -> dict[str, Distribution]:
        """``P(V | do, evidence)`` for every observed variable V not set, from one calibrated
        junction tree (one propagation, then a clique's marginal each)."""
        do, evidence = dict(do or {}), dict(evidence or {})
        targets = self._posterior_targets(do, evidence)
        cal = self.calibrate(do, evidence)
        if cal is None:  # no tree: each posterior by its own contraction
            return {v: self.evaluate(self._posterior_prob(v, do, evidence))  # type: ignore[misc]
                    for v in targets}
        _refuse_impossible(cal, self._posterior_prob(targets[0], do, evidence))
        self.tree_answers += len(targets)
        title = str(self._posterior_prob("_", do, evidence))  # "P(_ | …)": one str for all
        out = {}
        for v in targets:
            t = finite(self.model.variables[v].type, v)
            p = cal.marginal([v])
            assert p is not None
            out[v] = Distribution((v,), (t,), p[0], title=title.replace("P(_", f"P({v}", 1))
        return out

    def _posterior_targets(self, do: Mapping[str, Any], evidence: Mapping[str, Any]
                           ) -> list[str]:
        """The observed variables not set, after checking the settings as a query would."""
        given = set(do) | set(evidence)
        targets = [v for v in self.model.observed if v not in given]
        if not targets:
            raise QueryError("posteriors: every observed variable is set; nothing is left to ask")
        check_query(self.model, self._posterior_prob(targets[0], do, evidence))
        return targets

    @staticmethod
    def _posterior_prob(v: str, do: Mapping[str, Any], evidence: Mapping[str, Any]) -> Prob:
        return Prob((Event(v, None),), tuple(Event(k, x) for k, x in do.items()),
                    tuple(Event(k, x) for k, x in evidence.items()))

    def posteriors_batch(self, evidence: Any = None, do: Any = None) -> dict[str, Batch]:
        """``posteriors`` for many settings in one propagation: ``evidence`` and ``do`` are
        dicts of equal-length lists (or lists of dicts), one setting per position."""
        ev_cols = batch_columns(evidence) if evidence else {}
        do_cols = batch_columns(do) if do else {}
        lengths = {len(c) for c in (*ev_cols.values(), *do_cols.values())}
        if len(lengths) != 1:
            raise QueryError("posteriors_batch needs settings of one length" if lengths else
                             "posteriors_batch needs evidence or do settings to batch over")
        (n,) = lengths
        first_do = {v: c[0] for v, c in do_cols.items()}
        first_ev = {v: c[0] for v, c in ev_cols.items()}
        targets = self._posterior_targets(first_do, first_ev)
        variables = self.model.variables
        idx = np.stack([finite(variables[v].type, v).indices(c) for v, c in
                        (*do_cols.items(), *ev_cols.items())], axis=1)
        prop = self._propagation(tuple(do_cols), tuple(ev_cols))
        settings = {**do_cols, **ev_cols}
        if prop is None:  # no tree: setting by setting, each posterior through its tiers
            rows = [self.posteriors({v: c[k] for v, c in ev_cols.items()},
                                    {v: c[k] for v, c in do_cols.items()}) for k in range(n)]
            given = ", ".join([*(f"do({v})" for v in do_cols), *ev_cols])
            return {v: Batch(np.stack([np.asarray(r[v].probs) for r in rows]), (v,),
                             rows[0][v].types, title=f"P({v} | {given})",
                             settings={k: list(c) for k, c in settings.items()})
                    for v in targets}
        cal = prop.calibrate(idx)
        possible = cal.possible()
        if not possible.all():
            bad = int(np.argwhere(~possible)[0][0])
            raise ZeroProbabilityError(f"posteriors_batch: the evidence of setting {bad} "
                                       f"({ {v: c[bad] for v, c in settings.items()} }) "
                                       "has probability zero")
        self.tree_answers += len(targets) * n
        given = ", ".join([*(f"do({v})" for v in do_cols), *ev_cols])
        out = {}
        for v in targets:
            t = finite(variables[v].type, v)
            p = cal.marginal([v])
            assert p is not None
            out[v] = Batch(p, (v,), (t,), title=f"P({v} | {given})",
                           settings={k: list(c) for k, c in settings.items()})
        return out

    def _prepare(self, prob: Prob) -> Prepared:
        """Compile a checked question's shape, and read its values' indices."""
        cq = self.compile(prob, checked=True)
        values = {e.var: e.value for e in (*prob.interventions, *prob.evidence, *prob.outcomes)
                  if e.value is not None}
        prepared = Prepared(cq, cq.indices(values), self._answer_reader(prob, cq))
        self._prepared[prob] = prepared
        return prepared

    def _counterfactual(self, prob: Prob) -> Distribution | float:
        """Abduction, action and prediction as one conditioned contraction: the same question
        asked of the multi-world model (``counterfactual.worlds``)."""
        hit = self._multiworld.get(prob)
        if hit is None:
            from causaldsl.rewrite.worlds import multiworld_for

            check_query(self.model, prob)
            mw = multiworld_for(self.model, prob)
            hit = (engine_for(mw.model), mw.query)
            self._multiworld[prob] = hit
        return hit[0].evaluate(hit[1])

    def _refuse_zero_evidence(self, prob: Prob, cq: CompiledQuery, z: np.ndarray) -> None:
        """Raise ZeroProbabilityError for evidence of probability zero (``z`` has a zero)."""
        where = ""
        free = (*cq.axes.free_do, *cq.axes.free_evidence)
        if free:
            idx = np.argwhere(z.reshape(z.shape[: len(free)]) <= 0)[0]
            types = [finite(self.model.variables[v].type, v) for v in free]
            where = " at " + ", ".join(f"{v} = {t.values[i]}" for v, t, i in
                                      zip(free, types, idx, strict=True))
        raise ZeroProbabilityError(f"{prob}: the evidence has probability zero{where}, so the "
                                   "conditional is undefined")

    def _answer_layout(self, prob: Prob, cq: CompiledQuery) -> AnswerLayout:
        """How the compiled array becomes the answer: the index that picks valued outcomes, and
        the labelled axes (outcomes left open; given: free do, free evidence)."""
        m = self.model
        given = (*cq.axes.free_do, *cq.axes.free_evidence)
        index: list[Any] = [slice(None)] * len(given)
        variables = []
        for e in prob.outcomes:
            t = finite(m.variables[e.var].type, e.var)
            if e.var in cq.axes.picked:  # contracted with its value's one-hot already
                continue
            if e.value is None:
                index.append(slice(None))
                variables.append(e.var)
            else:
                index.append(t.index(e.value))
        return AnswerLayout(pick=tuple(index), variables=tuple(variables),
                            types=tuple(finite(m.variables[v].type, v) for v in variables),
                            given=tuple(map(do_axis, cq.axes.free_do)) + cq.axes.free_evidence,
                            given_types=tuple(finite(m.variables[v].type, v) for v in given))

    def _answer_reader(self, prob: Prob, cq: CompiledQuery
                       ) -> Callable[[np.ndarray], Distribution | float]:
        """What turns the compiled function's array into the answer: a float or a table."""
        pick, names, types, given, given_types = self._answer_layout(prob, cq)
        if not names and not given:
            return lambda joint: float(joint[pick])
        title = str(prob)
        return lambda joint: Distribution(names, types, joint[pick], given, given_types, title)

    def query(self, text: str | Prob | Expect | Linear, **values: Any
              ) -> Distribution | float | Any:
        """Answer a query string: ``P(...)``, ``E[...]``, or a linear combination of them.

        ``values`` give values to variables the text leaves open, so one template serves many
        settings without parsing again: ``query("P(C | do(S), T)", S="yes", T="no")``.
        """
        q = parse_query(text) if isinstance(text, str) else text
        if values:
            q = bind(q, values)
        if isinstance(q, Prob):
            return self.evaluate(q)
        if isinstance(q, Expect):
            return self._expect(q)
        total: Any = 0.0
        for c, term in q.terms:
            val = self.evaluate(term) if isinstance(term, Prob) else self._expect(term)
            if isinstance(val, Distribution | Expectations):
                raise table_term_error(q, term, table_kind(val))
            total = total + c * val
        return total

    def _expect(self, q: Expect) -> Any:
        (ev,) = q.prob.outcomes
        if ev.value is not None:
            raise QueryError(f"{q}: the variable of an expectation cannot have a value")
        d = self.evaluate(q.prob)
        assert isinstance(d, Distribution)
        value = d.expectation()
        if not d.given:
            return value
        return Expectations(ev.var, value, d.given, d.given_types, str(q))

    # -- batches -----------------------------------------------------------------------
    def query_batch(self, text: str | Prob | Expect, values: Any = None,
                    tables: Mapping[str, Any] | None = None) -> Batch:
        """One query over many settings in one vmapped call.

        ``values``: a dict of equal-length lists (``{"T": ["no", "yes", ...]}``) or a list of
        dicts, giving values to variables of the query (``P(C | T)`` then reads T's value from
        each row). ``tables``: stacked tables ``{var: array of shape (n, *table shape)}``.
        """
        q = parse_query(text) if isinstance(text, str) else text
        if isinstance(q, Expect):
            return self._expectation_batch(q, values, tables)
        if not isinstance(q, Prob):
            raise QueryError("query_batch takes one query, P(...) or E[...], not a sum")
        if q.is_counterfactual:
            return self._counterfactual_batch(q, values, tables)
        columns = batch_columns(values)
        stacks = dict(tables or {})
        n = self._batch_size(columns, stacks)
        shaped = self._with_placeholders(q, set(columns))
        cq = self.compile(shaped)
        idx = self._batch_indices(q, cq, columns, n)
        for v, stack in stacks.items():
            stacks[v] = self._check_table_stack(v, stack, n)
        joint, z = self._run_batch(shaped, cq, stacks, idx)
        if cq.normalise and not np.all(np.asarray(z) > 0):
            joint = self._faint_settings(text, q, cq, columns, stacks, joint, z)
        layout = self._answer_layout(q, cq)
        return Batch(np.asarray(joint)[(slice(None), *layout.pick)], layout.variables,
                     layout.types, layout.given, layout.given_types, str(q),
                     settings={v: list(c) for v, c in columns.items()})

    def _faint_settings(self, text: Any, q: Prob, cq: CompiledQuery,
                        columns: Mapping[str, list[Any]], stacks: Mapping[str, Any],
                        joint: Any, z: Any) -> np.ndarray:
        """The batch's rows where the contraction found P(evidence) = 0 in float64, answered
        from a calibrated tree where it finds them possible (evidence below about 1e-308, as
        for a single question); the first setting that is truly impossible (or that the tree
        cannot ask: tables batched, given variables left open) raises ZeroProbabilityError."""
        n = len(np.asarray(joint))
        out = np.array(joint, dtype=np.float64)
        zero = np.asarray(z).reshape(n, -1) <= 0
        for k in np.flatnonzero(zero.any(axis=1)):
            setting = {v: c[k] for v, c in columns.items()}
            cal = None
            if not stacks and not cq.axes.picked and not cq.axes.free_do and \
                    not cq.axes.free_evidence:
                one = bind(q, setting)
                assert isinstance(one, Prob)
                cal = self._calibrated_for(one)
            if cal is None or not cal.possible()[0]:
                shown = setting if columns else "tables"
                raise ZeroProbabilityError(f"{text}: the evidence of setting {k} ({shown}) has "
                                           "probability zero")
            marginal = cal.marginal(list(cq.axes.outcomes))
            assert marginal is not None  # _calibrated_for found a clique holding them
            out[k] = marginal[0]
            self.tree_answers += 1
        return out

    def _expectation_batch(self, q: Expect, values: Any, tables: Mapping[str, Any] | None
                           ) -> Batch:
        """The batch of P(Y | ...), averaged over Y's numeric labels."""
        (ev,) = q.prob.outcomes
        if ev.value is not None:
            raise QueryError(f"{q}: the variable of an expectation cannot have a value")
        dist = self.query_batch(q.prob, values, tables)
        if dist.given:
            raise QueryError(f"{q}: a batch of expectations needs a value (or a batched "
                             f"value) for {', '.join(dist.given)}")
        nums = dist.types[0].numeric()
        if nums is None:
            raise not_numeric_error(ev.var, dist.types[0])
        return Batch(np.asarray(dist.probs) @ np.asarray(nums), (), (), title=str(q),
                     settings=dist.settings)

    def _counterfactual_batch(self, q: Prob, values: Any, tables: Mapping[str, Any] | None
                              ) -> Batch:
        """The batch asked of the multi-world model, each table given to every copy of it."""
        from causaldsl.rewrite.worlds import multiworld_for

        check_query(self.model, q)
        mw = multiworld_for(self.model, q)
        for v in tables or {}:
            self.model[v]
        copied = {c: arr for v, arr in (tables or {}).items() for c in mw.copies(v)}
        return engine_for(mw.model).query_batch(mw.query, values, copied)

    def _batch_size(self, columns: Mapping[str, list[Any]], stacks: Mapping[str, Any]) -> int:
        """The number of settings, which the value columns and table stacks must agree on."""
        n = len(next(iter(columns.values()))) if columns else None
        for v, arr in stacks.items():
            self.model[v]
            k = np.shape(arr)[0]
            if n is not None and k != n:
                raise QueryError(f"batch sizes differ: {n} value settings but {k} tables for {v}")
            n = k
        if n is None:
            raise QueryError("query_batch needs values or tables to batch over")
        return n

    def _with_placeholders(self, q: Prob, batched: set[str]) -> Prob:
        """The query's shape for a batch: each batched variable given a placeholder value."""
        for v in batched:
            if v not in {e.var for e in (*q.interventions, *q.evidence)}:
                raise QueryError(f"batched variable {v} must appear in the query's condition "
                                 f"(after '|'), e.g. P(... | {v})")

        def fill(es: tuple[Event, ...]) -> tuple[Event, ...]:
            return tuple(Event(e.var, e.value if e.value is not None or e.var not in batched
                               else _placeholder_value(self.model, e.var)) for e in es)

        return Prob(q.outcomes, fill(q.interventions), fill(q.evidence))

    def _batch_indices(self, q: Prob, cq: CompiledQuery, columns: Mapping[str, list[Any]],
                       n: int) -> np.ndarray:
        """The value indices of every setting, ``(n, len(value_vars))``: batched columns, and
        the query's own values repeated."""
        fixed = {e.var: e.value for e in (*q.interventions, *q.evidence, *q.outcomes)
                 if e.value is not None}
        cols = [t.indices(columns[v]) if v in columns else
                np.full(n, t.index(fixed[v]), dtype=np.int32)
                for v, t in zip(cq.axes.value_vars, cq.axes.value_types, strict=True)]
        return np.stack(cols, axis=1) if cols else np.zeros((n, 0), dtype=np.int32)

    def _check_table_stack(self, v: str, arr: Any, n: int) -> np.ndarray:
        """Refuse a stack of tables for ``v`` that is not ``n`` stochastic tables of its shape;
        return it with its rows renormalised (each sums to one within TOLERANCE)."""
        var = self.model.variables[v]
        ptypes = [self.model.variables[p].type for p in var.parents]
        stack = np.asarray(arr, dtype=np.float64)
        shape = (n, *self.table(v).shape)
        good = (stack.shape == shape and bool(np.all(np.isfinite(stack))) and
                bool(np.all(stack >= 0)) and
                bool(np.all(np.abs(stack.sum(axis=-1) - 1.0) <= TOLERANCE)))
        if not good:  # find the first bad set and let Table.check say what is wrong
            for i in range(len(stack)):
                Table(stack[i], len(ptypes)).check(ptypes, (var.type,), f"variable {v} (set {i})")
            raise QueryError(f"tables for {v} have shape {stack.shape}, not {shape}")
        return renormalised(stack, 1 + len(ptypes))

    def _run_batch(self, shaped: Prob, cq: CompiledQuery, stacks: Mapping[str, Any],
                   idx: np.ndarray) -> tuple[Any, Any]:
        """Every setting at once: vmapped over the stacked tables; else one lookup in the
        shape's answer table; else vmapped over the values."""
        if stacks:
            table_axes = tuple(0 if v in stacks else None for v in cq.table_vars)
            jax = jax64.jax()
            fn = self._batch_function((shaped.shape_key, table_axes), lambda: jax.jit(
                jax.vmap(cq.contraction.jax_given_tables, in_axes=(table_axes, 0))))
            n = len(idx)
            spread, padded = jax64.over_devices(({v: stacks[v] for v in stacks}, idx), n)
            stacked, at = spread
            args = tuple(stacked[v] if v in stacks else self.table(v) for v in cq.table_vars)
            joint, z = fn(args, at)
            return (joint[:n], z[:n]) if padded > n else (joint, z)
        if cq.try_shape_table() is not None:
            at = tuple(idx.T)
            return cq.shape_table[at], cq.shape_normalisers[at]  # type: ignore[index]
        fn = self._batch_function((shaped.shape_key, "values"), lambda: jax64.jax().jit(
            jax64.jax().vmap(cq.contraction.jax)))
        return fn(idx)

    def _batch_function(self, key: Any, make: Callable[[], Callable[..., Any]]
                        ) -> Callable[..., Any]:
        fn = self._batch_functions.get(key)
        if fn is None:
            fn = self._batch_functions[key] = make()
        return fn


def _refuse_impossible(cal: Calibrated, prob: Prob) -> None:
    """ZeroProbabilityError where a calibration's (single) evidence is impossible."""
    if not cal.possible()[0]:
        raise ZeroProbabilityError(f"{prob}: the evidence has probability zero, so the "
                                   "conditional is undefined")


def _placeholder_value(model: CausalModel, var: str) -> Any:
    """A value of ``var`` that stands for the batched ones while the shape is compiled."""
    t = model[var].type
    return t.values[0] if isinstance(t, FiniteType) else None


def engine_for(model: CausalModel) -> ExactEngine:
    """The exact engine of a model, kept on the model: models are immutable, so this is safe."""
    return cached_on(model, "_exact_engine", ExactEngine)
