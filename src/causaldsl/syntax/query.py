"""Queries: their syntax tree (``P(...)``, ``E[...]`` and linear combinations) and parser.

The grammar is ``grammar/query.lark``; the transformer below builds the tree. A query is checked
against a model by ``causaldsl.model.checks`` before any backend sees it.
"""

from __future__ import annotations

import contextlib
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from causaldsl.core.errors import QueryError, QuerySyntaxError
from causaldsl.core.errors import shown as shown_value
from causaldsl.core.types import Label, show_label
from causaldsl.syntax.grammars import parser
from causaldsl.syntax.lark_standalone import Transformer_NonRecursive, UnexpectedInput, VisitError


@dataclass(frozen=True)
class Event:
    """``X = x``, or ``X`` alone (every value at once). With a ``world`` it is a potential
    outcome: ``Y[X = yes] = no`` reads Y in the world where X is set to yes. A world setting's
    value is a label, another potential outcome (``M = M[X = no]``, a nested counterfactual), or
    None: an open setting (``Y[X]``), every value of X at once."""

    var: str
    value: Label | None = None
    world: tuple[tuple[str, Label | Event | None], ...] = ()

    @property
    def term(self) -> str:
        """The variable as written, with its world: ``Y``, ``Y[X = yes]``."""
        if not self.world:
            return self.var
        inner = ", ".join(v if x is None else
                          f"{v} = {x.term if isinstance(x, Event) else show_value(x)}"
                          for v, x in self.world)
        return f"{self.var}[{inner}]"

    def __str__(self) -> str:
        if self.value is None:
            return self.term
        return f"{self.term} = {show_value(self.value)}"


def show_value(v: Label) -> str:
    """A label as a query writes it: bare when it is a name or a number, quoted otherwise (the
    name "true" too: bare, it is the boolean).
    A float is written short (``0.5``, ``1``) when that reads back as the same number, else
    exactly (``1.0000004``): two different values never print alike, since a term's text names
    its world."""
    if type(v) is int:  # the common case, first (bool is an int, and prints as a word)
        return str(v)
    if isinstance(v, float):
        if v == 0:  # -0.0 too: "-0" reads back as the integer 0, which prints "0"
            return "0"
        short = f"{v:g}"
        return short if float(short) == v else repr(v)
    if isinstance(v, bool | int):
        return show_label(v)
    return v if _BARE.fullmatch(v) and v not in ("true", "false") else quote(v)


#: A label a query writes bare: what the query grammar reads as a name (its NAME).
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")


def quote(text: str) -> str:
    """A label in quotes, as the languages write one that is not a plain name (``"0-3 days"``):
    a quote or a backslash in it is written after a backslash."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_ESCAPE = re.compile(r'\\(["\\])')


def unquote(token: str) -> str:
    """The label a quoted token (``"a \\"b\\""``) stands for: ``quote`` undone; a backslash
    before any other character is itself."""
    return _ESCAPE.sub(r"\1", token[1:-1])


@dataclass(frozen=True)
class Prob:
    """``P(outcomes | do(interventions), evidence)``."""

    outcomes: tuple[Event, ...]
    interventions: tuple[Event, ...] = ()
    evidence: tuple[Event, ...] = ()

    def __str__(self) -> str:
        conds = []
        if self.interventions:
            conds.append(f"do({', '.join(map(str, self.interventions))})")
        conds += [str(e) for e in self.evidence]
        given = f" | {', '.join(conds)}" if conds else ""
        return f"P({', '.join(map(str, self.outcomes))}{given})"

    @property
    def shape_key(self) -> tuple[object, ...]:
        """What a compiled query depends on: the variables and which of them carry a value."""
        def k(es: Sequence[Event]) -> tuple[tuple[str, bool], ...]:
            return tuple((e.term, e.value is not None) for e in es)

        return (k(self.outcomes), k(self.interventions), k(self.evidence))

    @property
    def is_counterfactual(self) -> bool:
        """Whether some outcome or evidence is a potential outcome ``Y[X = x]``."""
        return any(e.world for e in (*self.outcomes, *self.evidence))


@dataclass(frozen=True)
class Expect:
    """``E[var | do(...), evidence]`` over a variable with numeric values."""

    prob: Prob

    def __str__(self) -> str:
        s = str(self.prob)
        return "E[" + s[2:-1] + "]"

    @property
    def distribution(self) -> Prob:
        """``P(Y | ...)`` with Y's value open: the distribution the expectation averages."""
        (y,) = self.prob.outcomes
        return Prob((Event(y.var, None, y.world),), self.prob.interventions, self.prob.evidence)


def terms_of(q: Prob | Expect | Linear) -> tuple[tuple[float, Prob | Expect], ...]:
    """A query as the terms of a sum: a sum's own, or the query alone with coefficient 1."""
    return q.terms if isinstance(q, Linear) else ((1.0, q),)


