"""Estimands: expressions over observational probabilities, the answers of identification.

An estimand is built from five immutable node kinds:

- ``P(vars, given, fixed)``: the observational probability ``P(vars | given)``; ``fixed`` gives
  some of those variables a value (``P(c | S=yes)``);
- ``Sum(over, body)``: a sum over every value of the variables ``over`` (they are bound in
  ``body``, so an inner sum may reuse a name that is free outside: the printer primes it);
- ``Product(factors)`` (the empty product is :data:`ONE`);
- ``Quotient(num, den)``;
- :data:`ZERO` (a :class:`Zero`): the constant 0, the probability of an inconsistent
  counterfactual event (ID*'s answer to ``P(X[X = 1] = 0)``); a product or sum over it, or a
  quotient with it on top, simplifies to it.

The meaning is exact: ``Sum`` over a variable that ``body`` does not mention multiplies by the
number of its values. The algorithms never build such sums (they marginalise with
:func:`marginal`, which sums only over variables that occur), and :meth:`Estimand.simplify`
applies only rewrites that keep the value under positivity: sums are pushed inwards,
``Σ_x P(x, R | B)`` collapses to ``P(R | B)``, the chain rule merges ``P(a | b, c) P(b | c)``
into ``P(a, b | c)``, and quotients cancel. No JAX here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from causaldsl.core.types import Label, show_label

if TYPE_CHECKING:
    _cached = cached_property
else:
    class _cached:
        """functools.cached_property without the lock that Python 3.11 takes on each first
        read (a microsecond, paid for every node the algorithms build)."""

        def __init__(self, f):
            self.f = f
            self.name = f.__name__
            self.__doc__ = f.__doc__

        def __get__(self, obj, cls=None):
            if obj is None:
                return self
            v = obj.__dict__[self.name] = self.f(obj)
            return v


class Estimand:
    """Base of the expression nodes (P, Sum, Product, Quotient, Zero). Not an ABC: the
    algorithms test node kinds with ``isinstance`` at every step, and an ABC's metaclass makes
    each test a Python call."""

    @property
    def free(self) -> frozenset[str]:
        """The variables the expression depends on."""
        raise NotImplementedError

    def bind(self, values: Mapping[str, Label]) -> Estimand:
        """Give free variables values (bound variables of inner sums are left alone)."""
        raise NotImplementedError

    def simplify(self) -> Estimand:
        """Rewrite to a textbook-looking equal expression (under positivity)."""
        e: Estimand = self
        for _ in range(50):
            new = _simplify(e)
            if new == e:
                new.__dict__["_simple"] = True  # a fixed point: later passes skip it
                return new
            e = new
        return e

    def __str__(self) -> str:
        return self.show()

    def __repr__(self) -> str:
        return f"Estimand({self})"

    def show(self, reserved: Iterable[str] = ()) -> str:
        """The formula as text, its summed variables primed apart from its free ones and from
        ``reserved`` (a query's variables: ``Σ_s' P(s') …`` when S is intervened on)."""
        return _Printer(self, latex=False).show(self, scope=self._scope(reserved))

    def latex(self, reserved: Iterable[str] = ()) -> str:
        """LaTeX source, e.g. ``\\sum_{t} P(t \\mid s) \\sum_{s'} P(s') P(c \\mid s', t)``."""
        return _Printer(self, latex=True).show(self, scope=self._scope(reserved))

    def _scope(self, reserved: Iterable[str]) -> frozenset[str]:
        return self.free | {k for t in self.terms() for k, _ in t.fixed} | frozenset(reserved)

    def to_sympy(self, sizes: Mapping[str, int] | None = None) -> Any:
        """A sympy expression: ``P(c, Given(s, t))`` terms, ``Sum`` over value indices
        ``0 … n_X - 1`` (``n_X`` a symbol unless ``sizes`` gives it)."""
        return _to_sympy(self, dict(sizes or {}))

    def terms(self) -> list[P]:
        """Every probability term, in printing order."""
        return [n for n in _walk(self) if isinstance(n, P)]


@dataclass(frozen=True, eq=False)
class P(Estimand):
    """``P(vars | given)``, some variables possibly fixed to values."""

    vars: tuple[str, ...]
    given: tuple[str, ...] = ()
    fixed: tuple[tuple[str, Label], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "vars", tuple(dict.fromkeys(self.vars)))
        object.__setattr__(self, "given", tuple(g for g in dict.fromkeys(self.given)
                                                if g not in self.vars))
        if self.fixed:
            names = set(self.vars) | set(self.given)
            object.__setattr__(self, "fixed", tuple(sorted(
                ((k, v) for k, v in dict(self.fixed).items() if k in names),
                key=lambda kv: kv[0])))

    @_cached
    def key(self) -> tuple[frozenset[str], frozenset[str], frozenset[tuple[str, Any]]]:
        return (frozenset(self.vars), frozenset(self.given),
                frozenset((k, _hashable(v)) for k, v in self.fixed))

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, P) and self.key == other.key)

    def __hash__(self) -> int:
        return hash(self.key)

    @_cached
    def free(self) -> frozenset[str]:
        return frozenset(self.vars + self.given) - {k for k, _ in self.fixed}

    @property
    def values(self) -> dict[str, Label]:
        return dict(self.fixed)

    def bind(self, values: Mapping[str, Label]) -> Estimand:
        add = {k: v for k, v in values.items() if k in self.free}
        if not add:
            return self
        return P(self.vars, self.given, (*self.fixed, *add.items()))


