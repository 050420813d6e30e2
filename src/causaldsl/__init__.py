"""causaldsl: causal inference by string diagram surgery, exact and compiled.

Importing the package does not import JAX; the exact backend loads it on the first query.
"""

from __future__ import annotations

from .builder import ModelBuilder, model
from .distribution import Batch, Distribution
from .errors import (
                     CausalError,
                     CausalTypeError,
                     CompositionError,
                     CycleError,
                     DuplicateVariableError,
                     LatentQueryError,
                     MechanismError,
                     QueryError,
                     QuerySyntaxError,
                     TableError,
                     UnknownVariableError,
                     ZeroProbabilityError,
)
from .ir import Box, Diagram, Node, program
from .mechanism import Table
from .model import CausalModel, Role, Variable
from .query import parse_query
from .surgery import cut, do, intervene
from .types import Bool, FiniteType, I, Real, RealType

__version__ = "0.1.0"

__all__ = [
                     "Batch",
                     "Bool",
                     "Box",
                     "CausalError",
                     "CausalModel",
                     "CausalTypeError",
                     "CompositionError",
                     "CycleError",
                     "Diagram",
                     "Distribution",
                     "DuplicateVariableError",
                     "FiniteType",
                     "I",
                     "LatentQueryError",
                     "MechanismError",
                     "ModelBuilder",
                     "Node",
                     "QueryError",
                     "QuerySyntaxError",
                     "Real",
                     "RealType",
                     "Role",
                     "Table",
                     "TableError",
                     "UnknownVariableError",
                     "Variable",
                     "ZeroProbabilityError",
                     "__version__",
                     "cut",
                     "do",
                     "intervene",
                     "model",
                     "parse_query",
                     "program",
]
