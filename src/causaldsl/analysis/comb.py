"""Comb disintegration (Jacobs, Kissinger & Zanasi, "Causal Inference by String Diagram
Surgery"): when the diagram splits into a channel g : A → B and a comb f : B → A ⊗ C with a
hole, both are determined by the observational joint,

    g(b | a) = P(b | a),        f(a, c | b) = P(a) · P(c | a, b),

(uniquely, under full support), and the interventional channel is
``P(c | do(a)) = Σ_b g(b | a) Σ_a' f(a', c | b)``: Pearl's front-door formula on this shape.
The comb is a sufficient condition; the ID algorithm is the complete one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.analysis.estimand import Estimand
from causaldsl.core.errors import PositivityError, QueryError
from causaldsl.model.distribution import Distribution
from causaldsl.model.graph import ADMG, show_set


@dataclass(frozen=True)
class Comb:
    """The comb shape of a query: treatment A, the region B between, outcome C."""

    treatment: tuple[str, ...]
    between: tuple[str, ...]
    outcome: tuple[str, ...]
    estimand: Estimand


def comb_shape(g: ADMG, x: Iterable[str], y: Iterable[str]) -> Comb:
    """Check that ``P(y | do(x))`` has the comb shape in ``g``; say which condition fails."""
    from causaldsl.analysis.identify import frontdoor_estimand

    xs, ys = frozenset(x), frozenset(y)
    what = f"P({', '.join(g.sort(ys))} | do({', '.join(g.sort(xs))}))"
    if not xs or not ys or xs & ys:
        raise QueryError(f"{what}: the comb needs a treatment and a distinct outcome")
    region = g.ancestors(ys)
    if not xs <= region:
        raise QueryError(f"{what}: {show_set(xs - region)} is not an ancestor of the outcome, so "
                         "there is no comb through which it acts")
    bs = frozenset(region - xs - ys)

    def fail(why: str) -> QueryError:
        return QueryError(f"{what} does not have the comb shape A → B → C with A ↔ C only: "
                          f"{why} (try the front-door or ID methods)")

    for v in xs:
        if g.parents(v):
            raise fail(f"the treatment {v} has observed parents {show_set(g.parents(v))}")
    if not bs:
        raise fail("nothing lies between treatment and outcome")
    for v in bs:
        extra = set(g.parents(v)) - xs - bs
        if extra:
            raise fail(f"{v} in the middle region has parents {show_set(extra)} outside it")
        if g.spouse_map[v]:
            raise fail(f"{v} in the middle region shares a hidden cause with "
                       f"{show_set(g.spouse_map[v])}")
    for v in ys:
        direct = set(g.parents(v)) & xs
        if direct:
            raise fail(f"{show_set(direct)} acts on {v} directly, not through the middle region")
    est = frontdoor_estimand(g, xs, ys, bs)
    return Comb(g.sort(xs), g.sort(bs), g.sort(ys), est)


def comb_kernels(comb: Comb, source: Any, names: Sequence[str] | None = None,
                 types: Any = None) -> tuple[Distribution, Distribution]:
    """The two pieces, from an observational distribution (a model, a Distribution, or a joint
    table with ``names``): ``g = P(B | A)`` and ``f(A, C | B) = P(A) P(C | A, B)``.
    Raises PositivityError without full support on (A, B): then they are not unique."""
    from causaldsl.backends.estimand_eval import as_source

    src = as_source(source, names, types)
    a, b, c = comb.treatment, comb.between, comb.outcome
    order, arr = src.marginal([*a, *b, *c])
    joint = np.transpose(arr, [order.index(v) for v in (*a, *b, *c)])
    na, nb = len(a), len(b)
    p_ab = joint.sum(axis=tuple(range(na + nb, joint.ndim)))
    p_a = p_ab.sum(axis=tuple(range(na, na + nb)))
    if not np.all(p_ab > 0):
        idx = tuple(int(i) for i in np.argwhere(p_ab <= 0)[0])
        at = ", ".join(f"{v} = {src.types[v].values[i]}" for v, i in zip((*a, *b), idx,
                                                                          strict=True))
        raise PositivityError(f"comb disintegration needs full support, but P({at}) = 0; "
                              "without it the comb is not determined by the observations")
    g_arr = p_ab / p_a.reshape(p_a.shape + (1,) * nb)                     # (A, B): P(b | a)
    p_c_ab = joint / p_ab.reshape(p_ab.shape + (1,) * len(c))             # (A, B, C)
    f_arr = p_a.reshape(p_a.shape + (1,) * (nb + len(c))) * p_c_ab        # P(a) P(c | a, b)
    f_arr = np.transpose(f_arr, [*range(na, na + nb), *range(na), *range(na + nb, joint.ndim)])
    t = src.types
    g_dist = Distribution(b, tuple(t[v] for v in b), g_arr, a, tuple(t[v] for v in a),
                          f"g = P({', '.join(b)} | {', '.join(a)})")
    f_dist = Distribution((*a, *c), tuple(t[v] for v in (*a, *c)), f_arr, b,
                          tuple(t[v] for v in b),
                          f"f = P({', '.join(a)}) P({', '.join(c)} | {', '.join((*a, *b))})")
    return g_dist, f_dist


def compose(g_dist: Distribution, f_dist: Distribution, n_treatment: int) -> np.ndarray:
    """Plug the channel into the comb's hole: ``Σ_b g(b|a) Σ_a' f(a', c|b)``, an array with
    axes (A..., C...): the interventional channel, by the paper's construction."""
    nb = len(g_dist.variables)
    f_c = f_dist.probs.sum(axis=tuple(range(nb, nb + n_treatment)))  # (B..., C...)
    g2 = g_dist.probs.reshape(int(np.prod(g_dist.probs.shape[:n_treatment])), -1)
    out = g2 @ f_c.reshape(g2.shape[1], -1)
    return out.reshape(g_dist.probs.shape[:n_treatment] + f_c.shape[nb:])


__all__ = ["Comb", "comb_kernels", "comb_shape", "compose"]
