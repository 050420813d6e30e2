"""Data as a Bayesian fit sees it: the model's observed variables that are columns of the
data, and each distinct row of them (a pattern) with how many rows it stands for. The
likelihood of a model of tables depends on the data only through these counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.core.errors import DataError
from causaldsl.core.types import FiniteType
from causaldsl.estimation.data import columns_of, load_counts
from causaldsl.model.causal_model import CausalModel


@dataclass(frozen=True)
class Patterns:
    """Distinct rows of the observed columns (``codes``: one row each, positions in the
    variables' types) and their counts; ``n`` rows in all, ``dropped`` incomplete ones."""

    names: tuple[str, ...]
    types: tuple[FiniteType, ...]
    codes: np.ndarray
    counts: np.ndarray
    source: str
    dropped: int = 0

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def family_counts(self, names: tuple[str, ...]) -> np.ndarray:
        """The joint count table of some observed columns (one axis each, in order)."""
        pos = [self.names.index(v) for v in names]
        shape = tuple(self.types[i].size for i in pos)
        flat = np.ravel_multi_index(tuple(self.codes[:, i] for i in pos), shape) if pos \
            else np.zeros(len(self.counts), dtype=np.int64)
        return np.bincount(flat, weights=self.counts, minlength=int(np.prod(shape))) \
            .reshape(shape)

    def resampled(self, counts: np.ndarray) -> Patterns:
        """The same patterns with other counts (a bootstrap replicate)."""
        return Patterns(self.names, self.types, self.codes, np.asarray(counts, np.float64),
                        self.source, self.dropped)


def observed_patterns(model: CausalModel, data: Any, missing: str = "error") -> Patterns:
    """The patterns of ``model``'s observed variables found among ``data``'s columns (a
    DataFrame, a mapping of columns, or a file); a DataError when none is there or a column
    does not fit its variable's type."""
    cols = set(columns_of(data))
    names = tuple(v for v in model.observed if v in cols)
    if not names:
        raise DataError(f"the data have no column named after an observed variable of model "
                        f"{model.name} ({', '.join(model.observed)}); columns are matched to "
                        "variables by name")
    types = {v: model.variables[v].type for v in names}
    cont = [v for v, t in types.items() if not isinstance(t, FiniteType)]
    if cont:
        raise DataError(f"{', '.join(cont)} {'is' if len(cont) == 1 else 'are'} continuous; "
                        "fitting tables needs finite variables")
    ds = load_counts(data, names, types, missing=missing)
    codes = np.stack([ds.codes(v) for v in names], axis=1).astype(np.int64)
    weights = np.ones(len(codes)) if ds.weights is None else np.asarray(ds.weights, np.float64)
    uniq, inverse = np.unique(codes, axis=0, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=weights, minlength=len(uniq))
    keep = counts > 0
    return Patterns(names, tuple(types[v] for v in names),  # type: ignore[misc]
                    uniq[keep], counts[keep].astype(np.float64), ds.source, ds.dropped)


def row_patterns(names: tuple[str, ...], types: tuple[FiniteType, ...],
                 codes: dict[str, np.ndarray], source: str) -> tuple[Patterns, np.ndarray]:
    """The patterns of finite columns given row by row (positions in their types), and each
    row's pattern: ``np.bincount(inverse, weights)`` counts a bootstrap replicate's rows."""
    rows = np.stack([np.asarray(codes[v], np.int64) for v in names], axis=1)
    uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse, minlength=len(uniq)).astype(np.float64)
    return Patterns(names, types, uniq, counts, source), inverse
