"""The exact semantics: a functor from diagrams to tensors, and compiled exact queries.

A node's table is a tensor with one axis per wire; a diagram is one einsum over wire indices
whose order opt_einsum plans and ``jax.jit`` compiles. A query keeps only the ancestors of what
it reads, cuts the intervened variables (surgery), and never builds the full joint. Compiled
functions are cached per query *shape* (which variables, which carry values), so new values,
new evidence or new tables reuse them, and ``vmap`` batches many of each in one call.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import opt_einsum

from causaldsl.backends.plan import Plan, plan
from causaldsl.core.dag import linked_classes
from causaldsl.core.errors import MechanismError, QueryError, ZeroProbabilityError
from causaldsl.core.memo import cached_on
from causaldsl.core.types import FiniteType
from causaldsl.ir.diagram import Diagram
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


# -- the functor on arbitrary diagrams ----------------------------------------------------------

def tensor(diagram: Diagram) -> np.ndarray:
    """The stochastic matrix of a diagram, shape ``(*dom sizes, *cod sizes)``.

    Every box needs a table. Copies become diagonals, discards sums, swaps permutations.
    """
    ops: list[tuple[Sequence[Any], Sequence[int]]] = []
    arrays: list[np.ndarray] = []
    sizes = {w: finite(t, f"wire {w}").size for w, t in diagram.wire_types.items()}
    for node in diagram.nodes:
        if not isinstance(node.box.mechanism, Table):
            raise MechanismError(f"box {node.box.name} has no table, so it has no exact meaning")
        ops.append(((*node.inputs, *node.outputs), node.box.mechanism.shape))
        arrays.append(node.box.mechanism.array)
    out_index: list[Any] = list(diagram.inputs)
    used = {w for n in diagram.nodes for w in n.inputs}
    for w in diagram.inputs:
        if w not in used:  # an input nobody reads: constant along its axis
            ops.append(((w,), (sizes[w],)))
            arrays.append(np.ones(sizes[w]))
    seen: set[str] = set(diagram.inputs)
    for k, w in enumerate(diagram.outputs):
        if w in seen:  # a copy (or identity): tie a fresh output axis to the wire by a delta
            ops.append(((w, ("out", k)), (sizes[w], sizes[w])))
            arrays.append(np.eye(sizes[w]))
            out_index.append(("out", k))
        else:
            out_index.append(w)
            seen.add(w)
    if not ops:
        return np.ones(())
    p = plan(ops, out_index)
    return np.asarray(jnp.einsum(p.equation, *arrays, optimize=list(p.path)))


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


def _stage(p: Plan, fixed: Sequence[Any | None]
           ) -> tuple[Callable[..., Any], int]:
    """Partially evaluate a plan: run now every step whose operands are all known (``fixed``
    entries that are not None); return the rest as a function of the unknown operands."""
    consts: list[Any] = []
    entries: list[tuple[str, int]] = []
    n_var = 0
    for a in fixed:
        if a is None:
            entries.append(("v", n_var))
            n_var += 1
        else:
            consts.append(a)
            entries.append(("c", len(consts) - 1))
    ops: list[tuple[str, tuple[tuple[str, int], ...], int]] = []
    n_slots = n_var
    hoisted = 0
    for inds, eq in p.steps:
        ins = tuple(entries.pop(i) for i in inds)
        if all(kind == "c" for kind, _ in ins):  # on the host: no compilation per step
            consts.append(opt_einsum.contract(eq, *(np.asarray(consts[k]) for _, k in ins)))
            entries.append(("c", len(consts) - 1))
            hoisted += 1
        else:
            ops.append((eq, ins, n_slots))
            entries.append(("v", n_slots))
            n_slots += 1
    (result,) = entries
    used = {k for _, ins, _ in ops for kind, k in ins if kind == "c"}
    if result[0] == "c":
        used.add(result[1])
    kept = {k: consts[k] for k in used}  # drop intermediates consumed ahead of time

    def run(args: Sequence[Any], einsum: Callable[..., Any] = jnp.einsum) -> Any:
        slots: list[Any] = [*args, *([None] * (n_slots - n_var))]
        for eq, ins, out in ops:
            slots[out] = einsum(eq, *(kept[k] if kind == "c" else slots[k] for kind, k in ins))
        kind, k = result
        return kept[k] if kind == "c" else slots[k]

    return run, hoisted


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
    def table(self, var: str) -> np.ndarray:
        """A variable's table (host memory; jit moves it to the device when it is an argument)."""
        mech = self.model.variables[var].mechanism
        if mech is None:
            raise MechanismError(
                f"variable {var} of model {self.model.name} has no table; exact answers "
                "need every variable the query depends on to have one")
        if not isinstance(mech, Table):
            raise MechanismError(
                f"variable {var} of model {self.model.name} has the mechanism {mech}, which has "
                "no table; exact answers need finite types and tables (continuous models are "
                "for the sampling backend)")
        return mech.array

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
        table_vars = tuple(v for v in mutilated.variables if v in keep
                           and not mutilated.variables[v].is_input)
        for v in table_vars:
            finite(m.variables[v].type, f"variable {v}")
            self.table(v)  # raises early for a missing table
        valued = [e for e in (*prob.interventions, *prob.evidence) if e.value is not None]
        value_vars = tuple(e.var for e in valued)
        value_types = tuple(finite(m.variables[v].type, v) for v in value_vars)
        free_do = tuple(e.var for e in prob.interventions if e.value is None)
        free_ev = tuple(e.var for e in prob.evidence if e.value is None)
        outcomes = tuple(e.var for e in prob.outcomes)
        if prob.evidence and value_vars:
            table_vars = self._relevant(mutilated, table_vars, set(value_vars),
                                        {*free_do, *free_ev, *outcomes})
            keep = {u for v in table_vars for u in (*mutilated.variables[v].parents, v)}
        ops: list[tuple[Sequence[Any], Sequence[int]]] = []
        for v in table_vars:
            var = mutilated.variables[v]
            ops.append(((*var.parents, v), m.variables[v].mechanism.shape))  # type: ignore[union-attr]
        for v, t in zip(value_vars, value_types, strict=True):
            ops.append(((v,), (t.size,)))
        ones = [v for v in free_do if v not in keep]  # do(X) with X irrelevant: constant axis
        for v in ones:
            ops.append(((v,), (finite(m.variables[v].type, v).size,)))
        out_index = [*free_do, *free_ev, *outcomes]
        p = plan(ops, out_index)
        n_out = len(outcomes)
        normalise = bool(prob.evidence)
        sizes = tuple(t.size for t in value_types)
        ones_arrays = [np.ones(finite(m.variables[v].type, v).size) for v in ones]

        def onehots(idx: Any, xp: Any = jnp) -> list[Any]:
            return [(xp.arange(n) == idx[j]).astype(xp.float64) for j, n in enumerate(sizes)]

        def finish(joint: Any, xp: Any = jnp) -> tuple[Any, Any]:
            if not normalise:
                return joint, xp.ones(())
            axes = tuple(range(joint.ndim - n_out, joint.ndim))
            z = joint.sum(axis=axes, keepdims=True)
            return joint / xp.where(z > 0, z, 1.0), z

        every, _ = _stage(p, [*([None] * (len(table_vars) + len(sizes))), *ones_arrays])
        host_tables = [self.table(v) for v in table_vars]
        known, hoisted = _stage(p, [*host_tables, *([None] * len(sizes)), *ones_arrays])

        def core(tabs: Sequence[jax.Array], idx: jax.Array) -> tuple[jax.Array, jax.Array]:
            return finish(every([*tabs, *onehots(idx)]))

        def fast_core(idx: jax.Array) -> tuple[jax.Array, jax.Array]:
            return finish(known(onehots(idx)))

        def host_core(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            joint = known(onehots(idx, np), _host_einsum)
            return finish(np.asarray(joint), np)

        def finish_host(joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return finish(joint, np)

        def build_table() -> np.ndarray | None:
            # the same contraction with every given variable left open: one table of answers
            kout = [*value_vars, *free_do, *free_ev, *outcomes]
            dims = {v: finite(m.variables[v].type, v).size for v in kout}
            if math.prod(dims.values()) > SHAPE_TABLE_LIMIT:
                return None
            kops = ops[: len(table_vars)]
            extra = [v for v in (*value_vars, *free_do) if v not in keep]  # constant axes
            kops = [*kops, *(((v,), (dims[v],)) for v in extra)]
            try:
                kp = plan(kops, kout, limit=SHAPE_TABLE_LIMIT)
            except QueryError:
                return None
            run, _ = _stage(kp, [*host_tables, *(np.ones(dims[v]) for v in extra)])
            return np.ascontiguousarray(run([], _host_einsum))

        cq = CompiledQuery(prob, table_vars, value_vars, value_types, free_do, free_ev,
                           outcomes, p, normalise, core, fast_core, host_core, hoisted,
                           build_table, finish_host)
        self._compiled[key] = cq
        return cq

    def _relevant(self, mutilated: CausalModel, table_vars: tuple[str, ...], fixed: set[str],
                  needed: set[str]) -> tuple[str, ...]:
        """Drop the tables that, once the given values are fixed, share no variable (directly or
        through other tables) with what the answer reads: their product is a constant that the
        normalisation cancels. Only strictly positive tables are dropped, so evidence of
        probability zero is still detected."""
        owner: dict[str, str] = {}  # a variable's first table; later ones link to it
        links = []
        for v in table_vars:
            for u in (*mutilated.variables[v].parents, v):
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


def _host_einsum(eq: str, *ops: Any) -> np.ndarray:
    return np.einsum(_ascii(eq), *ops, optimize=len(ops) > 1)


@functools.lru_cache(maxsize=65536)
def _ascii(eq: str) -> str:
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