@dataclass(frozen=True)
class Sum(Estimand):
    """``Σ_{over} body``."""

    over: tuple[str, ...]
    body: Estimand

    def __post_init__(self) -> None:
        object.__setattr__(self, "over", tuple(dict.fromkeys(self.over)))

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, Sum) and set(self.over) == set(other.over)
                                 and self.body == other.body)

    def __hash__(self) -> int:
        return self._hash

    @_cached
    def _hash(self) -> int:
        return hash((frozenset(self.over), self.body))

    @_cached
    def free(self) -> frozenset[str]:
        return self.body.free - set(self.over)

    def bind(self, values: Mapping[str, Label]) -> Estimand:
        inner = {k: v for k, v in values.items() if k not in self.over}
        return Sum(self.over, self.body.bind(inner))


@dataclass(frozen=True)
class Product(Estimand):
    """``f₁ f₂ …``; the empty product is one."""

    factors: tuple[Estimand, ...]

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, Product) and
                                 _multiset(self.factors) == _multiset(other.factors))

    def __hash__(self) -> int:
        return self._hash

    @_cached
    def _hash(self) -> int:
        return hash(frozenset(_multiset(self.factors).items()))

    @_cached
    def free(self) -> frozenset[str]:
        return frozenset().union(*(f.free for f in self.factors))

    def bind(self, values: Mapping[str, Label]) -> Estimand:
        return Product(tuple(f.bind(values) for f in self.factors))


@dataclass(frozen=True)
class Quotient(Estimand):
    """``num / den``."""

    num: Estimand
    den: Estimand

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, Quotient) and self.num == other.num
                                 and self.den == other.den)

    def __hash__(self) -> int:
        return hash((self.num, self.den))

    @_cached
    def free(self) -> frozenset[str]:
        return self.num.free | self.den.free

    def bind(self, values: Mapping[str, Label]) -> Estimand:
        return Quotient(self.num.bind(values), self.den.bind(values))


ONE = Product(())


@dataclass(frozen=True)
class Zero(Estimand):
    """The constant 0, on any distribution. ``why`` says why (an inconsistent event, for
    ID*); it does not take part in equality, so every zero is :data:`ZERO`."""

    why: str = field(default="", compare=False)

    @property
    def free(self) -> frozenset[str]:
        return frozenset()

    def bind(self, values: Mapping[str, Label]) -> Estimand:
        return self


