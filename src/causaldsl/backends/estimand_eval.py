"""Evaluate an estimand on an observational distribution, exactly.

The observational distribution is a *source* of marginals over observed variables:

- :class:`ModelSource`: a causal model; each marginal the estimand needs is one exact query
  (``P(A, B)``) on the model's exact engine, so the full joint is never built;
- :class:`JointSource`: a joint probability table over the observed variables (a numpy array
  with one axis per variable).

Every ``P(A | B)`` becomes ``P(A, B) / P(B)``; where ``P(B)`` is zero the estimand is undefined
and :class:`~causaldsl.core.errors.PositivityError` names the values (never a NaN). Sums and
products are contracted with opt_einsum over named axes: on NumPy for one evaluation, or on
JAX inside one jitted (and, for a stack of tables, vmapped) function: :class:`CompiledQuery`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import opt_einsum

from causaldsl.analysis.estimand import P, Product, Quotient, Sum
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
    variable of the estimand must be among them (others broadcast)."""
    src = as_source(source, names, types)
    _check_axes(estimand, axes)
    ev = _Evaluator(src, np)
    f_axes, arr = ev.eval(estimand)
    return np.array(ev.align(f_axes, arr, tuple(axes)))


def _check_axes(estimand: Estimand, axes: Sequence[str]) -> None:
    missing = estimand.free - set(axes)
    if missing:
        raise QueryError(f"the estimand depends on {', '.join(sorted(missing))}, which the "
                         "answer has no axis for")


class _Evaluator:
    """One fold over an estimand's nodes. On NumPy (``xp = np``) a zero denominator raises
    PositivityError at once; on JAX, under jit, each check becomes a flag in ``flags``."""

    def __init__(self, src: Source, xp: Any):
        self.src = src
        self.xp = xp
        self.flags: list[Any] = []

    def positive(self, den: Any, error: Callable[[np.ndarray], PositivityError]) -> None:
        if self.xp is np:
            if np.any(den <= 0):
                raise error(np.argwhere(den <= 0)[0])
        else:
            self.flags.append(self.xp.all(den > 0))

    def align(self, f_axes: tuple[str, ...], arr: Any, axes: tuple[str, ...]) -> Any:
        xp = self.xp
        for a in axes:
            if a not in f_axes:
                f_axes = (*f_axes, a)
                arr = xp.broadcast_to(arr[..., None], (*arr.shape, self.src.types[a].size))
        return xp.transpose(arr, [f_axes.index(a) for a in axes])

    def eval(self, e: Estimand) -> Factor:
        if isinstance(e, P):
            return self.term(e)
        if isinstance(e, Sum):
            body = e.body.factors if isinstance(e.body, Product) else (e.body,)
            factors = [self.eval(f) for f in body]
            present = {a for ax, _ in factors for a in ax}
            out = tuple(dict.fromkeys(a for ax, _ in factors for a in ax if a not in e.over))
            res = _contract(factors, out)
            scale = 1
            for v in e.over:
                if v not in present:  # a sum over a variable the body does not mention
                    scale *= self.src.types[v].size
            return (res[0], res[1] * scale) if scale != 1 else res
        if isinstance(e, Product):
            factors = [self.eval(f) for f in e.factors]
            return _contract(factors, tuple(dict.fromkeys(a for ax, _ in factors for a in ax)))
        if isinstance(e, Quotient):
            na, n = self.eval(e.num)
            da, d = self.eval(e.den)
            axes = tuple(dict.fromkeys((*na, *da)))
            n = self.align(na, n, axes)
            d = self.align(da, d, axes)
            self.positive(d, lambda bad: PositivityError(
                f"the estimand divides by {e.den}, which is zero{_where(axes, bad, self.src)}: "
                "the observational distribution violates positivity there, so the estimand "
                "is undefined"))
            return axes, n / d
        raise TypeError(f"not an estimand: {e!r}")  # pragma: no cover

    def term(self, t: P) -> Factor:
        src = self.src
        names = (*t.vars, *t.given)
        for n in names:
            if n not in src.types:
                raise QueryError(f"{t}: {n} is not an observed variable of the distribution")
        axes, joint = src.marginal(names)
        vals = t.values
        # fix values first: only the slices the estimand reads must be positive
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
            return kaxes, joint[tuple(idx)]
        over = tuple(i for i, a in enumerate(axes) if a in t.vars)
        den = self.xp.broadcast_to(joint.sum(axis=over, keepdims=True), joint.shape)[tuple(idx)]
        joint = joint[tuple(idx)]

        def error(bad: np.ndarray) -> PositivityError:
            given_axes = [i for i, a in enumerate(kaxes) if a in t.given]
            fixed_given = [f"{v} = {show_label(vals[v])}" for v in t.given if v in vals]
            where = ", ".join([*fixed_given, *(
                f"{kaxes[i]} = {show_label(src.types[kaxes[i]].values[bad[i]])}"
                for i in given_axes)])
            return PositivityError(f"the estimand needs {t}, but P({where}) = 0: the "
                                   "observational distribution violates positivity there, so "
                                   "the estimand is undefined")

        self.positive(den, error)
        return kaxes, joint / den


def _contract(factors: Sequence[Factor], out: tuple[str, ...]) -> Factor:
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
        import jax
        import jax.numpy as jnp

        from causaldsl.backends import exact  # noqa: F401  (float64 on, as everywhere in the exact backend)

        _check_axes(estimand, axes)
        self.estimand = estimand
        self.names = tuple(names)
        self.types = dict(types) if isinstance(types, Mapping) else \
            dict(zip(self.names, types, strict=True))
        self.axes = tuple(axes)
        self.shape = tuple(self.types[n].size for n in self.names)

        def fn(joint: Any) -> tuple[Any, Any]:
            ev = _Evaluator(_TracedJoint(joint, self.names, self.types), jnp)
            f_axes, arr = ev.eval(estimand)
            ok = jnp.all(jnp.stack(ev.flags)) if ev.flags else jnp.bool_(True)
            return ev.align(f_axes, jnp.asarray(arr), self.axes), ok

        self._one = jax.jit(fn)
        self._many = jax.jit(jax.vmap(fn))

    def __call__(self, joint: Any) -> np.ndarray:
        src = JointSource(joint, self.names, self.types)
        arr, ok = self._one(src.array)
        if not bool(ok):
            evaluate(self.estimand, src, self.axes)  # raises, naming where
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
        ok = np.asarray(ok)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            try:
                evaluate(self.estimand, JointSource(arr[i], self.names, self.types), self.axes)
            except PositivityError as e:
                raise PositivityError(f"joint table {i} of the batch: {e}") from None
        return np.asarray(out)


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
