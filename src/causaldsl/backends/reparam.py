"""Reparameterisation for counterfactuals: a stochastic continuous mechanism
``Y ~ Normal(m, s)`` becomes ``Y := m + s * U_Y`` with explicit exogenous noise
``U_Y ~ Normal(0, 1)``, so worlds can share its noise. The same for the other location-scale
families (Laplace, Cauchy) and LogNormal (``exp(m + s * U)``)."""

from __future__ import annotations

from typing import Any

from causaldsl.core.types import Real, RealType
from causaldsl.ir.mechanism import ExprMechanism
from causaldsl.model.causal_model import CausalModel, Role, Variable
from causaldsl.syntax.diagnostics import NOWHERE
from causaldsl.syntax.printer import expr as show
from causaldsl.syntax.tree import Binary, Call, DistCall, Num, Var

#: family → (standard noise as a call, index of location, index of scale, does exp follow)
FAMILIES: dict[str, tuple[DistCall, int, int, bool]] = {
    "Normal": (DistCall("Normal", (Num(0.0, NOWHERE), Num(1.0, NOWHERE)), NOWHERE), 0, 1, False),
    "LogNormal": (DistCall("Normal", (Num(0.0, NOWHERE), Num(1.0, NOWHERE)), NOWHERE), 0, 1, True),
    "Laplace": (DistCall("Laplace", (Num(0.0, NOWHERE), Num(1.0, NOWHERE)), NOWHERE), 0, 1, False),
    "Cauchy": (DistCall("Cauchy", (Num(0.0, NOWHERE), Num(1.0, NOWHERE)), NOWHERE), 0, 1, False),
}


def reparameterise(model: CausalModel) -> tuple[CausalModel, dict[str, str]]:
    """The model with each stochastic continuous mechanism that has parents written over
    explicit noise, and a note per rewritten variable (``Y ~ Normal(2 * X, 1) reparameterised
    as Y := 2 * X + 1 * U_Y``)."""
    new: list[Variable] = []
    notes: dict[str, str] = {}
    for v in model.variables.values():
        m = v.mechanism
        if not (v.parents and isinstance(v.type, RealType) and isinstance(m, ExprMechanism)
                and m.kind == "sample" and isinstance(m.expr, DistCall)
                and m.expr.name in FAMILIES and len(m.expr.args) == 2):
            continue
        noise, loc, scale, exp = FAMILIES[m.expr.name]
        u = _fresh(f"U_{v.name}", model)
        body: Any = Binary("+", m.expr.args[loc],
                           Binary("*", m.expr.args[scale], Var(u, NOWHERE), NOWHERE), NOWHERE)
        if exp:
            body = Call("exp", (body,), NOWHERE)
        text = show(body)
        standard = ExprMechanism("sample", noise, f"{noise.name}(0, 1)")
        new.append(Variable(u, Real, Role.EXOGENOUS, (), standard))
        new.append(Variable(v.name, v.type, v.role, (*v.parents, u), ExprMechanism("assign", body, text)))
        notes[v.name] = f"{v.name} {m} reparameterised as {v.name} := {text}"
    if not new:
        return model, notes
    return model.replace(new), notes


def _fresh(name: str, model: CausalModel) -> str:
    out, k = name, 1
    while out in model.variables:
        k += 1
        out = f"{name}{k}"
    return out
