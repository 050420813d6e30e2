"""A model as .causal source: ``model_source(model)`` is canonical text (what ``causal fmt``
writes) that reads back as the same model: the same variables, roles, types, parents and
tables, every number written exactly (``repr``), every label bare or quoted as it must be.

A model built in Python or read from another format (BIF) may hold what the language cannot
write; each such thing is refused, naming it: an input (a cut variable), a variable without a
mechanism (unless none has one: a graph, written as a graph block), a variable whose name is
no name of the language (``a b``, ``2x``, ``table``), and a label with a line break. A model's
own name that the language cannot write is written with ``_`` for each character it cannot
hold (``Dog-Problem`` → ``Dog_Problem``)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from causaldsl.core.errors import CausalError
from causaldsl.core.types import Bool, FiniteType, Opaque, RealType, Type
from causaldsl.ir.mechanism import ExprMechanism, Table, UnknownTable
from causaldsl.lang.files import write_regular
from causaldsl.lang.fmt import INDENT, WIDTH, key, label, num, typ
from causaldsl.lang.fmt import is_name as _is_name
from causaldsl.model.causal_model import CausalModel, Role, Variable


def model_source(model: CausalModel) -> str:
    """The model as .causal text: its named types, then the model block; a model without
    mechanisms (a graph) as a graph block (``graph_source``)."""
    name = writable_name(model.name)
    variables = list(model.variables.values())
    if variables and all(v.mechanism is None for v in variables):
        return graph_source(model)
    for v in variables:
        _check(v, model.name)
    names = _type_names(variables, name)
    lines = [f"type {n} = {_listing(t)}" for n, t in names.items()]
    shown = {t: n for n, t in names.items()}
    if lines:
        lines.append("")
    lines.append(f"model {name} {{")
    lines.extend(f"{INDENT}param {p.name} {p.prior}" for p in model.parameter_items)
    for v in variables:
        lines.extend(_item(v, model, shown))
    lines.append("}")
    return "\n".join(lines) + "\n"


def graph_source(model: CausalModel) -> str:
    """A model without mechanisms as a graph block that reads back as it: each variable
    declared in order with its role and type (none where it has none), then an edge
    ``P -> X`` for each parent, in order. A hidden common cause stays the latent variable it is
    (``latent U_A_B`` with its two edges): ``A <-> B`` would name it anew."""
    name = writable_name(model.name)
    variables = list(model.variables.values())
    for v in variables:
        _check(v, model.name, graph=True)
    names = _type_names([v for v in variables if v.type is not Opaque], name)
    lines = [f"type {n} = {_listing(t)}" for n, t in names.items()]
    shown = {t: n for n, t in names.items()}
    if lines:
        lines.append("")
    lines.append(f"graph {name} {{")
    for v in variables:
        role = "" if v.role is Role.OBSERVED else f"{v.role} "
        typed = "" if v.type is Opaque else f" : {_type(v.type, shown)}"
        lines.append(f"{INDENT}{role}{v.name}{typed}")
    lines.extend(f"{INDENT}{p} -> {v.name}" for v in variables for p in v.parents)
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_causal(model: CausalModel, path: str | Path) -> None:
    """Write the model as a .causal file (made or replaced; only a regular file)."""
    write_regular(path, model_source(model).encode("utf-8"))


def writable_name(name: str) -> str:
    """A model's name as the language can write it: itself, or with ``_`` for each character
    a name cannot hold (and after a keyword, or before a first digit)."""
    if _is_name(name):
        return name
    out = re.sub(r"[^A-Za-z0-9_']", "_", name)
    out = out if re.match(r"[A-Za-z_]", out) else "_" + out
    return out if _is_name(out) else out + "_"


def _check(v: Variable, model: str, graph: bool = False) -> None:
    where = f"variable {v.name!r} of model {model}"
    if not _is_name(v.name):
        raise CausalError(f"{where} cannot be written in a .causal file: a variable's name is "
                          "letters, digits, _ and ', not first a digit, and not a keyword")
    if v.is_input:
        raise CausalError(f"{where} is an input (it was cut); a .causal file cannot write one")
    if v.mechanism is None and not graph:
        raise CausalError(f"{where} has no mechanism; a .causal model gives each variable one "
                          "(a graph block, none)")
    if isinstance(v.type, FiniteType):
        for lab in v.type.values:
            if isinstance(lab, str) and ("\n" in lab or "\r" in lab):
                raise CausalError(f"the label {lab!r} of {where} holds a line break, which no "
                                  ".causal label can hold")


def _type_names(variables: list[Variable], model: str) -> dict[str, FiniteType]:
    """The named finite types to write as ``type`` statements: those whose name the language
    can write, given to one list of values only, and naming neither the model nor one of its
    variables (pgmpy names each variable's type after it); ``Bool`` is built in."""
    found: dict[str, set[FiniteType]] = {}
    for v in variables:
        t = v.type
        if isinstance(t, FiniteType) and t.name:
            found.setdefault(t.name, set()).add(t)
    taken = {model, "Bool", "Real", *(v.name for v in variables)}
    return {n: next(iter(ts)) for n, ts in found.items()
            if len(ts) == 1 and n not in taken and _is_name(n)}


def _listing(t: FiniteType) -> str:
    return "{" + ", ".join(label(x) for x in t.values) + "}"


def _type(t: Type, shown: dict[FiniteType, str]) -> str:
    if isinstance(t, FiniteType):
        if t.name == "Bool" and t == Bool:
            return "Bool"
        return t.name if t.name is not None and shown.get(t) == t.name else _listing(t)
    if isinstance(t, RealType):
        return typ(t)  # as a written Real type: its bounds
    raise CausalError(f"the type {t} cannot be written in a .causal model")


def _item(v: Variable, model: CausalModel | _Parents, shown: dict[FiniteType, str]
          ) -> list[str]:
    role = "" if v.role is Role.OBSERVED else f"{v.role} "
    head = f"{INDENT}{role}{v.name} : {_type(v.type, shown)}"
    m = v.mechanism
    if isinstance(m, ExprMechanism):
        return [f"{head} {m}"]
    if isinstance(m, UnknownTable):
        prior = m.prior_text()
        if prior is None:
            raise CausalError(f"the prior of variable {v.name!r} of model {model.name} differs "
                              "from row to row, which a .causal file cannot write")
        table = f"table({', '.join(v.parents)}) " if v.parents else ""
        return [f"{head} ~ {table}unknown" + (f" {prior}" if prior else "")]
    assert isinstance(m, Table)
    arr = m.array
    if not v.parents:
        return [f"{head} ~ [{', '.join(num(x) for x in arr)}]"]
    ptypes = [t for p in v.parents if isinstance(t := model.variables[p].type, FiniteType)]
    rows = []
    for idx in itertools.product(*(range(t.size) for t in ptypes)):
        labels = tuple(t.values[i] for t, i in zip(ptypes, idx, strict=True))
        rows.append(f"{key(labels)}: [{', '.join(num(x) for x in arr[idx])}]")
    opening = f"{head} ~ table({', '.join(v.parents)}) {{"
    one = f"{opening} {', '.join(rows)} }}"
    if len(one) <= WIDTH:
        return [one]
    return [opening, *(f"{INDENT * 2}{r}," for r in rows[:-1]), f"{INDENT * 2}{rows[-1]}",
            f"{INDENT}}}"]


def elaborate_built(name: str, items: list[Variable | tuple[str, Type, Role, str]],
                    params: dict[str, str]) -> CausalModel:
    """A model from the Python builder that has equations or parameters: written as .causal
    text (tables as the writer writes them, equations as given) and elaborated, so that it is
    checked as a file is; errors point into that text, named ``<builder model NAME>``."""
    import dataclasses

    from causaldsl.lang.loader import parse

    for what, text in [*((f"the prior of parameter {p}", t) for p, t in params.items()),
                       *((f"the equation of variable {v[0]}", v[3]) for v in items
                         if not isinstance(v, Variable))]:
        if any(c in text for c in "\n\r;{}#"):
            raise CausalError(f"{what} is one expression on one line, without ; {{ }} or #: "
                              f"{text!r}")
    model = writable_name(name)
    variables = [v for v in items if isinstance(v, Variable)]
    typed = variables + [Variable(n, t, r) for n, t, r, _ in
                         (v for v in items if not isinstance(v, Variable))]
    names = _type_names(typed, model)
    shown = {t: n for n, t in names.items()}
    lines = [f"type {n} = {_listing(t)}" for n, t in names.items()]
    lines.append(f"model {model} {{")
    lines.extend(f"{INDENT}param {p} ~ {prior}" for p, prior in params.items())
    partial = CausalModel.from_variables([], model)
    for v in items:
        if isinstance(v, Variable):
            _check(v, model)
            lines.extend(_item(v, _Parents(partial, typed), shown))
        else:
            n, t, r, text = v
            role = "" if r is Role.OBSERVED else f"{r} "
            lines.append(f"{INDENT}{role}{n} : {_type(t, shown)} {text}")
    lines.append("}")
    prog = parse("\n".join(lines) + "\n", f"<builder model {name}>")
    built = prog.models[model]
    return built if built.name == name else dataclasses.replace(built, name=name)


class _Parents:
    """What ``_item`` reads of a model: its name and its variables' types (before it exists)."""

    def __init__(self, model: CausalModel, variables: list[Variable]):
        self.name = model.name
        self.variables = {v.name: v for v in variables}
