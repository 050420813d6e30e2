"""Named counterfactual quantities with their textbook definitions (docs/counterfactuals.md):
ETT, NDE, NIE, the controlled direct effect, and PN, PS, PNS. Each returns an :class:`Answer`
that carries the value, the definition in potential outcomes, and what the value rests on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from causaldsl.core.errors import NotDeterminedError, QueryError
from causaldsl.core.types import FiniteType, Label
from causaldsl.model.causal_model import CausalModel, finite
from causaldsl.model.distribution import Distribution
from causaldsl.rewrite.responses import RESPONSE_MARK
from causaldsl.rewrite.worlds import deterministic
from causaldsl.syntax.query import Event, Expect, Linear, Prob, show_value

if TYPE_CHECKING:
    import networkx as nx

    from causaldsl.model.graph import ADMG

#: A model (its mechanisms answer), or a graph (identified, then evaluated on data).
Source: TypeAlias = "CausalModel | ADMG | nx.DiGraph"

EXPLICIT = "the model's structural equations and the distribution of its exogenous noise"
INDEPENDENT = ("independent noise: each table has noise of its own, independent of all other "
               "noise (the tables do not say how one table's noise is shared between worlds, "
               "and this quantity never needs it: each table is read in one world only)")
RESPONSES = ("the canonical response-function model chosen with with_response_functions(): "
             "each row of each table answers independently of the others")
INTERVENTIONAL = "none beyond the model: an interventional (rung 2) quantity"


@dataclass(frozen=True)
class Answer:
    """A named quantity: ``value``, its ``definition`` in potential outcomes, the ``formula`` it
    was computed by, and the ``assumption`` the value rests on."""

    name: str
    value: float
    definition: str
    formula: str
    assumption: str

    def __float__(self) -> float:
        return self.value

    def __str__(self) -> str:
        return (f"{self.name} = {self.value:.6g}\n  definition: {self.definition}\n"
                f"  formula:    {self.formula}\n  assumption: {self.assumption}")


def ett(model: Source, treatment: str, outcome: str, *, treated: Label | None = None,
        control: Label | None = None, outcome_value: Label | None = None,
        data: Any = None) -> Answer:
    """Effect of treatment on the treated: E[Y[X = x1] − Y[X = x0] | X = x1]."""
    x1, x0 = _levels(model, treatment, treated, control)
    given = (Event(treatment, x1),)
    q = _difference(_term(outcome, outcome_value, ((treatment, x1),), given),
                    _term(outcome, outcome_value, ((treatment, x0),), given))
    if _from_data(model, data):
        return _identified("ETT", model, q, data)
    assert isinstance(model, CausalModel)
    formula = _ett_formula(model, treatment, outcome, x1, x0, _given(outcome, outcome_value))
    return _answer(model, "ETT", q, formula, INDEPENDENT)


def _ett_formula(model: CausalModel, treatment: str, outcome: str, x1: Label, x0: Label,
                 y: Callable[[str], str]) -> str:
    """The back-door adjustment ETT equals, over the set it adjusts for: the observed parents
    of the treatment where they are a back-door set, else a minimal back-door set; without
    one, what the value rests on instead."""
    from causaldsl.analysis.adjustment import backdoor_admissible, find_backdoor_set

    g = model.admg()
    x1_, x0_ = f"{treatment} = {show_value(x1)}", f"{treatment} = {show_value(x0)}"
    if outcome not in g.nodes or treatment not in g.nodes:
        z: frozenset[str] | None = None
    else:
        parents = frozenset(g.parents(treatment))
        z = parents if backdoor_admissible(g, treatment, outcome, parents) else \
            find_backdoor_set(g, treatment, outcome)
    if z is None:
        return (f"no set of observed variables blocks the back-door paths from {treatment} to "
                f"{outcome}, so no adjustment gives ETT; the value is the definition evaluated "
                "in the multi-world model, where every table (latent ones included) is read "
                "in one world only")
    if not z:
        return (f"{y(x1_)} − {y(x0_)} ({treatment} and {outcome} have no back-door path: "
                "nothing to adjust for)")
    zs = sorted(z, key=lambda v: list(g.nodes).index(v))
    low = ", ".join(v.lower() for v in zs)
    which = (f"the observed parents of {treatment}" if z == frozenset(g.parents(treatment))
             else "a minimal back-door set")
    sub = low if len(zs) == 1 else "{" + low + "}"
    return (f"Σ_{sub} ({y(f'{x1_}, {low}')} − {y(f'{x0_}, {low}')}) P({low} | {x1_}), "
            f"over {{{', '.join(zs)}}}: {which}, a back-door set for {treatment} → {outcome} "
            "(back-door adjustment)")


def nde(model: Source, treatment: str, outcome: str, mediator: str | Sequence[str], *,
        treated: Label | None = None, control: Label | None = None,
        outcome_value: Label | None = None, data: Any = None) -> Answer:
    """Natural direct effect: E[Y[X = x1, M = M[X = x0]]] − E[Y[X = x0]] (Pearl 2001)."""
    return _natural("NDE", model, treatment, outcome, mediator, treated, control, outcome_value,
                    data)


def nie(model: Source, treatment: str, outcome: str, mediator: str | Sequence[str], *,
        treated: Label | None = None, control: Label | None = None,
        outcome_value: Label | None = None, data: Any = None) -> Answer:
    """Natural indirect effect: E[Y[X = x0, M = M[X = x1]]] − E[Y[X = x0]] (Pearl 2001)."""
    return _natural("NIE", model, treatment, outcome, mediator, treated, control, outcome_value,
                    data)


def _natural(name: str, model: Source, treatment: str, outcome: str,
             mediator: str | Sequence[str], treated: Label | None, control: Label | None,
             outcome_value: Label | None, data: Any) -> Answer:
    """NDE sets X = x1 and M to its value under x0; NIE sets X = x0 and M to its value under x1.
    Both subtract E[Y[X = x0]]."""
    x1, x0 = _levels(model, treatment, treated, control)
    x, xm = (x1, x0) if name == "NDE" else (x0, x1)
    ms = _names(mediator)
    if not ms:
        raise QueryError(f"{name} needs at least one mediator between {treatment} and "
                         f"{outcome}; with none, every effect is direct: the total effect "
                         f"E[{outcome}[{treatment} = x1]] − E[{outcome}[{treatment} = x0]] is the "
                         "NDE and the NIE is 0")
    natural = tuple((m, Event(m, None, ((treatment, xm),))) for m in ms)
    q = _difference(_term(outcome, outcome_value, ((treatment, x), *natural)),
                    _term(outcome, outcome_value, ((treatment, x0),)))
    if _from_data(model, data):
        return _identified(name, model, q, data)
    assert isinstance(model, CausalModel)
    formula = _mediation_formula(model, name, q)
    return _answer(model, name, q, formula, INDEPENDENT)


def _mediation_formula(model: CausalModel, name: str, q: Linear) -> str:
    """Pearl's mediation formula over the observed variables, as ID* finds it on the model's
    graph view (its covariates are the ones the graph needs, not assumed to be the treatment's
    parents), or why there is none."""
    from causaldsl.core.errors import CausalError
    from causaldsl.counterfactual.identified import identify_quantity

    try:
        return ("Pearl's mediation formula, found by ID* on the graph: "
                f"{identify_quantity(model, name, q).formula()}")
    except CausalError as e:
        return (f"no mediation formula over the observed variables ({e}); the value is the "
                "definition evaluated in the multi-world model, where every table (latent "
                "ones included) is read in one world only")


def cde(model: Source, treatment: str, outcome: str, mediator: str | Sequence[str],
        mediator_value: Label | Sequence[Label], *, treated: Label | None = None,
        control: Label | None = None, outcome_value: Label | None = None,
        data: Any = None) -> Answer:
    """Controlled direct effect: E[Y[X = x1, M = m]] − E[Y[X = x0, M = m]]."""
    x1, x0 = _levels(model, treatment, treated, control)
    ms = _names(mediator)
    values: tuple[Label, ...] = ((mediator_value,) if isinstance(mediator, str)  # type: ignore[assignment]
                                 else tuple(mediator_value))  # type: ignore[arg-type]
    if len(values) != len(ms):
        raise QueryError(f"cde: {len(ms)} mediators but {len(values)} mediator values")
    if not ms:
        raise QueryError("cde needs at least one mediator to hold fixed")
    held = tuple(zip(ms, values, strict=True))
    q = _difference(_term(outcome, outcome_value, ((treatment, x1), *held)),
                    _term(outcome, outcome_value, ((treatment, x0), *held)))
    if _from_data(model, data):
        return _identified("CDE", model, q, data)
    setting = ", ".join(f"{m} = {show_value(v)}" for m, v in held)
    y = _given(outcome, outcome_value)
    formula = (f"{y(f'do({treatment} = {show_value(x1)}, {setting})')} − "
               f"{y(f'do({treatment} = {show_value(x0)}, {setting})')} (truncated factorisation)")
    return _answer(model, "CDE", q, formula, INTERVENTIONAL)


def pn(model: Source, treatment: str, outcome: str, *, treated: Label | None = None,
       control: Label | None = None, outcome_value: Label | None = None, data: Any = None
        ) -> Answer:
    """Probability of necessity: P(Y[X = x0] = y0 | X = x1, Y = y1)."""
    return _probability("PN", model, treatment, outcome, treated, control, outcome_value, data)


def ps(model: Source, treatment: str, outcome: str, *, treated: Label | None = None,
       control: Label | None = None, outcome_value: Label | None = None, data: Any = None
        ) -> Answer:
    """Probability of sufficiency: P(Y[X = x1] = y1 | X = x0, Y = y0)."""
    return _probability("PS", model, treatment, outcome, treated, control, outcome_value, data)


def pns(model: Source, treatment: str, outcome: str, *, treated: Label | None = None,
        control: Label | None = None, outcome_value: Label | None = None, data: Any = None
        ) -> Answer:
    """Probability of necessity and sufficiency: P(Y[X = x1] = y1, Y[X = x0] = y0)."""
    return _probability("PNS", model, treatment, outcome, treated, control, outcome_value, data)


def _probability(name: str, model: Source, treatment: str, outcome: str,
                 treated: Label | None, control: Label | None,
                 outcome_value: Label | None, data: Any = None) -> Answer:
    x1, x0 = _levels(model, treatment, treated, control)
    y1, y0 = _binary(model, outcome, outcome_value)
    yes, no = Event(outcome, y1, ((treatment, x1),)), Event(outcome, y0, ((treatment, x0),))
    q = {"PN": Prob((no,), (), (Event(treatment, x1), Event(outcome, y1))),
         "PS": Prob((yes,), (), (Event(treatment, x0), Event(outcome, y0))),
         "PNS": Prob((yes, no))}[name]
    if _from_data(model, data):
        return _identified(name, model, q, data)
    return _answer(model, name, q, None, INDEPENDENT, treatment, outcome)


# -- helpers ----------------------------------------------------------------------------------

def _from_data(source: Source, data: Any) -> bool:
    """Whether the quantity is identified on a graph and evaluated on data (a graph, or a
    model given ``data``), rather than computed on a model's mechanisms."""
    if isinstance(source, CausalModel) and data is None:
        return False
    if data is None:
        raise QueryError("a graph has no tables: give the observational data, data=... (a "
                         "DataFrame, a CSV or Parquet file, a joint table with names=..., or "
                         "a model whose observational distribution stands for the data)")
    return True