@dataclass(frozen=True)
class Linear:
    """A linear combination ``Σ c_i q_i`` of probabilities and expectations."""

    terms: tuple[tuple[float, Prob | Expect], ...]

    def __str__(self) -> str:
        """Text that parses back to the same terms: coefficients exact, a leading negative one
        as ``-(2 * P(...))`` (``-2 * P(...)`` is no query), and a lone term with coefficient 1
        as ``1 * P(...)`` (a bare ``P(...)`` is no sum: it may be a table, not a number)."""
        out = ""
        for i, (c, q) in enumerate(self.terms):
            mag = abs(c)
            lone = len(self.terms) == 1 and c == 1
            term = str(q) if mag == 1 and not lone else f"{show_number(mag)} * {q}"
            if i:
                out += f" {'-' if c < 0 else '+'} {term}"
            elif c < 0:
                out += f"-{term}" if mag == 1 else f"-({term})"
            else:
                out += term
        return out


def show_number(x: float) -> str:
    """A number as the languages write it, exactly (it reads back as the same float): ``2``,
    ``0.1``, ``0.12345678912``, ``1e-20``."""
    s = repr(float(x))
    return s[:-2] if s.endswith(".0") else s


Query = Prob | Expect | Linear


class TransformError(Exception):
    """Raised while a parse tree is transformed, at a token: the parsers turn it into a
    syntax error located at the token."""

    def __init__(self, token: Any, message: str):
        super().__init__(message)
        self.token = token
        self.message = message


def integer(token: Any) -> int:
    """The value of an integer token; one longer than Python reads (4300 digits, unless
    ``sys.set_int_max_str_digits`` says otherwise) is an error at the token."""
    text = str(token)
    try:
        return int(text)
    except ValueError:
        digits = text.lstrip("+-")
        shown = f"{digits[:8]}…{digits[-4:]}" if len(digits) > 16 else digits
        raise NumberOverflow(token, f"the integer {shown} has {len(digits)} digits, more than "
                                    f"the {sys.get_int_max_str_digits()} an integer may have"
                             ) from None


class NumberOverflow(TransformError):
    """A number too large for a float (it would read as inf), or an integer with more digits
    than Python reads."""


#: How deep potential outcomes may nest: ``Y[X = M[Z = z]]`` reads Y in a world whose setting
#: reads M in another, two worlds deep. Deeper is a syntax error at the potential outcome that
#: goes past it (docs/language.md, "Limits"): every step of answering a counterfactual query
#: walks its worlds recursively, and nothing real nests more than a few.
MAX_WORLD_DEPTH = 32


class WorldsTooDeep(TransformError):
    """Potential outcomes nested more than MAX_WORLD_DEPTH worlds deep."""


def number(token: Any) -> float:
    """The value of a number token; one too large for a float is an error, not inf."""
    value = float(str(token))
    if math.isinf(value) and getattr(token, "type", None) != "INF":
        raise NumberOverflow(token, f"the number {token} is too large (it overflows a float)")
    return value


class _World(list[object]):
    """The settings of a world while parsing (a list, told apart from a value by its class),
    and how many worlds deep it reaches (itself and the worlds of potential outcomes in it)."""

    depth: int = 1


