"""A causal model compiled to one vectorised NumPyro model, for one query shape.

A plate over samples holds one site per variable: ``numpyro.sample`` for tables (a Categorical
over the row its parents pick) and ``~`` mechanisms, ``numpyro.deterministic`` for ``:=``.
Intervened variables are cut (surgery in the fold: their value is an argument, their causes are
dropped), evidence is observed, and only ancestors of what the query reads are kept. A ``:=``
variable seen as evidence has no density; when it adds a noise variable (``f(...) + c * U``), the
noise is abducted exactly (``U = (y - f) / c``) and observed instead.

Flags travel with the samples as deterministic sites: ``X/parameters ok`` (the parameters of X's
distribution are in range), ``X/in bounds`` (a bounded Real X stayed within its bounds) and
``X/in type`` (a finite ``:=`` with number labels gave one of them); the backend turns a False
flag into a MechanismError (:meth:`Program.check_flags`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints

from causaldsl.backends.jaxexpr import Labels, as_value, distribution, evaluate, to_index
from causaldsl.core.dag import topological_order
from causaldsl.core.errors import MechanismError, QueryError
from causaldsl.core.types import FiniteType, RealType
from causaldsl.ir.mechanism import ExprMechanism, Table, UnknownTable
from causaldsl.model.causal_model import CausalModel, Variable
from causaldsl.syntax.tree import Binary, Num, Unary, Var, fold


@dataclass(frozen=True)
class Abduction:
    """Evidence on ``Y := f + coef * noise``: the noise is ``(y - f) / coef``. ``coef`` is a
    number, or an expression of a fitted model's parameters (a scale ``s`` in
    ``b0 + s * U``), evaluated with their values."""

    noise: str
    coef: Any


class Program:
    """The NumPyro model of ``model`` for one query shape: ``fixed`` by do, ``observed``
    evidence, and the variables it ``reads``. Call ``program.model(n, do, evidence)``."""

    def __init__(self, model: CausalModel, fixed: Sequence[str], observed: Sequence[str],
                 reads: Sequence[str], enumerate: bool = False, params: Sequence[str] = ()):
        self.enumerate = enumerate  # discrete latents marked for NumPyro's enumeration (NUTS)
        self.params = frozenset(params)  # names of parameters, given to model() as numbers
        self.fixed = tuple(fixed)
        self.observed = tuple(observed)
        self.vars: dict[str, Variable] = dict(model.variables)
        parents = {n: () if n in self.fixed else v.parents for n, v in self.vars.items()}
        keep = model.ancestors([*reads, *observed], cut=self.fixed)
        for n in keep:
            v = self.vars[n]
            if n not in self.fixed and (v.is_input or v.mechanism is None):
                why = "is an input (cut); set it with do(...)" if v.is_input else "has no mechanism"
                raise MechanismError(f"variable {n} of model {model.name} {why}; sampling needs "
                                     "every variable the query depends on to have one")
        self.abduct: dict[str, Abduction] = {}
        for n in self.observed:
            mech = self.vars[n].mechanism
            if n in self.fixed or not isinstance(mech, ExprMechanism) or mech.kind != "assign":
                continue
            if isinstance(self.vars[n].type, FiniteType):
                continue  # a discrete := under evidence becomes an indicator factor
            self.abduct[n] = self._noise_for(n, mech)
        # the noise is known once its child's other parents are; its other readers wait for it
        extra: dict[str, tuple[str, ...]] = {a.noise: tuple(p for p in self.vars[y].parents
                                                            if p != a.noise)
                                             for y, a in self.abduct.items()}
        for y, a in self.abduct.items():
            for c in keep:
                if c != y and a.noise in parents[c]:
                    extra[c] = (*extra.get(c, ()), y)
        graph = {n: (*parents[n], *extra.get(n, ())) for n in self.vars if n in keep}
        order, cycle = topological_order(graph)
        if cycle:
            raise QueryError(f"the evidence on {', '.join(self.abduct)} cannot be inverted for "
                             f"its noise: the noise also causes its own parents ({' → '.join(cycle)})")
        self.order = tuple(order)
        self.noises = {a.noise: y for y, a in self.abduct.items()}
        self.reads = tuple(reads)
        #: Bounded Real variables whose values are checked (all but those given by do or
        #: evidence); an abducted noise, where its density is positive
        self.bounded = {n: t for n in self.order if n not in (*self.fixed, *self.observed)
                        and isinstance(t := self.vars[n].type, RealType) and is_bounded(t)}

    def _noise_for(self, name: str, mech: ExprMechanism) -> Abduction:
        """The noise term a ``:=`` mechanism adds, for exact abduction; else a clear error."""
        taken = {a.noise for a in self.abduct.values()}
        for cand in dict.fromkeys(self.vars[name].parents):
            v = self.vars[cand]
            if (cand in self.fixed or cand in self.observed or cand in taken
                    or isinstance(v.type, FiniteType) or not isinstance(v.mechanism, ExprMechanism)
                    or v.mechanism.kind != "sample"):
                continue
            coef = affine_coefficient(mech.expr, cand, self.params)
            if coef is not None and (not isinstance(coef, float) or coef):
                return Abduction(cand, coef)
        raise QueryError(
            f"{name} := {mech.text} is deterministic given its parents, so the evidence on {name} "
            "has no density: conditioning on it cannot be done by weighting or NUTS. Give "
            f"{name} additive noise (`:= f(...) + U` with U ~ a continuous distribution, not "
            "otherwise observed or given), or make it stochastic (`~ Normal(f(...), s)`)")

    # -- the NumPyro model -----------------------------------------------------------------
    def model(self, n: int, do: Mapping[str, Any], evidence: Mapping[str, Any],
              params: Mapping[str, Any] | None = None) -> None:
        """Sample every kept variable once per sample, in one vectorised pass; ``params``:
        the values of the model's unknown parameters (a fit's draw), which expressions read."""
        raw: dict[str, Any] = {}   # positions of finite variables, numbers of real ones
        seen: dict[str, Any] = dict(params or {})  # what expressions see (labels, bools, numbers)

        def put(name: str, value: Any) -> None:
            value = jnp.asarray(value)  # enumerated values keep their enumeration axes
            value = jnp.broadcast_to(value, jnp.broadcast_shapes(value.shape, (n,)))
            raw[name] = value
            seen[name] = as_value(value, self.vars[name].type)

        with numpyro.plate("samples", n):
            for name in self.order:
                if name in self.noises:
                    continue  # abducted where its child is observed
                v = self.vars[name]
                obs = evidence.get(name)
                obs = None if obs is None else jnp.broadcast_to(jnp.asarray(obs), (n,))
                if name in self.fixed:
                    put(name, numpyro.deterministic(name, jnp.broadcast_to(do[name], (n,))))
                elif isinstance(v.mechanism, Table | UnknownTable):
                    # an unknown table's values come with the parameters, under its name
                    table = seen[name] if isinstance(v.mechanism, UnknownTable) else \
                        jnp.asarray(v.mechanism.array)
                    rows = () if table.ndim == len(v.parents) + 1 else (jnp.arange(n),)
                    probs = table[(*rows, *(raw[p] for p in v.parents))]  # (one per sample)
                    put(name, numpyro.sample(name, dist.Categorical(probs=probs), obs=obs,
                                             infer=self._infer(obs)))
                elif isinstance(v.mechanism, ExprMechanism) and v.mechanism.kind == "sample":
                    d = distribution(v.mechanism.expr, seen, v.type, f"variable {name}")
                    numpyro.deterministic(f"{name}{PARAMS_OK}", params_ok(d))
                    finite = isinstance(v.type, FiniteType)
                    put(name, numpyro.sample(name, d, obs=obs,
                                             infer=self._infer(obs) if finite else None))
                else:
                    assert isinstance(v.mechanism, ExprMechanism)
                    self._assign(name, v, obs, put, seen)
                if name in self.bounded:  # (an abducted noise is checked where it is found)
                    numpyro.deterministic(f"{name}{IN_BOUNDS}",
                                          in_bounds(raw[name], self.bounded[name]))

    def _infer(self, obs: Any) -> dict[str, str] | None:
        """Mark a discrete latent site for enumeration when NUTS needs it marginalised."""
        return {"enumerate": "parallel"} if self.enumerate and obs is None else None

    def _assign(self, name: str, v: Variable, obs: Any, put: Any, seen: dict[str, Any]) -> None:
        assert isinstance(v.mechanism, ExprMechanism)
        if name in self.abduct:
            a = self.abduct[name]
            u = self.vars[a.noise]
            assert isinstance(u.mechanism, ExprMechanism)
            base = evaluate(v.mechanism.expr, {**seen, a.noise: 0.0})
            coef = a.coef if isinstance(a.coef, float) else jnp.asarray(
                evaluate(a.coef, seen), dtype=float)
            noise = (obs - base) / coef
            d = distribution(u.mechanism.expr, seen, u.type, f"variable {a.noise}")
            # outside its distribution's support the noise has density zero; NumPyro's unchecked
            # log_prob would not say so, so it reads a value inside and the weight is set to 0
            inside = d.support.check(noise)
            numpyro.sample(a.noise, d, obs=jnp.where(inside, noise, d.support.feasible_like(noise)))
            numpyro.factor(f"{a.noise}/support", jnp.where(inside, 0.0, -jnp.inf))
            numpyro.factor(f"{name}/jacobian", -jnp.log(jnp.abs(coef)) * jnp.ones_like(noise))
            if a.noise in self.bounded:  # (where its density is zero it is no breach)
                numpyro.deterministic(f"{a.noise}{IN_BOUNDS}", jnp.all(
                    in_range(noise, self.bounded[a.noise]) | ~inside))
            if a.noise in self.reads:  # an observed site: NUTS returns only what it draws
                numpyro.deterministic(f"{a.noise}{ABDUCTED}", noise)
            put(a.noise, noise)
            put(name, numpyro.deterministic(name, obs))
            return
        value = evaluate(v.mechanism.expr, seen)
        t = v.type
        if isinstance(t, FiniteType):
            nums = t.numeric()
            if nums is not None and not isinstance(value, Labels):  # a number: one of the labels?
                numpyro.deterministic(f"{name}{IN_TYPE}", jnp.all(jnp.any(
                    jnp.asarray(value, dtype=float)[..., None] == jnp.asarray(nums), axis=-1)))
            value = to_index(value, t, f"variable {name}")
        elif isinstance(value, Labels):
            raise MechanismError(f"variable {name} : {t} := {v.mechanism.text} gives a label, "
                                 "not a number")
        else:
            value = jnp.asarray(value, dtype=float)
        if obs is not None:  # a discrete := : the evidence is an indicator
            numpyro.factor(f"{name}/evidence", jnp.where(value == obs, 0.0, -jnp.inf))
            value = obs
        put(name, numpyro.deterministic(name, value))

    # -- what inference needs to know ------------------------------------------------------
    def is_indicator(self, name: str) -> bool:
        """Whether evidence on ``name`` is a hard 0/1 factor (a discrete ``:=``)."""
        m = self.vars[name].mechanism
        return (isinstance(self.vars[name].type, FiniteType) and isinstance(m, ExprMechanism)
                and m.kind == "assign")

    @functools.cached_property
    def latent_sites(self) -> tuple[list[str], list[str]]:
        """Unobserved sample sites: (continuous, discrete)."""
        cont: list[str] = []
        disc: list[str] = []
        for name in self.order:
            v = self.vars[name]
            if name in self.fixed or name in self.observed or name in self.noises:
                continue
            if isinstance(v.mechanism, ExprMechanism) and v.mechanism.kind == "assign":
                continue
            (disc if isinstance(v.type, FiniteType) else cont).append(name)
        return cont, disc

    # -- flags -----------------------------------------------------------------------------
    def check_flags(self, what: str, flags: Mapping[str, Any],
                    values: Mapping[str, Any] | None = None,
                    rerun: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None) -> None:
        """Raise a MechanismError for the False ``flags`` (site name → whether it held for every
        sample). An out-of-bounds value is shown from ``values`` (the sampled values), or else
        from a short eager rerun with ``rerun`` = (do, evidence) as the program takes them."""
        bad = [k for k, ok in flags.items() if not np.all(ok)]
        params = [k[: -len(PARAMS_OK)] for k in bad if k.endswith(PARAMS_OK)]
        if params:
            raise MechanismError(f"{what}: a parameter of the distribution of "
                                 f"{', '.join(params)} is outside its range (a negative scale, "
                                 "say) for some samples")
        typed = [k[: -len(IN_TYPE)] for k in bad if k.endswith(IN_TYPE)]
        if typed:
            raise MechanismError(f"{what}: " + "; ".join(
                f"{n} : {self.vars[n].type!r} {self.vars[n].mechanism} gave a number that is not "
                "one of its values for some samples" for n in typed))
        names = [k[: -len(IN_BOUNDS)] for k in bad if k.endswith(IN_BOUNDS)]
        if not names:
            return
        if values is None and rerun is not None:
            values = self._rerun(*rerun)
        lines = []
        for name in names:
            t = self.bounded[name]
            shown = outside(values.get(name), t) if values is not None else None
            lines.append(f"{name} : {t} {self.vars[name].mechanism} took values outside its "
                         f"bounds{f' ({shown})' if shown else ''} for some samples")
        whose = "its mechanism must keep it" if len(names) == 1 else \
            "each mechanism must keep its variable"
        raise MechanismError(f"{what}: {'; '.join(lines)}; {whose} in range (a distribution "
                             "on that range, such as a LogNormal or Exponential for [0, inf), "
                             "or clip(...))")

    def _rerun(self, do: Mapping[str, Any], evidence: Mapping[str, Any], n: int = 2000
               ) -> dict[str, Any]:
        """The bounded variables' values in ``n`` fresh samples, drawn eagerly (error path)."""
        from numpyro.handlers import seed, trace

        tr = trace(seed(self.model, 0)).get_trace(n, do, evidence)
        return {name: tr[name]["value"] for name in self.bounded if name in tr}


