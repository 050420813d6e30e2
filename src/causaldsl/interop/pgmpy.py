"""Read a pgmpy discrete Bayesian network as a causal model (every variable observed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..mechanism import Table
from ..model import CausalModel, Role, Variable
from ..types import FiniteType


def from_pgmpy(network: Any, name: str | None = None) -> CausalModel:
    """Convert a pgmpy ``DiscreteBayesianNetwork`` (e.g. from ``get_example_model``)."""
    cpds = {cpd.variable: cpd for cpd in network.get_cpds()}
    types: dict[str, FiniteType] = {}
    for var, cpd in cpds.items():
        types[var] = FiniteType(var, list(cpd.state_names[var]))
    variables = []
    for var in network.nodes():
        cpd = cpds[var]
        parents = tuple(cpd.variables[1:])
        for p in parents:  # pgmpy lets a CPD order a parent's states its own way
            if list(cpd.state_names[p]) != list(types[p].values):
                raise ValueError(f"CPD of {var} orders the states of {p} differently")
        values = np.asarray(cpd.values, dtype=np.float64)  # (var, *parents)
        table = np.moveaxis(values, 0, -1)
        variables.append(Variable(var, types[var], Role.OBSERVED, parents,
                                  Table(table, len(parents))))
    return CausalModel.from_variables(variables, name or str(getattr(network, "name", "") or "bn"))
