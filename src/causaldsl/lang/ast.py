"""The syntax tree of a .causal file, and the lark transformer that builds it (beside it).

Every node carries the Span of its first token, so elaboration can point at the source.
"""

from __future__ import annotations

import math
import re
from typing import Any

from causaldsl.syntax.diagnostics import NOWHERE, Span
from causaldsl.syntax.lark_standalone import (
    Token,
    Transformer,
    Transformer_NonRecursive,
    merge_transformers,
    v_args,
)
from causaldsl.syntax.query import Prob, _ToQuery, integer, number, unquote
from causaldsl.syntax.tree import (
    Binary,
    BoolLit,
    Call,
    DistCall,
    IfElse,
    ListLit,
    Num,
    Record,
    Unary,
    Var,
)

# -- expressions --------------------------------------------------------------------------------


# -- types --------------------------------------------------------------------------------------


class TypeName(Record):
    name: str
    span: Span


class TypeEnum(Record):
    labels: tuple[str | int, ...]
    span: Span


class TypeReal(Record):
    low: float
    high: float
    span: Span


TypeExpr = TypeName | TypeEnum | TypeReal

# -- statements ---------------------------------------------------------------------------------


class Import(Record):
    path: str
    span: Span


class TypeDef(Record):
    name: str
    type: TypeExpr
    span: Span


class Numbers(tuple[float, ...]):
    """The numbers of a list as written, with the line each stands on (for fmt, which keeps
    comments between them in place; not part of equality)."""

    lines: tuple[int, ...]

    def __new__(cls, values: Any, lines: Any = ()) -> Numbers:
        out = super().__new__(cls, values)
        out.lines = tuple(lines)
        return out


class InlineTable(Record):
    numbers: tuple[float, ...]
    span: Span


class Row(Record):
    key: tuple[str | int, ...]
    numbers: tuple[float, ...]
    span: Span


class CondTable(Record):
    parents: tuple[tuple[str, Span], ...]
    rows: tuple[Row, ...]
    span: Span


class Functional(Record):
    expr: Any
    span: Span


class UnknownTableSyntax(Record):
    """``~ unknown`` or ``~ table(P…) unknown``, with an optional ``Dirichlet(a)`` prior
    (``prior``: a number, a tuple of numbers, or None for the default)."""

    parents: tuple[tuple[str, Span], ...]
    prior: Any
    span: Span


Mechanism = InlineTable | CondTable | DistCall | Functional | UnknownTableSyntax


class ModelItem(Record):
    role: str | None
    name: str
    type: TypeExpr
    mechanism: Mechanism | None
    span: Span


class ParamItem(Record):
    """``param NAME ~ Dist(…)``: an unknown number with its prior."""

    name: str
    prior: DistCall
    span: Span


class ModelDef(Record):
    name: str
    items: tuple[ModelItem | ParamItem, ...]
    span: Span


class NodeDecl(Record):
    """``[latent|exogenous] X [: T]``: a graph's node, with its role and type (None: none
    given)."""

    role: str | None
    name: str
    type: TypeExpr | None
    span: Span


class Chain(Record):
    names: tuple[tuple[str, Span], ...]
    span: Span


class Bidirected(Record):
    a: tuple[str, Span]
    b: tuple[str, Span]
    span: Span


class GraphDef(Record):
    name: str
    items: tuple[NodeDecl | Chain | Bidirected, ...]
    span: Span


class Observed(Record):
    variables: tuple[tuple[str, Span], ...]
    target: tuple[str, Span]
    numbers: tuple[float, ...] | None
    csv: str | None
    span: Span


class BoxDef(Record):
    name: str
    dom: tuple[TypeExpr, ...]
    cod: tuple[TypeExpr, ...]
    span: Span


class DRef(Record):
    name: str
    span: Span


class DGen(Record):
    kind: str  # id, copy, discard, swap
    types: tuple[TypeExpr, ...]
    n: int
    span: Span


class DSeq(Record):
    left: Any
    right: Any
    span: Span


class DTensor(Record):
    left: Any
    right: Any
    span: Span


class Bind(Record):
    targets: tuple[str, ...]
    box: str
    args: tuple[str, ...]
    span: Span