#: Suffix of the deterministic site that says whether a distribution's parameters are valid.
PARAMS_OK = "/parameters ok"
#: Suffix of the deterministic site that says whether a bounded Real stayed within its bounds.
IN_BOUNDS = "/in bounds"
#: Suffix of the deterministic site that says whether a finite ``:=`` gave one of its labels.
IN_TYPE = "/in type"

#: Suffix of the deterministic site that keeps an abducted noise's values where it is read.
ABDUCTED = "/abducted"


def is_flag(site: str) -> bool:
    """Whether a site is a flag (one bool for all samples) that the backend must check."""
    return site.endswith((PARAMS_OK, IN_BOUNDS, IN_TYPE))


def is_bounded(t: RealType) -> bool:
    return t.low > -math.inf or t.high < math.inf


def in_range(x: Any, t: RealType) -> Any:
    """Per sample: whether ``x`` lies within the bounds of ``t`` (NaN is not outside)."""
    out: Any = False
    if t.low > -math.inf:
        out = out | (x < t.low)
    if t.high < math.inf:
        out = out | (x > t.high)
    return jnp.logical_not(out)


def in_bounds(x: Any, t: RealType) -> Any:
    """Whether every sample of ``x`` lies within the bounds of ``t``: one vectorised test."""
    return jnp.all(in_range(x, t))


