"""The embedded Python DSL: declare variables one by one, with tables keyed by labels.

>>> m = ModelBuilder("smoking")
>>> H = m.latent("H", YesNo, [0.5, 0.5])
>>> S = m.observed("S", YesNo, given=H, table={"no": [0.8, 0.2], "yes": [0.3, 0.7]})
>>> model = m.build()
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from causaldsl.core import hooks
from causaldsl.core.checks import check_name, check_names
from causaldsl.core.errors import (
    CausalTypeError,
    DuplicateVariableError,
    UnknownVariableError,
    shown,
)
from causaldsl.core.types import FiniteType, Label, OpaqueType, RealType, Type
from causaldsl.ir.mechanism import dirichlet_prior, to_table
from causaldsl.model.causal_model import CausalModel, Role, Variable, did_you_mean


class ModelBuilder:
    """Collects variable declarations; :meth:`build` validates them into a :class:`CausalModel`."""

    def __init__(self, name: str = "model"):
        self.name = check_name("the name of a model", name)
        self._specs: dict[str, tuple[Type, Role, tuple[str, ...], Any]] = {}
        self._params: dict[str, str] = {}

    def param(self, name: str, prior: str) -> str:
        """Declare an unknown parameter with its prior, written as in a .causal file
        (``m.param("b", "Normal(0, 10)")``); equations read it by name, ``model.fit`` learns
        it. Returns its name."""
        if not isinstance(name, str) or not name.isidentifier():
            raise CausalTypeError(f"parameter name {name!r} must be an identifier")
        if name in self._params or name in self._specs:
            raise DuplicateVariableError(f"{name} is defined twice in model {self.name}")
        if not isinstance(prior, str):
            raise CausalTypeError(f"the prior of parameter {name} is written as text, e.g. "
                                  f"\"Normal(0, 10)\", got {shown(prior)}")
        self._params[name] = prior.strip()
        return name

    def type(self, name: str, values: Iterable[Label]) -> FiniteType:
        """Declare a finite type, e.g. ``m.type("YesNo", ["no", "yes"])``."""
        return FiniteType(check_name("the name of a type", name),
                          _labels(values, f"the values of type {name} are"))

    def variable(self, name: str, type: Type | Iterable[Label], table: Any = None, *,
                 given: Sequence[str] | str = (), role: Role | str = Role.OBSERVED,
                 unknown: Any = None) -> str:
        """Declare a variable with its parents (``given``) and its table; returns its name.
        ``table`` may instead be an equation written as in a .causal file, ``"~ Normal(b * X,
        1)"`` or ``":= 2 * X + U"``, whose parents are the variables it reads. ``unknown``: the
        table is to be learned (``model.fit``), with a Dirichlet prior on each row: True for
        Dirichlet(1), a number, or one number per value."""
        if not isinstance(name, str) or not name.isidentifier():
            raise CausalTypeError(f"variable name {name!r} must be an identifier")
        if name in self._specs or name in self._params:
            raise DuplicateVariableError(f"variable {name} is defined twice in model {self.name}")
        if not isinstance(type, (FiniteType, RealType, OpaqueType)):
            type = FiniteType(_labels(type, f"the type of variable {name} is a FiniteType, "
                                            "Real, or"))
        parents = check_names(f"given (the parents of {name})", given)
        try:
            role = Role(role)
        except ValueError:
            raise CausalTypeError(f"the role of variable {name} is 'observed', 'latent' or "
                                  f"'exogenous', got {shown(role)}") from None
        if unknown is not None and unknown is not False:
            if table is not None:
                raise CausalTypeError(f"variable {name} has a table and is unknown: give one")
            table = _Unknown(None if unknown is True else unknown)
        if isinstance(table, str):
            text = table.strip()
            if not text.startswith(("~", ":=")):
                raise CausalTypeError(f"the equation of variable {name} starts with ~ or :=, "
                                      f"e.g. \"~ Normal(2 * X, 1)\", got {table!r}")
            table = _Equation(text)
        self._specs[name] = (type, role, parents, table)
        return name

    def observed(self, name: str, type: Type | Iterable[Label], table: Any = None, *,
                 given: Sequence[str] | str = (), unknown: Any = None) -> str:
        return self.variable(name, type, table, given=given, role=Role.OBSERVED,
                             unknown=unknown)

    def latent(self, name: str, type: Type | Iterable[Label], table: Any = None, *,
               given: Sequence[str] | str = ()) -> str:
        return self.variable(name, type, table, given=given, role=Role.LATENT)

    def exogenous(self, name: str, type: Type | Iterable[Label], table: Any = None) -> str:
        return self.variable(name, type, table, role=Role.EXOGENOUS)

    def build(self) -> CausalModel:
        """Validate every declaration and return the immutable model. Equations and parameters
        are checked as a .causal file's are (the model is elaborated from its text)."""
        variables: list[Variable | tuple[str, Type, Role, str]] = []
        for name, (typ, role, parents, raw) in self._specs.items():
            if isinstance(raw, _Equation):
                variables.append((name, typ, role, raw.text))
                continue
            for p in parents:
                if p not in self._specs:
                    raise UnknownVariableError(
                        f"variable {name} has parent {p!r}, which is not a variable of model "
                        f"{self.name}{did_you_mean(p, self._specs)}")
            if role is Role.EXOGENOUS and parents:
                raise CausalTypeError(f"exogenous variable {name} cannot have parents")
            ptypes = [self._specs[p][0] for p in parents]
            table = None if raw is None else dirichlet_prior(
                raw.prior, typ, ptypes, f"variable {name}") if isinstance(raw, _Unknown) \
                else to_table(raw, name, typ, parents, ptypes)
            variables.append(Variable(name, typ, role, parents, table))
        if self._params or any(isinstance(v, tuple) for v in variables):
            built: CausalModel = hooks.elaborate_model(self.name, variables, dict(self._params))
            for name, (_, _, given, raw) in self._specs.items():
                reads = built.variables[name].parents
                if isinstance(raw, _Equation) and given and set(given) != set(reads):
                    raise CausalTypeError(
                        f"variable {name} is given {', '.join(given)}, but its equation reads "
                        f"{', '.join(reads) or 'no variable'}; leave given out (an equation's "
                        "parents are the variables it reads)")
            return built
        return CausalModel.from_variables([v for v in variables if isinstance(v, Variable)],
                                          self.name)


class _Equation:
    """A mechanism written as an equation, ``~ …`` or ``:= …``, elaborated at build."""

    def __init__(self, text: str):
        self.text = text


class _Unknown:
    """A table declared unknown, with its prior as given."""

    def __init__(self, prior: Any):
        self.prior = prior


def _labels(values: Any, taken: str) -> list[Label]:
    """The labels of a finite type given as a list (a FiniteType checks each one), or a
    CausalTypeError: ``taken`` (what it is, e.g. "the values of type T are") and what was
    given."""
    if values is None or isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise CausalTypeError(f"{taken} a list of labels such as [\"no\", \"yes\"], got "
                              f"{shown(values)}")
    return list(values)


#: Notebook spelling: ``m = causaldsl.model.causal_model("smoking")``.
model = ModelBuilder
