"""The errors causaldsl raises: one class per kind of fault, each with a message a user can act on."""

from __future__ import annotations

import errno as _errno


def count(n: int, noun: str) -> str:
    """``1 wire``, ``2 wires``: numbers in messages read as English."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def shown(value: object) -> str:
    """A value as a message names what was given: ``None``, or its type and (short) repr, e.g.
    ``int 5``, ``list ['a', 'b']``."""
    if value is None:
        return "None"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


class CausalError(Exception):
    """Base of every error that bad input (not a bug) can cause."""


class CausalTypeError(CausalError):
    """A value, wire or table does not have the type it must have."""


class CompositionError(CausalTypeError):
    """Two diagrams were composed along wires of different types or counts."""


class TableError(CausalError):
    """A conditional probability table is negative, does not sum to one, or has the wrong shape."""


class CycleError(CausalError):
    """The variables of a model depend on each other in a cycle."""

    def __init__(self, message: str, cycle: list[str]):
        super().__init__(message)
        self.cycle = cycle


class UnknownVariableError(CausalError):
    """A name that no variable of the model has."""


class DuplicateVariableError(CausalError):
    """The same variable was defined twice."""


class LatentQueryError(CausalError):
    """A query mentions a latent or exogenous variable, which cannot be observed."""


class QueryError(CausalError):
    """A query is malformed or asks for something the model cannot answer."""


class QuerySyntaxError(QueryError):
    """A query string does not parse; carries the column where it went wrong."""

    def __init__(self, message: str, text: str, column: int):
        super().__init__(message)
        self.text = text
        self.column = column


class ZeroProbabilityError(QueryError):
    """The evidence of a conditional query has probability zero, so the query is undefined."""


class NotDeterminedError(QueryError):
    """A counterfactual the model does not determine: a mechanism without explicit noise is read
    in two worlds, so how its noise is shared between them is not part of the model."""


class MechanismError(CausalError):
    """A variable has no mechanism where one is needed, or a mechanism of the wrong kind."""


class NotIdentifiable(CausalError):
    """A causal effect cannot be computed from observational data in this graph.

    ``f`` and ``f_prime`` are the two c-forests of the hedge (empty when a named rule such as
    the back-door criterion was asked for and does not apply); ``roots`` is their root set.
    ``reason`` names the verdict: ``"hedge"`` (the default), and for counterfactuals (ID*/IDC*)
    ``"conflict"`` (a district of the counterfactual graph needs one variable at two values).
    An inconsistent counterfactual event is no refusal: it is identified as 0.
    """

    def __init__(self, message: str, f: frozenset[str] = frozenset(),
                 f_prime: frozenset[str] = frozenset(), roots: frozenset[str] = frozenset(),
                 reason: str = "hedge"):
        super().__init__(message)
        self.reason = reason
        self.f = f
        self.f_prime = f_prime
        self.roots = roots

    @property
    def hedge(self) -> tuple[frozenset[str], frozenset[str]]:
        return (self.f, self.f_prime)


class PositivityError(ZeroProbabilityError):
    """An estimand divides by an observational probability that is zero."""


class DataError(CausalError):
    """Data that cannot answer: a missing column, a value outside its variable's type,
    missing values without a policy, a continuous column for a finite variable."""


class FitError(CausalError):
    """A nuisance model cannot be fitted: perfect separation in a logistic model, a design
    whose columns are collinear, a fit that does not converge."""


class DrawError(CausalError):
    """A picture cannot be made or written: a missing graphviz program, an unknown format."""


class SourceFileError(CausalError, OSError):
    """A file cannot be read (``causaldsl.load``): missing, a folder, or unreadable. Also an
    ``OSError``, so code that catches that catches it; ``filename`` is the path."""

    def __init__(self, message: str, filename: str | None = None, code: int | None = None):
        super().__init__(message)
        self.filename = filename
        self.errno = code
        self.strerror = message

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.filename, self.errno))


class MissingFileError(SourceFileError, FileNotFoundError):
    """The file does not exist; also a ``FileNotFoundError``."""

    def __init__(self, message: str, filename: str | None = None,
                 code: int | None = _errno.ENOENT):
        super().__init__(message, filename, code)


class FolderError(SourceFileError, IsADirectoryError):
    """The path is a folder, not a file; also an ``IsADirectoryError``."""

    def __init__(self, message: str, filename: str | None = None,
                 code: int | None = _errno.EISDIR):
        super().__init__(message, filename, code)
