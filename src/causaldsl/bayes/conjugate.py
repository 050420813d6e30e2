"""Closed-form posteriors: an unknown table whose variable and parents are all columns of the
data has the Dirichlet posterior ``prior + counts`` on each row, whatever else the model
hides, because its factor of the likelihood is a product of multinomials in its own
parameters alone."""

from __future__ import annotations

import numpy as np

from causaldsl.bayes.patterns import Patterns
from causaldsl.core.errors import FitError
from causaldsl.ir.mechanism import UnknownTable
from causaldsl.model.causal_model import CausalModel


def is_conjugate(model: CausalModel, patterns: Patterns) -> bool:
    """Whether every unknown table's family (the variable and its parents) is observed."""
    return not hidden_families(model, patterns)


def hidden_families(model: CausalModel, patterns: Patterns) -> list[str]:
    """The unknown tables whose variable or some parent is not a column of the data."""
    seen = set(patterns.names)
    return [v for v in model.unknown
            if v not in seen or not set(model.variables[v].parents) <= seen]


def posterior_concentrations(model: CausalModel, patterns: Patterns
                             ) -> dict[str, np.ndarray]:
    """Each unknown table's posterior Dirichlet parameters: its prior plus the family's
    counts, row by row."""
    out = {}
    for v in model.unknown:
        mech = model.variables[v].mechanism
        assert isinstance(mech, UnknownTable)
        counts = patterns.family_counts((*model.variables[v].parents, v))
        out[v] = mech.concentration + counts
    return out


def dirichlet_draws(concentration: np.ndarray, draws: int, rng: np.random.Generator
                    ) -> np.ndarray:
    """``draws`` tables, each row Dirichlet(its parameters): normalised Gamma draws."""
    g = rng.standard_gamma(np.broadcast_to(concentration, (draws, *concentration.shape)))
    return g / g.sum(axis=-1, keepdims=True)


def frequencies(model: CausalModel, patterns: Patterns, strict: bool) -> dict[str, np.ndarray]:
    """Each unknown table as its family's frequencies. A row the data never show has no
    maximum-likelihood value: an error (``strict``), or, in a bootstrap replicate, the
    uniform row (the replicate says nothing of it)."""
    out = {}
    for v in model.unknown:
        var = model.variables[v]
        c = patterns.family_counts((*var.parents, v))
        rows = c.sum(axis=-1, keepdims=True)
        if strict and np.any(rows == 0):
            idx = tuple(int(i) for i in np.argwhere(rows[..., 0] == 0)[0])
            ptypes = [model.variables[p].type for p in var.parents]
            shown = ", ".join(f"{p} = {t.values[i]}"  # type: ignore[union-attr]
                              for p, t, i in zip(var.parents, ptypes, idx, strict=True))
            raise FitError(f"the data have no row with {shown}, so the row of {v}'s table "
                           "for it has no maximum-likelihood value; fit by exact (its prior "
                           "decides that row) or give more data")
        out[v] = np.where(rows > 0, c / np.where(rows > 0, rows, 1), 1.0 / c.shape[-1])
    return out