def outside(x: Any, t: RealType) -> str | None:
    """The sampled value farthest outside the bounds of ``t``, shown (``-0.8 < 0``)."""
    if x is None:
        return None
    x = np.asarray(x, dtype=float).ravel()
    below = x[x < t.low] if t.low > -math.inf else x[:0]
    above = x[x > t.high] if t.high < math.inf else x[:0]
    if below.size and (not above.size or t.low - below.min() >= above.max() - t.high):
        return f"{below.min():.3g} < {t.low:g}"
    if above.size:
        return f"{above.max():.3g} > {t.high:g}"
    return None


def params_ok(d: Any) -> Any:
    """Whether every parameter of a NumPyro distribution lies in its range (all samples)."""
    ok = jnp.asarray(True)
    for arg, constraint in d.arg_constraints.items():
        if arg in d.__dict__ and not isinstance(constraint, constraints._Dependent):
            ok = ok & jnp.all(constraint.check(d.__dict__[arg]))
    if isinstance(d, dist.Uniform):  # its parameters constrain each other
        ok = ok & jnp.all(d.low < d.high)
    return ok


def affine_coefficient(e: Any, name: str, params: frozenset[str] = frozenset()) -> Any:
    """The constant ``c`` when ``e`` is ``f + c * name`` with ``name`` nowhere in ``f``: a
    number, or, where a factor is an expression of ``params`` only, an expression.

    Walked down the one path that holds ``name`` with a loop, not recursion (a generated sum is
    a tree as deep as it is long); the steps are then applied from the bottom up."""
    mentions = _mentioning(e, name)
    steps: list[tuple[str, Any]] = []  # from the top down: ("neg", 0), ("*", k), ("/", k)
    while not isinstance(e, Var):
        if id(e) not in mentions:
            return None
        if isinstance(e, Unary) and e.op == "-":
            steps.append(("neg", 0.0))
            e = e.arg
            continue
        if not isinstance(e, Binary):
            return None
        left, right = id(e.left) in mentions, id(e.right) in mentions
        if left and right:
            return None
        inner, other = (e.left, e.right) if left else (e.right, e.left)
        if e.op == "-" and not left:
            steps.append(("neg", 0.0))
        elif e.op in ("*", "/"):
            k: Any = _constant(other)
            if k is None and params and _reads_only(other, params):
                k = other  # a parameter's expression: a number once the parameters are given
            if k is None or (e.op == "/" and not left):
                return None
            steps.append((e.op, k))
        elif e.op != "+" and e.op != "-":
            return None
        e = inner
    if e.name != name:
        return None
    if any(not isinstance(k, float) for _, k in steps):  # an expression of parameters
        out: Any = Num(1.0, e.span)
        for op, k in reversed(steps):
            out = Unary("-", out, e.span) if op == "neg" else Binary(
                op, out, k if not isinstance(k, float) else Num(k, e.span), e.span)
        return out
    c = 1.0
    for op, k in reversed(steps):
        if op == "neg":
            c = -c
        elif op == "*":
            c = c * k
            if not c:
                return None
        else:
            if not k:
                return None
            c = c / k
    return c


