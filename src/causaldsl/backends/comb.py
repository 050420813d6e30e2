"""Comb disintegration on numbers (Jacobs, Kissinger & Zanasi): the two kernels of a comb
read off observational data, and the channel they compose to. The comb's shape is found by
``causaldsl.analysis.comb``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from causaldsl.analysis.comb import Comb
from causaldsl.backends.estimand_eval import as_source
from causaldsl.core.errors import PositivityError
from causaldsl.model.distribution import Distribution


def comb_kernels(comb: Comb, source: Any, names: Sequence[str] | None = None,
                 types: Any = None) -> tuple[Distribution, Distribution]:
    """The two pieces, from an observational distribution (a model, a Distribution, or a joint
    table with ``names``): ``g = P(B | A)`` and ``f(A, C | B) = P(A) P(C | A, B)``.
    Raises PositivityError without full support on (A, B): then they are not unique."""
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