def _identified(name: str, source: Source, q: Prob | Linear, data: Any) -> Answer:
    """The quantity by ID* on the source's graph, evaluated on ``data``."""
    from causaldsl.counterfactual.identified import GRAPH, identify_quantity

    iq = identify_quantity(source, name, q)
    return Answer(name, iq.evaluate(data), str(q), iq.formula(), GRAPH)


def _answer(model: Source, name: str, q: Prob | Linear, formula: str | None,
            assumption: str, treatment: str = "", outcome: str = "") -> Answer:
    assert isinstance(model, CausalModel)  # a graph went to _identified (_from_data)
    explicit = all(deterministic(v.mechanism) for v in model.variables.values() if v.parents)
    from causaldsl.backends.exact import engine_for

    try:
        value = engine_for(model).query(q)
    except NotDeterminedError as e:
        hint = (f". For {name}: causaldsl.counterfactual.bounds_from(model, {name!r}, "
                f"{treatment!r}, {outcome!r}) gives its sharp bounds from P({treatment}, "
                f"{outcome}) and P({outcome} | do({treatment}))" if treatment else "")
        raise NotDeterminedError(f"{name}: {e}{hint}") from None
    if isinstance(value, Distribution):
        raise QueryError(f"{name}: {q} is not a number; give the outcome a value "
                         "(outcome_value=...) or numeric labels")
    if explicit:
        return Answer(name, float(value), str(q), f"{q} in the multi-world model (abduction, "
                      "action and prediction as one conditioned contraction)",
                      RESPONSES if model.__dict__.get(RESPONSE_MARK) else EXPLICIT)
    if formula is None:
        formula = f"{q} in the multi-world model, where every table is read in one world only"
    return Answer(name, float(value), str(q), formula, assumption)