def _reads_only(e: Any, names: frozenset[str]) -> bool:
    """Whether every name ``e`` reads is one of ``names`` (and it reads one)."""
    from causaldsl.ir.expr import free_names

    found = [n for n, _ in free_names(e)]
    return bool(found) and all(n in names for n in found)


def _constant(e: Any) -> float | None:
    """The value of a number with minus signs before it, or None."""
    negations = 0
    while isinstance(e, Unary) and e.op == "-":
        negations += 1
        e = e.arg
    if not isinstance(e, Num):
        return None
    k = float(e.value)
    for _ in range(negations):
        k = -k
    return k


def _mentioning(e: Any, name: str) -> set[int]:
    """The ids of the nodes of ``e`` below which the variable ``name`` is read."""
    out: set[int] = set()

    def leave(x: Any, below: list[bool]) -> bool:
        hit = (isinstance(x, Var) and x.name == name) or any(below)
        if hit:
            out.add(id(x))
        return hit

    fold(e, leave)
    return out


def indices(model: CausalModel, values: Mapping[str, Any]) -> dict[str, Any]:
    """Query values as the program takes them: positions for finite variables, floats else."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        t = model.variables[name].type
        out[name] = (np.int32(t.index(value)) if isinstance(t, FiniteType)
                     else np.float64(float(value)))
    return out