class DiagramDef(Record):
    name: str
    expr: Any | None  # algebraic form
    params: tuple[tuple[str, TypeExpr], ...] = ()
    cod: tuple[TypeExpr, ...] = ()
    binds: tuple[Bind, ...] = ()
    returns: tuple[str, ...] = ()
    span: Span = NOWHERE


class QueryStmt(Record):
    query: Any
    text: str
    target: tuple[str, Span] | None
    span: Span
    #: an assumption the user states so the model answers (``assuming response_functions``)
    assume: str | None = None


class IdentifyStmt(Record):
    prob: Prob
    text: str
    target: tuple[str, Span] | None  # None: the last model or graph above
    method: str | None
    span: Span


class Option(Record):
    """``name = value`` in an estimate statement's ``with`` clause: a string, a number, a set
    of names ``{A, B}`` or a name."""

    name: str
    value: str | float | tuple[str, ...]
    kind: str  # "string", "number", "names", "name"
    span: Span


class EstimateStmt(Record):
    query: Any
    text: str
    target: tuple[str, Span] | None
    data: str
    method: str | None
    options: tuple[Option, ...]
    span: Span


class FitStmt(Record):
    """``fit M to "data.csv" [by METHOD] [with OPTION = VALUE, …]``."""

    target: tuple[str, Span]
    data: str
    method: str | None
    options: tuple[Option, ...]
    span: Span


Statement = (Import | TypeDef | ModelDef | GraphDef | Observed | BoxDef | DiagramDef | QueryStmt
             | IdentifyStmt | EstimateStmt | FitStmt)


class Module(Record):
    """A parsed file: its statements in order."""

    statements: tuple[Statement, ...]


# -- the transformer ----------------------------------------------------------------------------


def _span(x: Any) -> Span:
    if isinstance(x, Token):
        return Span(x.line or 1, x.column or 1)
    meta = getattr(x, "meta", None)
    if meta is not None and not getattr(meta, "empty", True):
        return Span(meta.line, meta.column)
    return getattr(x, "span", Span(1, 1))


def _label(tok: Any) -> str | int | bool:
    """A label as written: a name, true/false, or an integer (``-1``, ``+1`` and ``1`` are
    numbers, so ``{-1, +1}`` is a numeric type like ``{0, 1}``); a quoted label is always a
    name (``"yes"`` is ``yes``; ``"1"`` and ``"true"`` are names, not a number or a boolean)."""
    s = str(tok)
    if getattr(tok, "type", None) == "ESCAPED_STRING":
        return unquote(s)
    if s in ("true", "false"):
        return s == "true"
    return integer(tok) if _INT.fullmatch(s) else s


_INT = re.compile(r"[+-]?\d+")
#: a number in a NUMBER_ROW, with its sign (the grammar's NUMBER, ASCII digits only)
_SIGNED = re.compile(r"(?:-[ \t\f\r\n]*)?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?"
                     r"|\.[0-9]+(?:[eE][-+]?[0-9]+)?)")