ZERO = Zero()


def _multiset(xs: Iterable[Estimand]) -> dict[Estimand, int]:
    out: dict[Estimand, int] = {}
    for x in xs:
        out[x] = out.get(x, 0) + 1
    return out


def _hashable(v: Any) -> Any:
    try:
        hash(v)
        return v
    except TypeError:  # pragma: no cover - labels are hashable
        return repr(v)


# -- constructors the algorithms use --------------------------------------------------------

def product(*factors: Estimand) -> Estimand:
    """A simplified product."""
    return Product(tuple(factors)).simplify()


def marginal(e: Estimand, keep: Iterable[str], domain: Iterable[str]) -> Estimand:
    """``Σ_{domain \\ keep} e`` for ``e`` a distribution over ``domain``: sums only over
    variables that occur, simplified."""
    keep_s = set(keep)
    over = tuple(v for v in domain if v not in keep_s and v in e.free)
    return Sum(over, e).simplify() if over else e


def conditional(e: Estimand, vs: Iterable[str], given: Iterable[str], domain: Iterable[str]
                ) -> Estimand:
    """``e(vs | given)`` for ``e`` a distribution over ``domain`` (both sets inside it)."""
    vs_t, given_t, dom = tuple(vs), tuple(given), tuple(domain)
    if isinstance(e, P) and set(vs_t) | set(given_t) <= set(e.vars):
        return P(vs_t, (*given_t, *e.given), e.fixed)
    num = marginal(e, (*vs_t, *given_t), dom)
    if not given_t:
        return num
    return Quotient(num, marginal(e, given_t, dom)).simplify()


# -- simplification -------------------------------------------------------------------------

def _simplify(e: Estimand) -> Estimand:
    """One pass of the rewrites; ``e`` itself where the pass rebuilt it from the same parts
    (so the fixed-point test of :meth:`Estimand.simplify` is an identity check)."""
    if isinstance(e, (P, Zero)) or "_simple" in e.__dict__:
        return e
    out: Estimand
    if isinstance(e, Product):
        out = _simplify_product([_simplify(f) for f in e.factors])
        if isinstance(out, Product) and len(out.factors) == len(e.factors) and \
                all(a is b for a, b in zip(out.factors, e.factors, strict=True)):
            return e
        return out
    if isinstance(e, Sum):
        out = _simplify_sum(e.over, _simplify(e.body))
        if isinstance(out, Sum) and out.over == e.over and out.body is e.body:
            return e
        return out
    if isinstance(e, Quotient):
        out = _simplify_quotient(_simplify(e.num), _simplify(e.den))
        if isinstance(out, Quotient) and out.num is e.num and out.den is e.den:
            return e
        return out
    raise TypeError(f"not an estimand: {e!r}")  # pragma: no cover


def _flatten(fs: Iterable[Estimand]) -> list[Estimand]:
    out: list[Estimand] = []
    for f in fs:
        if isinstance(f, Product):
            out.extend(_flatten(f.factors))
        else:
            out.append(f)
    return out


def _simplify_product(fs: list[Estimand]) -> Estimand:
    fs = _flatten(fs)
    for f in fs:  # 0 × … = 0
        if isinstance(f, Zero):
            return f
    # quotients inside a product: a (b / c) = (a b) / c, so cancellation sees every factor
    quots = [f for f in fs if isinstance(f, Quotient)]
    if quots:
        rest = [f for f in fs if not isinstance(f, Quotient)]
        num = Product(tuple(rest + [q.num for q in quots]))
        den = Product(tuple(q.den for q in quots))
        return _simplify_quotient(_simplify_product(_flatten([num])),
                                  _simplify_product(_flatten([den])))
    fs = _chain_rule(fs)
    if len(fs) == 1:
        return fs[0]
    return Product(tuple(fs))


