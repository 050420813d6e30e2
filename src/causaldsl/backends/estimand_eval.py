"""Evaluate an estimand on an observational distribution, exactly.

The observational distribution is a *source* of marginals over observed variables:

- :class:`ModelSource`: a causal model; each marginal the estimand needs is one exact query
  (``P(A, B)``) on the model's exact engine, so the full joint is never built;
- :class:`JointSource`: a joint probability table over the observed variables (a numpy array
  with one axis per variable).

Every ``P(A | B)`` becomes ``P(A, B) / P(B)``. Where a denominator is zero that cell is
*undefined*, and positivity follows the textbook rule: inside a product, undefined times an
exact zero is zero (``P(y | x, z) P(z)`` where ``P(z) = 0``: the stratum contributes nothing),
and a sum of cells is undefined where one of its cells still is. The estimand is refused,
with :class:`~causaldsl.core.errors.PositivityError` naming the zero probability and its values,
exactly where an undefined cell reaches the answer (a term with positive weight divides by
zero, or the answer's own conditioning has probability zero); it never returns a NaN. Sums and
products are contracted with opt_einsum over named axes: on NumPy for one evaluation, or on
JAX inside one jitted (and, for a stack of tables, vmapped) function: :class:`CompiledQuery`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from causaldsl.analysis.estimand import P, Product, Quotient, Sum, Zero
from causaldsl.core.errors import PositivityError, QueryError
from causaldsl.core.types import FiniteType, show_label
from causaldsl.model.distribution import Batch, Distribution, do_axis

if TYPE_CHECKING:
    from causaldsl.analysis.estimand import Estimand
    from causaldsl.analysis.identify import Identification
    from causaldsl.model.causal_model import CausalModel

Factor = tuple[tuple[str, ...], np.ndarray]


class ModelSource:
    """Observed marginals of a causal model, each computed by the exact backend."""

    def __init__(self, model: CausalModel):
        from causaldsl.model.causal_model import finite

        self.model = model
        self.types: dict[str, FiniteType] = {
            v: finite(model.variables[v].type, f"variable {v}") for v in model.observed}
        self._cache: dict[frozenset[str], Factor] = {}

    def marginal(self, names: Sequence[str]) -> Factor:
        key = frozenset(names)
        hit = self._cache.get(key)
        if hit is None:
            from causaldsl.backends.exact import engine_for
            from causaldsl.syntax.query import Event, Prob

            order = tuple(v for v in self.model.observed if v in key)
            if not order:
                hit = ((), np.ones(()))
            else:
                d = engine_for(self.model).evaluate(Prob(tuple(Event(v) for v in order)))
                assert isinstance(d, Distribution)
                hit = (order, np.asarray(d.probs))
            self._cache[key] = hit
        return hit


class JointSource:
    """A joint table over named observed variables (axis ``i`` is ``names[i]``)."""

    def __init__(self, joint: Any, names: Sequence[str],
                 types: Mapping[str, FiniteType] | Sequence[FiniteType] | None = None):
        arr = np.asarray(joint, dtype=np.float64)
        names = tuple(names)
        if arr.ndim != len(names):
            raise QueryError(f"the joint table has {arr.ndim} axes but {len(names)} variable "
                             f"names were given ({', '.join(names)})")
        if np.any(arr < 0) or not np.isclose(arr.sum(), 1.0, atol=1e-9):
            raise QueryError(f"the joint table over {', '.join(names)} is not a probability "
                             f"distribution (entries must be ≥ 0 and sum to 1; they sum to "
                             f"{arr.sum():.6g})")
        if types is None:
            tys = [FiniteType(n, list(range(k))) for n, k in zip(names, arr.shape, strict=True)]
        elif isinstance(types, Mapping):
            tys = [types[n] for n in names]
        else:
            tys = list(types)
        for n, t, k in zip(names, tys, arr.shape, strict=True):
            if t.size != k:
                raise QueryError(f"variable {n} has {t.size} values but its axis of the joint "
                                 f"table has length {k}")
        self.names = names
        self.array = arr
        self.types = dict(zip(names, tys, strict=True))
        self._cache: dict[frozenset[str], Factor] = {}

    def marginal(self, names: Sequence[str]) -> Factor:
        key = frozenset(names)
        hit = self._cache.get(key)
        if hit is None:
            missing = key - set(self.names)
            if missing:
                raise QueryError(f"the joint table has no variable {sorted(missing)[0]}")
            drop = tuple(i for i, n in enumerate(self.names) if n not in key)
            order = tuple(n for n in self.names if n in key)
            hit = (order, self.array.sum(axis=drop))
            self._cache[key] = hit
        return hit


Source = ModelSource | JointSource


def as_source(source: Any, names: Sequence[str] | None = None, types: Any = None) -> Source:
    from causaldsl.model.causal_model import CausalModel

    if isinstance(source, (ModelSource, JointSource)):
        return source
    if isinstance(source, CausalModel):
        return ModelSource(source)
    if isinstance(source, Distribution):
        return JointSource(source.probs, source.variables, source.types)
    if names is None:
        raise QueryError("a joint table needs the names of its axes: names=[...]")
    return JointSource(source, names, types)


def evaluate(estimand: Estimand, source: Any, axes: Sequence[str], *,
             names: Sequence[str] | None = None, types: Any = None) -> np.ndarray:
    """The estimand as an array with one axis per name in ``axes`` (in that order); every free
    variable of the estimand must be among them (others broadcast). Raises PositivityError
    where an undefined cell (a zero denominator not cancelled by a zero weight) reaches it."""
    src = as_source(source, names, types)
    _check_axes(estimand, axes)
    ev = _Evaluator(src, np)
    root = ev.eval(estimand)
    if root.undef is not None:
        raise ev.diagnose(root)
    return np.array(ev.align(root.axes, root.value, tuple(axes)))


def _check_axes(estimand: Estimand, axes: Sequence[str]) -> None:
    missing = estimand.free - set(axes)
    if missing:
        raise QueryError(f"the estimand depends on {', '.join(sorted(missing))}, which the "
                         "answer has no axis for")


@dataclass(frozen=True, eq=False)
class _Val:
    """A node's value over named axes. ``undef`` marks the cells where it is undefined (a zero
    denominator that no zero weight has cancelled); there ``value`` holds 0, so no NaN ever
    flows. ``undef`` is None where every cell is defined (known on NumPy; under jit a mask is
    carried wherever a quotient lies below). ``parts`` are the records of the operands: the
    factors of a Sum or Product, (numerator, denominator) of a Quotient."""

    node: Estimand
    axes: tuple[str, ...]
    value: Any
    undef: Any = None
    parts: tuple[_Val, ...] = ()


class _Evaluator:
    """One fold over an estimand's nodes, on NumPy (``xp = np``) or on JAX under jit, carrying
    a mask of undefined cells beside each value (see :class:`_Val`). The rule, per node:

    - ``P(A | B)``: undefined where ``P(B) = 0``; a Quotient: where its denominator is zero or
      either operand is undefined;
    - a Product (also the body of a Sum): a cell is undefined where some factor is undefined
      and no *defined* factor is exactly zero there (0 × undefined = 0);
    - a Sum: undefined where some summed cell is undefined.

    A product's mask is computed by contraction, never by building the broadcast: with ``nz``
    the 0/1 indicator "undefined or nonzero" of each factor and ``pos`` that of "defined and
    nonzero", Π nz − Π pos is 1 exactly at the undefined product cells, so contracting both
    with the value's subscripts counts, per output cell, the undefined cells summed into it.
    The cost is two more contractions of the same shape as the value's (exact: the counts are
    integers), only where some factor has an undefined cell; on NumPy a table with full
    support pays just the ``P(B) = 0`` comparisons. Under jit every mask below a quotient is
    carried (shapes are static), so the compiled function does up to three times the
    contraction work. Naming the culprit (:meth:`diagnose`) runs only once the answer is known
    to be undefined."""

    def __init__(self, src: Source, xp: Any):
        self.src = src
        self.xp = xp

    def _known(self, mask: Any) -> Any:
        """``mask``, or None on NumPy where it marks nothing."""
        if self.xp is np and not np.any(mask):
            return None
        return mask

    def align(self, f_axes: tuple[str, ...], arr: Any, axes: tuple[str, ...]) -> Any:
        xp = self.xp
        for a in axes:
            if a not in f_axes:
                f_axes = (*f_axes, a)
                arr = xp.broadcast_to(arr[..., None], (*arr.shape, self.src.types[a].size))
        return xp.transpose(arr, [f_axes.index(a) for a in axes])

    def eval(self, e: Estimand) -> _Val:
        if isinstance(e, P):
            return self.term(e)
        if isinstance(e, Zero):  # 0 on every distribution, defined everywhere
            return _Val(e, (), self.xp.zeros(()))
        if isinstance(e, Sum):
            body = e.body.factors if isinstance(e.body, Product) else (e.body,)
            parts = tuple(self.eval(f) for f in body)
            present = {a for p in parts for a in p.axes}
            out = tuple(dict.fromkeys(a for p in parts for a in p.axes if a not in e.over))
            value, undef = self.product(parts, out)
            scale = 1
            for v in e.over:
                if v not in present:  # a sum over a variable the body does not mention
                    scale *= self.src.types[v].size
            return _Val(e, out, value * scale if scale != 1 else value, undef, parts)
        if isinstance(e, Product):
            parts = tuple(self.eval(f) for f in e.factors)
            out = tuple(dict.fromkeys(a for p in parts for a in p.axes))
            return _Val(e, out, *self.product(parts, out), parts)
        if isinstance(e, Quotient):
            num, den = self.eval(e.num), self.eval(e.den)
            axes = tuple(dict.fromkeys((*num.axes, *den.axes)))
            n = self.align(num.axes, num.value, axes)
            d = self.align(den.axes, den.value, axes)
            undef = d <= 0  # an undefined denominator holds 0, so this marks it too
            if num.undef is not None:
                undef = undef | self.align(num.axes, num.undef, axes)
            return _Val(e, axes, self.xp.where(undef, 0.0, n / self.xp.where(undef, 1.0, d)),
                        self._known(undef), (num, den))
        raise TypeError(f"not an estimand: {e!r}")  # pragma: no cover

    def product(self, parts: Sequence[_Val], out: tuple[str, ...]) -> tuple[Any, Any]:
        """The contraction of ``parts`` onto ``out``, and its mask of undefined cells."""
        value = _contract([(p.axes, p.value) for p in parts], out)[1]
        if all(p.undef is None for p in parts):
            return value, None
        xp = self.xp
        nz, pos = [], []
        for p in parts:
            nonzero = p.value != 0
            nz.append((p.axes, xp.where(nonzero if p.undef is None else nonzero | p.undef,
                                        1.0, 0.0)))
            pos.append((p.axes, xp.where(nonzero if p.undef is None else nonzero & ~p.undef,
                                         1.0, 0.0)))
        undef = _contract(nz, out)[1] - _contract(pos, out)[1] > 0.5
        return value, self._known(undef)

    def term(self, t: P) -> _Val:
        src = self.src
        names = (*t.vars, *t.given)
        for n in names:
            if n not in src.types:
                raise QueryError(f"{t}: {n} is not an observed variable of the distribution")
        axes, joint = src.marginal(names)
        vals = t.values
        # fix values first: only the slices the estimand reads matter
        idx: list[Any] = []
        kept: list[str] = []
        for a in axes:
            if a in vals:
                idx.append(src.types[a].index(vals[a]))
            else:
                idx.append(slice(None))
                kept.append(a)
        kaxes = tuple(kept)
        if not t.given:
            return _Val(t, kaxes, joint[tuple(idx)])
        xp = self.xp
        over = tuple(i for i, a in enumerate(axes) if a in t.vars)
        den = xp.broadcast_to(joint.sum(axis=over, keepdims=True), joint.shape)[tuple(idx)]
        joint = joint[tuple(idx)]
        undef = den <= 0
        return _Val(t, kaxes, xp.where(undef, 0.0, joint / xp.where(undef, 1.0, den)),
                    self._known(undef))

    # -- naming where it is undefined (NumPy, only once the answer is known to be) --------------

    def diagnose(self, root: _Val) -> PositivityError:
        """The error for an answer with undefined cells: the first zero denominator, in
        evaluation order, whose undefined cells reach the answer (a backward pass: a cell of an
        operand *reaches* the answer where an answer cell depends on it through factors that
        are all undefined or nonzero there)."""
        found = self._culprit(root, np.ones(np.shape(root.value), dtype=bool))
        if found is not None:
            return found
        at = _where(root.axes, np.argwhere(root.undef)[0], self.src)
        return PositivityError(  # pragma: no cover (an undefined answer has a culprit)
            f"the estimand {root.node} is undefined{at}: the observational distribution "
            "violates positivity there")

    def _culprit(self, v: _Val, reach: np.ndarray) -> PositivityError | None:
        if v.undef is None or not reach.any():
            return None
        if isinstance(v.node, P):
            bad = np.argwhere(v.undef & reach)
            return self._term_error(v, bad[0]) if len(bad) else None
        ones = [(p.axes, np.ones(np.shape(p.value))) for p in v.parts]
        if isinstance(v.node, Quotient):
            for p, one in zip(v.parts, ones, strict=True):
                found = self._culprit(p, _contract([(v.axes, reach * 1.0), one], p.axes)[1] > 0)
                if found is not None:
                    return found
            den = v.parts[1]  # neither operand's undefined cells reach: its own zeros do
            own = self.align(den.axes, den.value, v.axes) <= 0
            if den.undef is not None:
                own &= ~self.align(den.axes, den.undef, v.axes)
            bad = np.argwhere(own & reach)
            if not len(bad):
                return None
            at = [bad[0][v.axes.index(a)] for a in den.axes]  # where, on the denominator's axes
            return PositivityError(
                f"the estimand divides by {v.node.den}, which is zero"
                f"{_where(den.axes, at, self.src)}: the observational distribution violates "
                "positivity there, so the estimand is undefined")
        # a Sum or a Product: an operand's cell reaches where the others are undefined or nonzero
        nz = [(p.axes, np.where(p.value != 0 if p.undef is None else (p.value != 0) | p.undef,
                                1.0, 0.0)) for p in v.parts]
        for i, p in enumerate(v.parts):
            if p.undef is None:
                continue
            operands = [(v.axes, reach * 1.0), ones[i], *nz[:i], *nz[i + 1:]]
            found = self._culprit(p, _contract(operands, p.axes)[1] > 0)
            if found is not None:
                return found
        return None

    def _term_error(self, v: _Val, bad: np.ndarray) -> PositivityError:
        t = v.node
        assert isinstance(t, P)
        vals = t.values
        given_axes = [i for i, a in enumerate(v.axes) if a in t.given]
        fixed_given = [f"{g} = {show_label(vals[g])}" for g in t.given if g in vals]
        where = ", ".join([*fixed_given, *(
            f"{v.axes[i]} = {show_label(self.src.types[v.axes[i]].values[bad[i]])}"
            for i in given_axes)])
        return PositivityError(f"the estimand needs {t}, but P({where}) = 0: the "
                               "observational distribution violates positivity there, so "
                               "the estimand is undefined")


def _contract(factors: Sequence[tuple[tuple[str, ...], Any]], out: tuple[str, ...]) -> Factor:
    import opt_einsum  # here: a one-shot exact answer never evaluates an estimand

    if not factors:
        return (), np.ones(())
    sym: dict[str, str] = {}

    def s(a: str) -> str:
        if a not in sym:
            sym[a] = opt_einsum.get_symbol(len(sym))
        return sym[a]

    terms = ",".join("".join(s(a) for a in ax) for ax, _ in factors)
    eq = terms + "->" + "".join(s(a) for a in out)
    return out, opt_einsum.contract(eq, *(arr for _, arr in factors))


def _where(axes: Sequence[str], idx: Sequence[int] | np.ndarray, src: Source) -> str:
    if not axes:
        return ""
    return " at " + ", ".join(f"{a} = {show_label(src.types[a].values[i])}"
                              for a, i in zip(axes, idx, strict=True))


class CompiledEstimand:
    """An estimand compiled by JAX into a jitted function of a joint table over ``names``.
    Call it on one table, or ``batch`` on a stack of them (one vmapped call). A zero
    denominator is reported as PositivityError naming where, as on the NumPy path."""

    def __init__(self, estimand: Estimand, names: Sequence[str],
                 types: Mapping[str, FiniteType] | Sequence[FiniteType], axes: Sequence[str]):
        from causaldsl.backends import jax64

        jax, jnp = jax64.jax(), jax64.jnp()

        _check_axes(estimand, axes)
        self.estimand = estimand
        self.names = tuple(names)
        self.types = dict(types) if isinstance(types, Mapping) else \
            dict(zip(self.names, types, strict=True))
        self.axes = tuple(axes)
        self.shape = tuple(self.types[n].size for n in self.names)

        def fn(joint: Any) -> tuple[Any, Any]:
            ev = _Evaluator(_TracedJoint(joint, self.names, self.types), jnp)
            root = ev.eval(estimand)
            ok = jnp.bool_(True) if root.undef is None else ~jnp.any(root.undef)
            return ev.align(root.axes, jnp.asarray(root.value), self.axes), ok

        self._one = jax.jit(fn)
        self._many = jax.jit(jax.vmap(fn))
        self._jac = jax.jit(jax.jacrev(lambda joint: fn(joint)[0]))

    def __call__(self, joint: Any) -> np.ndarray:
        src = JointSource(joint, self.names, self.types)
        arr, ok = self._one(src.array)
        if not bool(ok):
            return evaluate(self.estimand, src, self.axes)  # raises, naming where
        return np.asarray(arr)

    def batch(self, joints: Any) -> np.ndarray:
        """The estimand on each table of ``joints`` (a leading batch axis)."""
        arr = np.asarray(joints, dtype=np.float64)
        if arr.shape[1:] != self.shape:
            raise QueryError(f"a batch of joint tables over {', '.join(self.names)} needs shape "
                             f"(n, {', '.join(map(str, self.shape))}), got {arr.shape}")
        flat = arr.reshape(len(arr), -1)
        bad = np.flatnonzero((flat < 0).any(axis=1) | ~np.isclose(flat.sum(axis=1), 1.0,
                                                                   atol=1e-9))
        if bad.size:
            JointSource(arr[bad[0]], self.names, self.types)  # raises, with the sum
        out, ok = self._many(arr)
        out, ok = np.array(out), np.asarray(ok)
        for i in np.flatnonzero(~ok):  # undefined: the NumPy path names where (and raises)
            try:
                out[i] = evaluate(self.estimand, JointSource(arr[i], self.names, self.types),
                                  self.axes)
            except PositivityError as e:
                raise PositivityError(f"joint table {i} of the batch: {e}") from None
        return out


    def jacobian(self, joint: Any) -> np.ndarray:
        """The derivative of the answer with respect to each cell of the joint table (shape:
        the answer's, then the table's): the delta method's gradient. Where the answer is
        undefined, the PositivityError that ``__call__`` raises."""
        self(joint)
        return np.asarray(self._jac(np.asarray(joint, dtype=np.float64)))

    def defined_batch(self, joints: Any) -> tuple[np.ndarray, np.ndarray]:
        """The answer on each table and whether it is defined there (no error: an undefined
        answer is a False flag, its value meaningless), e.g. for bootstrap replicates."""
        out, ok = self._many(np.asarray(joints, dtype=np.float64))
        return np.asarray(out), np.asarray(ok)


class _TracedJoint(JointSource):
    """A joint table inside a jitted function: marginals are JAX sums; nothing is checked."""

    def __init__(self, joint: Any, names: tuple[str, ...], types: Mapping[str, FiniteType]):
        self.names = names
        self.array = joint
        self.types = dict(types)
        self._cache = {}


def evaluate_query(ident: Identification, source: Any, names: Sequence[str] | None = None,
                   types: Any = None) -> Distribution | float:
    """The identified query's answer, shaped like ``model.query`` gives it: a float when every
    variable has a value, else a Distribution over the outcomes given the open treatments
    (``do(X)``) and evidence."""
    src = as_source(source, names, types)
    shape = _QueryShape(ident, src.types)
    est = ident.bound
    if shape.extra:
        # ID guarantees the value does not depend on these (the napkin's W2): fix each at the
        # first value where the estimand is defined
        import itertools

        combos = list(itertools.product(*(src.types[v].values for v in shape.extra)))
        for i, combo in enumerate(combos):
            try:
                arr = evaluate(est.bind(dict(zip(shape.extra, combo, strict=True))), src,
                               shape.axes)
                break
            except PositivityError:
                if i + 1 == len(combos):
                    raise
    else:
        arr = evaluate(est, src, shape.axes)
    return shape.answer(arr)


class _QueryShape:
    """How an identified query's answer is laid out: open treatments, open evidence, then
    outcomes; ``extra`` are free variables the value does not depend on."""

    def __init__(self, ident: Identification, types: Mapping[str, FiniteType]):
        q = ident.query
        self.query = q
        self.free_do = tuple(e.var for e in q.interventions if e.value is None)
        self.free_ev = tuple(e.var for e in q.evidence if e.value is None)
        self.outs = tuple(e.var for e in q.outcomes if e.value is None)
        for v in (*self.free_do, *self.free_ev, *self.outs):
            if v not in types:
                raise QueryError(f"{q}: {v} is not an observed variable of the distribution")
        self.types = types
        self.axes = (*self.free_do, *self.free_ev, *self.outs)
        self.extra = tuple(sorted(ident.bound.free - set(self.axes)))

    def answer(self, arr: np.ndarray) -> Distribution | float:
        if not self.axes:
            return float(arr)
        return Distribution(self.outs, self._types(self.outs), arr, *self._given())

    def batch(self, arr: np.ndarray) -> Batch:
        return Batch(arr, self.outs, self._types(self.outs), *self._given())

    def _types(self, names: Sequence[str]) -> tuple[FiniteType, ...]:
        return tuple(self.types[v] for v in names)

    def _given(self) -> tuple[tuple[str, ...], tuple[FiniteType, ...], str]:
        """The conditioning axes as an answer names them, their types, and the title."""
        named = tuple(map(do_axis, self.free_do)) + self.free_ev
        return named, self._types((*self.free_do, *self.free_ev)), str(self.query)


class CompiledQuery:
    """An identified query compiled into a jitted function of a joint table over ``names``:
    ``f(joint)`` answers like ``Identification.evaluate``; ``f.batch(joints)`` answers for a
    stack of tables in one vmapped call (bootstrap replicates, say)."""

    def __init__(self, ident: Identification, names: Sequence[str],
                 types: Mapping[str, FiniteType] | Sequence[FiniteType] | None = None):
        self.ident = ident
        self.names = tuple(names)
        if types is None:
            raise QueryError("compiling an estimand needs the types of the joint table's axes")
        tys = dict(types) if isinstance(types, Mapping) else \
            dict(zip(self.names, types, strict=True))
        self.shape = _QueryShape(ident, tys)
        est = ident.bound
        if self.shape.extra:  # fixed at their first values; a positivity failure retries all
            est = est.bind({v: tys[v].values[0] for v in self.shape.extra})
        self.compiled = CompiledEstimand(est, self.names, tys, self.shape.axes)

    def __call__(self, joint: Any) -> Distribution | float:
        try:
            return self.shape.answer(self.compiled(joint))
        except PositivityError:
            if not self.shape.extra:
                raise
            return evaluate_query(self.ident, joint, self.names, self.shape.types)

    def batch(self, joints: Any) -> Batch:
        try:
            return self.shape.batch(self.compiled.batch(joints))
        except PositivityError:
            if not self.shape.extra:
                raise
        # some table is undefined at the idle variables' first values: answer table by table,
        # each retrying the other values as the single call does
        arr = np.asarray(joints, dtype=np.float64)
        rows = []
        for i, joint in enumerate(arr):
            try:
                rows.append(np.asarray(self(joint)))
            except PositivityError as e:
                raise PositivityError(f"joint table {i} of the batch: {e}") from None
        return self.shape.batch(np.stack(rows))