@v_args(meta=True)
class _ToAst(Transformer_NonRecursive):
    """Builds the AST. ``text`` is the source, for the text of each query statement. It walks
    the parse tree with a stack, not recursion: a sum of thousands of terms parses to a tree
    as deep."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def _sp(self, meta: Any, items: list[Any]) -> Span:
        if meta is not None and not getattr(meta, "empty", True):
            return Span(meta.line, meta.column, meta.end_line)
        return _span(items[0]) if items else Span(1, 1)

    def start(self, meta, items):  # type: ignore[no-untyped-def]
        return Module(tuple(items))

    def import_stmt(self, meta, items):  # type: ignore[no-untyped-def]
        return Import(str(items[0])[1:-1], self._sp(meta, items))

    # types
    def type_def(self, meta, items):  # type: ignore[no-untyped-def]
        return TypeDef(str(items[0]), items[1], self._sp(meta, items))

    def type_name(self, meta, items):  # type: ignore[no-untyped-def]
        return TypeName(str(items[0]), self._sp(meta, items))

    def type_enum(self, meta, items):  # type: ignore[no-untyped-def]
        return TypeEnum(tuple(_label(t) for t in items), self._sp(meta, items))

    def type_real(self, meta, items):  # type: ignore[no-untyped-def]
        lo, hi = (-float("inf"), float("inf")) if not items or items[0] is None else items[0]
        return TypeReal(lo, hi, self._sp(meta, items))

    def real_bounds(self, meta, items):  # type: ignore[no-untyped-def]
        return (number(items[0]), number(items[1]))

    def negative(self, meta, items):  # type: ignore[no-untyped-def]
        tok = items[0].update(value=f"-{items[0]}")  # a token still, to say where it stands
        if meta is not None and not getattr(meta, "empty", True):  # at the '-'
            tok.line, tok.column = meta.line, meta.column
        return tok

    def numbers(self, meta, items):  # type: ignore[no-untyped-def]
        return Numbers((number(x) for x in items), (x.line or 1 for x in items))

    def numbers_row(self, meta, items):  # type: ignore[no-untyped-def]
        """``[n, n, …]`` lexed as one token (grammar: NUMBER_ROW): its numbers, each a token
        of its own where it overflows (the error says where it stands)."""
        row, values, lines = items[0], [], []
        text, line = str(row), row.line or 1
        for m in _SIGNED.finditer(text):
            written = m.group()
            if written[0] == "-":  # "- 0.5" is written -0.5, as the rule ``negative`` makes it
                written = "-" + written[1:].lstrip(" \t\f\r\n")
            at = line + text.count("\n", 0, m.start())
            value = float(written)
            if math.isinf(value):
                col = m.start() - text.rfind("\n", 0, m.start()) if at > line \
                    else (row.column or 1) + m.start()
                tok = row.update("NUMBER", written)
                tok.line, tok.column = at, col
                number(tok)  # raises, located
            values.append(value)
            lines.append(at)
        return Numbers(values, lines)

    def names(self, meta, items):  # type: ignore[no-untyped-def]
        return tuple((str(t), _span(t)) for t in items)

    # models
    def model_def(self, meta, items):  # type: ignore[no-untyped-def]
        return ModelDef(str(items[0]), tuple(items[1:]), self._sp(meta, items))

    def model_item(self, meta, items):  # type: ignore[no-untyped-def]
        role = str(items[0]) if isinstance(items[0], Token) and items[0].type == "ROLE" else None
        rest = items[1:] if role else items
        name_tok, typ = rest[0], rest[1]
        mech = rest[2] if len(rest) > 2 else None
        first = _span(items[0])
        return ModelItem(role, str(name_tok), typ, mech, Span(first.line, first.column,
                                                               getattr(meta, "end_line", 0)))

    def param_item(self, meta, items):  # type: ignore[no-untyped-def]
        prior = DistCall(str(items[1]), tuple(a for a in items[2:] if a is not None),
                         _span(items[1]))
        return ParamItem(str(items[0]), prior, self._sp(meta, items))

    def stochastic(self, meta, items):  # type: ignore[no-untyped-def]
        return items[0]

    def functional(self, meta, items):  # type: ignore[no-untyped-def]
        return Functional(items[0], self._sp(meta, items))

    def inline_table(self, meta, items):  # type: ignore[no-untyped-def]
        return InlineTable(items[0], self._sp(meta, items))

    def cond_table(self, meta, items):  # type: ignore[no-untyped-def]
        return CondTable(items[0], tuple(items[1:]), self._sp(meta, items))

    def dist_call(self, meta, items):  # type: ignore[no-untyped-def]
        return DistCall(str(items[0]), tuple(a for a in items[1:] if a is not None),
                        _span(items[0]))

    def unknown_table(self, meta, items):  # type: ignore[no-untyped-def]
        prior = items[1] if len(items) > 1 else None
        return UnknownTableSyntax(tuple(items[0]), prior, self._sp(meta, items))

    def unknown_root(self, meta, items):  # type: ignore[no-untyped-def]
        return UnknownTableSyntax((), items[0] if items else None, self._sp(meta, items))

    def prior(self, meta, items):  # type: ignore[no-untyped-def]
        x = items[0]
        return tuple(x) if isinstance(x, tuple) else number(x) if isinstance(x, Token) \
            else x

    def row(self, meta, items):  # type: ignore[no-untyped-def]
        return Row(items[0], items[1], self._sp(meta, items))

    def key_one(self, meta, items):  # type: ignore[no-untyped-def]
        return (_label(items[0]),)

    def key_many(self, meta, items):  # type: ignore[no-untyped-def]
        return tuple(_label(t) for t in items)

    # graphs
    def graph_def(self, meta, items):  # type: ignore[no-untyped-def]
        return GraphDef(str(items[0]), tuple(items[1:]), self._sp(meta, items))

    def node_decl(self, meta, items):  # type: ignore[no-untyped-def]
        role = str(items[0]) if isinstance(items[0], Token) and items[0].type == "ROLE" else None
        rest = items[1:] if role else items
        first = _span(items[0])
        return NodeDecl(role, str(rest[0]), rest[1] if len(rest) > 1 else None,
                        Span(first.line, first.column, getattr(meta, "end_line", 0)))

    def chain(self, meta, items):  # type: ignore[no-untyped-def]
        return Chain(tuple((str(t), _span(t)) for t in items), self._sp(meta, items))

    def bidirected(self, meta, items):  # type: ignore[no-untyped-def]
        a, b = items
        return Bidirected((str(a), _span(a)), (str(b), _span(b)), self._sp(meta, items))

    # observations
    def observed_inline(self, meta, items):  # type: ignore[no-untyped-def]
        return Observed(items[0], (str(items[1]), _span(items[1])), items[2], None,
                        self._sp(meta, items))

    def observed_csv(self, meta, items):  # type: ignore[no-untyped-def]
        return Observed(items[0], (str(items[1]), _span(items[1])), None, str(items[2])[1:-1],
                        self._sp(meta, items))

    # boxes and diagrams
    def box_def(self, meta, items):  # type: ignore[no-untyped-def]
        return BoxDef(str(items[0]), items[1], items[2], self._sp(meta, items))

    def unit(self, meta, items):  # type: ignore[no-untyped-def]
        return ()

    def product_types(self, meta, items):  # type: ignore[no-untyped-def]
        return tuple(t for t in items if not isinstance(t, Token))

    def diagram_alg(self, meta, items):  # type: ignore[no-untyped-def]
        return DiagramDef(str(items[0]), items[1], span=self._sp(meta, items))

    def diagram_prog(self, meta, items):  # type: ignore[no-untyped-def]
        name = str(items[0])
        params = tuple(p for p in items[1:] if isinstance(p, tuple) and len(p) == 2
                       and isinstance(p[0], str) and not isinstance(p[1], Span))
        rest = [x for x in items[1:] if not (isinstance(x, tuple) and x in params) and x is not None]
        cod = next(x for x in rest if isinstance(x, tuple))
        binds = tuple(x for x in rest if isinstance(x, Bind))
        returns = tuple(str(x) for x in rest if isinstance(x, Token))
        return DiagramDef(name, None, params, cod, binds, returns, self._sp(meta, items))

    def param(self, meta, items):  # type: ignore[no-untyped-def]
        return (str(items[0]), items[1])

    def bind(self, meta, items):  # type: ignore[no-untyped-def]
        targets = tuple(n for n, _ in items[0])
        return Bind(targets, str(items[1]), tuple(str(a) for a in items[2:] if a is not None),
                    self._sp(meta, items))

    def seq(self, meta, items):  # type: ignore[no-untyped-def]
        return DSeq(items[0], items[2], self._sp(meta, items))

    def tensor(self, meta, items):  # type: ignore[no-untyped-def]
        return DTensor(items[0], items[2], self._sp(meta, items))

    def dref(self, meta, items):  # type: ignore[no-untyped-def]
        return DRef(str(items[0]), self._sp(meta, items))

    def did(self, meta, items):  # type: ignore[no-untyped-def]
        return DGen("id", tuple(items[0]), 1, self._sp(meta, items))

    def dcopy(self, meta, items):  # type: ignore[no-untyped-def]
        n = integer(items[1]) if len(items) > 1 and items[1] is not None else 2
        return DGen("copy", (items[0],), n, self._sp(meta, items))

    def ddiscard(self, meta, items):  # type: ignore[no-untyped-def]
        return DGen("discard", tuple(items[0]), 0, self._sp(meta, items))

    def dswap(self, meta, items):  # type: ignore[no-untyped-def]
        return DGen("swap", (items[0], items[1]), 2, self._sp(meta, items))

    # queries
    def prob(self, meta, items):  # type: ignore[no-untyped-def]
        return _ToQuery().prob(items)

    def query_stmt(self, meta, items):  # type: ignore[no-untyped-def]
        rest = [t for t in items[1:] if t is not None]
        target = next(((str(t), _span(t)) for t in rest if t.type == "NAME"), None)
        assume = next((str(t) for t in rest if t.type == "ASSUMPTION"), None)
        return QueryStmt(items[0], str(items[0]), target, self._sp(meta, items), assume)

    def identify_stmt(self, meta, items):  # type: ignore[no-untyped-def]
        rest = [t for t in items[1:] if t is not None]
        target = next(((str(t), _span(t)) for t in rest if t.type == "NAME"), None)
        method = next((str(t) for t in rest if t.type == "METHOD"), None)
        return IdentifyStmt(items[0], str(items[0]), target, method, self._sp(meta, items))

    def estimate_stmt(self, meta, items):  # type: ignore[no-untyped-def]
        query, rest = items[0], [i for i in items[1:] if i is not None]
        target = data = method = None
        options = []
        for it in rest:
            if isinstance(it, Option):
                options.append(it)
            elif it.type == "NAME":
                target = (str(it), _span(it))
            elif it.type == "STRING":
                data = str(it)[1:-1]
            else:
                method = str(it)
        return EstimateStmt(query, str(query), target, data, method, tuple(options),
                            self._sp(meta, items))

    def fit_stmt(self, meta, items):  # type: ignore[no-untyped-def]
        rest = [i for i in items[2:] if i is not None]
        method = next((str(i) for i in rest if isinstance(i, Token)), None)
        return FitStmt((str(items[0]), _span(items[0])), str(items[1])[1:-1], method,
                       tuple(i for i in rest if isinstance(i, Option)), self._sp(meta, items))

    def option(self, meta, items):  # type: ignore[no-untyped-def]
        kind, value = items[1]
        return Option(str(items[0]), value, kind, _span(items[0]))

    def opt_string(self, meta, items):  # type: ignore[no-untyped-def]
        return ("string", str(items[0])[1:-1])

    def opt_number(self, meta, items):  # type: ignore[no-untyped-def]
        return ("number", number(items[0]))

    def opt_names(self, meta, items):  # type: ignore[no-untyped-def]
        names = items[0] if items and items[0] is not None else ()
        return ("names", tuple(n for n, _ in names))

    def opt_name(self, meta, items):  # type: ignore[no-untyped-def]
        return ("name", str(items[0]))

    # expressions
    def if_expr(self, meta, items):  # type: ignore[no-untyped-def]
        return IfElse(items[0], items[1], items[2], self._sp(meta, items))

    def or_(self, meta, items):  # type: ignore[no-untyped-def]
        return Binary("or", items[0], items[1], self._sp(meta, items))

    def and_(self, meta, items):  # type: ignore[no-untyped-def]
        return Binary("and", items[0], items[1], self._sp(meta, items))

    def not_(self, meta, items):  # type: ignore[no-untyped-def]
        return Unary("not", items[0], self._sp(meta, items))

    def compare(self, meta, items):  # type: ignore[no-untyped-def]
        return Binary(str(items[1]), items[0], items[2], self._sp(meta, items))

    def binop(self, meta, items):  # type: ignore[no-untyped-def]
        return Binary(str(items[1]), items[0], items[2], self._sp(meta, items))

    def neg_(self, meta, items):  # type: ignore[no-untyped-def]
        return Unary("-", items[0], self._sp(meta, items))

    def pow_(self, meta, items):  # type: ignore[no-untyped-def]
        return Binary("^", items[0], items[1], self._sp(meta, items))

    def num(self, meta, items):  # type: ignore[no-untyped-def]
        return Num(number(items[0]), _span(items[0]))

    def true_(self, meta, items):  # type: ignore[no-untyped-def]
        return BoolLit(True, self._sp(meta, items))

    def false_(self, meta, items):  # type: ignore[no-untyped-def]
        return BoolLit(False, self._sp(meta, items))

    def var(self, meta, items):  # type: ignore[no-untyped-def]
        return Var(str(items[0]), _span(items[0]))

    def call(self, meta, items):  # type: ignore[no-untyped-def]
        return Call(str(items[0]), tuple(a for a in items[1:] if a is not None), _span(items[0]))

    def list_(self, meta, items):  # type: ignore[no-untyped-def]
        return ListLit(tuple(items), self._sp(meta, items))


def transformer(text: str) -> Transformer:
    """The AST builder, with the query sub-grammar's transformer merged in."""
    return merge_transformers(_ToAst(text), query=_ToQuery())
