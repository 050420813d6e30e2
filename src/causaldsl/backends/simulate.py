"""Drawing data from a model (``model.sample``): a pandas DataFrame with one row per draw and one
column per observed variable, or per variable and potential outcome asked for.

Finite models are drawn by NumPy, without JAX: ancestral sampling, variable by variable in
topological order, each row's parents' values picking a row of the variable's table and one
uniform per row picking a value by the inverse of that row's distribution function (a table of
zeros and ones is read off, with no uniform). Each variable draws its uniforms from a stream of
its own, seeded by the seed and its name, so the rows of a variable do not change when other
columns are asked for, and the first n rows of a larger sample are the sample of n. Models with
a continuous variable or an expression mechanism among those drawn are drawn by one forward
pass of their NumPyro program (``backends.program``), vectorised over the rows. Only the
variables the columns depend on are drawn.

``do`` is surgery first (``CausalModel.do``). Potential outcomes are read from the multi-world
model (``rewrite.worlds``), whose worlds share the exogenous noise, so a row's factual and
counterfactual columns are those of one unit; a model that does not determine them is refused
with the message its query would get. Continuous ``~`` mechanisms are first written over
explicit noise (``backends.reparam``), as counterfactual queries do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from causaldsl.core.checks import available_memory, check_count, check_name, check_seed
from causaldsl.core.errors import (
    CausalTypeError,
    LatentQueryError,
    MechanismError,
    QueryError,
    QuerySyntaxError,
    UnknownVariableError,
    shown,
)
from causaldsl.core.types import FiniteType, Label, show_label
from causaldsl.ir.mechanism import Table
from causaldsl.model.causal_model import CausalModel
from causaldsl.model.checks import check_query
from causaldsl.syntax.query import SETTINGS_EXAMPLE, Event, Prob, parse_query, parse_settings

if TYPE_CHECKING:
    import pandas as pd

#: Drawing more bytes than this reads the free memory first (a sample that cannot fit is refused
#: before it is drawn, rather than killed by the operating system half way).
CHECKED_BYTES = 2**28

#: Up to this many values a variable's draws are found by one comparison per value (about 1 ms
#: per million rows each); past it, by a binary search (about 17 ms per step and million rows).
LINEAR_SEARCH = 64

COLUMNS_EXAMPLE = '"A, B, Y[X = 1]"'


def simulate(model: CausalModel, n: Any, seed: Any = 0, do: Any = None, columns: Any = None,
             params: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
    """``n`` rows drawn from ``model`` (see the module's docstring): ``do`` a dict of variables
    and values (or text ``"X = 1, Z = no"``), ``columns`` a list of variables and potential
    outcomes (or one text ``"A, B, Y[X = 1]"``; default: every observed variable).
    ``params``: the values of the model's parameters, one per row (a fitted model's draws)."""
    rows = check_count("the number of rows n", n, 0)
    seed = check_seed(seed)
    settings = settings_of(do, "do")
    base = model.do(settings) if settings else model
    events = _columns(base, columns)
    reads = [e.var for e in events]
    target, origin = base, {}
    if any(e.world for e in events):
        from causaldsl.backends.reparam import reparameterise
        from causaldsl.rewrite.worlds import multiworld

        # the query whose message a model that does not determine the columns gets
        shown_as = Prob(events, tuple(
            Event(v, cast(Label, x) if isinstance(x, str | int | float) else str(x))
            for v, x in settings.items()))
        mw = multiworld(reparameterise(base)[0], Prob(events), shown_as)
        target, reads, origin = mw.model, [e.var for e in mw.query.outcomes], dict(mw.origin)
    need = target.ancestors(reads)
    _check_mechanisms(target, need, origin, model.name)
    finite = all(isinstance(target.variables[v].mechanism, Table) for v in need)
    _check_memory(rows, len(need), finite)
    what = f"drawing {', '.join(e.term for e in events)} from model {model.name}"
    try:
        if rows == 0:
            drawn = {r: np.zeros(0, dtype=np.int8 if isinstance(target.variables[r].type,
                                                                FiniteType) else np.float64)
                     for r in reads}
        elif finite:
            drawn = ancestral(target, need, rows, seed)
        else:
            drawn = _forward(target, reads, rows, seed, what, params)
        return _frame(target, events, reads, drawn)
    except MemoryError:
        raise QueryError(f"not enough memory to draw {rows:,} rows of {len(need)} variables; "
                         "ask for fewer rows or columns") from None


# -- what to draw ------------------------------------------------------------------------------

def settings_of(do: Any, what: str) -> dict[str, Any]:
    """``do`` as a dict of variables and values: a mapping as it is (names checked), text such
    as ``"S = yes, T = no"`` or ``"do(S = yes)"`` parsed as the query language writes values."""
    if do is None:
        return {}
    if isinstance(do, str):
        return parse_settings(do, what)
    if isinstance(do, Mapping):
        for name in do:
            check_name(f"a variable that {what} sets", name)
        return dict(do)
    raise CausalTypeError(f"{what} takes variables and their values, a dict such as "
                          f"{{\"S\": \"yes\"}} or text such as {SETTINGS_EXAMPLE}, got {shown(do)}")


def _columns(model: CausalModel, columns: Any) -> tuple[Event, ...]:
    """The columns asked for as events (a variable, or a potential outcome), checked against
    the model as a query's variables are, with the message a query gets."""
    if columns is None:
        if not model.observed:
            raise QueryError(f"model {model.name} has no observed variables to draw; name the "
                             "columns")
        events = tuple(Event(v) for v in model.observed)
    elif isinstance(columns, str):
        events = _terms(columns)
    elif isinstance(columns, Iterable) and not isinstance(columns, bytes | Mapping):
        items = list(columns)
        found: list[Event] = []
        for c in items:
            if not isinstance(c, str):
                raise CausalTypeError(f"columns is a list of variables and potential outcomes "
                                      f"(str), e.g. [\"A\", \"Y[X = 1]\"], got {shown(items)}, "
                                      f"which holds {shown(c)}")
            terms = _terms(c)
            if len(terms) != 1:
                raise QueryError(f"columns: {c!r} names {len(terms)} columns; give one per "
                                 "item of the list")
            found.extend(terms)
        events = tuple(found)
    else:
        raise CausalTypeError(f"columns is a list of variables and potential outcomes, e.g. "
                              f"[\"A\", \"Y[X = 1]\"], or text such as {COLUMNS_EXAMPLE}, got "
                              f"{shown(columns)}")
    if not events:
        raise QueryError("columns is empty; name at least one variable")
    seen: set[str] = set()
    for e in events:
        if e.term in seen:
            raise QueryError(f"columns: {e.term} is asked for twice")
        seen.add(e.term)
    q = Prob(events)
    try:
        check_query(model, q)
    except (QueryError, LatentQueryError, UnknownVariableError) as e:
        text, prefix = str(e), f"{q}: "
        if type(e) in (QueryError, LatentQueryError, UnknownVariableError) and \
                text.startswith(prefix):
            raise type(e)(f"columns {', '.join(x.term for x in events)}: "
                          f"{text[len(prefix):]}") from None
        raise
    return events