def _chain_rule(fs: list[Estimand]) -> list[Estimand]:
    """Merge ``P(A | B, C) P(B | C)`` into ``P(A, B | C)`` until nothing merges."""
    fs = list(fs)
    while True:
        by_scope: dict[frozenset[str], list[int]] = {}
        for j, b in enumerate(fs):
            if isinstance(b, P):
                by_scope.setdefault(frozenset(b.vars) | frozenset(b.given), []).append(j)
        hit = None
        for i, a in enumerate(fs):
            if not isinstance(a, P) or not a.given:
                continue
            for j in by_scope.get(frozenset(a.given), ()):
                b = fs[j]
                assert isinstance(b, P)
                if i != j and not set(a.vars) & set(a.given) and _agree(a, b):
                    hit = (i, j, P((*b.vars, *a.vars), b.given, (*a.fixed, *b.fixed)))
                    break
            if hit:
                break
        if hit is None:
            return fs
        i, j, merged = hit
        fs = [merged if k == i else f for k, f in enumerate(fs) if k != j]


def _agree(a: P, b: P) -> bool:
    av, bv = a.values, b.values
    return all(av[k] == bv[k] for k in set(av) & set(bv)) and \
        set(av) & (set(b.vars) | set(b.given)) == set(bv) & (set(a.vars) | set(a.given))


def _simplify_sum(over: tuple[str, ...], body: Estimand) -> Estimand:
    if not over or isinstance(body, Zero):  # Σ 0 = 0
        return body
    if isinstance(body, Sum) and not set(over) & set(body.over) and \
            not set(over) & (body.body.free - body.free):
        return _simplify_sum((*over, *body.over), body.body)
    # variables the body does not mention keep their meaning (a factor of their size)
    idle = tuple(v for v in over if v not in body.free)
    over = tuple(v for v in over if v in body.free)
    if not over:
        return Sum(idle, body)
    factors = _flatten([body])
    if len(factors) == 1 and isinstance(factors[0], P):
        out: Estimand = _collapse(over, factors[0])
        return Sum(idle, out) if idle else out
    if isinstance(body, Quotient):
        # the denominator does not depend on a summed variable: pull it out
        if not set(over) & body.den.free:
            inner = _simplify_sum(over, body.num)
            q = _simplify_quotient(inner, body.den)
            return Sum(idle, q) if idle else q
        return Sum(idle + over, body)
    # pull out factors that mention no summed variable, then split the rest into groups
    # connected by summed variables, collapsing what the chain rule allows
    outside = [f for f in factors if not f.free & set(over)]
    inside = [f for f in factors if f.free & set(over)]
    groups: list[tuple[set[str], list[Estimand]]] = []
    for f in inside:
        vs = set(f.free & set(over))
        merged = [g for g in groups if g[0] & vs]
        for g in merged:
            vs |= g[0]
            groups.remove(g)
        groups.append((vs, [f for g in merged for f in g[1]] + [f]))
    pieces: list[Estimand] = list(outside)
    for vs, fs in groups:
        order = tuple(v for v in over if v in vs)
        pieces.append(_sum_group(order, fs))
    res = pieces[0] if len(pieces) == 1 else Product(tuple(pieces))
    return Sum(idle, res) if idle else res


def _sum_group(over: tuple[str, ...], fs: list[Estimand]) -> Estimand:
    """``Σ_over Π fs``, every factor mentioning some summed variable."""
    fs = list(fs)
    over_s = set(over)
    while over_s:
        users: dict[str, int] = {}
        for f in fs:
            for v in f.free & over_s:
                users[v] = users.get(v, 0) + 1
        changed = False
        new_fs: list[Estimand] = []
        for f in fs:
            if isinstance(f, P):
                # Σ_x P(x, R | B) = P(R | B) for each x that no other factor mentions
                drop = {v for v in f.vars if v in over_s and users.get(v) == 1
                        and v not in f.values}
                if drop:
                    over_s -= drop
                    changed = True
                    f = P(tuple(x for x in f.vars if x not in drop), f.given, f.fixed)
                    if not f.vars:
                        continue
            new_fs.append(f)
        fs = new_fs
        if not changed:
            break
        fs = _chain_rule(fs)
    body: Estimand = ONE if not fs else fs[0] if len(fs) == 1 else Product(tuple(fs))
    rest = tuple(v for v in over if v in over_s)
    return Sum(rest, body) if rest else body


