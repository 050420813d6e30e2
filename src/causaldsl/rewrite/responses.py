"""The canonical response-function model: every stochastic table becomes a function of its
parents and a new exogenous response variable, whose values are the functions from parent
values to values. A table fixes only the marginal of each row, so the rows are taken to answer
independently: P(f) = Π_rows P(V = f(row) | row). This is an assumption the user opts into."""

from __future__ import annotations

import itertools
import math

import numpy as np

from causaldsl.core.errors import QueryError
from causaldsl.core.types import FiniteType, show_label
from causaldsl.ir.diagram import _fresh_names
from causaldsl.ir.mechanism import Table
from causaldsl.model.causal_model import CausalModel, Role, Variable, finite
from causaldsl.rewrite.worlds import deterministic

RESPONSE_MARK = "_response_functions"

#: The most response functions one variable may get (they are the values of a new variable).
MAX_RESPONSES = 2**16


def with_response_functions(model: CausalModel) -> CausalModel:
    """The model with each stochastic table that has parents replaced by ``V := f(parents, R_V)``
    for a new exogenous ``R_V`` over response functions with independent rows (see above)."""
    new: list[Variable] = []
    names = set(model.variables)
    for v in model.variables.values():
        m = v.mechanism
        if v.is_input or not v.parents or not isinstance(m, Table) or deterministic(m):
            continue
        t = finite(v.type, f"variable {v.name}")
        rows = m.array.reshape(-1, t.size)
        support = [np.flatnonzero(r > 0) for r in rows]
        n = math.prod(len(s) for s in support)
        if n > MAX_RESPONSES:
            raise QueryError(f"variable {v.name} would need {n:,} response functions, above the "
                             f"limit of {MAX_RESPONSES:,}; give it explicit noise instead")
        funcs = list(itertools.product(*support))
        probs = np.array([math.prod(rows[r, f[r]] for r in range(len(rows))) for f in funcs])
        want = f"R_{v.name}"
        name = _fresh_names([want], names)[want]
        names.add(name)
        labels = ["/".join(show_label(t.values[i]) for i in f) for f in funcs]
        rtype = FiniteType(f"{v.name}Responses", labels)
        psizes = m.shape[:-1]
        flat = np.zeros((len(rows), len(funcs), t.size))
        for k, f in enumerate(funcs):
            flat[np.arange(len(rows)), k, np.array(f, dtype=int)] = 1.0
        table = flat.reshape(*psizes, len(funcs), t.size)
        new.append(Variable(name, rtype, Role.EXOGENOUS, (), Table(probs / probs.sum(), 0)))
        new.append(Variable(v.name, v.type, v.role, (*v.parents, name), Table(table, len(psizes) + 1)))
    if not new:
        return model
    out = model.replace(new)
    out.__dict__[RESPONSE_MARK] = True  # answers then name the assumption (quantities.py)
    return out