def _terms(text: str) -> tuple[Event, ...]:
    """``"A, B, Y[X = 1]"`` as events, each a variable or a potential outcome without a value."""
    bad = QueryError(f"columns {text!r}: expected variables and potential outcomes separated "
                     f"by commas, e.g. {COLUMNS_EXAMPLE}")
    try:
        q = parse_query(f"P({text})")
    except QuerySyntaxError:
        raise bad from None
    if not isinstance(q, Prob) or q.interventions or q.evidence:
        raise bad
    for e in q.outcomes:
        if e.value is not None:
            raise QueryError(f"columns {text!r}: {e} gives a value; a column is a variable or "
                             "a potential outcome (Y, Y[X = 1]), and do=... sets values")
    return q.outcomes


def _check_mechanisms(model: CausalModel, need: set[str], origin: Mapping[str, str],
                      name: str) -> None:
    for v in model.variables.values():
        if v.name not in need or (v.mechanism is not None and not v.is_input):
            continue
        var = origin.get(v.name, v.name)
        why = "is an input (cut); set it with do" if v.is_input else "has no mechanism"
        raise MechanismError(f"variable {var} of model {name} {why}; drawing rows needs every "
                             "variable the columns depend on to have a mechanism")


def _check_memory(rows: int, variables: int, finite: bool) -> None:
    """Refuse a sample whose arrays would not fit in the memory free now."""
    need = rows * (variables + 48) if finite else 8 * rows * (variables + 4)
    if need <= CHECKED_BYTES:
        return
    free = available_memory()
    if need > free:
        raise QueryError(f"{rows:,} rows of {variables} variables need about "
                         f"{need / 2**30:.1f} GiB, more than the {free / 2**30:.1f} GiB free; "
                         "ask for fewer rows or columns")


# -- finite models: NumPy ----------------------------------------------------------------------

