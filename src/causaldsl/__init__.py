"""causaldsl: causal inference by string diagram surgery, exact and compiled.

Importing the package does not import JAX; the exact backend loads it on the first query.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import causaldsl.core.startup  # noqa: F401  (first: it sets what NumPy reads when it loads)
from causaldsl.app.hooks import install as _install_hooks
from causaldsl.core.errors import (
    CausalError,
    CausalTypeError,
    CompositionError,
    CycleError,
    DataError,
    DuplicateVariableError,
    FitError,
    FolderError,
    LatentQueryError,
    MechanismError,
    MissingFileError,
    NotDeterminedError,
    QueryError,
    QuerySyntaxError,
    SourceFileError,
    TableError,
    UnknownVariableError,
    ZeroProbabilityError,
)
from causaldsl.core.errors import shown as _shown
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
    from causaldsl.model.estimate import EffectEstimate, Estimate, SampledDistribution

__version__ = "0.1.0"

#: names whose module loads when first asked for (a one-shot exact question never needs them)
_LAZY = {"EffectEstimate": "causaldsl.model.estimate", "Estimate": "causaldsl.model.estimate",
         "SampledDistribution": "causaldsl.model.estimate"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'causaldsl' has no attribute {name!r}")

_install_hooks()


def load(path: str | Path) -> Program:
    """Read a .causal file (and what it imports) into IR values; see docs/language.md.

    A path that is not a str or path object is a CausalTypeError; a missing file a
    MissingFileError (also a FileNotFoundError), a folder a FolderError (also an
    IsADirectoryError), another unreadable file a SourceFileError (also an OSError), each
    naming the path."""
    from causaldsl.lang.loader import load as _load

    if not isinstance(path, str | os.PathLike):
        raise CausalTypeError(f"load takes the path of a .causal file (a str or a Path), got "
                              f"{_shown(path)}; to read source text use causaldsl.parse(text)")
    name = os.fsdecode(os.fspath(path))
    try:
        return _load(path)
    except FileNotFoundError:
        raise MissingFileError(f"{name}: no such file", name) from None
    except IsADirectoryError:
        raise FolderError(f"{name}: is a folder, not a .causal file", name) from None
    except CausalError:
        raise
    except OSError as e:
        raise SourceFileError(f"{name}: cannot read: {e.strerror or e}", name, e.errno) from None
    except ValueError as e:  # a NUL in the path
        raise SourceFileError(f"{name!r}: not a usable path: {e}", name) from None


def estimate(target: Any, query: Any, data: Any, **options: Any) -> EffectEstimate:
    """A causal question answered from data, with its standard error and interval:
    ``estimate(graph_or_model, "E[Y | do(X = 1)] - E[Y | do(X = 0)]", data=df,
    method="aipw")``. ``data``: a DataFrame, a mapping of columns, or a CSV / Parquet / …
    file. Options: ``method`` (auto, gformula, ipw, aipw), ``adjust``, ``outcome``,
    ``propensity`` (formulas), ``level``, ``bootstrap``, ``seed``, ``missing`` ("drop" for
    complete cases; "censored" for the g-formula over rows whose outcome is missing). See
    docs/estimation.md."""
    from causaldsl.estimation.estimate import estimate as _estimate

    return _estimate(target, query, data, **options)


def read(path: str | Path, model: str | None = None) -> CausalModel:
    """The model (or graph) in a file, by its extension: BIF (``.bif``, ``.bif.gz``, gzipped
    or not), XMLBIF (``.xmlbif``, ``.bifxml``, ``.xml``), Hugin (``.net``), dagitty
    (``.dagitty``: a graph; its exposure and outcome marks come with
    ``causaldsl.interop.dagitty.read_dagitty``) or .causal
    (``model``: which one, where the file defines several). Errors as ``load`` has them; see
    docs/formats.md."""
    from causaldsl.interop.formats import pick

    return pick(load(path), model, os.fsdecode(os.fspath(path)))


def write(model: Any, path: str | Path) -> None:
    """Write a model or a graph (an ``ADMG``, a dagitty read) to a file in the format its
    extension names: ``.causal`` (text that reads back as the same model or graph), ``.bif``,
    ``.bif.gz``, ``.xmlbif``, ``.bifxml``, ``.xml``, ``.net`` or ``.dagitty``. What a format cannot hold is a
    CausalError naming it; a path that cannot be written, an OSError. See docs/formats.md."""
    from causaldsl.interop.formats import write as _write

    if not isinstance(path, str | os.PathLike):
        raise CausalTypeError(f"write takes the path of the file to write (a str or a Path), "
                              f"got {_shown(path)}")
    _write(model, path)


def to_networkx(obj: Any) -> Any:
    """A model's or an ADMG's graph as an ``nx.DiGraph`` (docs/formats.md)."""
    from causaldsl.interop.networkx import to_networkx as _to

    return _to(obj)


def from_networkx(g: Any, name: str | None = None) -> CausalModel:
    """An ``nx.DiGraph`` as a graph: a model without mechanisms (docs/formats.md)."""
    from causaldsl.interop.networkx import from_networkx as _from

    return _from(g, name)


def to_pgmpy(model: CausalModel) -> Any:
    """A model of tables as a pgmpy ``DiscreteBayesianNetwork`` (pgmpy installed)."""
    from causaldsl.interop.pgmpy import to_pgmpy as _to

    return _to(model)


def from_pgmpy(network: Any, name: str | None = None) -> CausalModel:
    """A pgmpy ``DiscreteBayesianNetwork`` as a model."""
    from causaldsl.interop.pgmpy import from_pgmpy as _from

    return _from(network, name)


def to_pyagrum(model: CausalModel) -> Any:
    """A model of tables as a pyAgrum ``BayesNet`` (the ``pyagrum`` extra installed)."""
    from causaldsl.interop.pyagrum import to_pyagrum as _to

    return _to(model)


def from_pyagrum(bn: Any, name: str | None = None) -> CausalModel:
    """A pyAgrum ``BayesNet`` as a model."""
    from causaldsl.interop.pyagrum import from_pyagrum as _from

    return _from(bn, name)


def parse(text: str) -> Program:
    """Read .causal source text into IR values (models, graphs, diagrams, queries); text that
    is not a str is a CausalTypeError."""
    from causaldsl.lang.loader import parse as _parse

    if not isinstance(text, str):
        hint = ("; decode it first, text.decode('utf-8')" if isinstance(text, bytes | bytearray)
                else "; to read a file use causaldsl.load(path)")
        raise CausalTypeError(f"parse takes .causal source text (a str), got {_shown(text)}"
                              + hint)
    return _parse(text)


__all__ = [
    "Batch",
    "Bool",
    "Box",
    "CausalError",
    "CausalModel",
    "CausalTypeError",
    "CompositionError",
    "CycleError",
    "DataError",
    "Diagram",
    "Distribution",
    "DuplicateVariableError",
    "EffectEstimate",
    "Estimate",
    "Expectations",
    "FiniteType",
    "FitError",
    "FolderError",
    "I",
    "LatentQueryError",
    "MechanismError",
    "MissingFileError",
    "ModelBuilder",
    "Node",
    "NotDeterminedError",
    "Opaque",
    "QueryError",
    "QuerySyntaxError",
    "Real",
    "RealType",
    "Role",
    "SampledDistribution",
    "SourceFileError",
    "Table",
    "TableError",
    "UnknownVariableError",
    "Variable",
    "ZeroProbabilityError",
    "__version__",
    "cut",
    "do",
    "estimate",
    "from_networkx",
    "from_pgmpy",
    "from_pyagrum",
    "intervene",
    "load",
    "model",
    "parse",
    "parse_query",
    "program",
    "read",
    "to_networkx",
    "to_pgmpy",
    "to_pyagrum",
    "write",
]
