"""Which backend answers a query: exact for finite models, sampling for models with continuous
variables, or the one the caller names. Imports no backend until it is needed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import QueryError
from ..mechanism import ExprMechanism
from ..model import CausalModel
from ..types import RealType
from . import kept_on

BACKENDS = ("exact", "sample")


def is_finite(model: CausalModel) -> bool:
    """Whether no variable is continuous or has an expression mechanism: then the exact
    backend answers (or says which table is missing)."""
    return not any(isinstance(v.type, RealType) or isinstance(v.mechanism, ExprMechanism)
                   for v in model.variables.values())


def answer(model: CausalModel, text: Any, backend: str | None, options: Mapping[str, Any],
           values: Mapping[str, Any]) -> Any:
    """Answer ``text`` on ``model`` by ``backend`` (None: the default for the model)."""
    if backend is None:
        backend = "exact" if kept_on(model, "_is_finite", is_finite) else "sample"
    options = {k: v for k, v in options.items() if v is not None}
    if backend == "exact":
        if options:
            raise QueryError(f"the options {', '.join(options)} are for sampling, and this query is "
                             "answered exactly; pass backend='sample' (--backend sample) to sample")
        from .exact import engine_for

        return engine_for(model).query(text, **values)
    if backend == "sample":
        from .sample import engine_for as sampler

        return sampler(model).query(text, **options, **values)
    raise QueryError(f"unknown backend {backend!r}; the backends are {', '.join(BACKENDS)}")
