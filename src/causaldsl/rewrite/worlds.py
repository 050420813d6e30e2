"""The multi-world rewrite: a counterfactual query on a model becomes an ordinary query on a new
model that holds one copy of each mechanism per world the query reads, with the exogenous noise
shared between worlds (Pearl's twin network, generalised to any number of worlds).

A variable's copy is named by the settings of its world that reach it (the interventions that
are the variable itself or lie upstream of it, unblocked by other interventions of the world):
``Y``, ``Y[X = yes]``. Worlds that agree on those settings share the copy, so k interventions
on separate paths do not make 2^k copies. Only what the query reads, and its ancestors, is
built. Interventions are point states (``do``); a nested setting ``M = M[X = no]`` makes M in
that world the very copy ``M[X = no]``; an open setting ``Y[X]`` makes X in that world a new
root variable ``[X]``, uniform and independent of everything, on which the query is
conditioned, so one contraction answers every value of X at once. The result is a plain
:class:`CausalModel`, so the exact backend, the pictures and a sampling backend take it as it
is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.core.errors import NotDeterminedError
from causaldsl.core.memo import cached_on
from causaldsl.core.types import FiniteType, Label, Type
from causaldsl.ir.mechanism import ExprMechanism, Table, point_mechanism
from causaldsl.model.causal_model import CausalModel, Variable
from causaldsl.model.surgery import cut
from causaldsl.syntax.query import Event, Prob, show_value


class Open:
    """The value of an open setting (``Y[X]``): every value of X at once."""

    def __repr__(self) -> str:
        return "OPEN"


OPEN = Open()


@dataclass(frozen=True)
class CopyRef:
    """A copy by identity: the variable of the original model and the settings that reach it
    (its key). A nested setting ``M = M[X = no]`` sets M to a ``CopyRef``; copies are told
    apart by this, never by their printed names."""

    var: str
    key: frozenset[tuple[str, Label | CopyRef | Open]]



#: A world: what it sets, variable → a label, another world's copy, or OPEN.
Setting = Label | CopyRef | Open
World = frozenset[tuple[str, Setting]]


@dataclass(frozen=True, eq=False)
class MultiWorld:
    """A counterfactual query rewritten: ``model`` holds every world the query reads, ``query``
    asks it the same question about its variables, ``origin`` names the variable of the
    original model whose mechanism each copy carries (point states and aliases have none)."""

    model: CausalModel
    query: Prob
    origin: Mapping[str, str]
    #: The variables of the open settings (``[X]`` for ``Y[X]``), the first evidence of
    #: ``query``.
    settings: tuple[str, ...] = ()

    def copies(self, var: str) -> tuple[str, ...]:
        """The copies of a variable of the original model that carry its mechanism."""
        return tuple(n for n, v in self.origin.items() if v == var)


class _Rewrite:
    """Builds copies on demand, depth first from what the query reads.

    Copies are keyed on their identity (:class:`CopyRef`); names are only for showing. A
    copy's name is readable (``Y[X = yes]``, a nested setting shown as the name of the copy it
    refers to), and made unique with a ``#2`` suffix when another copy has the same readable
    name, or when it could be read as a different world (a setting to the factual copy of a
    variable whose name is also a label: ``Y[X = A]``)."""

    def __init__(self, base: CausalModel):
        self.base = base
        self.order = {n: i for i, n in enumerate(base.variables)}
        self.vars: dict[str, Variable] = {}
        self.origin: dict[str, str] = {}
        self.names: dict[CopyRef, str] = {}
        self.owner: dict[str, object] = {}  # name → its CopyRef, or ("alias", canonical name)
        self._keys: dict[tuple[str, World], World] = {}
        self.open: dict[str, str] = {}  # variable → the root that an open setting gives it

    def world(self, settings: tuple[tuple[str, Label | Event | None], ...]) -> World:
        """A world from a query's settings; a nested setting refers to the copy it names."""
        out: list[tuple[str, Setting]] = []
        for var, value in settings:
            if isinstance(value, Event):
                inner = self.world(value.world)
                self.node(value.var, inner)
                out.append((var, self.ref(value.var, inner)))
            elif value is None:
                out.append((var, OPEN))
            else:
                out.append((var, value))
        return frozenset(out)

    def key(self, var: str, world: World) -> World:
        """The settings of ``world`` that reach ``var``: what its copy depends on."""
        hit = self._keys.get((var, world))
        if hit is None:
            own = [s for s in world if s[0] == var]
            if own:
                hit = frozenset(own)
            else:
                hit = frozenset().union(*(self.key(p, world)
                                          for p in self.base.variables[var].parents))
            self._keys[(var, world)] = hit
        return hit

    def ref(self, var: str, world: World) -> CopyRef:
        """The identity of ``var``'s copy in ``world`` (another world's copy when the world
        sets ``var`` to one)."""
        setting = dict(world).get(var)
        if isinstance(setting, CopyRef):
            return setting
        return CopyRef(var, self.key(var, world))

    def name(self, ref: CopyRef) -> str:
        """A new copy's name: readable, and unique to its identity."""
        if not ref.key:
            return self._claim(ref.var, ref, False)
        settings = sorted(ref.key, key=lambda s: self.order[s[0]])
        shown, ambiguous = [], False
        for v, x in settings:
            if isinstance(x, Open):
                shown.append(v)
                continue
            if isinstance(x, CopyRef):
                text = self.names[x]
                t = self.base.variables[v].type
                # a factual copy shown bare reads as a label of the set variable's type
                ambiguous |= isinstance(t, FiniteType) and any(show_value(lab) == text
                                                                for lab in t.values)
            else:
                text = show_value(x)
            shown.append(f"{v} = {text}")
        return self._claim(f"{ref.var}[{', '.join(shown)}]", ref, ambiguous)

    def _claim(self, text: str, owner: object, ambiguous: bool) -> str:
        if not ambiguous and self.owner.setdefault(text, owner) == owner:
            return text
        i = 2
        while self.owner.setdefault(f"{text}#{i}", owner) != owner:
            i += 1
        return f"{text}#{i}"

    def node(self, var: str, world: World) -> str:
        """The name of ``var``'s copy in ``world``, built (with its ancestors) if new."""
        ref = self.ref(var, world)
        hit = self.names.get(ref)
        if hit is not None:
            return hit
        v = self.base.variables[var]
        setting = dict(world).get(var)
        if isinstance(setting, Open):
            return self.open_setting(var, ref)
        if setting is not None:
            name = self.names[ref] = self.name(ref)
            point = point_mechanism(v.type, setting, f"variable {var}")
            self.vars[name] = Variable(name, v.type, v.role, (), point)
            return name
        if v.is_input:
            name = self.names[ref] = self.name(ref)
            self.vars[name] = v
            return name
        parents = tuple(self.node(p, world) for p in v.parents)
        name = self.names[ref] = self.name(ref)
        mech = v.mechanism
        if isinstance(mech, ExprMechanism) and parents != v.parents:  # reads names
            from causaldsl.ir.expr import rename

            mech = ExprMechanism(mech.kind, rename(mech.expr, dict(zip(v.parents, parents,
                                                                       strict=True))), mech.text)
        unique = tuple(dict.fromkeys(parents))
        if len(unique) < len(parents):  # two parents are one copy, e.g. Y[X = Z] reads Z twice
            if isinstance(mech, Table):
                mech = _merge_axes(mech, parents, unique)
            parents = unique
        self.vars[name] = Variable(name, v.type, v.role, parents, mech)
        self.origin[name] = var
        return name

    def open_setting(self, var: str, ref: CopyRef) -> str:
        """The root ``[X]`` that X is in every world that leaves its value open: uniform over
        X's values, so conditioning on it reads each value's world."""
        from causaldsl.core.errors import QueryError
        from causaldsl.model.causal_model import Role

        hit = self.open.get(var)
        if hit is None:
            v = self.base.variables[var]
            if not isinstance(v.type, FiniteType):
                raise QueryError(f"the open setting {var} needs a finite type (a table over its "
                                 f"values), but {var} : {v.type}; set it to a value")
            hit = self._claim(f"[{var}]", ("open", var), False)
            self.vars[hit] = Variable(hit, v.type, Role.OBSERVED, (),
                                      Table(np.full(v.type.size, 1 / v.type.size), 0))
            self.open[var] = hit
        self.names[ref] = hit
        return hit

    def alias(self, name: str, of: str) -> str:
        """A copy under another name (an identity mechanism), for a term written differently
        from its canonical copy, e.g. ``Y[X = yes, Z = no]`` when Z does not reach Y."""
        if name == of:
            return name
        if self.owner.setdefault(name, ("alias", of)) != ("alias", of):
            raise AssertionError(f"multi-world rewrite: {name} names two different copies")
        if name not in self.vars:
            src = self.vars[of]
            self.vars[name] = Variable(name, src.type, src.role, (of,),
                                       _copy_mechanism(src.type, of))
        return name