def _levels(model: Source, treatment: str, treated: Label | None,
            control: Label | None) -> tuple[Label, Label]:
    """Treated and control values of the model's treatment (see :func:`levels_of`); on a graph,
    whose nodes have no values, 1 and 0 unless said."""
    if not isinstance(model, CausalModel):
        x1, x0 = (1 if treated is None else treated), (0 if control is None else control)
        if x1 == x0:
            raise QueryError(f"treated and control are the same value {x1!r} of {treatment}")
        return x1, x0
    return levels_of(finite(model[treatment].type, f"treatment {treatment}"), treatment,
                     treated, control)


def levels_of(t: FiniteType, treatment: str, treated: Label | None, control: Label | None
              ) -> tuple[Label, Label]:
    """Treated and control values of a treatment of type ``t``. On a two-valued treatment the
    defaults are its second and first value, and one given alone makes the other the other
    value."""
    for x in (treated, control):
        if x is not None and x not in t:
            raise QueryError(f"{x!r} is not a value of {treatment} : {t}; its values are "
                             f"{t.listing}")
    if (treated is None or control is None) and t.size != 2:
        raise QueryError(f"{treatment} has {t.size} values {t.listing}; say which is treated "
                         "and which is control (treated=..., control=...)")
    if treated is not None and control is not None:
        x1, x0 = treated, control
    elif treated is not None:
        x1, x0 = treated, t.values[1 - t.index(treated)]
    elif control is not None:
        x1, x0 = t.values[1 - t.index(control)], control
    else:
        x1, x0 = t.values[-1], t.values[0]
    if t.index(x1) == t.index(x0):
        raise QueryError(f"treated and control are the same value {x1!r} of {treatment}")
    return t.values[t.index(x1)], t.values[t.index(x0)]