class _ToQuery(Transformer_NonRecursive):
    """Builds a query's tree; with a stack, not recursion (a sum of a thousand terms parses to
    a tree as deep)."""

    def __init__(self) -> None:
        super().__init__()
        self._depths: dict[int, int] = {}  # id of a potential outcome → how deep its world is

    def _outcome(self, name: Any, value: Any, world: Any) -> Event:
        """``name[world] = value`` (``world`` empty: no potential outcome), its worlds' depth
        checked against MAX_WORLD_DEPTH."""
        event = Event(str(name), value, tuple(world))
        if world:
            if world.depth > MAX_WORLD_DEPTH:
                raise WorldsTooDeep(name, f"{name}[…] nests worlds {world.depth} deep; potential "
                                    f"outcomes may nest at most {MAX_WORLD_DEPTH} deep")
            self._depths[id(event)] = world.depth
        return event

    def name_value(self, items):  # type: ignore[no-untyped-def]
        s = str(items[0])
        return {"true": True, "false": False}.get(s, s)

    def int_value(self, items):  # type: ignore[no-untyped-def]
        return integer(items[0])

    def float_value(self, items):  # type: ignore[no-untyped-def]
        return number(items[0])

    def string_value(self, items):  # type: ignore[no-untyped-def]
        return unquote(str(items[0]))

    def event(self, items):  # type: ignore[no-untyped-def]
        world = items[1] if len(items) > 1 and isinstance(items[1], _World) else ()
        rest = items[2:] if world else items[1:]
        return self._outcome(items[0], rest[0] if rest else None, world)

    def world(self, items):  # type: ignore[no-untyped-def]
        world = _World(items)
        world.depth = 1 + max((self._depths.get(id(v), 0) for _, v in items
                               if isinstance(v, Event)), default=0)
        return world

    def set_value(self, items):  # type: ignore[no-untyped-def]
        return (str(items[0]), items[1])

    def set_open(self, items):  # type: ignore[no-untyped-def]
        return (str(items[0]), None)

    def set_potential(self, items):  # type: ignore[no-untyped-def]
        return (str(items[0]), self._outcome(items[1], None, items[2]))

    def events(self, items):  # type: ignore[no-untyped-def]
        return tuple(items)

    def intervention(self, items):  # type: ignore[no-untyped-def]
        return ("do", tuple(items))

    def conditions(self, items):  # type: ignore[no-untyped-def]
        do: list[Event] = []
        ev: list[Event] = []
        for it in items:
            if isinstance(it, tuple):
                do.extend(it[1])
            else:
                ev.append(it)
        return (tuple(do), tuple(ev))

    def prob(self, items):  # type: ignore[no-untyped-def]
        do, ev = items[1] if len(items) > 1 else ((), ())
        return Prob(items[0], do, ev)

    def expect(self, items):  # type: ignore[no-untyped-def]
        world = items.pop(1) if len(items) > 1 and isinstance(items[1], _World) else ()
        do, ev = items[1] if len(items) > 1 else ((), ())
        return Expect(Prob((self._outcome(items[0], None, world),), do, ev))

    @staticmethod
    def _lin(q):  # type: ignore[no-untyped-def]
        return terms_of(q)

    def add(self, items):  # type: ignore[no-untyped-def]
        return Linear(self._lin(items[0]) + self._lin(items[1]))

    def sub(self, items):  # type: ignore[no-untyped-def]
        return Linear(self._lin(items[0]) + tuple((-c, q) for c, q in self._lin(items[1])))

    def scale(self, items):  # type: ignore[no-untyped-def]
        c = number(items[0])
        terms = tuple((c * k, q) for k, q in self._lin(items[1]))
        if any(math.isinf(k) for k, _ in terms):
            raise NumberOverflow(items[0], f"the coefficient {items[0]} times a coefficient "
                                 "inside the parentheses is too large (it overflows a float)")
        return Linear(terms)

    def neg(self, items):  # type: ignore[no-untyped-def]
        return Linear(tuple((-k, q) for k, q in self._lin(items[0])))


@lru_cache(maxsize=4096)
def parse_query(text: str) -> Query:
    """Parse a query string; a syntax error names the column and what was expected."""
    if not isinstance(text, str):
        raise QueryError(f"parse_query takes a query string such as \"P(Y | do(X = x))\", got "
                         f"{shown_value(text)}")
    try:
        tree = parser("query.lark", positions=False).parse(text)
    except UnexpectedInput as e:
        col = getattr(e, "column", 0) or 0
        token = getattr(e, "token", None)
        if token is not None and getattr(token, "type", None) == "$END":
            col = len(text.rstrip()) + 1
        expected = getattr(e, "expected", None) or getattr(e, "allowed", None) or []
        with contextlib.suppress(Exception):  # what can come next (see lang.loader)
            expected = e.interactive_parser.accepts() or expected
        shown = ", ".join(dict.fromkeys(_pretty_terminal(x) for x in sorted(expected)))
        got = text[col - 1: col + 9] if col else ""
        caret = f"\n  {text}\n  {' ' * max(col - 1, 0)}^"
        what = f"unexpected {got!r}" if got.strip() else "unexpected end of query"
        raise QuerySyntaxError(f"query:1:{col}: {what}" + (f"; expected {shown}" if shown else "")
                               + caret, text, col) from None
    try:
        result: Query = _ToQuery().transform(tree)
    except VisitError as e:
        if not isinstance(e.orig_exc, TransformError):
            raise
        col = e.orig_exc.token.column or 1
        raise QuerySyntaxError(f"query:1:{col}: {e.orig_exc.message}\n  {text}\n"
                               f"  {' ' * (col - 1)}^", text, col) from None
    return result


def is_table(term: Prob | Expect) -> bool:
    """Whether a query's answer is a table rather than a number: a variable left without a
    value (the variable of an expectation aside)."""
    prob = term.prob if isinstance(term, Expect) else term
    given = (*prob.interventions, *prob.evidence)
    return any(e.value is None for e in (given if isinstance(term, Expect) else
                                         (*prob.outcomes, *given)))