def _copy_mechanism(typ: Type, of: str) -> Table | ExprMechanism:
    """The mechanism that copies variable ``of``: an identity table for a finite type, ``:= of``
    otherwise (as :func:`point_mechanism` sets a point)."""
    if isinstance(typ, FiniteType):
        return Table(np.eye(typ.size), 1)
    from causaldsl.syntax.diagnostics import NOWHERE
    from causaldsl.syntax.tree import Var

    return ExprMechanism("assign", Var(of, NOWHERE), of)


def _merge_axes(table: Table, parents: tuple[str, ...], unique: tuple[str, ...]) -> Table:
    """The table read with repeated parents as one axis (the diagonal over their axes)."""
    sizes = {p: table.array.shape[i] for i, p in enumerate(parents)}
    grids = np.ix_(*(np.arange(sizes[p]) for p in unique))
    index = tuple(grids[unique.index(p)] for p in parents)
    return Table(table.array[index], len(unique))


def multiworld(model: CausalModel, prob: Prob, shown: Prob | None = None) -> MultiWorld:
    """Rewrite a (counterfactual) query into one over a multi-world model.

    Interventions ``do(...)`` of the query apply in every world: they are cut from the model
    first and stay interventions of the new query. Raises :class:`NotDeterminedError` when a
    mechanism that is not a function of its parents (no explicit noise) is read in two worlds;
    its message quotes ``shown`` (default: ``prob``).
    """
    do_vars = tuple(e.var for e in prob.interventions)
    base = cut(model, *do_vars) if do_vars else model
    rw = _Rewrite(base)
    for var in do_vars:
        rw.node(var, frozenset())

    def term(e: Event) -> Event:
        world = rw.world(e.world)
        canonical = rw.node(e.var, world)
        return Event(rw.alias(e.term, canonical), e.value)

    outcomes = tuple(term(e) for e in prob.outcomes)
    evidence = tuple(term(e) for e in prob.evidence)
    settings = tuple(rw.open.values())
    new = CausalModel.from_variables(rw.vars.values(), f"{model.name}_worlds",
                                     trusted=rw.vars.values())
    mw = MultiWorld(new, Prob(outcomes, prob.interventions,
                              (*(Event(s) for s in settings), *evidence)),
                    dict(rw.origin), settings)
    _check_determined(model, mw, shown or prob)
    return mw


