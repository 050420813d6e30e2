"""pyAgrum Bayesian networks in and out: ``from_pyagrum(bn)`` and ``to_pyagrum(model)``.

pyAgrum's variables are labelled (``LabelizedVariable``): a model's labels are written as
names (``show_label``: the integer 0 as "0", true as "true") and read back as names. A CPT's
parents are in the order of its variables (pyAgrum keeps the order arcs were added in), and
``toarray()`` has its axes in the reverse of that order; the tables here have axes
(*parents, variable). pyAgrum has no latent variables: a latent or exogenous variable is
written as a node like any other, and read back observed. pyAgrum is optional (the
``pyagrum`` extra): it is imported when these are called."""

from __future__ import annotations

from typing import Any

import numpy as np

from causaldsl.core.types import FiniteType, show_label
from causaldsl.interop.pgmpy import tabular
from causaldsl.ir.mechanism import Table
from causaldsl.model.causal_model import CausalModel, Role, Variable


def from_pyagrum(bn: Any, name: str | None = None) -> CausalModel:
    """A pyAgrum ``BayesNet`` as a causal model, every variable observed, its labels names in
    pyAgrum's order; named ``name``, else as the network is, else "bn"."""
    types = {}
    for node in bn.nodes():
        var = bn.variable(node)
        types[var.name()] = FiniteType(var.name(), list(var.labels()))
    variables = []
    for node in bn.topologicalOrder():
        cpt = bn.cpt(node)
        axes = list(reversed(cpt.names))  # names are (variable, *parents); toarray() reverses
        var, parents = cpt.variable(0).name(), [cpt.variable(i).name() for i in
                                                 range(1, cpt.nbrDim())]
        arr = np.transpose(np.asarray(cpt.toarray(), dtype=np.float64),
                           [axes.index(n) for n in (*parents, var)])
        variables.append(Variable(var, types[var], Role.OBSERVED, tuple(parents),
                                  Table(arr, len(parents))))
    return CausalModel.from_variables(variables, name or _name(bn) or "bn")


def _name(bn: Any) -> str:
    """The network's ``name`` property, or "" where it has none (pyAgrum raises NotFound)."""
    try:
        return str(bn.property("name"))
    except Exception:  # pyAgrum's NotFound, which only pyagrum's module names
        return ""


def to_pyagrum(model: CausalModel) -> Any:
    """A model with a table over finite types for each variable as a pyAgrum ``BayesNet``
    named as the model; the rest (an input, a continuous variable) is refused, naming it."""
    import pyagrum as gum

    variables = list(model.variables.values())
    for v in variables:
        tabular(v, model, "a pyAgrum network")
    bn = gum.BayesNet(model.name)
    for v in variables:
        assert isinstance(v.type, FiniteType)
        bn.add(gum.LabelizedVariable(v.name, v.name, [show_label(x) for x in v.type.values]))
    for v in variables:
        for p in v.parents:
            bn.addArc(p, v.name)
    for v in variables:
        assert isinstance(v.mechanism, Table)
        cpt = bn.cpt(v.name)
        order = (*v.parents, v.name)
        arr = np.transpose(v.mechanism.array, [order.index(n) for n in reversed(cpt.names)])
        cpt.fillWith(arr.reshape(-1).tolist())
    return bn
