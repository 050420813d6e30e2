"""Read a pgmpy discrete Bayesian network as a causal model (every variable observed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from causaldsl.core.errors import MechanismError, TableError
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
        variables.append(Variable(var, types[var], Role.OBSERVED, parents,
                                  Table(table, len(parents))))
    return CausalModel.from_variables(variables, name or str(getattr(network, "name", "") or "bn"))
