"""Comb disintegration (Jacobs, Kissinger & Zanasi, "Causal Inference by String Diagram
Surgery"): when the diagram splits into a channel g : A → B and a comb f : B → A ⊗ C with a
hole, both are determined by the observational joint,

    g(b | a) = P(b | a),        f(a, c | b) = P(a) · P(c | a, b),

(uniquely, under full support), and the interventional channel is
``P(c | do(a)) = Σ_b g(b | a) Σ_a' f(a', c | b)``: Pearl's front-door formula on this shape.
The comb is a sufficient condition; the ID algorithm is the complete one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from causaldsl.analysis.adjustment import frontdoor_estimand
from causaldsl.analysis.estimand import Estimand
from causaldsl.core.errors import QueryError
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


__all__ = ["Comb", "comb_shape"]