def _collapse(over: tuple[str, ...], f: P) -> Estimand:
    """``Σ_over P(vars | given)`` for a single term."""
    out = _sum_group(over, [f])
    if isinstance(out, P) and not out.vars:
        return ONE
    return out


def _simplify_quotient(num: Estimand, den: Estimand) -> Estimand:
    if den == ONE or isinstance(num, Zero):  # 0 / d = 0 (a zero is 0 in every model)
        return num
    if isinstance(num, Quotient):
        return _simplify_quotient(num.num, _simplify_product([num.den, den]))
    if isinstance(den, Quotient):
        return _simplify_quotient(_simplify_product([num, den.den]), den.num)
    nf = _flatten([num])
    df = _flatten([den])
    for f in list(df):  # cancel common factors
        if f in nf:
            nf.remove(f)
            df.remove(f)
    # P(A, B | C) / P(B | C) = P(A | B, C)
    changed = True
    while changed:
        changed = False
        for d in df:
            if not isinstance(d, P):
                continue
            for n in nf:
                if isinstance(n, P) and set(n.given) == set(d.given) and \
                        set(d.vars) < set(n.vars) and _same_values(n, d):
                    rest = tuple(v for v in n.vars if v not in d.vars)
                    nf[nf.index(n)] = P(rest, (*d.vars, *n.given), n.fixed)
                    df.remove(d)
                    changed = True
                    break
            if changed:
                break
    n_e: Estimand = nf[0] if len(nf) == 1 else Product(tuple(nf))
    if not df:
        return n_e
    d_e: Estimand = df[0] if len(df) == 1 else Product(tuple(df))
    return Quotient(n_e, d_e)


def _same_values(n: P, d: P) -> bool:
    nv, dv = n.values, d.values
    return all(nv.get(k) == v for k, v in dv.items()) and \
        all(k not in (set(d.vars) | set(d.given)) or k in dv for k in nv if k in set(d.vars))


# -- printing ---------------------------------------------------------------------------------