def _check_determined(model: CausalModel, mw: MultiWorld, prob: Prob) -> None:
    """Refuse when a stochastic mechanism has copies in two worlds: the answer would depend on
    how its noise is shared between them, which the model does not say."""
    for var in dict.fromkeys(mw.origin.values()):
        names = mw.copies(var)
        if len(names) < 2 or deterministic(model.variables[var].mechanism):
            continue
        raise NotDeterminedError(
            f"{prob}: not determined by model {model.name}: {var} has a probability table, "
            f"not a function of explicit noise, and the query reads it in "
            f"{len(names)} worlds ({', '.join(names)}); how its noise is shared between "
            "worlds is not part of the model. Either write it as a function of exogenous noise "
            f"(`exogenous U_{var} ...` and `{var} := ...`), or assume the canonical "
            "response-function model (each row of each table answers independently): "
            "`query ... assuming response_functions` in a .causal file, --assume "
            "response-functions on the command line, model.with_response_functions() in "
            "Python; or bound it: a query over a treatment and an outcome has sharp bounds "
            "from the data, causaldsl.counterfactual.bounds_from(model, query, treatment, "
            "outcome)")


def deterministic(mechanism: Any) -> bool:
    """A function of the parents: a 0/1 table, or an assignment ``:=`` (or unknown)."""
    if isinstance(mechanism, Table):
        a = mechanism.array
        return bool(np.all((a == 0) | (a == 1)))
    if isinstance(mechanism, ExprMechanism):
        return mechanism.kind == "assign"
    return mechanism is None


def multiworld_for(model: CausalModel, prob: Prob) -> MultiWorld:
    """:func:`multiworld`, kept on the model per query shape, so its compiled queries are
    reused: outcome and evidence values do not change the multi-world model."""
    cache: dict[Prob, MultiWorld] = cached_on(model, "_multiworlds", lambda _: {})

    def bare(es: tuple[Event, ...]) -> tuple[Event, ...]:
        return tuple(Event(e.var, None, e.world) for e in es)

    shape = Prob(bare(prob.outcomes), bare(prob.interventions), bare(prob.evidence))
    mw = cache.get(shape)
    if mw is None:
        mw = multiworld(model, shape, prob)
        cache[shape] = mw
    k = len(mw.settings)
    query = Prob(tuple(Event(t.var, e.value) for t, e in zip(mw.query.outcomes, prob.outcomes,
                                                              strict=True)),
                 prob.interventions,
                 (*mw.query.evidence[:k],
                  *(Event(t.var, e.value) for t, e in zip(mw.query.evidence[k:], prob.evidence,
                                                          strict=True))))
    return MultiWorld(mw.model, query, mw.origin, mw.settings)


__all__ = ["MultiWorld", "multiworld", "multiworld_for"]
