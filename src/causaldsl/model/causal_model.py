"""Causal models: diagrams whose nodes each produce one named variable, observed, latent or
exogenous. The causal graph is derived from the diagram on demand, never stored beside it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from causaldsl.core import hooks
from causaldsl.core.checks import check_name, check_names
from causaldsl.core.dag import topological_order
from causaldsl.core.drawable import Drawable
from causaldsl.core.errors import (
    CausalError,
    CausalTypeError,
    CycleError,
    DuplicateVariableError,
    MechanismError,
    QueryError,
    TableError,
    UnknownVariableError,
    shown,
)
from causaldsl.core.types import FiniteType, Type
from causaldsl.ir.diagram import Box, Diagram, Node
from causaldsl.ir.mechanism import (
    ExprMechanism,
    Table,
    UnknownTable,
    point_mechanism,
    to_table,
)
from causaldsl.model.graph import ADMG
from causaldsl.syntax.query import Expect, Linear, Prob, Query

if TYPE_CHECKING:
    import networkx as nx

    from causaldsl.model.distribution import Batch, Distribution


class Role(StrEnum):
    """How a variable relates to the data: seen, hidden, or explicit noise."""

    OBSERVED = "observed"
    LATENT = "latent"
    EXOGENOUS = "exogenous"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Variable:
    """A variable of a model as the user sees it: its type, role, parents and mechanism."""

    name: str
    type: Type
    role: Role = Role.OBSERVED
    parents: tuple[str, ...] = ()
    mechanism: Table | ExprMechanism | UnknownTable | None = field(default=None, repr=False)
    is_input: bool = False


@dataclass(frozen=True)
class Parameter:
    """An unknown number of a model's equations (``param b ~ Normal(0, 1)``): a real with a
    prior, read by mechanisms' expressions by name and learned by ``fit``."""

    name: str
    prior: ExprMechanism

    def __str__(self) -> str:
        return f"param {self.name} {self.prior}"


