"""pgmpy discrete Bayesian networks in and out: ``from_pgmpy(net)`` and ``to_pgmpy(model)``.

A network's nodes become variables with finite types (its state names, in its order) and
tables with axes (*parents, variable); nodes in the network's ``latents`` are latent, the rest
observed. ``to_pgmpy`` writes every variable (latent and exogenous ones into ``latents``) as a
``TabularCPD`` whose state names are the type's labels, as they are (so integer and boolean
labels come back as themselves). pgmpy is optional: it is imported when these are called."""

from __future__ import annotations

from typing import Any

import numpy as np

from causaldsl.core.errors import CausalError, MechanismError, TableError
from causaldsl.core.types import FiniteType
from causaldsl.ir.mechanism import Table
from causaldsl.model.causal_model import CausalModel, Role, Variable


def from_pgmpy(network: Any, name: str | None = None) -> CausalModel:
    """Convert a pgmpy ``DiscreteBayesianNetwork`` (e.g. from ``get_example_model``)."""
    cpds = {cpd.variable: cpd for cpd in network.get_cpds()}
    for var in network.nodes():
        if var not in cpds:
            raise MechanismError(f"node {var} of the pgmpy network has no CPD")
    types: dict[str, FiniteType] = {}
    for var, cpd in cpds.items():
        types[var] = FiniteType(var, list(cpd.state_names[var]))
    latents = set(getattr(network, "latents", ()) or ())
    variables = []
    for var in network.nodes():
        cpd = cpds[var]
        parents = tuple(cpd.variables[1:])
        values = np.asarray(cpd.values, dtype=np.float64)  # (var, *parents)
        for axis, p in enumerate(parents, start=1):  # a CPD may order a parent's states its own way
            states = list(cpd.state_names[p])
            if states != list(types[p].values):
                if sorted(map(str, states)) != sorted(map(str, types[p].values)):
                    raise TableError(f"CPD of {var} names states {states} for {p}, but {p} has "
                                     f"states {list(types[p].values)}")
                order = [states.index(s) for s in types[p].values]
                values = np.take(values, order, axis=axis)
        table = np.moveaxis(values, 0, -1)
        role = Role.LATENT if var in latents else Role.OBSERVED
        variables.append(Variable(var, types[var], role, parents, Table(table, len(parents))))
    return CausalModel.from_variables(variables, name or str(getattr(network, "name", "") or "bn"))


def to_pgmpy(model: CausalModel) -> Any:
    """A model with a table over finite types for each variable as a pgmpy
    ``DiscreteBayesianNetwork`` (named as the model); latent and exogenous variables are its
    ``latents``. Anything else (an input, a continuous variable, an expression) is refused,
    naming it."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    variables = list(model.variables.values())
    for v in variables:
        tabular(v, model, "a pgmpy network")
    net = DiscreteBayesianNetwork()
    net.name = model.name
    net.add_nodes_from(v.name for v in variables)
    net.add_edges_from((p, v.name) for v in variables for p in v.parents)
    hidden = [v.name for v in variables if v.role is not Role.OBSERVED]
    if hidden:
        net.with_role("latents", hidden, inplace=True)
    for v in variables:
        assert isinstance(v.mechanism, Table) and isinstance(v.type, FiniteType)
        ptypes = [t for p in v.parents if isinstance(t := model[p].type, FiniteType)]
        arr = v.mechanism.array  # (*parents, variable) → (variable, rows), first parent outermost
        values = np.moveaxis(arr, -1, 0).reshape(v.type.size, -1)
        net.add_cpds(TabularCPD(
            v.name, v.type.size, values, evidence=list(v.parents) or None,
            evidence_card=[t.size for t in ptypes] or None,
            state_names={v.name: list(v.type.values),
                         **{p: list(t.values) for p, t in zip(v.parents, ptypes, strict=True)}}))
    return net


def tabular(v: Variable, model: CausalModel, target: str) -> None:
    """Refuse a variable that a peer's network cannot hold: an input, one without a finite type
    or without a table."""
    if v.is_input:
        raise CausalError(f"variable {v.name} of model {model.name} is an input (it was cut); "
                          f"{target} holds variables with tables")
    if not isinstance(v.type, FiniteType) or not isinstance(v.mechanism, Table):
        why = (f"its type is {v.type}" if not isinstance(v.type, FiniteType) else
               "it has no mechanism" if v.mechanism is None else f"its mechanism is {v.mechanism}")
        raise CausalError(f"variable {v.name} of model {model.name} has no table ({why}); "
                          f"{target} holds tables over finite types")