class _Printer:
    def __init__(self, root: Estimand, latex: bool):
        self.latex = latex
        names: set[str] = set()
        for n in _walk(root):
            if isinstance(n, P):
                names.update(n.vars, n.given)
            elif isinstance(n, Sum):
                names.update(n.over)
        lower = {n.lower() for n in names}
        self.lowercase = len(lower) == len(names)

    def name(self, n: str) -> str:
        base = n.rstrip("'")
        primes = n[len(base):]
        s = base.lower() if self.lowercase else base
        if self.latex:
            s = s if len(s) == 1 else f"\\mathit{{{s}}}"
        return s + primes

    def show(self, e: Estimand, env: Mapping[str, str] | None = None,
             scope: frozenset[str] | None = None) -> str:
        env = dict(env or {})
        if scope is None:
            scope = e.free | {k for t in e.terms() for k, _ in t.fixed}
        return self._show(e, env, set(scope))

    def _show(self, e: Estimand, env: dict[str, str], scope: set[str]) -> str:
        if isinstance(e, P):
            return self._term(e, env)
        if isinstance(e, Zero):
            return "0"
        if isinstance(e, Sum):
            env2 = dict(env)
            taken = set(env.values()) | scope
            for v in e.over:
                new = v
                while new in taken:
                    new += "'"
                env2[v] = new
                taken.add(new)
            names = ",".join(self.name(env2[v]) for v in e.over)
            body = self._show(e.body, env2, scope | {env2[v] for v in e.over})
            if self.latex:
                return f"\\sum_{{{names}}} {body}"
            return f"Σ_{names if len(e.over) == 1 else '{' + names + '}'} {body}"
        if isinstance(e, Product):
            if not e.factors:
                return "1"
            parts = []
            for i, f in enumerate(e.factors):
                s = self._show(f, env, scope)
                last = i == len(e.factors) - 1
                if isinstance(f, Quotient) or (isinstance(f, Sum) and not last):
                    s = f"\\left[{s}\\right]" if self.latex else f"[{s}]"
                parts.append(s)
            return " ".join(parts)
        if isinstance(e, Quotient):
            n = self._show(e.num, env, scope)
            d = self._show(e.den, env, scope)
            if self.latex:
                return f"\\frac{{{n}}}{{{d}}}"
            if not isinstance(e.num, P):
                n = f"({n})"
            if not isinstance(e.den, P):
                d = f"({d})"
            return f"{n} / {d}"
        raise TypeError(f"not an estimand: {e!r}")  # pragma: no cover

    def _term(self, t: P, env: Mapping[str, str]) -> str:
        vals = t.values

        def one(v: str) -> str:
            nm = self.name(env.get(v, v))
            if v in vals:
                lab = show_label(vals[v])
                if self.latex:
                    return f"{nm}{{=}}\\text{{{lab}}}"
                return f"{nm}={lab}"
            return nm

        a = ",".join(one(v) for v in t.vars)
        if self.latex:
            a = ", ".join(one(v) for v in t.vars)
        if not t.given:
            return f"P({a})"
        b = (", " if self.latex else ",").join(one(v) for v in t.given)
        return f"P({a} \\mid {b})" if self.latex else f"P({a}|{b})"


def _walk(e: Estimand) -> Iterator[Estimand]:
    """Every node of an expression, depth first, in printing order."""
    yield e
    if isinstance(e, Sum):
        yield from _walk(e.body)
    elif isinstance(e, Product):
        for f in e.factors:
            yield from _walk(f)
    elif isinstance(e, Quotient):
        yield from _walk(e.num)
        yield from _walk(e.den)


# -- sympy ------------------------------------------------------------------------------------

def _to_sympy(e: Estimand, sizes: dict[str, int], env: Mapping[str, Any] | None = None) -> Any:
    import sympy

    env = dict(env or {})

    def sym(v: str) -> Any:
        return env.get(v) or sympy.Symbol(v)

    if isinstance(e, P):
        vals = e.values

        def arg(v: str) -> Any:
            return sympy.Symbol(f"{v}={show_label(vals[v])}") if v in vals else sym(v)

        Pf, Given = sympy.Function("P"), sympy.Function("Given")
        args = [arg(v) for v in e.vars]
        if e.given:
            args.append(Given(*(arg(v) for v in e.given)))
        return Pf(*args)
    if isinstance(e, Zero):
        return sympy.Integer(0)
    if isinstance(e, Sum):
        env2 = dict(env)
        for v in e.over:
            # a bound variable gets its own symbol, so a free variable of the same name
            # outside the sum stays distinct
            env2[v] = sympy.Dummy(v)
        out = _to_sympy(e.body, sizes, env2)
        for v in e.over:
            n = sizes.get(v)
            upper = (n - 1) if n is not None else sympy.Symbol(f"n_{v}") - 1
            out = sympy.Sum(out, (env2[v], 0, upper))
        return out
    if isinstance(e, Product):
        return sympy.Mul(*(_to_sympy(f, sizes, env) for f in e.factors))
    if isinstance(e, Quotient):
        return _to_sympy(e.num, sizes, env) / _to_sympy(e.den, sizes, env)
    raise TypeError(f"not an estimand: {e!r}")  # pragma: no cover
