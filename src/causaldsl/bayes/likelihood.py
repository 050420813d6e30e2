"""The likelihood of a model of tables: the probability of each observed pattern, every
hidden variable (latent, or observed but not in the data) summed out, as one einsum over the
tables with the observed axes picked at the pattern's values. A JAX function of the unknown
tables, so NUTS, SVI and maximum likelihood differentiate it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from causaldsl.core.errors import CausalError
from causaldsl.ir.mechanism import Table, UnknownTable
from causaldsl.model.causal_model import CausalModel

PATTERN_AXIS = 0


def pattern_probabilities(model: CausalModel, names: Sequence[str]
                          ) -> Callable[[Mapping[str, Any], Any], Any]:
    """``probs(unknown, codes)``: P(pattern) for each row of ``codes`` (shape ``(P,)``; a
    pattern's values of ``names``, as positions), given the unknown tables ``{name: array}``;
    the known tables are constants. The codes are an argument, not a constant, so one compiled
    program serves every data set with as many patterns."""
    import jax.numpy as jnp

    ids = {v: i + 1 for i, v in enumerate(model.variables)}  # 0 is the pattern axis
    col = {v: i for i, v in enumerate(names)}
    parts: list[tuple[str, tuple[int, ...], tuple[int, ...], tuple[int, ...], Any]] = []
    for name, v in model.variables.items():
        if v.is_input:
            raise CausalError(f"model {model.name} has the input {name}; cut variables have no "
                              "distribution to fit")
        if not isinstance(v.mechanism, Table | UnknownTable):
            raise CausalError(f"{name} has no table (its mechanism is {v.mechanism}); fitting "
                              "a model of tables needs a table, known or unknown, for every "
                              "variable")
        axes = (*v.parents, name)
        seen = tuple(i for i, a in enumerate(axes) if a in col)
        hidden = tuple(i for i, a in enumerate(axes) if a not in col)
        order = (*seen, *hidden)
        columns = tuple(col[axes[i]] for i in seen)
        sub = ((PATTERN_AXIS,) if seen else ()) + tuple(ids[axes[i]] for i in hidden)
        const = None if isinstance(v.mechanism, UnknownTable) else \
            np.transpose(v.mechanism.array, order)
        parts.append((name, order, columns, sub, const))

    def probs(unknown: Mapping[str, Any], codes: Any) -> Any:
        args: list[Any] = []
        for name, order, columns, sub, const in parts:
            arr = const if const is not None else jnp.transpose(unknown[name], order)
            if columns:  # the observed axes (first) at each pattern's values
                arr = arr[tuple(codes[:, c] for c in columns)]
            args += [arr, list(sub)]
        return jnp.einsum(*args, [PATTERN_AXIS], optimize="greedy")

    return probs


def log_likelihood(model: CausalModel, names: Sequence[str]
                   ) -> Callable[[Mapping[str, Any], Any, Any], Any]:
    """``loglik(unknown, codes, counts)``: the sum over patterns of count × log P(pattern)."""
    import jax.numpy as jnp

    probs = pattern_probabilities(model, names)

    def loglik(unknown: Mapping[str, Any], codes: Any, counts: Any) -> Any:
        p = probs(unknown, codes)
        return jnp.sum(jnp.where(counts > 0, counts * jnp.log(jnp.where(counts > 0, p, 1.0)),
                                 0.0))

    return loglik