@dataclass(frozen=True, eq=False)
class CausalModel(Drawable):
    """A causal model: an IR diagram plus the role of each variable, and the unknown
    parameters its expressions read. Immutable."""

    diagram: Diagram
    role_items: tuple[tuple[str, Role], ...]
    name: str = "model"
    parameter_items: tuple[Parameter, ...] = ()

    # -- construction --------------------------------------------------------------------
    @staticmethod
    def from_variables(variables: Iterable[Variable], name: str = "model",
                       trusted: Iterable[Variable] = (),
                       parameters: Iterable[Parameter] = ()) -> CausalModel:
        """Validate variables (names, parents, cycles, tables) and build the model's diagram.

        Tables of ``trusted`` variables (unchanged ones from a valid model) are not re-checked.
        """
        trusted_ids = {id(v) for v in trusted}
        vars_: dict[str, Variable] = {}
        for v in variables:
            if v.name in vars_:
                raise DuplicateVariableError(f"variable {v.name} is defined twice in model {name}")
            vars_[v.name] = v
        for v in vars_.values():
            for p in v.parents:
                if p not in vars_:
                    raise UnknownVariableError(
                        f"variable {v.name} has parent {p!r}, which is not a variable of model "
                        f"{name}{did_you_mean(p, vars_)}")
            if len(set(v.parents)) != len(v.parents):
                raise DuplicateVariableError(f"variable {v.name} lists a parent twice: "
                                             f"{', '.join(v.parents)}")
            if v.is_input and v.parents:
                raise MechanismError(f"input variable {v.name} cannot have parents")
            if v.role is Role.EXOGENOUS and v.parents:
                raise MechanismError(f"exogenous variable {v.name} cannot have parents "
                                     f"({', '.join(v.parents)}): exogenous noise has no causes; "
                                     "make it latent if it has")
        order, cycle = topological_order({n: v.parents for n, v in vars_.items()})
        if cycle:
            raise CycleError(f"model {name} has a cycle: {' → '.join([*cycle, cycle[0]])}", cycle)
        for v in vars_.values():
            if isinstance(v.mechanism, Table | UnknownTable) and id(v) not in trusted_ids:
                dom = tuple(vars_[p].type for p in v.parents)
                v.mechanism.check(dom, (v.type,), f"variable {v.name}" + (
                    f" (given {', '.join(v.parents)})" if v.parents else ""))
        inputs = [n for n in order if vars_[n].is_input]
        nodes = []
        for n in order:
            v = vars_[n]
            if v.is_input:
                continue
            box = Box(n, tuple(vars_[p].type for p in v.parents), (v.type,), v.mechanism)
            nodes.append(Node(box, v.parents, (n,)))
        outputs = tuple(n for n in order if vars_[n].role is Role.OBSERVED
                        and not vars_[n].is_input)
        diagram = Diagram(tuple(inputs), tuple(vars_[n].type for n in inputs), tuple(nodes),
                          outputs)
        roles = tuple((n, vars_[n].role) for n in order)
        params = tuple(parameters)
        for prm in params:
            if prm.name in vars_:
                raise DuplicateVariableError(f"{prm.name} is both a parameter and a variable of "
                                             f"model {name}")
        return CausalModel(diagram, roles, name, params)

    def replace(self, variables: Iterable[Variable]) -> CausalModel:
        """A new model with some variables replaced (by name) or added."""
        old = dict(self.variables)
        new = dict(old)
        for v in variables:
            new[v.name] = v
        unchanged = [v for n, v in old.items() if new[n] is v and all(
            p in new and new[p].type == old[p].type for p in v.parents)]
        return CausalModel.from_variables(new.values(), self.name, trusted=unchanged,
                                          parameters=self.parameter_items)

    # -- views -----------------------------------------------------------------------------
    @cached_property
    def roles(self) -> Mapping[str, Role]:
        return dict(self.role_items)

    @cached_property
    def variables(self) -> Mapping[str, Variable]:
        """Name → variable, in topological order, read off the diagram."""
        out: dict[str, Variable] = {}
        for w, t in zip(self.diagram.inputs, self.diagram.input_types, strict=True):
            out[w] = Variable(w, t, self.roles[w], (), None, is_input=True)
        for node in self.diagram.nodes:
            (w,) = node.outputs
            out[w] = Variable(w, node.box.cod[0], self.roles[w], node.inputs, node.box.mechanism)
        return {n: out[n] for n, _ in self.role_items}

    @cached_property
    def parameters(self) -> Mapping[str, Parameter]:
        """The unknown parameters, by name (``param b ~ Normal(0, 1)``)."""
        return {p.name: p for p in self.parameter_items}

    @cached_property
    def unknown(self) -> tuple[str, ...]:
        """The variables whose tables are to be learned from data (``~ unknown``)."""
        return tuple(n for n, v in self.variables.items()
                     if isinstance(v.mechanism, UnknownTable))

    @property
    def observed(self) -> tuple[str, ...]:
        return tuple(n for n, r in self.role_items if r is Role.OBSERVED)

    @property
    def latent(self) -> tuple[str, ...]:
        return tuple(n for n, r in self.role_items if r is Role.LATENT)

    @property
    def exogenous(self) -> tuple[str, ...]:
        return tuple(n for n, r in self.role_items if r is Role.EXOGENOUS)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Variables that are inputs of the diagram (cut by surgery)."""
        return self.diagram.inputs

    def __getitem__(self, name: str) -> Variable:
        try:
            return self.variables[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name
            raise UnknownVariableError(f"{name!r} is not a variable of model {self.name}"
                                       f"{did_you_mean(name, self.variables)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.variables

    def graph(self) -> nx.DiGraph:
        """The causal graph, derived from the diagram: an edge from each parent to its child."""
        import networkx as nx

        g = nx.DiGraph(name=self.name)
        for v in self.variables.values():
            g.add_node(v.name, type=v.type, role=v.role.value, input=v.is_input)
        for v in self.variables.values():
            g.add_edges_from((p, v.name) for p in v.parents)
        return g

    def ancestors(self, names: Iterable[str], cut: Iterable[str] = ()) -> set[str]:
        """The given variables and everything upstream of them; the walk stops at the ``cut``
        variables (set by an intervention), which are kept but not their parents."""
        seen: set[str] = set()
        stack = list(names)
        vars_ = self.variables
        stop = set(cut)
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            if n not in stop:
                stack.extend(vars_[n].parents)
        return seen

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, CausalModel) and self.name == other.name
                and self.role_items == other.role_items and self.diagram.inputs == other.diagram.inputs
                and self.variables == other.variables
                and self.parameter_items == other.parameter_items)

    def __hash__(self) -> int:
        return hash((self.name, self.role_items, self.diagram))

    def __str__(self) -> str:
        lines = [f"model {self.name} {{", *(f"  {p}" for p in self.parameter_items)]
        for v in self.variables.values():
            prefix = "" if v.role is Role.OBSERVED else f"{v.role} "
            if v.is_input:
                lines.append(f"  input {v.name} : {v.type}")
                continue
            given = f" given {', '.join(v.parents)}" if v.parents else ""
            mech = ("" if v.mechanism is None else " ~ table" if isinstance(v.mechanism, Table)
                    else " ~ unknown table" if isinstance(v.mechanism, UnknownTable)
                    else f" {v.mechanism}")
            lines.append(f"  {prefix}{v.name} : {v.type}{mech}{given}")
        lines.append("}")
        return "\n".join(lines)

    __repr__ = __str__

    # -- rewrites (surgery, here) and queries (through core.hooks, to the layers above) ----
    def do(self, values: Mapping[str, Any] | None = None, **kw: Any) -> CausalModel:
        """Point intervention: set each named variable to a value, cutting it from its causes
        (its box becomes a point state; its parents are discarded)."""
        if values is not None and not isinstance(values, Mapping):
            raise CausalTypeError("do() takes variables and their values, do({\"S\": \"yes\"}) "
                                  f"or do(S=\"yes\"), got {shown(values)}")
        values = {**(values or {}), **kw}
        for name in values:
            check_name("a variable that do() sets", name)
        if not values:
            raise CausalError("do() needs at least one variable and value, e.g. do(m, S='yes')")
        new = []
        for name, label in values.items():
            v = self[name]
            try:
                table = point_mechanism(v.type, label, f"variable {name}")
            except (CausalTypeError, TableError) as e:
                raise CausalTypeError(f"do({name} = {label}): {e}") from None
            new.append(Variable(name, v.type, v.role, (), table))
        return self.replace(new)

    def cut(self, *names: str) -> CausalModel:
        """Make each named variable an input of the diagram: the channel ``names → rest``
        (Jacobs, Kissinger & Zanasi)."""
        if not names:
            raise CausalError("cut() needs at least one variable")
        for name in names:
            if not isinstance(name, str):
                raise CausalTypeError("cut() takes the names of the variables to cut, e.g. "
                                      f"cut(\"S\", \"T\"), got {shown(name)}")
        new = []
        for name in names:
            v = self[name]
            new.append(Variable(name, v.type, v.role, (), None, is_input=True))
        return self.replace(new)

    def with_response_functions(self) -> CausalModel:
        """The canonical response-function model: each stochastic table with parents becomes a
        function of them and new exogenous noise, rows answering independently (an assumption
        that counterfactuals such as PN then rest on; docs/counterfactuals.md)."""
        return hooks.response_functions(self)

    def intervene(self, name: str, table: Any, given: Sequence[str] | str | None = None
                  ) -> CausalModel:
        """Soft intervention: replace a variable's mechanism (and, optionally, its parents)."""
        v = self[check_name("the variable of intervene()", name)]
        parents = v.parents if given is None else check_names(
            f"given (the new parents of {name})", given)
        ptypes = [self[p].type for p in parents]
        return self.replace([Variable(name, v.type, v.role, parents,
                                      to_table(table, name, v.type, parents, ptypes))])

    def query(self, text: str | Query, backend: str | None = None, *, method: str | None = None,
              seed: int | None = None, samples: int | None = None, progress: bool | None = None,
              **values: Any) -> Distribution | float:
        """Answer ``P(...)``/``E[...]``, e.g. ``model.query("P(C | do(S = yes))")``: exactly on
        finite models, by sampling (``docs/sampling.md``) where some variable is continuous.

        Keyword values fill variables left open in the text: ``query("P(C | do(S))", S="yes")``.
        ``backend`` ("exact" or "sample") forces a route; ``method``, ``seed``, ``samples`` and
        ``progress`` (a bar on standard error while it samples) control sampling.
        """
        check_query("query", text)
        self._check_known("query")
        options = {"method": method, "seed": seed, "samples": samples, "progress": progress}
        return hooks.answer(self, text, backend, options, values)

    def sample(self, n: int, seed: int = 0, do: Mapping[str, Any] | str | None = None,
               columns: Sequence[str] | str | None = None) -> Any:
        """``n`` draws from the model as a pandas DataFrame: one row per draw, one column per
        observed variable (finite ones as ordered Categoricals of their labels, real ones as
        float64). ``do={"X": 1}`` (or ``"X = 1"``) draws from the model after surgery;
        ``columns`` chooses the columns, potential outcomes such as ``"Y[X = 1]"`` included,
        drawn jointly with the factual ones. Same ``seed``, same rows (docs/simulation.md)."""
        return hooks.simulate(self, n, seed, do, columns)

    def identify(self, text: str, method: str | None = None) -> Any:
        """Identify ``P(Y | do(X), Z)`` from observational data on this model's graph view:
        the estimand (or NotIdentifiable naming the hedge). ``method``: None, "backdoor",
        "frontdoor" or "id"."""
        check_query("identify", text)
        return hooks.identify(self, text, method)

    def fit(self, data: Any, method: str = "auto", **options: Any) -> Any:
        """Learn the unknown parts from ``data`` (a DataFrame, a mapping of columns, or a CSV,
        Parquet… file): a ``FittedModel`` whose queries answer with their posterior.
        ``method``: "auto", "exact" (conjugate), "nuts", "svi" or "mle" (docs/bayes.md)."""
        return hooks.fit(self, data, method, options)

    def _check_known(self, what: str, given: Mapping[str, Any] = {}) -> None:
        """A QueryError when some table is unknown (and not given): such a model is a
        prior over models, answered only once fitted."""
        if self.parameter_items:
            names = ", ".join(self.parameters)
            raise QueryError(
                f"model {self.name} has unknown parameters ({names}): learn them from data "
                f"first (`fit {self.name} to \"data.csv\"` in a .causal file, model.fit(df) in "
                "Python) and ask the fitted model (docs/bayes.md)")
        missing = [v for v in self.unknown if v not in given]
        if missing:
            raise QueryError(
                f"model {self.name} has unknown {'tables' if len(missing) > 1 else 'a table'} "
                f"({', '.join(missing)}): learn {'them' if len(missing) > 1 else 'it'} from "
                f"data first (`fit {self.name} to \"data.csv\"` in a .causal file, "
                f"model.fit(df) in Python) and ask the fitted model (docs/bayes.md)")

    def admg(self) -> ADMG:
        """The graph view: observed variables, with latent variables projected out."""
        parents = {v.name: v.parents for v in self.variables.values()}
        return ADMG.latent_projection(parents, self.observed, name=self.name)

    def posteriors(self, given: Mapping[str, Any] | None = None,
                   do: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``P(V | do, given)`` for every observed variable V not set, exactly, from one
        junction tree calibrated at these values: ``{name: Distribution}``. Lists of values
        (one per setting, all of one length) give ``{name: Batch}``, one propagation for all."""
        return hooks.posteriors(self, dict(given or {}), dict(do or {}))

    def query_batch(self, text: str | Query, values: Any = None,
                    tables: Mapping[str, Any] | None = None,
                    backend: str | None = None, *, method: str | None = None,
                    seed: int | None = None, samples: int | None = None,
                    progress: bool | None = None) -> Batch:
        """Answer one query for many value settings (``values``: a dict of columns or a list of
        dicts) and/or, exactly, many table sets (``tables``) in one compiled call. Models with
        continuous variables are sampled, one setting per seed from ``seed`` on;
        ``progress=True`` shows a bar on standard error as groups of settings are sampled."""
        check_query("query_batch", text)
        values, tables = _batch_arguments(values, tables)
        self._check_known("query_batch", tables or {})
        options = {"method": method, "seed": seed, "samples": samples, "progress": progress}
        return hooks.answer_batch(self, text, values, tables, backend, options)


def check_query(what: str, text: Any) -> None:
    """A QueryError unless ``text`` is a query: a string, or one parse_query made."""
    if not isinstance(text, str | Prob | Expect | Linear):
        raise QueryError(f"{what} takes a query: a string such as \"P(Y | do(X = x))\" or a "
                         f"parsed query (causaldsl.parse_query), got {shown(text)}")


def _batch_arguments(values: Any, tables: Any) -> tuple[Any, Any]:
    """``query_batch``'s settings (a dict of columns or a list of dicts; an iterator read into
    a list) and stacked tables (a dict), or a QueryError saying what they are."""
    taken = ("query_batch's values are a dict of columns, {\"S\": [\"no\", \"yes\"]}, or a list "
             "of dicts, one per setting, [{\"S\": \"no\"}, {\"S\": \"yes\"}]")
    if isinstance(values, Mapping):
        for k, col in values.items():
            if not isinstance(k, str):
                raise QueryError(f"{taken}; a key is {shown(k)}, not a variable name")
            if isinstance(col, str | bytes) or not isinstance(col, Iterable):
                raise QueryError(f"{taken}; the column of {k} is {shown(col)}, not a list of "
                                 "values")
    elif values is not None:
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise QueryError(f"{taken}; got {shown(values)}")
        values = list(values)
        for row in values:
            if not isinstance(row, Mapping):
                raise QueryError(f"{taken}; a setting is {shown(row)}, not a dict")
    if tables is not None:
        if not isinstance(tables, Mapping):
            raise QueryError("query_batch's tables are a dict from a variable's name to its "
                             f"stacked tables, {{\"T\": array}}, got {shown(tables)}")
        for k in tables:
            if not isinstance(k, str):
                raise QueryError(f"query_batch's tables are keyed by variable names, got "
                                 f"{shown(k)}")
    return values, tables


def did_you_mean(name: str, options: Iterable[str]) -> str:
    if not isinstance(name, str):
        return ""
    import difflib

    close = difflib.get_close_matches(name, list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def finite(t: Type, what: str) -> FiniteType:
    if not isinstance(t, FiniteType):
        raise MechanismError(f"{what} has type {t}, which is not finite; exact answers need "
                             "finite types")
    return t
