"""Evaluate an estimand on an observational distribution, exactly.

The observational distribution is a *source* of marginals over observed variables:

- :class:`ModelSource`: a causal model; each marginal the estimand needs is one exact query
  (``P(A, B)``) on the model's exact engine, so the full joint is never built;
- :class:`JointSource`: a joint probability table over the observed variables (a numpy array
  with one axis per variable).

Every ``P(A | B)`` becomes ``P(A, B) / P(B)``; where ``P(B)`` is zero the estimand is undefined
and :class:`~causaldsl.errors.PositivityError` names the values (never a NaN). Sums and
products are contracted with opt_einsum over named axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import opt_einsum

from ..distribution import Distribution
from ..errors import PositivityError, QueryError
from ..estimand import P, Product, Quotient, Sum
from ..types import FiniteType, show_label

if TYPE_CHECKING:
    from ..estimand import Estimand
    from ..identify import Identification
    from ..model import CausalModel

Factor = tuple[tuple[str, ...], np.ndarray]


class ModelSource:
    """Observed marginals of a causal model, each computed by the exact backend."""

    def __init__(self, model: CausalModel):
        from ..model import finite

        self.model = model
        self.types: dict[str, FiniteType] = {
            v: finite(model.variables[v].type, f"variable {v}") for v in model.observed}
        self._cache: dict[frozenset[str], Factor] = {}

    def marginal(self, names: Sequence[str]) -> Factor:
        key = frozenset(names)
        hit = self._cache.get(key)
        if hit is None:
            from ..query import Event, Prob
            from .exact import engine_for

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
    from ..model import CausalModel

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
    missing = estimand.free - set(axes)
    if missing:
        raise QueryError(f"the estimand depends on {', '.join(sorted(missing))}, which the "
                         "answer has no axis for")
    f_axes, arr = _eval(estimand, src)
    return _align(f_axes, arr, tuple(axes), src)


def _align(f_axes: tuple[str, ...], arr: np.ndarray, axes: tuple[str, ...], src: Source
           ) -> np.ndarray:
    for a in axes:
        if a not in f_axes:
            f_axes = (*f_axes, a)
            arr = np.broadcast_to(arr[..., None], (*arr.shape, src.types[a].size))
    perm = [f_axes.index(a) for a in axes]
    return np.array(np.transpose(arr, perm))


def _eval(e: Estimand, src: Source) -> Factor:
    if isinstance(e, P):
        return _term(e, src)
    if isinstance(e, Sum):
        if isinstance(e.body, Product):
            factors = [_eval(f, src) for f in e.body.factors]
        else:
            factors = [_eval(e.body, src)]
        present = {a for ax, _ in factors for a in ax}
        out = tuple(dict.fromkeys(a for ax, _ in factors for a in ax if a not in e.over))
        res = _contract(factors, out)
        scale = 1
        for v in e.over:
            if v not in present:  # a sum over a variable the body does not mention
                scale *= src.types[v].size
        return (res[0], res[1] * scale) if scale != 1 else res
    if isinstance(e, Product):
        factors = [_eval(f, src) for f in e.factors]
        out = tuple(dict.fromkeys(a for ax, _ in factors for a in ax))
        return _contract(factors, out)
    if isinstance(e, Quotient):
        na, n = _eval(e.num, src)
        da, d = _eval(e.den, src)
        axes = tuple(dict.fromkeys((*na, *da)))
        n = _align(na, n, axes, src)
        d = _align(da, d, axes, src)
        if np.any(d <= 0):
            at = _where(axes, np.argwhere(d <= 0)[0], src)
            raise PositivityError(f"the estimand divides by {e.den}, which is zero{at}: the "
                                  "observational distribution violates positivity there, so the "
                                  "estimand is undefined")
        return axes, n / d
    raise TypeError(f"not an estimand: {e!r}")  # pragma: no cover


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
    return out, np.asarray(opt_einsum.contract(eq, *(arr for _, arr in factors)))


def _term(t: P, src: Source) -> Factor:
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
    den = np.broadcast_to(joint.sum(axis=over, keepdims=True), joint.shape)[tuple(idx)]
    joint = joint[tuple(idx)]
    if np.any(den <= 0):
        bad = np.argwhere(den <= 0)[0]
        given_axes = [i for i, a in enumerate(kaxes) if a in t.given]
        fixed_given = [f"{v} = {show_label(vals[v])}" for v in t.given if v in vals]
        where = ", ".join([*fixed_given, *(f"{kaxes[i]} = {show_label(src.types[kaxes[i]].values[bad[i]])}"
                                            for i in given_axes)])
        raise PositivityError(f"the estimand needs {t}, but P({where}) = 0: the observational "
                              "distribution violates positivity there, so the estimand is "
                              "undefined")
    return kaxes, joint / den


def _where(axes: Sequence[str], idx: Sequence[int], src: Source) -> str:
    if not axes:
        return ""
    return " at " + ", ".join(f"{a} = {show_label(src.types[a].values[i])}"
                              for a, i in zip(axes, idx, strict=True))


def evaluate_query(ident: Identification, source: Any, names: Sequence[str] | None = None,
                   types: Any = None) -> Distribution | float:
    """The identified query's answer, shaped like ``model.query`` gives it: a float when every
    variable has a value, else a Distribution over the outcomes given the open treatments
    (``do(X)``) and evidence."""
    src = as_source(source, names, types)
    q = ident.query
    est = ident.bound
    free_do = tuple(e.var for e in q.interventions if e.value is None)
    free_ev = tuple(e.var for e in q.evidence if e.value is None)
    outs = tuple(e.var for e in q.outcomes if e.value is None)
    for v in (*free_do, *free_ev, *outs):
        if v not in src.types:
            raise QueryError(f"{q}: {v} is not an observed variable of the distribution")
    axes = (*free_do, *free_ev, *outs)
    extra = sorted(est.free - set(axes))
    if extra:
        # ID guarantees the value does not depend on these (the napkin's W2): fix each at the
        # first value where the estimand is defined
        import itertools

        for i, combo in enumerate(itertools.product(*(src.types[v].values for v in extra))):
            try:
                arr = evaluate(est.bind(dict(zip(extra, combo, strict=True))), src, axes)
                break
            except PositivityError:
                if i + 1 == int(np.prod([src.types[v].size for v in extra])):
                    raise
    else:
        arr = evaluate(est, src, axes)
    if not outs and not free_do and not free_ev:
        return float(arr)
    given_named = tuple(f"do({v})" for v in free_do) + free_ev
    gtypes = tuple(src.types[v] for v in (*free_do, *free_ev))
    return Distribution(outs, tuple(src.types[v] for v in outs), arr, given_named, gtypes,
                        str(q))