def _binary(model: Source, outcome: str, value: Label | None) -> tuple[Label, Label]:
    """The outcome y and its complement y' of a two-valued outcome; on a graph, 1 and 0 (0 and
    1 when the outcome value is 0; the other truth value for true or false)."""
    if not isinstance(model, CausalModel):
        y1 = 1 if value is None else value
        if isinstance(y1, bool):
            return y1, not y1
        return y1, (1 if y1 == 0 else 0)
    t = finite(model[outcome].type, f"outcome {outcome}")
    if t.size != 2:
        raise QueryError(f"PN, PS and PNS need an outcome with two values; {outcome} has "
                         f"{t.listing}")
    return _other(t, value)


def _other(t: FiniteType, value: Label | None) -> tuple[Label, Label]:
    """A value of a two-valued type (by default its second) and the other value."""
    y1 = t.values[-1] if value is None else t.values[t.index(value)]
    return y1, t.values[1 - t.index(y1)]


def _term(outcome: str, value: Label | None, world: tuple[tuple[str, Any], ...],
          given: tuple[Event, ...] = ()) -> Prob | Expect:
    if value is not None:
        return Prob((Event(outcome, value, world),), (), given)
    return Expect(Prob((Event(outcome, None, world),), (), given))


def _difference(a: Prob | Expect, b: Prob | Expect) -> Linear:
    return Linear(((1.0, a), (-1.0, b)))


def _names(mediator: str | Sequence[str]) -> tuple[str, ...]:
    return (mediator,) if isinstance(mediator, str) else tuple(mediator)


def _given(outcome: str, value: Label | None) -> Callable[[str], str]:
    """``E[Y | cond]`` or ``P(Y = y | cond)``, for formulas."""
    if value is None:
        return lambda cond: f"E[{outcome} | {cond}]"
    return lambda cond: f"P({outcome} = {show_value(value)} | {cond})"
