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
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import opt_einsum

from causaldsl.backends.plan import Plan, plan
from causaldsl.core.dag import linked_classes
from causaldsl.core.errors import MechanismError, QueryError, ZeroProbabilityError
from causaldsl.core.memo import cached_on
from causaldsl.core.types import FiniteType
from causaldsl.ir.diagram import Diagram, Node
from causaldsl.ir.mechanism import TOLERANCE, Table
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

jax.config.update("jax_enable_x64", True)


# -- one tensor per node, one contraction for many ---------------------------------------------

class Factor(NamedTuple):
    """An operand of a contraction: a tensor with one named axis per wire. ``array`` is None
    for an operand that is given only when the contraction runs (a one-hot of a value, or a
    table that a batch replaces)."""

    wires: tuple[Hashable, ...]
    shape: tuple[int, ...]
    array: np.ndarray | None = None


def node_factor(node: Node, model: str | None = None) -> Factor:
    """A node's tensor: its box's table, one axis per wire (the node's inputs, then its
    outputs). ``model`` names the model whose variable the node defines, for the error when
    it has no table (without it the node is any diagram's box)."""
    mech = node.box.mechanism
    if not isinstance(mech, Table):
        raise _no_table(node.box.name, mech, model)
    return Factor((*node.inputs, *node.outputs), mech.shape, mech.array)


def _no_table(name: str, mech: Any, model: str | None) -> MechanismError:
    if model is None:
        return MechanismError(f"box {name} has no table, so it has no exact meaning")
    if mech is None:
        return MechanismError(f"variable {name} of model {model} has no table; exact answers "
                              "need every variable the query depends on to have one")
    return MechanismError(f"variable {name} of model {model} has the mechanism {mech}, which "
                          "has no table; exact answers need finite types and tables (continuous "
                          "models are for the sampling backend)")


def ones_factor(wire: Hashable, size: int) -> Factor:
    """A wire that no other operand reads, left open: constant along its axis."""
    return Factor((wire,), (size,), np.ones(size))


def plan_factors(factors: Sequence[Factor], output: Sequence[Hashable],
                 limit: int | None = None) -> Plan:
    """The contraction order of ``factors`` down to the ``output`` wires (``plan.plan``)."""
    return plan([(f.wires, f.shape) for f in factors], output, limit)


@dataclass(frozen=True)
class Staged:
    """A planned contraction, partially evaluated: the ``hoisted`` steps whose operands were
    all known are done; ``run(args, einsum)`` does the rest, given the operands that were not
    known (in order), with ``einsum`` (``jax.numpy.einsum`` unless told otherwise)."""

    run: Callable[..., Any]
    hoisted: int


def stage(p: Plan, operands: Sequence[np.ndarray | None]) -> Staged:
    """Partially evaluate a plan: run now, on the host, every step whose operands are all
    known (``operands`` entries that are not None); keep the rest for ``run``."""
    known: list[Any] = []
    live: list[tuple[bool, int]] = []  # per operand left: (known?, position in known or slots)
    n_args = 0
    for a in operands:
        if a is None:
            live.append((False, n_args))
            n_args += 1
        else:
            known.append(a)
            live.append((True, len(known) - 1))
    later: list[tuple[str, tuple[tuple[bool, int], ...], int]] = []
    n_slots = n_args
    hoisted = 0
    for positions, eq in p.steps:
        ins = tuple(live.pop(i) for i in positions)
        if all(is_known for is_known, _ in ins):  # on the host: no compilation per step
            known.append(opt_einsum.contract(eq, *(np.asarray(known[k]) for _, k in ins)))
            live.append((True, len(known) - 1))
            hoisted += 1
        else:
            later.append((eq, ins, n_slots))
            live.append((False, n_slots))
            n_slots += 1
    (result,) = live
    used = {k for _, ins, _ in later for is_known, k in ins if is_known}
    if result[0]:
        used.add(result[1])
    kept = {k: known[k] for k in used}  # drop intermediates consumed ahead of time

    def run(args: Sequence[Any], einsum: Callable[..., Any] = jnp.einsum) -> Any:
        slots: list[Any] = [*args, *([None] * (n_slots - n_args))]
        for eq, ins, out in later:
            slots[out] = einsum(eq, *(kept[k] if is_known else slots[k] for is_known, k in ins))
        is_known, k = result
        return kept[k] if is_known else slots[k]

    return Staged(run, hoisted)


