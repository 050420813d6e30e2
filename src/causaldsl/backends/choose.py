"""Which backend answers a query: exact for finite models, sampling for models with continuous
variables, or the one the caller names. Imports no backend until it is needed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from causaldsl.core.checks import check_seed
from causaldsl.core.errors import QueryError
from causaldsl.core.memo import cached_on
from causaldsl.core.types import RealType
from causaldsl.ir.mechanism import ExprMechanism
from causaldsl.model.causal_model import CausalModel

BACKENDS = ("exact", "sample")


def is_finite(model: CausalModel) -> bool:
    """Whether no variable is continuous or has an expression mechanism: then the exact
    backend answers (or says which table is missing)."""
    return not any(isinstance(v.type, RealType) or isinstance(v.mechanism, ExprMechanism)
                   for v in model.variables.values())


def answer(model: CausalModel, text: Any, backend: str | None, options: Mapping[str, Any],
           values: Mapping[str, Any]) -> Any:
    """Answer ``text`` on ``model`` by ``backend`` (None: the default for the model)."""
    backend, options = _route(model, backend, options)
    if backend == "exact":
        from causaldsl.backends.exact import engine_for

        return engine_for(model).query(text, **values)
    from causaldsl.backends.sample import engine_for as sampler

    return sampler(model).query(text, **options, **values)


def answer_batch(model: CausalModel, text: Any, values: Any, tables: Any, backend: str | None,
                 options: Mapping[str, Any]) -> Any:
    """``query_batch`` by ``backend`` (None: the default for the model)."""
    backend, options = _route(model, backend, options)
    if backend == "exact":
        from causaldsl.backends.exact import engine_for

        return engine_for(model).query_batch(text, values, tables)
    if tables:
        raise QueryError("batches over tables are answered exactly, on finite models; the "
                         "sampling backend batches over values only")
    from causaldsl.backends.sample import Options
    from causaldsl.backends.sample import engine_for as sampler

    return sampler(model).query_batch(text, values, Options(**options))


def _route(model: CausalModel, backend: str | None, options: Mapping[str, Any]
           ) -> tuple[str, dict[str, Any]]:
    """The backend that answers (checked), and the sampling options that were given."""
    if backend is None:
        backend = "exact" if cached_on(model, "_is_finite", is_finite) else "sample"
    given = {k: v for k, v in options.items() if v is not None}
    if "seed" in given:
        check_seed(given["seed"])
    if backend not in BACKENDS:
        raise QueryError(f"unknown backend {backend!r}; the backends are {', '.join(BACKENDS)}")
    if backend == "exact":  # exact answers take no long sampling: no bar to show
        given.pop("progress", None)
    if backend == "exact" and given:
        raise QueryError(f"the options {', '.join(given)} are for sampling, and this query is "
                         "answered exactly; pass backend='sample' (--backend sample) to sample")
    return backend, given