def ancestral(model: CausalModel, need: Iterable[str], n: int, seed: int) -> dict[str, np.ndarray]:
    """The positions (small ints) of ``n`` draws of each variable in ``need``, every one of
    which has a table, by ancestral sampling in the model's topological order."""
    wanted = set(need)
    codes: dict[str, np.ndarray] = {}
    for name, v in model.variables.items():
        if name not in wanted:
            continue
        assert isinstance(v.mechanism, Table)
        table = v.mechanism.array
        k = table.shape[-1]
        row = None
        if v.parents:  # each draw's row of the table: its parents' positions, C order
            row = codes[v.parents[0]].astype(np.intp)
            for p, size in zip(v.parents[1:], table.shape[1:-1], strict=True):
                row *= size
                row += codes[p]
        codes[name] = _draw(table.reshape(-1, k), row, n, functools.partial(_stream, seed, name))
    return codes


def _stream(seed: int, name: str) -> np.random.Generator:
    """The random numbers of one variable: seeded by the seed and the variable's name (its
    UTF-8 bytes as a number, and their count, so that no two names share a stream)."""
    raw = name.encode("utf-8")
    return np.random.default_rng([seed, len(raw), int.from_bytes(raw, "big")])


def _draw(table: np.ndarray, row: np.ndarray | None, n: int,
          stream: Callable[[], np.random.Generator]) -> np.ndarray:
    """One variable's positions: ``table`` has one row per setting of the parents, ``row``
    each draw's row (None: no parents), ``stream()`` the generator of its uniforms."""
    k = table.shape[1]
    dtype = np.int8 if k <= 127 else np.int16 if k <= 32767 else np.int32
    if np.all((table == 0) | (table == 1)):  # a function of the parents: no noise to draw
        value = table.argmax(axis=1).astype(dtype)
        return np.full(n, value[0], dtype) if row is None else value[row]
    # the distribution function of each row; its last positive entry (and those after it)
    # exactly 1, so a uniform in [0, 1) never picks a value of probability zero
    cdf = np.cumsum(table, axis=1)
    cdf /= cdf[:, -1:]
    u = stream().random(n)
    if row is None:
        return np.searchsorted(cdf[0], u, side="right").astype(dtype)
    if k <= LINEAR_SEARCH:  # the count of cdf entries at or below u: one pass per value
        code: np.ndarray[Any, Any] = np.zeros(n, dtype)
        for j in range(k - 1):
            code += u >= cdf[:, j][row]
        return code
    # the first position whose cdf exceeds u, by a binary search run on every draw at once
    flat = cdf.ravel()
    start = row * k
    lo = np.zeros(n, np.intp)
    hi = np.full(n, k - 1, np.intp)
    for _ in range((k - 1).bit_length()):
        mid = (lo + hi) >> 1
        right = u >= flat[start + mid]
        lo = np.where(right, mid + 1, lo)
        hi = np.where(right, hi, mid)
    return lo.astype(dtype)


# -- other models: one forward pass of the NumPyro program -------------------------------------

def _forward(model: CausalModel, reads: list[str], n: int, seed: int, what: str,
             params: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    from causaldsl.backends import jax64

    jax = jax64.jax()
    from numpyro.handlers import seed as seeded
    from numpyro.handlers import trace

    from causaldsl.backends.program import Program, is_flag

    program = Program(model, (), (), reads)
    try:
        tr = trace(seeded(program.model, jax.random.PRNGKey(seed))).get_trace(
            n, {}, {}, params=params)
    except jax.errors.JaxRuntimeError as e:
        if "RESOURCE_EXHAUSTED" not in str(e):
            raise
        raise MemoryError from None
    values = {k: np.asarray(site["value"]) for k, site in tr.items()
              if site["type"] in ("sample", "deterministic")}
    program.check_flags(what, {k: v for k, v in values.items() if is_flag(k)}, values)
    return {r: values[r] for r in reads}


# -- the frame ---------------------------------------------------------------------------------

def _frame(model: CausalModel, events: tuple[Event, ...], reads: list[str],
           drawn: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The columns named as the query language writes them (``Y``, ``Y[X = 1]``): a finite
    variable as an ordered Categorical of its labels as written (``yes``, ``1``, ``true``: what
    the data layer reads back), a real one as float64."""
    import pandas as pd

    data: dict[str, Any] = {}
    for e, r in zip(events, reads, strict=True):
        t = model.variables[r].type
        if isinstance(t, FiniteType):
            labels: list[Any] = [show_label(x) for x in t.values]
            if len(set(labels)) < len(labels):  # 1 and "1": kept apart as they are
                labels = list(t.values)
            data[e.term] = pd.Categorical.from_codes(
                drawn[r], dtype=pd.CategoricalDtype(labels, ordered=True))
        else:
            data[e.term] = np.asarray(drawn[r], dtype=np.float64)
    return pd.DataFrame(data)


__all__ = ["ancestral", "parse_settings", "settings_of", "simulate"]