def contract(factors: Sequence[Factor], output: Sequence[Hashable],
             limit: int | None = None) -> np.ndarray:
    """Contract factors whose arrays are all known, on the host, down to ``output``."""
    if not factors:
        return np.ones(())
    staged = stage(plan_factors(factors, output, limit), [f.array for f in factors])
    return np.asarray(staged.run([], _numpy_einsum))


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

#: Tiered evaluation of a query shape. The first evaluation runs the staged plan in NumPy, so a
#: question asked once is not kept waiting for XLA. From the second on, the shape's whole answer
#: table (every value of every given variable at once) is computed once when it has at most
#: SHAPE_TABLE_LIMIT entries, and later evaluations are lookups; larger shapes are jitted.
HOT = 2
SHAPE_TABLE_LIMIT = 2**20


@dataclass(eq=False)
class CompiledQuery:
    """One query shape, planned and staged.

    ``fast(idx)`` takes the indices of the given values (interventions, then evidence) with the
    model's tables baked in and every sub-contraction that reads only tables done ahead of time;
    ``core(tables, idx)`` takes the tables as arguments, for batches over parameter sets.
    Both return the joint over (free do, free evidence, outcomes), normalised where there is
    evidence, and the normaliser. ``fast`` runs in NumPy the first time and jitted afterwards.
    """

    prob: Prob
    table_vars: tuple[str, ...]        # whose tables are operands, in order
    value_vars: tuple[str, ...]        # valued interventions and evidence
    value_types: tuple[FiniteType, ...]
    free_do: tuple[str, ...]
    free_evidence: tuple[str, ...]
    outcomes: tuple[str, ...]
    plan: Plan
    normalise: bool
    core: Callable[..., Any]
    fast_core: Callable[..., Any]
    host_core: Callable[..., Any]
    hoisted: int                       # contraction steps done ahead of time
    build_table: Callable[[], np.ndarray | None]
    finish_host: Callable[..., Any]
    calls: int = 0
    jitted: Callable[..., Any] | None = None
    shape_table: np.ndarray | None = None   # normalised answers for every setting of the values
    shape_z: np.ndarray | None = None       # and their normalisers (evidence probabilities)
    tried_table: bool = False

    def fast(self, idx: np.ndarray) -> tuple[Any, Any]:
        """The answer for one setting of the values, through the cheapest tier."""
        if self.shape_table is not None:
            at = tuple(idx)
            return self.shape_table[at], self.shape_z[at]  # type: ignore[index]
        if self.jitted is not None:
            return self.jitted(idx)
        self.calls += 1
        if self.calls < HOT:
            return self.host_core(idx)
        if self.ensure_table() is not None:
            return self.fast(idx)
        self.jitted = jax.jit(self.fast_core)
        return self.jitted(idx)

    def ensure_table(self) -> np.ndarray | None:
        """The shape's answer table over (values, free do, free evidence, outcomes), if small."""
        if not self.tried_table:
            self.tried_table = True
            joint = self.build_table()
            if joint is not None:
                p, z = self.finish_host(joint)  # z already has the value axes when normalised
                self.shape_z = z if self.normalise else np.ones(p.shape[: len(self.value_vars)])
                self.shape_table = p
        return self.shape_table

    def indices(self, values: Mapping[str, Any]) -> np.ndarray:
        return np.array([t.index(values[v]) for v, t in
                         zip(self.value_vars, self.value_types, strict=True)], dtype=np.int32)


