"""Elaboration: a syntax tree becomes IR values (types, causal models, boxes, diagrams,
observations, statements), with every error located and all of them reported together."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from causaldsl.core.checks import entries_error
from causaldsl.core.errors import CausalError, UnknownVariableError
from causaldsl.core.types import Bool, FiniteType, Opaque, Real, RealType, Type, show_label
from causaldsl.ir.diagram import Box, Chain, Diagram, Node
from causaldsl.ir.expr import (
    CONTINUOUS,
    DISCRETE,
    FUNCTIONS,
    ExprError,
    Kind,
    check_calls,
    evaluate,
    free_names,
    infer,
    kind_of,
)
from causaldsl.ir.mechanism import TOLERANCE, ExprMechanism, Table, dirichlet_prior, to_table
from causaldsl.lang import ast as A
from causaldsl.lang.files import open_regular, open_regular_text, why
from causaldsl.model.causal_model import CausalModel, Parameter, Role, Variable, did_you_mean
from causaldsl.model.checks import check_answerable, check_query
from causaldsl.model.graph import hidden_cause_name
from causaldsl.syntax.diagnostics import Diagnostic, SourceError, Span, source_line
from causaldsl.syntax.query import Prob
from causaldsl.syntax.tree import fold, walk


@dataclass(frozen=True)
class Observation:
    """Observed data: a joint distribution over some observed variables of a model or graph."""

    target: str
    variables: tuple[str, ...]
    probs: np.ndarray


@dataclass
class Program:
    """Everything a .causal file (and what it imports) defines, in IR form."""

    file: str
    types: dict[str, Type] = field(default_factory=dict)
    models: dict[str, CausalModel] = field(default_factory=dict)
    graphs: set[str] = field(default_factory=set)
    observations: dict[str, list[Observation]] = field(default_factory=dict)
    boxes: dict[str, Box] = field(default_factory=dict)
    diagrams: dict[str, Diagram] = field(default_factory=dict)
    statements: list[tuple[Any, str]] = field(default_factory=list)  # (statement, target)
    #: name → the file that defined it (its resolved path; the file name for text): a file
    #: imported along two paths brings the same definitions twice, which is no clash
    origins: dict[str, str] = field(default_factory=dict)

    @property
    def model(self) -> CausalModel:
        """The last model (or graph) defined: the one a bare ``query`` refers to."""
        return self.models[self.target()]

    def target(self, name: str | None = None) -> str:
        """The name of the model or graph a query asks: ``name`` (checked), else the last one
        defined, which a bare ``query`` asks."""
        if name is None:
            if not self.models:
                raise CausalError(f"no model in {self.file}: define a model or graph to ask "
                                  "queries of")
            return next(reversed(self.models))
        if name not in self.models:
            raise CausalError(f"no model or graph named {name!r} in {self.file}"
                              + did_you_mean(name, self.models))
        return name

    def __getitem__(self, name: str) -> Any:
        for table in (self.models, self.diagrams, self.boxes, self.types):
            if name in table:
                return table[name]
        raise KeyError(name)


def origin_of(file: str) -> str:
    """A file's name in ``Program.origins``: its resolved path (text has no path: its name)."""
    if file.startswith("<") and file.endswith(">"):
        return file
    try:
        return str(Path(file).resolve())
    except (OSError, ValueError, RuntimeError):  # RuntimeError: a loop of symbolic links
        return file


def no_data_error(target: str) -> CausalError:
    """A query of a graph that has no observed data to answer it from."""
    return CausalError(f"{target} is a graph without mechanisms and without observed data; add "
                       f"`observed P(...) in {target} = [...]` to answer queries")


def _probabilities(q: Any) -> list[Prob]:
    """The probabilities a query of a graph identifies: itself, each term of a sum, and for
    ``E[Y | ...]`` the distribution ``P(Y | ...)``."""
    from causaldsl.syntax.query import Expect, terms_of

    return [t.distribution if isinstance(t, Expect) else t for _, t in terms_of(q)]


BUILTIN_TYPES: dict[str, Type] = {"Bool": Bool, "Real": Real}


