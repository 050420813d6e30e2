"""The likelihood of a model of tables: the probability of each observed pattern, every
hidden variable (latent, or observed but not in the data) summed out, as one einsum over the
tables with the observed axes picked at the pattern's values. A JAX function of the unknown
tables, so NUTS, SVI and maximum likelihood differentiate it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from causaldsl.bayes.patterns import Patterns
from causaldsl.core.errors import CausalError
from causaldsl.ir.mechanism import Table, UnknownTable
from causaldsl.model.causal_model import CausalModel

PATTERN_AXIS = 0


def pattern_probabilities(model: CausalModel, patterns: Patterns
                          ) -> Callable[[Mapping[str, Any]], Any]:
    """``probs(unknown)``: P(pattern) for each pattern (shape ``(P,)``), given the unknown
    tables ``{name: array}``; the known tables are constants."""
    import jax.numpy as jnp

    ids = {v: i + 1 for i, v in enumerate(model.variables)}  # 0 is the pattern axis
    col = {v: i for i, v in enumerate(patterns.names)}
    parts: list[tuple[str, tuple[int, ...], tuple[int, ...], Any]] = []
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
        index = tuple(patterns.codes[:, col[axes[i]]] for i in seen)
        sub = ((PATTERN_AXIS,) if seen else ()) + tuple(ids[axes[i]] for i in hidden)
        const = None if isinstance(v.mechanism, UnknownTable) else \
            _picked(np.transpose(v.mechanism.array, order), index)
        parts.append((name, order, sub, (index, const)))

    def probs(unknown: Mapping[str, Any]) -> Any:
        args: list[Any] = []
        for name, order, sub, (index, const) in parts:
            arr = const if const is not None else _picked(
                jnp.transpose(unknown[name], order), index)
            args += [arr, list(sub)]
        return jnp.einsum(*args, [PATTERN_AXIS], optimize="greedy")

    return probs


def _picked(arr: Any, index: tuple[np.ndarray, ...]) -> Any:
    """``arr`` (its observed axes first) at each pattern's values: a leading pattern axis."""
    return arr[index] if index else arr


def log_likelihood(model: CausalModel, patterns: Patterns
                   ) -> Callable[[Mapping[str, Any], Any], Any]:
    """``loglik(unknown, counts)``: the sum over patterns of count × log P(pattern)."""
    import jax.numpy as jnp

    probs = pattern_probabilities(model, patterns)

    def loglik(unknown: Mapping[str, Any], counts: Any) -> Any:
        p = probs(unknown)
        return jnp.sum(jnp.where(counts > 0, counts * jnp.log(jnp.where(counts > 0, p, 1.0)),
                                 0.0))

    return loglik