class ExactEngine:
    """Exact queries on one model: tables on the device, compiled functions per query shape."""

    def __init__(self, model: CausalModel):
        self.model = model
        self._compiled: dict[Any, CompiledQuery] = {}
        self._batched: dict[Any, Callable[..., Any]] = {}
        self._positivity: dict[str, bool] = {}
        self._ready: dict[Prob, tuple[CompiledQuery, np.ndarray, Callable[[np.ndarray], Any]]] = {}
        self._worlds: dict[Prob, tuple[ExactEngine, Prob]] = {}  # counterfactual → multi-world

    # -- compile -----------------------------------------------------------------------
    @functools.cached_property
    def _producers(self) -> dict[str, Node]:
        return self.model.diagram.producers()

    def table(self, var: str) -> np.ndarray:
        """A variable's table (host memory; jit moves it to the device when it is an argument)."""
        node = self._producers.get(var)
        if node is None:  # an input of the diagram
            raise _no_table(var, None, self.model.name)
        return node_factor(node, self.model.name).array  # type: ignore[return-value]

    def compile(self, prob: Prob) -> CompiledQuery:
        """Plan and jit one query shape (cached): prune, cut, plan, hoist, compile."""
        key = prob.shape_key
        hit = self._compiled.get(key)
        if hit is not None:
            return hit
        check_query(self.model, prob)
        m = self.model
        do_vars = [e.var for e in prob.interventions]
        mutilated = cut(m, *do_vars) if do_vars else m
        reads = [e.var for e in prob.outcomes] + [e.var for e in prob.evidence]
        keep = mutilated.ancestors(reads)
        open_inputs = [v for v in m.inputs if v in keep and v not in do_vars]
        if open_inputs:
            names = ", ".join(open_inputs)
            raise QueryError(f"{prob}: the answer depends on {names}, an input of model {m.name} "
                             f"(it was cut); set it with do({open_inputs[0]} = …), or ask for the "
                             f"whole channel with do({open_inputs[0]})")
        tables = {}  # the tensor of each kept node of the cut model's diagram
        for node in mutilated.diagram.nodes:
            (v,) = node.outputs
            if v in keep:
                finite(node.box.cod[0], f"variable {v}")
                tables[v] = node_factor(node, m.name)
        table_vars = tuple(tables)
        valued = [e for e in (*prob.interventions, *prob.evidence) if e.value is not None]
        value_vars = tuple(e.var for e in valued)
        value_types = tuple(finite(m.variables[v].type, v) for v in value_vars)
        free_do = tuple(e.var for e in prob.interventions if e.value is None)
        free_ev = tuple(e.var for e in prob.evidence if e.value is None)
        outcomes = tuple(e.var for e in prob.outcomes)
        if prob.evidence and value_vars:
            table_vars = self._relevant(tables, set(value_vars), {*free_do, *free_ev, *outcomes})
            keep = {u for v in table_vars for u in tables[v].wires}  # type: ignore[misc]
        table_factors = [tables[v] for v in table_vars]
        values = [Factor((v,), (t.size,)) for v, t in zip(value_vars, value_types, strict=True)]
        # do(X) with X irrelevant: constant axis
        ones = [ones_factor(v, finite(m.variables[v].type, v).size) for v in free_do
                if v not in keep]
        out_index = [*free_do, *free_ev, *outcomes]
        p = plan_factors([*table_factors, *values, *ones], out_index)
        n_out = len(outcomes)
        normalise = bool(prob.evidence)
        sizes = tuple(t.size for t in value_types)
        ones_arrays = [f.array for f in ones]

        def onehots(idx: Any, xp: Any = jnp) -> list[Any]:
            return [(xp.arange(n) == idx[j]).astype(xp.float64) for j, n in enumerate(sizes)]

        def finish(joint: Any, xp: Any = jnp) -> tuple[Any, Any]:
            if not normalise:
                return joint, xp.ones(())
            axes = tuple(range(joint.ndim - n_out, joint.ndim))
            z = joint.sum(axis=axes, keepdims=True)
            return joint / xp.where(z > 0, z, 1.0), z

        every = stage(p, [*([None] * (len(table_vars) + len(sizes))), *ones_arrays]).run
        staged = stage(p, [*(f.array for f in table_factors), *([None] * len(sizes)),
                           *ones_arrays])
        known, hoisted = staged.run, staged.hoisted

        def core(tabs: Sequence[jax.Array], idx: jax.Array) -> tuple[jax.Array, jax.Array]:
            return finish(every([*tabs, *onehots(idx)]))

        def fast_core(idx: jax.Array) -> tuple[jax.Array, jax.Array]:
            return finish(known(onehots(idx)))

        def host_core(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            joint = known(onehots(idx, np), _numpy_einsum)
            return finish(np.asarray(joint), np)

        def finish_host(joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return finish(joint, np)

        def build_table() -> np.ndarray | None:
            # the same contraction with every given variable left open: one table of answers
            kout = [*value_vars, *free_do, *free_ev, *outcomes]
            dims = {v: finite(m.variables[v].type, v).size for v in kout}
            if math.prod(dims.values()) > SHAPE_TABLE_LIMIT:
                return None
            extra = [v for v in (*value_vars, *free_do) if v not in keep]  # constant axes
            kfactors = [*table_factors, *(ones_factor(v, dims[v]) for v in extra)]
            try:
                return np.ascontiguousarray(contract(kfactors, kout, limit=SHAPE_TABLE_LIMIT))
            except QueryError:
                return None

        cq = CompiledQuery(prob, table_vars, value_vars, value_types, free_do, free_ev,
                           outcomes, p, normalise, core, fast_core, host_core, hoisted,
                           build_table, finish_host)
        self._compiled[key] = cq
        return cq

    def _relevant(self, tables: dict[str, Factor], fixed: set[str], needed: set[str]
                  ) -> tuple[str, ...]:
        """Drop the tables that, once the given values are fixed, share no variable (directly or
        through other tables) with what the answer reads: their product is a constant that the
        normalisation cancels. Only strictly positive tables are dropped, so evidence of
        probability zero is still detected."""
        owner: dict[Hashable, str] = {}  # a variable's first table; later ones link to it
        links = []
        table_vars = tuple(tables)
        for v in table_vars:
            for u in tables[v].wires:
                if u not in fixed:
                    links.append((v, owner.setdefault(u, v)))
        wanted = {owner[u] for u in needed if u in owner}
        drop = set()
        for vs in linked_classes(table_vars, links):
            if not wanted & set(vs) and all(self._positive(v) for v in vs):
                drop.update(vs)
        return tuple(v for v in table_vars if v not in drop)

    def _positive(self, var: str) -> bool:
        hit = self._positivity.get(var)
        if hit is None:
            hit = bool(np.all(self.table(var) > 0))
            self._positivity[var] = hit
        return hit

    # -- evaluate ----------------------------------------------------------------------
    def evaluate(self, prob: Prob) -> Distribution | float:
        """Answer one probability query exactly."""
        if prob.is_counterfactual:
            return self._counterfactual(prob)
        ready = self._ready.get(prob)
        if ready is None:
            check_query(self.model, prob)  # values too: the compiled shape may be shared
            cq = self.compile(prob)
            values = {e.var: e.value for e in (*prob.interventions, *prob.evidence)
                      if e.value is not None}
            ready = (cq, cq.indices(values), self._shaper(prob, cq))
            self._ready[prob] = ready
        cq, idx, shape = ready
        joint, z = cq.fast(idx)
        if cq.normalise:
            z = np.asarray(z)
            if not z.min() > 0:
                self._check_positive(prob, cq, z)
        return shape(np.asarray(joint))

    def _counterfactual(self, prob: Prob) -> Distribution | float:
        """Abduction, action and prediction as one conditioned contraction: the same question
        asked of the multi-world model (``counterfactual.worlds``)."""
        hit = self._worlds.get(prob)
        if hit is None:
            from causaldsl.rewrite.worlds import multiworld_for

            check_query(self.model, prob)
            mw = multiworld_for(self.model, prob)
            hit = (engine_for(mw.model), mw.query)
            self._worlds[prob] = hit
        return hit[0].evaluate(hit[1])

    def _check_positive(self, prob: Prob, cq: CompiledQuery, z: np.ndarray) -> None:
        """Raise ZeroProbabilityError for evidence of probability zero (``z`` has a zero)."""
        where = ""
        free = (*cq.free_do, *cq.free_evidence)
        if free:
            idx = np.argwhere(z.reshape(z.shape[: len(free)]) <= 0)[0]
            types = [finite(self.model.variables[v].type, v) for v in free]
            where = " at " + ", ".join(f"{v} = {t.values[i]}" for v, t, i in
                                      zip(free, types, idx, strict=True))
        raise ZeroProbabilityError(f"{prob}: the evidence has probability zero{where}, so the "
                                   "conditional is undefined")

    def _layout(self, prob: Prob, cq: CompiledQuery) -> tuple[Any, ...]:
        """How the compiled array becomes the answer: the index that picks valued outcomes, and
        the labelled axes (outcomes left open; given: free do, free evidence)."""
        m = self.model
        given = (*cq.free_do, *cq.free_evidence)
        index: list[Any] = [slice(None)] * len(given)
        variables = []
        for e in prob.outcomes:
            t = finite(m.variables[e.var].type, e.var)
            if e.value is None:
                index.append(slice(None))
                variables.append(e.var)
            else:
                index.append(t.index(e.value))
        gtypes = tuple(finite(m.variables[v].type, v) for v in given)
        vtypes = tuple(finite(m.variables[v].type, v) for v in variables)
        given_named = tuple(map(do_axis, cq.free_do)) + cq.free_evidence
        return tuple(index), tuple(variables), vtypes, given_named, gtypes

    def _shaper(self, prob: Prob, cq: CompiledQuery
                ) -> Callable[[np.ndarray], Distribution | float]:
        """What turns the compiled function's array into the answer: a float or a table."""
        idx, names, vtypes, given, gtypes = self._layout(prob, cq)
        if not names and not given:
            return lambda joint: float(joint[idx])
        title = str(prob)
        return lambda joint: Distribution(names, vtypes, joint[idx], given, gtypes, title)

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
        if isinstance(q, Expect):  # the batch of P(Y | ...), averaged over Y's numeric labels
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
            return Batch(np.asarray(dist.probs) @ np.asarray(nums), (), (), title=str(q))
        if not isinstance(q, Prob):
            raise QueryError("query_batch takes one query, P(...) or E[...], not a sum")
        if q.is_counterfactual:
            from causaldsl.rewrite.worlds import multiworld_for

            check_query(self.model, q)
            mw = multiworld_for(self.model, q)
            for v in tables or {}:
                self.model[v]
            copied = {c: arr for v, arr in (tables or {}).items() for c in mw.copies(v)}
            return engine_for(mw.model).query_batch(mw.query, values, copied)
        columns = batch_columns(values)
        n = len(next(iter(columns.values()))) if columns else None
        tables = dict(tables or {})
        for v, arr in tables.items():
            self.model[v]
            k = np.shape(arr)[0]
            if n is not None and k != n:
                raise QueryError(f"batch sizes differ: {n} value settings but {k} tables for {v}")
            n = k
        if n is None:
            raise QueryError("query_batch needs values or tables to batch over")
        batched = set(columns)

        def fill(es: tuple[Event, ...]) -> tuple[Event, ...]:
            return tuple(Event(e.var, e.value if e.value is not None or e.var not in batched
                               else _first_value(self.model, e.var)) for e in es)

        for v in batched:
            if v not in {e.var for e in (*q.interventions, *q.evidence)}:
                raise QueryError(f"batched variable {v} must appear in the query's condition "
                                 f"(after '|'), e.g. P(... | {v})")
        shaped = Prob(q.outcomes, fill(q.interventions), fill(q.evidence))
        cq = self.compile(shaped)
        fixed = {e.var: e.value for e in (*q.interventions, *q.evidence)
                 if e.value is not None}
        cols = []
        for v, t in zip(cq.value_vars, cq.value_types, strict=True):
            if v in batched:
                cols.append(t.indices(columns[v]))
            else:
                cols.append(np.full(n, t.index(fixed[v]), dtype=np.int32))
        idx = np.stack(cols, axis=1) if cols else np.zeros((n, 0), dtype=np.int32)

        for v, arr in tables.items():
            var = self.model.variables[v]
            ptypes = [self.model.variables[p].type for p in var.parents]
            stack = np.asarray(arr, dtype=np.float64)
            shape = (n, *self.table(v).shape)
            good = (stack.shape == shape and bool(np.all(np.isfinite(stack))) and
                    bool(np.all(stack >= 0)) and
                    bool(np.all(np.abs(stack.sum(axis=-1) - 1.0) <= TOLERANCE)))
            if not good:  # find the first bad set and let Table.check say what is wrong
                for i in range(len(stack)):
                    Table(stack[i], len(ptypes)).check(ptypes, (var.type,),
                                                       f"variable {v} (set {i})")
                raise QueryError(f"tables for {v} have shape {stack.shape}, not {shape}")
        if tables:
            tax = tuple(0 if v in tables else None for v in cq.table_vars)
            key: Any = (shaped.shape_key, tax)
            fn = self._batched.get(key)
            if fn is None:
                fn = jax.jit(jax.vmap(cq.core, in_axes=(tax, 0)))
                self._batched[key] = fn
            args = tuple(jnp.asarray(tables[v]) if v in tables else self.table(v)
                         for v in cq.table_vars)
            joint, z = fn(args, idx)
        elif cq.ensure_table() is not None:  # a lookup per setting
            at = tuple(idx.T)
            joint, z = cq.shape_table[at], cq.shape_z[at]  # type: ignore[index]
        else:
            key = (shaped.shape_key, "values")
            fn = self._batched.get(key)
            if fn is None:
                fn = jax.jit(jax.vmap(cq.fast_core))
                self._batched[key] = fn
            joint, z = fn(idx)
        joint = np.asarray(joint)
        if cq.normalise and not np.all(np.asarray(z) > 0):
            bad = int(np.argwhere(np.asarray(z).reshape(n, -1) <= 0)[0][0])
            setting = {v: c[bad] for v, c in columns.items()} if columns else "tables"
            raise ZeroProbabilityError(f"{text}: the evidence of setting {bad} ({setting}) has "
                                       "probability zero")
        idx, names, vtypes, given, gtypes = self._layout(q, cq)
        return Batch(joint[(slice(None), *idx)], names, vtypes, given, gtypes, str(q))


def _numpy_einsum(eq: str, *ops: Any) -> np.ndarray:
    return np.einsum(_numpy_letters(eq), *ops, optimize=len(ops) > 1)


@functools.lru_cache(maxsize=65536)
def _numpy_letters(eq: str) -> str:
    """NumPy's einsum knows only 52 letters; one pairwise step never needs more."""
    letters = {c: opt_einsum.get_symbol(i) for i, c in enumerate(dict.fromkeys(
        ch for ch in eq if ch not in ",->"))}
    return "".join(letters.get(ch, ch) for ch in eq)


def _first_value(model: CausalModel, var: str) -> Any:
    t = model[var].type
    return t.values[0] if isinstance(t, FiniteType) else None


def engine_for(model: CausalModel) -> ExactEngine:
    """The exact engine of a model, kept on the model: models are immutable, so this is safe."""
    return cached_on(model, "_exact_engine", ExactEngine)
