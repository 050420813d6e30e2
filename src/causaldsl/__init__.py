"""causaldsl: causal inference by string diagram surgery, exact and compiled.

Importing the package does not import JAX; the exact backend loads it on the first query.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from causaldsl.app.hooks import install as _install_hooks
from causaldsl.core.errors import (
    CausalError,
    CausalTypeError,
    CompositionError,
    CycleError,
    DuplicateVariableError,
    LatentQueryError,
    MechanismError,
    NotDeterminedError,
    QueryError,
    QuerySyntaxError,
    TableError,
    UnknownVariableError,
    ZeroProbabilityError,
)
from causaldsl.core.types import Bool, FiniteType, I, Opaque, Real, RealType
from causaldsl.ir.diagram import Box, Diagram, Node, program
from causaldsl.ir.mechanism import Table
from causaldsl.model.builder import ModelBuilder, model
from causaldsl.model.causal_model import CausalModel, Role, Variable
from causaldsl.model.distribution import Batch, Distribution, Expectations
from causaldsl.model.surgery import cut, do, intervene
from causaldsl.syntax.query import parse_query

if TYPE_CHECKING:
    from causaldsl.lang.elaborate import Program

__version__ = "0.1.0"

_install_hooks()


def load(path: str | Path) -> Program:
    """Read a .causal file (and what it imports) into IR values; see docs/language.md."""
    from causaldsl.lang.loader import load as _load

    return _load(path)


def parse(text: str) -> Program:
    """Read .causal source text into IR values (models, graphs, diagrams, queries)."""
    from causaldsl.lang.loader import parse as _parse

    return _parse(text)


__all__ = [
    "Batch", "Bool", "Box", "CausalError", "CausalModel", "CausalTypeError", "CompositionError",
    "CycleError", "Diagram", "Distribution", "DuplicateVariableError", "Expectations",
    "FiniteType", "I", "LatentQueryError", "MechanismError", "ModelBuilder", "Node",
    "NotDeterminedError", "Opaque",
    "QueryError", "QuerySyntaxError", "Real", "RealType", "Role", "Table", "TableError",
    "UnknownVariableError", "Variable", "ZeroProbabilityError", "__version__", "cut", "do",
    "intervene", "load", "model", "parse", "parse_query", "program",
]