class Elaborator:
    def __init__(self, file: str, text: str, loader: Any = None,
                 uses: Sequence[tuple[int, str]] = ()):
        self.file = file
        self.text = text
        self.loader = loader
        #: (line, model): from that line on, a statement without ``in NAME`` asks that model
        #: (the REPL's ``:use``), else the last model or graph above it
        self.uses = sorted(uses)
        self.diags: list[Diagnostic] = []
        self.prog = Program(file)
        self.defined_at: dict[str, Span] = {}
        self.targets: list[str] = []  # models and graphs in order, including failed ones
        self.fitted: set[str] = set()  # models a `fit` statement above has learned
        self.params: dict[str, Parameter] = {}  # the parameters of the model being read

    # -- diagnostics ---------------------------------------------------------------------
    def error(self, span: Span, message: str) -> None:
        self.diags.append(Diagnostic(self.file, span, message, source_line(self.text, span.line)))

    @property
    def origin(self) -> str:
        """This file, as ``Program.origins`` names it."""
        return origin_of(self.file)

    def define(self, name: str, span: Span, what: str, origin: str | None = None) -> bool:
        """Claim ``name`` for a definition made here, or imported from ``origin``; False (after
        an error, unless it is the same definition again, imported along another path) when
        the name is taken."""
        origin = origin or self.origin
        if name in self.defined_at:
            if origin != self.origin and self.prog.origins.get(name) == origin:
                return False  # the same file's definition, imported again: already here
            first = self.defined_at[name]
            self.error(span, f"{what} {name} is defined twice (first at line {first.line})")
            return False
        self.defined_at[name] = span
        self.prog.origins[name] = origin
        return True

    def run(self, module: A.Module) -> Program:
        for st in module.statements:
            try:
                self.statement(st)
            except CausalError as e:  # an error the IR found that we did not foresee
                self.error(st.span, str(e))
        for st, target in self.prog.statements:  # data may be given after the query
            if (isinstance(st, A.QueryStmt) and target in self.prog.graphs
                    and not self.prog.observations.get(target)):
                self.error(st.span, str(no_data_error(target)))
        if self.diags:
            raise SourceError(sorted(self.diags, key=lambda d: (d.file != self.file, d.file,
                                                                d.span.line, d.span.column)))
        return self.prog

    def statement(self, st: Any) -> None:
        if isinstance(st, A.Import):
            self.import_(st)
        elif isinstance(st, A.TypeDef):
            t = self.type_(st.type, name=st.name)
            if t is not None and self.define(st.name, st.span, "type"):
                self.prog.types[st.name] = t
        elif isinstance(st, A.ModelDef):
            self.model(st)
        elif isinstance(st, A.GraphDef):
            self.graph(st)
        elif isinstance(st, A.Observed):
            self.observed(st)
        elif isinstance(st, A.BoxDef):
            dom = self.types_(st.dom)
            cod = self.types_(st.cod)
            if dom is not None and cod is not None and self.define(st.name, st.span, "box"):
                self.prog.boxes[st.name] = Box(st.name, dom, cod)
        elif isinstance(st, A.DiagramDef):
            self.diagram(st)
        elif isinstance(st, A.QueryStmt | A.IdentifyStmt):
            self.query_statement(st)
        elif isinstance(st, A.EstimateStmt):
            self.estimate_statement(st)
        elif isinstance(st, A.FitStmt):
            self.fit_statement(st)

    # -- imports -------------------------------------------------------------------------
    def import_(self, st: A.Import) -> None:
        if self.loader is None:
            self.error(st.span, "imports need a file to be relative to; use causaldsl.load(path)")
            return
        try:
            other = self.loader.load_import(self.file, st.path)
        except SourceError as e:
            self.diags.extend(e.diagnostics if e.parsed else [_unquoted(e.diagnostics)])
            return
        except FileNotFoundError:
            self.error(st.span, f"cannot import {st.path!r}: no such file")
            return
        except IsADirectoryError:
            self.error(st.span, f"cannot import {st.path!r}: it is a folder, not a .causal file")
            return
        except OSError as e:  # a FIFO, a device, a loop of links, no permission
            self.error(st.span, f"cannot import {st.path!r}: {why(e)}")
            return
        except (ValueError, CausalError) as e:  # ValueError: a NUL in the path
            self.error(st.span, f"cannot import {st.path!r}: {e}")
            return
        for kind in ("types", "models", "boxes", "diagrams"):
            for name, value in getattr(other, kind).items():
                if self.define(name, st.span, kind[:-1], other.origins.get(name, other.file)):
                    getattr(self.prog, kind)[name] = value
                    if kind == "models":  # a bare query after the import may ask it
                        self.targets.append(name)
        self.prog.graphs |= other.graphs
        for k, v in other.observations.items():  # each once, though imported along two paths
            have = self.prog.observations.setdefault(k, [])
            have.extend(o for o in v if not any(o is h for h in have))

    # -- types ---------------------------------------------------------------------------
    def type_(self, t: Any, name: str | None = None) -> Type | None:
        if isinstance(t, A.TypeName):
            found = self.prog.types.get(t.name) or BUILTIN_TYPES.get(t.name)
            if found is None:
                self.error(t.span, f"unknown type {t.name!r}"
                           + did_you_mean(t.name, [*self.prog.types, *BUILTIN_TYPES]))
            return found
        if isinstance(t, A.TypeEnum):
            if len(set(t.labels)) != len(t.labels):
                dup = next(x for x in t.labels if t.labels.count(x) > 1)
                self.error(t.span, f"value {dup} is listed twice in this type")
                return None
            return FiniteType(name, list(t.labels)) if name else FiniteType(list(t.labels))
        if isinstance(t, A.TypeReal):
            if not t.low <= t.high:
                self.error(t.span, f"empty bounds: {t.low} is above {t.high}")
                return None
            return RealType(t.low, t.high)
        return None

    def types_(self, ts: tuple[Any, ...]) -> tuple[Type, ...] | None:
        out = [self.type_(t) for t in ts]
        return None if any(t is None for t in out) else tuple(out)  # type: ignore[arg-type]

    # -- models --------------------------------------------------------------------------
    def model(self, md: A.ModelDef) -> None:
        if not self.define(md.name, md.span, "model"):
            return
        self.targets.append(md.name)
        types: dict[str, Type] = {}
        items: dict[str, A.ModelItem] = {}
        self.params = {}
        params = []
        for it in md.items:
            if isinstance(it, A.ParamItem):
                prm = self.parameter(md, it, items)
                if prm is not None:
                    params.append(prm)
                    self.params[prm.name] = prm
                continue
            if it.name in self.params:
                self.error(it.span, f"{it.name} is a parameter of model {md.name}; a variable "
                                    "needs another name")
                continue
            if it.name in items:
                self.error(it.span, f"variable {it.name} is defined twice in model {md.name} "
                                    f"(first at line {items[it.name].span.line})")
                continue
            t = self.type_(it.type)
            if t is None:
                continue
            items[it.name] = it
            types[it.name] = t
        variables = []
        ok = True
        for name, it in items.items():
            role = Role(it.role) if it.role else Role.OBSERVED
            try:
                parents, mech = self.mechanism(md, it, types)
            except ExprError as e:
                self.error(e.span, str(e))
                ok = False
                continue
            except CausalError as e:
                span = it.mechanism.span if it.mechanism is not None else it.span
                self.error(span, str(e))
                ok = False
                continue
            if parents is None:
                ok = False
                continue
            if role is Role.EXOGENOUS and parents:
                self.error(it.span, f"exogenous variable {name} cannot depend on "
                                    f"{', '.join(parents)}: exogenous noise has no causes")
                ok = False
                continue
            variables.append(Variable(name, types[name], role, parents, mech))
        if not ok:
            return
        try:
            model = CausalModel.from_variables(variables, md.name, parameters=params)
        except CausalError as e:
            cycle = getattr(e, "cycle", None)
            span = items[cycle[0]].span if cycle else md.span
            self.error(span, str(e))
            return
        self.prog.models[md.name] = model

    def parameter(self, md: A.ModelDef, it: A.ParamItem, items: dict[str, A.ModelItem]
                  ) -> Parameter | None:
        """``param NAME ~ Dist(numbers)``: a continuous prior with constant arguments; None
        after reporting an error."""
        from causaldsl.lang.fmt import mechanism as mechanism_text

        if it.name in self.params or it.name in items:
            self.error(it.span, f"{it.name} is defined twice in model {md.name}")
            return None
        prior = it.prior
        try:
            if prior.name not in CONTINUOUS or (prior.name == "Uniform" and not prior.args):
                raise ExprError(f"the prior of {it.name} is a continuous distribution (one of "
                                f"{', '.join(sorted(CONTINUOUS))}), not {prior.name}",
                                prior.span)
            check_calls(prior, True)
            for a in prior.args:
                names = free_names(a)
                if names:
                    raise ExprError(f"the prior of parameter {it.name} reads {names[0][0]}; a "
                                    "prior's arguments are numbers", names[0][1])
                infer(a, {})
        except ExprError as e:
            self.error(e.span, str(e))
            return None
        return Parameter(it.name, ExprMechanism("sample", prior,
                                                mechanism_text(prior).split(" ", 1)[1]))

    def mechanism(self, md: A.ModelDef, it: A.ModelItem, types: dict[str, Type]
                  ) -> tuple[tuple[str, ...] | None, Any]:
        """Parents and mechanism of one model item; (None, None) after reporting an error."""
        m = it.mechanism
        if m is None:
            return (), None
        if isinstance(m, A.InlineTable):
            return self.inline_table(m, it, types[it.name])
        if isinstance(m, A.CondTable):
            return self.cond_table(m, md, it, types)
        if isinstance(m, A.UnknownTableSyntax):
            return self.unknown_table(m, md, it, types)
        return self.expression_mechanism(m, md, it, types)

    def unknown_table(self, m: A.UnknownTableSyntax, md: A.ModelDef, it: A.ModelItem,
                      types: dict[str, Type]) -> tuple[tuple[str, ...] | None, Any]:
        """``~ [table(P…)] unknown [Dirichlet(a)]``: a table to be learned by ``fit``."""
        parents = self.table_parents(m.parents, md, types)
        if parents is None:
            return None, None
        ptypes = [types[p] for p in parents]
        owner = f"variable {it.name}" + (f" (given {', '.join(parents)})" if parents else "")
        return tuple(parents), dirichlet_prior(m.prior, types[it.name], ptypes, owner)

    def table_parents(self, given: tuple[tuple[str, Span], ...], md: A.ModelDef,
                      types: dict[str, Type]) -> list[str] | None:
        """The parents a table names, each a variable of the model; None after reporting
        one that is not."""
        parents: list[str] = []
        for p, span in given:
            if p not in types:
                self.error(span, f"{p!r} is not a variable of model {md.name}"
                           + did_you_mean(p, types))
                return None
            parents.append(p)
        return parents

    def inline_table(self, m: A.InlineTable, it: A.ModelItem, t: Type
                     ) -> tuple[tuple[str, ...] | None, Any]:
        """``X : T ~ [p1, …]``: a table without parents."""
        if not isinstance(t, FiniteType):
            self.error(m.span, f"{it.name} has type {t}; a table needs a finite type")
            return None, None
        table = Table(np.array(m.numbers), 0)
        table.check((), (t,), f"variable {it.name}")
        return (), table

    def cond_table(self, m: A.CondTable, md: A.ModelDef, it: A.ModelItem,
                   types: dict[str, Type]) -> tuple[tuple[str, ...] | None, Any]:
        """A conditional table: a row of probabilities for each value of the parents."""
        parents = self.table_parents(m.parents, md, types)
        if parents is None:
            return None, None
        rows: dict[Any, Any] = {}
        for row in m.rows:
            key = row.key[0] if len(row.key) == 1 else row.key
            if key in rows:
                self.error(row.span, f"the table of {it.name} gives the row {key} twice")
                return None, None
            rows[key] = list(row.numbers)
        t = types[it.name]
        ptypes = [types[p] for p in parents]
        table = to_table(rows, it.name, t, tuple(parents), ptypes)
        table.check(ptypes, (t,), f"variable {it.name} (given {', '.join(parents)})")
        return tuple(parents), table

    def expression_mechanism(self, m: A.DistCall | A.Functional, md: A.ModelDef, it: A.ModelItem,
                             types: dict[str, Type]) -> tuple[tuple[str, ...] | None, Any]:
        """A distribution (``~ D(…)``) or a function (``:= …``) of the parents it reads: a table
        when the variable and its parents are finite, else a mechanism the sampler runs."""
        from causaldsl.lang.fmt import mechanism as mechanism_text  # no comments, no ':='

        t = types[it.name]
        expr = m.expr if isinstance(m, A.Functional) else m
        parents, env = self.expression_scope(md, it, expr, types)
        if parents is None:
            return None, None
        for arg in m.args if isinstance(m, A.DistCall) else (expr,):
            check_calls(arg)  # every call known and of the right arity, before any evaluation
        ptypes = [types[p] for p in parents]
        kinds = {p: kind_of(types[p]) for p in parents}  # any other name in it is a label
        reads = {n for a in (m.args if isinstance(m, A.DistCall) else (expr,))
                 for n, _ in free_names(a) if n in self.params}
        kinds.update({n: kind_of(Real) for n in reads})
        text = mechanism_text(m).split(" ", 1)[1]
        discrete = isinstance(t, FiniteType) and all(isinstance(pt, FiniteType) for pt in ptypes) \
            and not reads  # an unknown parameter: sampled, not tabulated
        if isinstance(m, A.DistCall):
            self.check_dist(m, it, t, kinds)
            if not discrete:  # sampled: a continuous type, or a continuous parent
                return tuple(parents), ExprMechanism("sample", m, text)
            return tuple(parents), self.discrete_dist(m, it, t, parents, ptypes, env)  # type: ignore[arg-type]
        if not discrete:
            if not self.check_result_labels(expr, it, t, types):
                return None, None
            self.check_result(infer(expr, kinds), expr, it, t)
            return tuple(parents), ExprMechanism("assign", expr, text)
        infer(expr, kinds)  # before NumPy meets a bad mix
        return tuple(parents), self.function_table(expr, it, t, parents, ptypes, env)  # type: ignore[arg-type]

    def check_result_labels(self, expr: Any, it: A.ModelItem, t: Type, types: dict[str, Type]
                            ) -> bool:
        """Each number or label a sampled ``:=`` can give (a branch of its if/else) must be a
        value of its variable's type; False after reporting an error."""
        for leaf in _results(expr):
            nums = t.numeric() if isinstance(t, FiniteType) else None
            if isinstance(leaf, A.Num) and nums is not None and float(leaf.value) not in nums:
                self.error(leaf.span, f"{it.name} := … can give {leaf.value:g}, which is not a "
                                      f"value of {t!r}")
                return False
            if not isinstance(leaf, A.Var) or leaf.name in types:
                continue
            if not isinstance(t, FiniteType):
                self.error(leaf.span, f"{it.name} := … can give the label {leaf.name}, but "
                                      f"{it.name} : {t} is a number")
                return False
            if leaf.name not in t:
                self.error(leaf.span, f"{it.name} := … can give {leaf.name}, which is not a "
                                      f"value of {t!r}")
                return False
        return True

    def check_dist(self, m: A.DistCall, it: A.ModelItem, t: Type, kinds: dict[str, Kind]
                   ) -> None:
        """A distribution, checked before anything evaluates it (the sampling backend would
        meet it only when a query runs): one for the variable's type, with as many parameters
        as it and the type need, each a number (``kinds``: those of the variables it reads).
        Raises a located ExprError."""
        args = m.args
        if isinstance(t, FiniteType) and (m.name not in DISCRETE or
                                          (m.name == "Uniform" and m.args)):
            raise ExprError(f"{m.name} is a continuous distribution, but {it.name} has the "
                            f"finite type {t}; use Bernoulli, Categorical or Uniform()"
                            if m.name in CONTINUOUS else f"{m.name} is not a distribution over "
                            "a finite type; use Bernoulli, Categorical or Uniform()", m.span)
        if not isinstance(t, FiniteType):
            check_calls(m, True)  # a continuous distribution, with its number of parameters
        if isinstance(t, FiniteType) and m.name == "Bernoulli" and (t.size != 2 or
                                                                     len(m.args) != 1):
            raise ExprError(f"Bernoulli(p) takes one probability and needs a type with two "
                            f"values; {it.name} has type {t!r}", m.span)
        if isinstance(t, FiniteType) and m.name == "Categorical":
            args = _categorical_items(m)
            if len(args) != t.size:
                raise ExprError(f"Categorical needs {t.size} probabilities for {it.name} : "
                                f"{t!r}, got {len(args)}", m.span)
        for a in args:
            k = infer(a, kinds)
            if k.what in ("value", "names"):
                raise ExprError(f"a parameter of {m.name} is a number, not {k}", a.span)

    def check_result(self, k: Kind, expr: Any, it: A.ModelItem, t: Type) -> None:
        """What a sampled ``:=`` gives (of kind ``k``) must be a value of its variable's type:
        the finite case is checked value by value when it becomes a table."""
        if k.what == "any" or (isinstance(t, FiniteType) and kind_of(t).what == "any"):
            return
        span = getattr(expr, "span", it.span)
        if not isinstance(t, FiniteType):
            if k.what in ("value", "names"):
                raise ExprError(f"{it.name} := … gives {k}, but {it.name} : {t} is a number",
                                span)
            return
        want = kind_of(t)
        if want.what == "value":
            if k.what in ("value", "names"):
                assert want.type is not None
                given = k.type.values if k.type is not None else sorted(k.names)
                for v in given:
                    if v not in want.type:
                        raise ExprError(f"{it.name} := … can give {v}, which is not a value of "
                                        f"{t!r}", span)
                return
        elif k.what == want.what:  # {0, 1} is not Bool, as the exact tables say
            return
        raise ExprError(f"{it.name} := … gives {k}, which is not a value of {t!r}", span)

    def expression_scope(self, md: A.ModelDef, it: A.ModelItem, expr: Any,
                         types: dict[str, Type]) -> tuple[list[str] | None, dict[str, Any]]:
        """The parents an expression reads, and label constants it may name."""
        labels: dict[str, Any] = {}
        for t in [*types.values(), *self.prog.types.values()]:
            if isinstance(t, FiniteType):
                for v in t.values:
                    if isinstance(v, str):
                        labels.setdefault(v, v)
        call = expr if isinstance(expr, A.DistCall) else None
        args = call.args if call else (expr,)
        parents: list[str] = []
        for a in args:
            for name, span in free_names(a):
                if name in self.params:
                    continue  # an unknown parameter: no parent
                if name in types:
                    if name == it.name:
                        self.error(span, f"{it.name} cannot depend on itself")
                        return None, {}
                    if name not in parents:
                        parents.append(name)
                elif name not in labels:
                    self.error(span, f"unknown name {name!r} in the mechanism of {it.name}"
                               + did_you_mean(name, [*types, *labels]))
                    return None, {}
        return parents, labels

    def grid(self, parents: list[str], ptypes: list[FiniteType], env: dict[str, Any]
             ) -> dict[str, Any]:
        env = dict(env)
        k = len(parents)
        for i, (p, t) in enumerate(zip(parents, ptypes, strict=True)):
            vals = _label_array(t)
            shape = [1] * k
            shape[i] = t.size
            env[p] = vals.reshape(shape)
        return env

    def discrete_dist(self, m: A.DistCall, it: A.ModelItem, t: FiniteType, parents: list[str],
                      ptypes: list[FiniteType], env: dict[str, Any]) -> Table:
        shape = tuple(pt.size for pt in ptypes)
        g = self.grid(parents, ptypes, env)
        if m.name == "Bernoulli":
            if t.size != 2 or len(m.args) != 1:
                raise ExprError(f"Bernoulli(p) takes one probability and needs a type with two "
                                f"values; {it.name} has type {t!r}", m.span)
            p = np.broadcast_to(np.asarray(evaluate(m.args[0], g), dtype=float), shape)
            probs = np.stack([1 - p, p], axis=-1)
        elif m.name == "Categorical":
            items = _categorical_items(m)
            if len(items) != t.size:
                raise ExprError(f"Categorical needs {t.size} probabilities for {it.name} : "
                                f"{t!r}, got {len(items)}", m.span)
            probs = np.stack([np.broadcast_to(np.asarray(evaluate(a, g), dtype=float), shape)
                              for a in items], axis=-1)
        elif m.name == "Uniform" and not m.args:
            probs = np.full((*shape, t.size), 1.0 / t.size)
        else:
            raise ExprError(f"{m.name} is not a distribution over a finite type; use "
                            "Bernoulli, Categorical or Uniform()", m.span)
        table = Table(probs, len(parents))
        table.check(ptypes, (t,), f"variable {it.name}")
        return table

    def function_table(self, expr: Any, it: A.ModelItem, t: FiniteType, parents: list[str],
                       ptypes: list[FiniteType], env: dict[str, Any]) -> Table:
        shape = tuple(pt.size for pt in ptypes)
        too_big = entries_error(f"{it.name} := …", (*shape, t.size))
        if too_big:  # before the grid or the table is made
            raise ExprError(f"{too_big}; give it fewer values or parents", it.span)
        out = np.broadcast_to(np.asarray(evaluate(expr, self.grid(parents, ptypes, env)),
                                         dtype=object), shape)
        arr = np.zeros((*shape, t.size))
        for idx in itertools.product(*(range(s) for s in shape)):
            v = out[idx]
            v = v.item() if hasattr(v, "item") else v
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if v not in t:
                at = ", ".join(f"{p} = {pt.values[i]}" for p, pt, i in
                               zip(parents, ptypes, idx, strict=True))
                value = show_label(v) if isinstance(v, bool | int) else repr(v)
                raise ExprError(f"{it.name} := … gives {value}{' at ' + at if at else ''}, which "
                                f"is not a value of {t!r}", getattr(expr, "span", it.span))
            arr[(*idx, t.index(v))] = 1.0
        return Table(arr, len(parents))

    # -- graphs --------------------------------------------------------------------------
    def graph(self, gd: A.GraphDef) -> None:
        if not self.define(gd.name, gd.span, "graph"):
            return
        self.targets.append(gd.name)
        parts = _GraphParts()
        ok = True
        for it in gd.items:
            if isinstance(it, A.NodeDecl):
                ok = self.node_decl(gd, it, parts) and ok
            elif isinstance(it, A.Chain):
                ok = self.chain(it, parts) and ok
            elif isinstance(it, A.Bidirected):
                ok = self.bidirected(it, parts) and ok
        ok = self.check_exogenous_nodes(parts) and ok
        if not ok:
            return
        try:
            model = CausalModel.from_variables(parts.variables(), gd.name)
        except CausalError as e:
            cycle = getattr(e, "cycle", None)
            self.error(parts.spans[cycle[0]] if cycle else gd.span, str(e))
            return
        self.prog.models[gd.name] = model
        self.prog.graphs.add(gd.name)

    def node_decl(self, gd: A.GraphDef, it: A.NodeDecl, parts: _GraphParts) -> bool:
        """A node declared with its type and role; False after an error."""
        if it.name in parts.spans and parts.types[it.name] is not Opaque:
            self.error(it.span, f"node {it.name} is declared twice in graph {gd.name}")
            return False
        t = self.type_(it.type) if it.type is not None else None
        parts.node(it.name, it.span)
        parts.types[it.name] = t if t is not None else Opaque
        parts.roles[it.name] = Role(it.role) if it.role else Role.OBSERVED
        return True

    def chain(self, it: A.Chain, parts: _GraphParts) -> bool:
        """The edges of ``A -> B -> …``; False after an error (each edge is still read)."""
        ok = True
        for (a, span_a), (b, span_b) in itertools.pairwise(it.names):
            parts.node(a, span_a)
            parts.node(b, span_b)
            if a == b:
                self.error(span_b, f"{a} -> {a} is a cycle of length one")
                ok = False
            elif a not in parts.parents[b]:
                parts.parents[b].append(a)
                parts.causes.setdefault(b, []).append(
                    (f"{a} -> {b} makes {a} a cause of it", span_b))
        return ok

    def bidirected(self, it: A.Bidirected, parts: _GraphParts) -> bool:
        """``A <-> B``: a hidden common cause of A and B, one per pair; False after an error."""
        (a, span_a), (b, span_b) = it.a, it.b
        parts.node(a, span_a)
        parts.node(b, span_b)
        if a == b:
            self.error(span_b, f"{a} <-> {a} joins {a} to itself: a bidirected edge is a "
                               "hidden common cause of two different nodes (a hidden cause "
                               f"of {a} alone needs no edge)")
            return False
        if frozenset((a, b)) not in parts.pairs:
            parts.pairs.add(frozenset((a, b)))
            parts.slots.append(len(parts.hidden))
            parts.hidden.append((a, b, it.span))
            parts.causes.setdefault(a, []).append((f"{a} <-> {b} gives it a hidden cause", span_a))
            parts.causes.setdefault(b, []).append((f"{a} <-> {b} gives it a hidden cause", span_b))
        return True

    def check_exogenous_nodes(self, parts: _GraphParts) -> bool:
        """No exogenous node has a cause (a role may be declared after the edges that break
        it); False after an error."""
        ok = True
        for name, role in parts.roles.items():
            if role is Role.EXOGENOUS and name in parts.causes:
                edge, span = parts.causes[name][0]
                self.error(span, f"exogenous node {name} cannot have causes, but {edge}: "
                                 f"exogenous noise has none; declare {name} latent if it is a "
                                 "hidden variable with causes")
                ok = False
        return ok

    # -- observations --------------------------------------------------------------------
    def observed(self, ob: A.Observed) -> None:
        target, tspan = ob.target
        model = self.prog.models.get(target)
        if model is None:
            self.error(tspan, f"no model or graph named {target!r}"
                       + did_you_mean(target, self.prog.models))
            return
        names: list[str] = []
        sizes: list[int] = []
        for v, span in ob.variables:
            if v not in model.variables:
                self.error(span, f"{v!r} is not a variable of {target}"
                           + did_you_mean(v, model.variables))
                return
            if model.roles[v] is not Role.OBSERVED:
                self.error(span, f"{v} is {model.roles[v]} in {target}; it cannot be observed")
                return
            t = model.variables[v].type
            if not isinstance(t, FiniteType):
                self.error(span, f"observed data needs the values of {v}; declare its type in "
                                 f"{target}, e.g. `{v} : YesNo`")
                return
            if v in names:
                self.error(span, f"{v} is listed twice")
                return
            names.append(v)
            sizes.append(t.size)
        need = math.prod(sizes)
        if ob.numbers is not None:
            probs = np.array(ob.numbers, dtype=float)
        else:
            try:
                probs = self.read_csv(ob, names)
            except OSError as e:  # no such file, a folder, a FIFO, a device, ...
                self.error(ob.span, f"cannot read {ob.csv!r}: {why(e)}")
                return
            except (ValueError, CausalError) as e:
                self.error(ob.span, f"cannot read {ob.csv!r}: {e}")
                return
        if probs.size != need:
            self.error(ob.span, f"P({', '.join(names)}) needs {need} numbers "
                                f"({' × '.join(map(str, sizes))}, the first variable outermost), "
                                f"got {probs.size}")
            return
        if np.any(probs < 0):
            self.error(ob.span, f"observed probabilities cannot be negative (found "
                                f"{probs[probs < 0][0]:g})")
            return
        total = float(probs.sum())
        if abs(total - 1) > TOLERANCE:
            shown = f"{total:.6g}" if f"{total:.6g}" != "1" else f"{total:.12g}"
            self.error(ob.span, f"observed probabilities sum to {shown}, not 1 (off by "
                                f"{total - 1:+.3g})")
            return
        obs = Observation(target, tuple(names), (probs / total).reshape(sizes))  # renormalised
        self.prog.observations.setdefault(target, []).append(obs)

    def read_csv(self, ob: A.Observed, names: list[str]) -> np.ndarray:
        """Samples (one row each) or a table with a probability column P."""
        import csv

        assert ob.csv is not None
        base = Path(self.file).parent if self.file not in ("<string>", "<repl>") else Path.cwd()
        path = base / ob.csv
        model = self.prog.models[ob.target[0]]
        types = [model.variables[n].type for n in names]
        rows: list[tuple[int, dict[str, str]]] = []  # (line, row)
        # only a regular file (/dev/zero would never end); a spreadsheet's BOM is no name
        with open_regular_text(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            try:
                header = next(reader, None)
                _no_column_twice(header or [])
                for row in reader:
                    if not any(x.strip() for x in row):
                        continue  # a blank line
                    if len(row) != len(header or ()):
                        raise ValueError(f"line {reader.line_num} has {len(row)} value"
                                         f"{'' if len(row) == 1 else 's'}, but the header "
                                         f"names {len(header or ())} columns "
                                         f"({', '.join(header or ())})")
                    rows.append((reader.line_num, dict(zip(header or (), row, strict=True))))
            except csv.Error as e:
                raise ValueError(f"line {reader.line_num}: {e}") from None
            except UnicodeDecodeError:
                raise ValueError(_not_utf8(path)) from None
        if header is None or not rows:
            raise ValueError("the file has no rows")
        missing = [n for n in names if n not in header]
        if missing:
            raise ValueError(f"no column {missing[0]!r}; its columns are {', '.join(header)}")
        weight = next((c for c in ("P", "p", "prob", "probability") if c in header), None)
        ftypes = [t for t in types if isinstance(t, FiniteType)]
        counts = np.zeros([t.size for t in ftypes])
        for i, r in rows:
            try:
                idx = tuple(t.index(r[n].strip()) for t, n in zip(ftypes, names, strict=True))
            except CausalError as e:
                raise ValueError(f"line {i}: {e}") from None
            if weight is None:
                counts[idx] += 1.0
                continue
            try:  # a decimal number: float() alone would read 0.1_25 as 0.125
                w = float(r[weight]) if _DECIMAL.fullmatch(r[weight].strip()) else math.nan
            except ValueError:
                w = math.nan
            if not math.isfinite(w):
                raise ValueError(f"line {i}: {weight} is {r[weight]!r}, not a number")
            counts[idx] += w
        return counts.ravel() / (1.0 if weight else counts.sum())

    # -- diagrams ------------------------------------------------------------------------
    def diagram(self, dd: A.DiagramDef) -> None:
        if not self.define(dd.name, dd.span, "diagram"):
            return
        try:
            d = self.diagram_expr(dd.expr) if dd.expr is not None else self.program_form(dd)
        except ExprError as e:
            self.error(e.span, str(e))
            return
        except CausalError as e:
            self.error(dd.span, str(e))
            return
        if d is not None:
            self.prog.diagrams[dd.name] = d

    def diagram_expr(self, e: Any) -> Diagram:
        """The diagram of an algebraic expression (``a ; b ⊗ c``). A chain ``a ; b ; c …`` (or
        ``a ⊗ b ⊗ …``) is one node of the walk whose parts are composed one by one as they are
        known (each step checked, and an error reported, where ``>>`` would), in time linear in
        its length; the walk itself uses a stack of its own, not recursion."""
        chains: dict[int, Chain] = {}

        def after(x: Any, i: int, d: Diagram) -> None:
            if i == 0:
                chains[id(x)] = Chain(d, tensor=isinstance(x, A.DTensor))
                return
            try:
                chains[id(x)].add(d)
            except CausalError as err:
                raise ExprError(str(err), x.span) from None

        def leave(x: Any, parts: list[Diagram]) -> Diagram:
            if isinstance(x, A.DSeq | A.DTensor):
                return chains.pop(id(x)).diagram()
            return self._diagram_atom(x)

        return fold(e, leave, kids=_diagram_kids, after=after)

    def _diagram_atom(self, e: Any) -> Diagram:
        """The diagram of a name or a generator (id, copy, discard, swap)."""
        if isinstance(e, A.DRef):
            if e.name in self.prog.boxes:
                return self.prog.boxes[e.name].diagram
            if e.name in self.prog.diagrams:
                return self.prog.diagrams[e.name]
            raise ExprError(f"no box or diagram named {e.name!r}"
                            + did_you_mean(e.name, [*self.prog.boxes, *self.prog.diagrams]),
                            e.span)
        if isinstance(e, A.DGen):
            ts = self.types_(e.types)
            if ts is None:
                raise ExprError("unknown type", e.span)
            if e.kind == "id":
                return Diagram.id(*ts)
            if e.kind == "copy":
                return Diagram.copy(ts[0], e.n)
            if e.kind == "discard":
                return Diagram.discard(*ts)
            return Diagram.swap(ts[0], ts[1])
        raise ExprError("not a diagram", getattr(e, "span", Span(1, 1)))

    def program_form(self, dd: A.DiagramDef) -> Diagram | None:
        wires: dict[str, Type] = {}
        inputs = []
        for name, texpr in dd.params:
            typ = self.type_(texpr)
            if typ is None:
                return None
            wires[name] = typ
            inputs.append(name)
        nodes = []
        for b in dd.binds:
            box = self.prog.boxes.get(b.box)
            if box is None:
                raise ExprError(f"no box named {b.box!r}" + did_you_mean(b.box, self.prog.boxes),
                                b.span)
            for a in b.args:
                if a not in wires:
                    raise ExprError(f"wire {a!r} is not defined before it is used"
                                    + did_you_mean(a, wires), b.span)
            if len(b.targets) != len(box.cod):
                raise ExprError(f"box {box} gives {len(box.cod)} wires, but {len(b.targets)} "
                                "names receive them", b.span)
            for tname, t in zip(b.targets, box.cod, strict=True):
                if tname in wires:
                    raise ExprError(f"wire {tname!r} is defined twice", b.span)
                wires[tname] = t
            try:
                nodes.append(Node(box, b.args, b.targets))
                Diagram(tuple(inputs), tuple(wires[w] for w in inputs), tuple(nodes), ())
            except CausalError as err:
                raise ExprError(str(err), b.span) from None
        cod = self.types_(dd.cod)
        d = Diagram(tuple(inputs), tuple(wires[w] for w in inputs), tuple(nodes), dd.returns)
        if cod is not None and d.cod != cod:
            raise ExprError(f"diagram {dd.name} returns {' ⊗ '.join(map(str, d.cod)) or 'I'}, "
                            f"but its signature says {' ⊗ '.join(map(str, cod)) or 'I'}", dd.span)
        return d

    # -- statements ----------------------------------------------------------------------
    def statement_target(self, st: Any, none: str) -> str | None:
        """The model a statement is about: its ``in NAME``, else the last one defined above
        it; None after reporting why there is none (``none``: the message where no model is
        defined), or where its definition failed (reported there)."""
        if st.target is not None:
            name, span = st.target
            if name in self.targets and name not in self.prog.models:
                return None  # its definition failed and was reported
            if name not in self.prog.models:
                self.error(span, f"no model or graph named {name!r}"
                           + did_you_mean(name, self.prog.models))
                return None
            return str(name)
        if self.targets:
            name = self.default_target(st.span, self.targets[-1])
            return name if name in self.prog.models else None  # else: failed, reported
        self.error(st.span, none)
        return None

    def query_statement(self, st: Any) -> None:
        name = self.statement_target(st, "a query needs a model: define one above it, or write "
                                         "`query P(...) in NAME`")
        if name is None:
            return
        model = self.prog.models[name]
        if getattr(st, "assume", None) and (name in self.prog.graphs or name in self.fitted):
            what = "a graph, which has no tables" if name in self.prog.graphs else \
                "a fitted model, answered by its posterior"
            self.error(st.span, f"`assuming {st.assume}` is an assumption about a model's "
                                f"tables; {name} is {what}")
            return
        unknown = [*model.unknown, *model.parameters]
        if unknown and name not in self.fitted and not isinstance(st, A.IdentifyStmt):
            what = "tables" if not model.parameters else "parameters" if not model.unknown \
                else "parts"
            self.error(st.span, f"model {name} has unknown {what} ({', '.join(unknown)}): "
                                f"learn them first, with `fit {name} to \"data.csv\"` above "
                                "this query (docs/bayes.md)")
            return
        try:  # what `causal run` would refuse before computing, with its message
            if isinstance(st, A.IdentifyStmt):
                check_query(model, st.prob, untyped_labels=True)
            elif name in self.prog.graphs:  # identified, then evaluated on observed data
                from causaldsl.analysis.identify import identify  # only here: files without graph queries

                check_answerable(model, st.query)
                for p in _probabilities(st.query):
                    identify(model, p)  # not identifiable: the error run gives
            else:
                check_answerable(model, st.query)
        except CausalError as e:
            self.error(self._name_span(st.span, e), str(e))
            return
        self.prog.statements.append((st, name))


    def default_target(self, span: Span, last: str) -> str:
        """The model a statement without ``in NAME`` asks: the one a ``:use`` before its line
        chose (while it is defined), else ``last``."""
        chosen = [name for line, name in self.uses if line <= span.line]
        return chosen[-1] if chosen and chosen[-1] in self.prog.models else last

    def estimate_statement(self, st: A.EstimateStmt) -> None:
        """Check what can be checked without reading the data: the target, the question, the
        options, and that the data file is a readable regular file. The data path is kept
        resolved against this file's folder."""
        from causaldsl.estimation.question import read_question

        name = self.statement_target(st, "an estimate needs a graph or model: define one "
                                         "above it, or write `estimate ... in NAME`")
        if name is None:
            return
        model = self.prog.models[name]
        try:
            question = read_question(st.query)
            model.admg().check([question.treatment, *question.outcomes, *question.strata],
                               str(st.query))
        except CausalError as e:
            self.error(st.span, str(e))
            return
        path = self.data_file(st, lambda opt: _option_problem(opt, model))
        if path is None:
            return
        self.prog.statements.append((st.replace(data=path), name))

    def data_file(self, st: A.EstimateStmt | A.FitStmt, problem: Any) -> str | None:
        """A statement's options right (``problem(option)``: what is wrong with one, or "")
        and given once each, and its data file a readable regular file (its path resolved
        against this file's folder); None after reporting why not."""
        for opt in st.options:
            wrong = problem(opt)
            if wrong:
                self.error(opt.span, wrong)
                return None
        names = [o.name for o in st.options]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice:
            self.error(st.span, f"the option {twice} is given twice")
            return None
        base = Path(self.file).parent if self.file not in ("<string>", "<repl>") else Path.cwd()
        path = base / st.data
        try:
            open_regular(path).close()
        except OSError as e:
            self.error(st.span, f"cannot read {st.data!r}: {why(e)}")
            return None
        return str(path)

    def fit_statement(self, st: A.FitStmt) -> None:
        """Check a ``fit`` without reading the data: a model with unknown tables, the method,
        the options, and a readable data file (kept resolved against this file's folder)."""
        name, span = st.target
        if name in self.targets and name not in self.prog.models:
            return  # its definition failed and was reported
        if name not in self.prog.models or name in self.prog.graphs:
            what = "a graph, which has no tables to learn" if name in self.prog.graphs else \
                "not a model" + did_you_mean(name, self.prog.models)
            self.error(span, f"fit {name}: {what}")
            return
        model = self.prog.models[name]
        if not model.unknown and not model.parameters:
            self.error(span, f"model {name} has nothing to learn: no table is `unknown` and "
                             "it has no `param`")
            return
        path = self.data_file(st, _fit_option_problem)
        if path is None:
            return
        self.fitted.add(name)
        self.prog.statements.append((st.replace(data=path), name))

    def _name_span(self, span: Span, e: CausalError) -> Span:
        """Where an unknown name stands inside a statement (in a world, say), else the statement."""
        hit = re.search(r"'([^']+)' is not a variable", str(e))
        if not isinstance(e, UnknownVariableError) or hit is None:
            return span
        lines = self.text.split("\n")  # as the parser counts lines
        for n in range(span.line, min(span.last_line, len(lines)) + 1):
            start = span.column - 1 if n == span.line else 0
            found = re.compile(rf"(?<![\w']){re.escape(hit.group(1))}(?![\w'])").search(
                lines[n - 1], start)
            if found:
                return Span(n, found.start() + 1)
        return span


def _diagram_kids(e: Any) -> tuple[Any, ...]:
    """The parts of a diagram expression: of a chain ``a ; b ; c`` (left-nested ``;`` nodes,
    likewise ``⊗``), every part from the left, so the chain is composed in one go."""
    if not isinstance(e, A.DSeq | A.DTensor):
        return ()
    kind, rights = type(e), []
    while type(e) is kind:
        rights.append(e.right)
        e = e.left
    return (e, *reversed(rights))


@dataclass
class _GraphParts:
    """A graph block as read so far: each node's type, role, first span and parents; the
    variables in order of first mention (``slots``: a user's node by name, a bidirected edge's
    latent by its index in ``hidden``, named once every node of the graph is known); the pairs
    joined by a bidirected edge; and each node's causes, with where they were written."""

    types: dict[str, Type] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    parents: dict[str, list[str]] = field(default_factory=dict)
    slots: list[str | int] = field(default_factory=list)
    hidden: list[tuple[str, str, Span]] = field(default_factory=list)
    pairs: set[frozenset[str]] = field(default_factory=set)
    causes: dict[str, list[tuple[str, Span]]] = field(default_factory=dict)

    def node(self, name: str, span: Span) -> None:
        """A node at its first mention: opaque and observed until declared."""
        if name not in self.types:
            self.types[name], self.roles[name] = Opaque, Role.OBSERVED
            self.spans[name], self.parents[name] = span, []
            self.slots.append(name)

    def variables(self) -> list[Variable]:
        """The graph's variables in order, each ``A <-> B`` a latent ``U_A_B`` parent of both,
        named apart from every node the user wrote, wherever in the block that node appears."""
        taken = set(self.types)
        latent: list[str] = []
        for a, b, span in self.hidden:
            name = hidden_cause_name(a, b, taken)
            latent.append(name)
            self.types[name], self.roles[name] = Opaque, Role.LATENT
            self.spans[name], self.parents[name] = span, []
            self.parents[a].append(name)
            self.parents[b].append(name)
        order = [s if isinstance(s, str) else latent[s] for s in self.slots]
        return [Variable(n, self.types[n], self.roles[n], tuple(self.parents[n]), None)
                for n in order]


def _results(e: Any) -> list[Any]:
    """The expressions whose value an expression can take: the branches of its if/else, in
    order (an ``if … else if …`` chain may be long: walked, not recursed)."""
    return [x for x in walk(e, lambda x: (x.then, x.other) if isinstance(x, A.IfElse) else ())
            if not isinstance(x, A.IfElse)]


def _categorical_items(m: A.DistCall) -> tuple[Any, ...]:
    """The probabilities of ``Categorical([p1, …])`` or ``Categorical(p1, …)``."""
    if len(m.args) == 1 and isinstance(m.args[0], A.ListLit):
        return tuple(m.args[0].items)
    return tuple(m.args)


#: A number in a CSV file: digits with an optional sign, point and exponent (no ``_``, inf, nan).
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _unquoted(syntax_errors: list[Diagnostic]) -> Diagnostic:
    """The syntax errors of an imported file that does not parse as .causal, told without a
    word of its text (it may be any file: ``import "/etc/passwd"``): where the first one is,
    and how many there are."""
    first, n = syntax_errors[0], len(syntax_errors)
    more = f" ({n} syntax errors)" if n > 1 else ""
    return Diagnostic(first.file, first.span, f"an imported file that does not parse as "
                      f".causal{more}; its text is not shown (causal check {first.file} shows "
                      "it)")


def _no_column_twice(header: list[str]) -> None:
    """A ValueError naming a column the header of a CSV file names twice."""
    seen: set[str] = set()
    for c in header:
        if c in seen:
            raise ValueError(f"line 1: the header names column {c!r} twice")
        seen.add(c)


def _not_utf8(path: Path) -> str:
    """Where a file stops being UTF-8: its first line that does not decode, and the column."""
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as e:
                return (f"line {n}, column {e.start + 1}: the byte {raw[e.start]:#04x} is not "
                        "UTF-8; save the file as UTF-8")
    return "it is not UTF-8; save the file as UTF-8"


def _label_array(t: FiniteType) -> np.ndarray:
    vals = t.values
    if all(isinstance(v, bool) for v in vals):
        return np.array(vals, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return np.array(t.numeric(), dtype=float)  # a label beyond the floats: CausalTypeError
    return np.array(vals, dtype=object)


__all__ = ["FUNCTIONS", "Elaborator", "Observation", "Program"]


#: The options of an estimate statement: the kind of value each takes.
ESTIMATE_OPTIONS = {"outcome": "string", "propensity": "string", "level": "number",
                    "bootstrap": "number", "seed": "number", "adjust": "names", "missing": "name",
                    "instrument": "names"}


def _option_problem(opt: A.Option, model: CausalModel) -> str:
    """Why an estimate statement's option is wrong, or ''."""
    want = ESTIMATE_OPTIONS.get(opt.name)
    if want is None:
        return (f"unknown option {opt.name!r} of estimate; the options are "
                f"{', '.join(ESTIMATE_OPTIONS)}{did_you_mean(opt.name, ESTIMATE_OPTIONS)}")
    shown = {"string": "a string in quotes", "number": "a number", "names": "a set of names "
             "such as {A, B}", "name": "a name"}
    if opt.kind != want:
        return f"the option {opt.name} takes {shown[want]}"
    v = opt.value
    if opt.name == "level" and not (isinstance(v, float) and 0 < v < 1):
        return f"level = {v}: a confidence level is between 0 and 1, e.g. 0.95"
    if opt.name in ("bootstrap", "seed") and not (isinstance(v, float) and v.is_integer()
                                                  and v >= 0 and v < 2 ** 32):
        return f"{opt.name} = {v}: a whole number from 0 to 2**32 - 1"
    if opt.name == "bootstrap" and v == 1:
        return "bootstrap = 1: the number of replicates is 0 (none) or at least 2"
    if opt.name == "missing" and v not in ("error", "drop", "censored"):
        return f"missing = {v}: the policies are error, drop and censored"
    if opt.name in ("outcome", "propensity"):
        from causaldsl.estimation.design import check_safe

        try:
            check_safe(str(v), list(model.variables), opt.name)
        except CausalError as e:
            return str(e)
    if opt.name in ("adjust", "instrument") and isinstance(v, tuple):
        unknown = [n for n in v if n not in model.variables]
        if unknown:
            return (f"{opt.name} names {unknown[0]!r}, which is not a variable of {model.name}"
                    f"{did_you_mean(unknown[0], model.variables)}")
    return ""


#: The options of a ``fit`` statement: each a whole number, but ``missing`` and ``mass``
#: (names).
FIT_COUNTS = {"draws": 1, "warmup": 0, "chains": 1, "steps": 1, "bootstrap": 1, "seed": 0}


def _fit_option_problem(opt: A.Option) -> str:
    """Why a fit statement's option is wrong, or ''."""
    known = [*FIT_COUNTS, "missing", "mass"]
    if opt.name not in known:
        return (f"unknown option {opt.name!r} of fit; the options are {', '.join(known)}"
                f"{did_you_mean(opt.name, known)}")
    v = opt.value
    if opt.name == "missing":
        if opt.kind != "name" or v not in ("error", "drop"):
            return "missing = error (the default) or missing = drop (complete rows only)"
        return ""
    if opt.name == "mass":
        if opt.kind != "name" or v not in ("auto", "dense", "diagonal"):
            return ("mass = auto (the default: dense for up to 50 sampled dimensions), "
                    "mass = dense or mass = diagonal")
        return ""
    least = FIT_COUNTS[opt.name]
    if opt.kind != "number" or not (isinstance(v, float) and v.is_integer()
                                    and least <= v < 2 ** 32):
        return f"{opt.name} takes a whole number from {least} to 2**32 - 1"
    return ""