def not_numeric_error(term: str, t: Any) -> QueryError:
    """``E[term]`` of a finite type whose labels are not numbers."""
    return QueryError(f"E[{term}] needs numeric values, but {term} : {t!r} has labels that are "
                      "not numbers")


def table_term_error(q: Any, term: Any, kind: str) -> QueryError:
    """A term of the sum ``q`` that is a table (``kind``: a distribution, a table of
    expectations)."""
    return QueryError(f"{q}: every term of a sum must be a number, but {term} is {kind}; give "
                      "each variable a value")


def density_error(q: Any, term: str) -> QueryError:
    """``P(term)`` of a continuous variable."""
    return QueryError(f"{q}: {term} is continuous, so P({term} = …) is zero and P({term}) is a "
                      f"density; ask for E[{term} | …] instead")


def open_continuous_error(q: Any, var: str) -> QueryError:
    """A continuous variable given or intervened on without a value (a table over it)."""
    return QueryError(f"{q}: {var} is continuous; give it a value")


def _pretty_terminal(name: str) -> str:
    return {"NAME": "a variable name", "LPAR": "'('", "RPAR": "')'", "VBAR": "'|'",
            "COMMA": "','", "EQUAL": "'='", "LSQB": "'['", "RSQB": "']'", "PLUS": "'+'",
            "MINUS": "'-'", "STAR": "'*'", "SIGNED_INT": "a number", "SIGNED_REAL": "a number",
            "NUMBER": "a number", "ESCAPED_STRING": "a quoted value", "P": "'P'", "E": "'E'", "DO": "'do'",
            "$END": "end of query"}.get(name, name)


def bind(q: Prob | Expect | Linear, values: Mapping[str, Any]) -> Prob | Expect | Linear:
    """Give values to the open interventions and evidence of a query."""
    used: set[str] = set()

    def fill(p: Prob) -> Prob:
        def ev(es: tuple[Event, ...]) -> tuple[Event, ...]:
            out = []
            for e in es:
                if e.term in values:
                    if e.value is not None:
                        raise QueryError(f"{p}: {e.term} already has a value in the query text")
                    used.add(e.term)
                    out.append(Event(e.var, values[e.term], e.world))
                else:
                    out.append(e)
            return tuple(out)

        return Prob(p.outcomes, ev(p.interventions), ev(p.evidence))

    if isinstance(q, Prob):
        out: Prob | Expect | Linear = fill(q)
    elif isinstance(q, Expect):
        out = Expect(fill(q.prob))
    else:
        out = Linear(tuple((c, fill(t) if isinstance(t, Prob) else Expect(fill(t.prob)))
                           for c, t in q.terms))
    unused = sorted(set(values) - used)
    if unused:
        raise QueryError(f"{q}: {', '.join(unused)} is not an open intervention or evidence of "
                         "the query; write it after '|' without a value, e.g. "
                         f"P(... | {unused[0]})")
    return out


def batch_columns(values: Any) -> dict[str, list[Any]]:
    """Batched values as columns: from a dict of equal-length lists, or a list of dicts."""
    if values is None:
        return {}
    if isinstance(values, Mapping):
        cols = {k: list(v) for k, v in values.items()}
    else:
        rows = [dict(r) for r in values]
        if not rows:
            return {}
        names = list(rows[0])
        for i, r in enumerate(rows):
            if set(r) != set(names):
                raise QueryError(f"batched setting {i} gives {sorted(r)}, but setting 0 gives "
                                 f"{sorted(names)}")
        cols = {k: [r[k] for r in rows] for k in names}
    lens = {len(v) for v in cols.values()}
    if len(lens) > 1:
        raise QueryError(f"batched values have different lengths: {sorted(lens)}")
    if lens == {0}:
        return {}
    return cols


#: how settings are written on the command line and in ``do=`` text
SETTINGS_EXAMPLE = '"S = yes, T = no"'


def parse_settings(text: str, what: str) -> dict[str, Any]:
    """``"S = yes, T = 1.5"`` (or ``do(S = yes)``) as ``{"S": "yes", "T": 1.5}``: values as in
    a query (a number, ``true``/``false``, a name, a quoted label)."""
    body = text.strip()
    if body.startswith("do(") and body.endswith(")"):
        body = body[3:-1]
    bad = QueryError(f"{what} {text!r}: expected NAME = VALUE pairs separated by commas, e.g. "
                     f"{SETTINGS_EXAMPLE}")
    try:
        q = parse_query(f"P({body})")
    except QuerySyntaxError:
        raise bad from None
    if not isinstance(q, Prob) or q.interventions or q.evidence or any(
            e.value is None or e.world for e in q.outcomes):
        raise bad
    out: dict[str, Any] = {}
    for e in q.outcomes:
        if e.var in out:
            raise QueryError(f"{what} {text!r}: {e.var} is set twice")
        out[e.var] = e.value
    return out
