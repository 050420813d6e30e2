"""Checks of a query against a model, before any backend sees it: unknown, latent or repeated
variables, values outside a type, and what a backend could not answer (the same messages for
``causal check`` and ``causal run``)."""

from __future__ import annotations

from causaldsl.core.errors import LatentQueryError, QueryError, UnknownVariableError
from causaldsl.core.types import FiniteType, Label, OpaqueType, RealType, show_label
from causaldsl.model.causal_model import CausalModel, Role, did_you_mean
from causaldsl.syntax.query import (
    Event,
    Expect,
    Linear,
    Prob,
    Query,
    density_error,
    is_table,
    not_numeric_error,
    open_continuous_error,
    table_term_error,
    terms_of,
)


def check_query(model: CausalModel, q: Prob, untyped_labels: bool = False) -> None:
    """Raise a clear error for an unknown, latent or repeated variable, or a bad value.

    ``untyped_labels``: a graph node without a type takes any label (identification only
    writes it into the formula); else such a value is an error, as the node has no values."""
    seen: dict[str, str] = {}
    for kind, events in (("outcome", q.outcomes), ("intervention", q.interventions),
                         ("evidence", q.evidence)):
        for e in events:
            _check_variable(model, q, e.var, kind)
            if e.world:
                if kind == "intervention":
                    raise QueryError(f"{q}: do({e.term}) intervenes on a potential outcome; "
                                     f"write do({e.var} = …), or put the setting in a world")
                _check_world(model, q, e)
            if e.term in seen:
                raise QueryError(f"{q}: {e.term} is given twice" if seen[e.term] == kind else
                                 f"{q}: {e.term} appears both as {seen[e.term]} and as {kind}")
            seen[e.term] = kind
            if e.value is not None and not (
                    untyped_labels and isinstance(model.variables[e.var].type, OpaqueType)):
                check_value(model, q, e.var, e.value)
    if not q.outcomes:
        raise QueryError(f"{q}: a query needs at least one outcome variable")


def check_answerable(model: CausalModel, q: Query) -> None:
    """Raise what answering ``q`` on ``model`` would raise before computing anything, term by
    term in the order the backends meet it: :func:`check_query`, a continuous variable asked
    for its probability or left without a value, the expectation of labels that are not
    numbers, a term of a sum that is a table. ``causal check`` calls it, so it rejects what
    ``causal run`` does, with the same message (the backends build theirs with the functions
    below)."""
    for _, term in terms_of(q):
        prob = term.prob if isinstance(term, Expect) else term
        check_query(model, prob)
        if isinstance(term, Prob):
            for e in prob.outcomes:
                if isinstance(model.variables[e.var].type, RealType):
                    raise density_error(prob, e.term)
        for e in (*prob.interventions, *prob.evidence):
            if e.value is None and isinstance(model.variables[e.var].type, RealType):
                raise open_continuous_error(term, e.var)
        if isinstance(term, Expect):
            (ev,) = prob.outcomes
            t = model.variables[ev.var].type
            if isinstance(t, FiniteType) and t.numeric() is None:
                raise not_numeric_error(ev.term, t)
        if isinstance(q, Linear) and is_table(term):
            raise table_term_error(q, term, "a table of expectations" if isinstance(term, Expect)
                                   else "a distribution")


def _check_variable(model: CausalModel, q: Prob, var: str, kind: str) -> None:
    if var not in model.variables:
        raise UnknownVariableError(f"{q}: {var!r} is not a variable of model "
                                   f"{model.name}{did_you_mean(var, model.variables)}")
    role = model.roles[var]
    if var in model.inputs and kind != "intervention":
        raise QueryError(f"{q}: {var} is an input of model {model.name} (it was cut); "
                         f"set it with do({var} = …), or ask for the whole channel "
                         f"with do({var})")
    if role is not Role.OBSERVED:
        raise LatentQueryError(f"{q}: {var} is {role} in model {model.name}; a query "
                               "can only mention observed variables")


def check_value(model: CausalModel, q: Prob, var: str, value: Label) -> None:
    """Raise a QueryError unless ``value`` is a value of ``var``'s type."""
    t = model.variables[var].type
    if isinstance(t, RealType):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise QueryError(f"{q}: {var} is continuous, so its value must be a number, not "
                             f"{value!r}")
        try:
            float(value)
        except OverflowError:  # an integer beyond the floats
            raise QueryError(f"{q}: {var} = {value} is too large (it overflows a float)") from None
        if not t.low <= value <= t.high:
            raise QueryError(f"{q}: {var} = {value:g} is outside the bounds of {var} : {t}")
        return
    if isinstance(t, OpaqueType):
        raise QueryError(f"{q}: {var} = {show_label(value)} needs the values of {var}, which has "
                         f"no type in {model.name}; declare one, e.g. `{var} : YesNo`")
    if t.size is None:
        raise QueryError(f"{q}: {var} has type {t}; exact queries need finite types")
    if value not in t:
        raise QueryError(f"{q}: {value!r} is not a value of {var} : {t}; its "
                         f"values are {t.listing}")


def _check_world(model: CausalModel, q: Prob, e: Event) -> None:
    """The settings of a potential outcome's world: known observed variables, each set once,
    to a value of its type or to a potential outcome of the same type."""
    set_here: set[str] = set()
    for var, value in e.world:
        _check_variable(model, q, var, "intervention")
        if var in set_here:
            raise QueryError(f"{q}: {e.term} sets {var} twice")
        set_here.add(var)
        if isinstance(value, Event):
            _check_variable(model, q, value.var, "outcome")
            _check_world(model, q, value)
            want, got = model.variables[var].type, model.variables[value.var].type
            if want != got:
                raise QueryError(f"{q}: {e.term} sets {var} : {want} to {value.term} : {got}; "
                                 "the types differ")
        elif value is None:
            if not isinstance(model.variables[var].type, FiniteType):
                raise QueryError(f"{q}: {e.term} leaves {var} open (every value at once), but "
                                 f"{var} : {model.variables[var].type} is not finite; set it "
                                 "to a value")
        else:
            check_value(model, q, var, value)
