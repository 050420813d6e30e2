"""The canonical form of a .causal file: ``causal fmt``. Comments are kept: a comment on its
own line stays before the statement or item that follows it; one after code stays on that
line. ``parse(fmt(x))`` means what ``parse(x)`` means, and ``fmt(fmt(x)) == fmt(x)``."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from causaldsl.core.types import show_label
from causaldsl.lang import ast as A
from causaldsl.lang.parse import parse_module, without_bom
from causaldsl.syntax.grammars import parser
from causaldsl.syntax.printer import expr, write
from causaldsl.syntax.query import quote, show_number

INDENT = "  "
WIDTH = 100


def format_source(text: str, file: str = "<string>") -> str:
    """The canonical form of a source text (raises SourceError where it does not parse); a
    byte order mark is dropped."""
    text = without_bom(text)
    module = parse_module(text, file)
    comments = _comments(text)
    return _Printer(comments, text).module(module)


# -- comments -----------------------------------------------------------------------------------

#: The two kinds of string, as the grammar lexes them: a path (after ``import`` or ``from``)
#: has no escapes, so ``"a\"`` is whole; a query's quoted value has backslash escapes.
_PATH = re.compile(r'"[^"\n]*"')
_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")


def _comments(text: str) -> dict[int, tuple[str, bool]]:
    """Line → (comment text, whether code stands before it on that line). The text (which
    parses) is scanned as the lexer reads it, so a # or quote inside a string is no comment;
    lines are counted as the parser counts them, by "\n" alone (not at a form feed, say)."""
    out: dict[int, tuple[str, bool]] = {}
    line, start, i, word = 1, 0, 0, ""
    while i < len(text):
        c = text[i]
        if c == "\n":
            line, start, i = line + 1, i + 1, i + 1
            continue
        if c == "#":
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            out[line] = (text[i:end].rstrip(), bool(text[start:i].strip()))
            i = end
            continue
        m = (_PATH if word in ("import", "from") else _QUOTED).match(text, i) if c == '"' \
            else _WORD.match(text, i)
        if m is not None:
            word = m.group() if c != '"' else ""
            i = m.end()
            continue
        if not c.isspace():
            word = ""
        i += 1
    return out


class _Printer:
    def __init__(self, comments: dict[int, tuple[str, bool]], text: str):
        self.comments = dict(comments)
        self.blank = {n for n, line in enumerate(text.split("\n"), start=1) if not line.strip()}

    # leading comments: every own-line comment before `line` not yet printed
    def leading(self, line: int, indent: str) -> list[str]:
        out = []
        for n in sorted(k for k in self.comments if k < line):
            text, _ = self.comments.pop(n)
            out.append(indent + text)
        return out

    def inside(self, first: int, last: int) -> bool:
        """Whether a comment stands on a line after ``first``, up to ``last``: inside a block
        that starts on ``first``, so the block is printed over several lines to keep it there."""
        return any(first < n <= last for n in self.comments)

    def numbers(self, head: str, nums: Any, tail: str, first: int, last: int, indent: str
                ) -> list[str]:
        """``head[n, n, ...]tail``: on one line, or, with comments inside, over the lines the
        numbers stood on (each comment stays beside or above its numbers)."""
        lines = getattr(nums, "lines", ())
        if not lines or not self.inside(first, last):
            return [f"{head}[{', '.join(num(x) for x in nums)}]{tail}"
                    + self.trailing(first, last)]
        groups: dict[int, list[float]] = {}
        for x, n in zip(nums, lines, strict=True):
            groups.setdefault(n, []).append(x)
        out = [f"{head}[" + ("" if lines[0] == first else self.trailing(first, first))]
        for k, (n, xs) in enumerate(groups.items()):
            out.extend(self.leading(n, indent + INDENT))
            comma = "," if k + 1 < len(groups) else ""
            out.append(f"{indent}{INDENT}{', '.join(num(x) for x in xs)}{comma}"
                       + self.trailing(n, n))
        out.extend(self.leading(last, indent + INDENT))
        return [*out, f"{indent}]{tail}" + self.trailing(last, last)]

    def trailing(self, first: int, last: int) -> str:
        for n in range(first, last + 1):
            if n in self.comments and self.comments[n][1]:
                return MARK + self.comments.pop(n)[0]
        return ""

    def module(self, m: A.Module) -> str:
        lines: list[str] = []
        prev_last = 0
        for st in m.statements:
            lead = self.leading(st.span.line, "")
            gap = any(prev_last < n < st.span.line for n in self.blank) or (
                prev_last and (_multiline(st) or (lines and lines[-1] == "}")))
            if lines and gap:
                lines.append("")
            lines.extend(lead)
            lines.extend(self.statement(st))
            prev_last = st.span.last_line
        rest = self.leading(10**9, "")
        if rest:
            if lines:
                lines.append("")
            lines.extend(rest)
        return "\n".join(_align(lines)) + "\n"

    # -- statements ----------------------------------------------------------------------
    def statement(self, st: Any) -> list[str]:
        sp = st.span
        if isinstance(st, A.Import):
            return [f'import "{st.path}"' + self.trailing(sp.line, sp.last_line)]
        if isinstance(st, A.TypeDef):
            return [f"type {st.name} = {typ(st.type)}" + self.trailing(sp.line, sp.last_line)]
        if isinstance(st, A.ModelDef | A.GraphDef):
            kw = "model" if isinstance(st, A.ModelDef) else "graph"
            shared = bool(st.items) and st.items[0].span.line == sp.line  # item on the head line
            head = f"{kw} {st.name} {{" + ("" if shared else self.trailing(sp.line, sp.line))
            body: list[str] = []
            for it in st.items:
                body.extend(self.leading(it.span.line, INDENT))
                body.extend(self.item(it))
            body.extend(self.leading(sp.last_line, INDENT))
            return [head, *body, "}" + self.trailing(sp.last_line, sp.last_line)]
        if isinstance(st, A.Observed):
            names = ", ".join(n for n, _ in st.variables)
            head = f"observed P({names}) in {st.target[0]} "
            if st.csv is not None:
                return [f'{head}from "{st.csv}"' + self.trailing(sp.line, sp.last_line)]
            return self.numbers(head + "= ", st.numbers or (), "", sp.line, sp.last_line, "")
        if isinstance(st, A.BoxDef):
            return [f"box {st.name} : {product(st.dom)} -> {product(st.cod)}"
                    + self.trailing(sp.line, sp.last_line)]
        if isinstance(st, A.DiagramDef):
            if st.expr is not None:
                return [f"diagram {st.name} = {diagram_expr(st.expr)}"
                        + self.trailing(sp.line, sp.last_line)]
            params = ", ".join(f"{n} : {typ(t)}" for n, t in st.params)
            out = [f"diagram {st.name}({params}) -> {product(st.cod)} {{"
                   + self.trailing(sp.line, sp.line)]
            for b in st.binds:
                out.extend(self.leading(b.span.line, INDENT))
                out.append(f"{INDENT}{', '.join(b.targets)} = {b.box}({', '.join(b.args)})"
                           + self.trailing(b.span.line, b.span.last_line))
            out.extend(self.leading(sp.last_line, INDENT))
            out.append(f"{INDENT}return {', '.join(st.returns)}")
            return [*out, "}" + self.trailing(sp.last_line, sp.last_line)]
        if isinstance(st, A.QueryStmt):
            target = f" in {st.target[0]}" if st.target else ""
            assume = f" assuming {st.assume}" if st.assume else ""
            return [f"query {st.query}{target}{assume}" + self.trailing(sp.line, sp.last_line)]
        if isinstance(st, A.IdentifyStmt):
            by = f" by {st.method}" if st.method else ""
            target = f" in {st.target[0]}" if st.target else ""
            return [f"identify {st.prob}{target}{by}"
                    + self.trailing(sp.line, sp.last_line)]
        if isinstance(st, A.EstimateStmt):
            target = f" in {st.target[0]}" if st.target else ""
            by = f" by {st.method}" if st.method else ""
            opts = ", ".join(f"{o.name} = {_option_value(o)}" for o in st.options)
            return [f'estimate {st.query}{target} from "{st.data}"{by}'
                    + (f" with {opts}" if opts else "") + self.trailing(sp.line, sp.last_line)]
        if isinstance(st, A.FitStmt):
            by = f" by {st.method}" if st.method else ""
            opts = ", ".join(f"{o.name} = {_option_value(o)}" for o in st.options)
            return [f'fit {st.target[0]} to "{st.data}"{by}' + (f" with {opts}" if opts else "")
                    + self.trailing(sp.line, sp.last_line)]
        raise TypeError(f"cannot format {type(st).__name__}")  # pragma: no cover

    def item(self, it: Any) -> list[str]:
        sp = it.span
        if isinstance(it, A.ParamItem):
            return [f"{INDENT}param {it.name} {mechanism(it.prior)}"
                    + self.trailing(sp.line, sp.last_line)]
        if isinstance(it, A.Chain):
            return [INDENT + " -> ".join(n for n, _ in it.names) + self.trailing(sp.line, sp.last_line)]
        if isinstance(it, A.Bidirected):
            return [f"{INDENT}{it.a[0]} <-> {it.b[0]}" + self.trailing(sp.line, sp.last_line)]
        role = f"{it.role} " if it.role else ""
        head = f"{INDENT}{role}{it.name}" + (f" : {typ(it.type)}" if it.type is not None else "")
        mech = getattr(it, "mechanism", None)
        if mech is None:
            return [head + self.trailing(sp.line, sp.last_line)]
        if isinstance(mech, A.CondTable):
            parents = ", ".join(p for p, _ in mech.parents)
            rows = [f"{key(r.key)}: [{', '.join(num(x) for x in r.numbers)}]" for r in mech.rows]
            one = f"{head} ~ table({parents}) {{ {', '.join(rows)} }}"
            if len(one) <= WIDTH and not self.inside(sp.line, sp.last_line):
                return [one + self.trailing(sp.line, sp.last_line)]
            # a row per line; a comment stays beside or above its row, or before the brace
            first = mech.rows[0].span.line if mech.rows else 0
            body = [f"{head} ~ table({parents}) {{"
                    + ("" if first == sp.line else self.trailing(sp.line, sp.line))]
            for k, r in enumerate(mech.rows):
                body.extend(self.leading(r.span.line, INDENT * 2))
                body.extend(self.numbers(f"{INDENT * 2}{key(r.key)}: ", r.numbers,
                                         "," if k + 1 < len(rows) else "", r.span.line,
                                         r.span.last_line, INDENT * 2))
            body.extend(self.leading(sp.last_line, INDENT * 2))
            return [*body, f"{INDENT}}}" + self.trailing(sp.last_line, sp.last_line)]
        if isinstance(mech, A.InlineTable):
            return self.numbers(f"{head} ~ ", mech.numbers, "", sp.line, sp.last_line, INDENT)
        return [f"{head} {mechanism(mech)}" + self.trailing(sp.line, sp.last_line)]


#: Where a trailing comment starts in a printed line, until _align places it: a newline, the one
#: character that neither code nor a comment can contain.
MARK = "\n"


def _align(lines: list[str]) -> list[str]:
    """Trailing comments of consecutive lines start in one column (at least two spaces after
    the longest code among them)."""
    out = list(lines)
    i = 0
    while i < len(out):
        if MARK not in out[i]:
            i += 1
            continue
        j = i
        while j < len(out) and MARK in out[j]:
            j += 1
        width = max(len(out[k].split(MARK)[0]) for k in range(i, j))
        for k in range(i, j):
            code, comment = out[k].split(MARK)
            out[k] = code.ljust(width) + "  " + comment
        i = j
    return out


def _multiline(st: Any) -> bool:
    return isinstance(st, A.ModelDef | A.GraphDef) or (isinstance(st, A.DiagramDef)
                                                       and st.expr is None)


# -- pieces -------------------------------------------------------------------------------------

num = show_number


def label(v: Any) -> str:
    """A label as the language writes it: ``true``, ``-1``, ``yes``, and in quotes one that
    no bare label can be (``"0-3 days"``, ``"12+"``, ``"true"`` the name, ``"table"``)."""
    if isinstance(v, bool | int):
        return show_label(v)
    return v if is_name(v) else quote(v)


def is_name(text: str) -> bool:
    """Whether the language reads ``text`` as a name (of a variable, a model, a type, or a
    bare label): the grammar's NAME, which no keyword is."""
    return _name().fullmatch(text) is not None


@cache
def _name() -> re.Pattern[str]:
    return re.compile(parser("causal.lark", "start").get_terminal("NAME").pattern.to_regexp())


def key(k: tuple[Any, ...]) -> str:
    return label(k[0]) if len(k) == 1 else "(" + ", ".join(label(v) for v in k) + ")"


def typ(t: Any) -> str:
    if isinstance(t, A.TypeName):
        return t.name
    if isinstance(t, A.TypeEnum):
        return "{" + ", ".join(label(v) for v in t.labels) + "}"
    if t.low == -float("inf") and t.high == float("inf"):
        return "Real"
    lo = "(-inf" if t.low == -float("inf") else f"[{num(t.low)}"
    hi = "inf)" if t.high == float("inf") else f"{num(t.high)}]"
    return f"Real in {lo}, {hi}"


def product(ts: tuple[Any, ...]) -> str:
    return " ⊗ ".join(typ(t) for t in ts) if ts else "I"


def mechanism(m: Any) -> str:
    if isinstance(m, A.UnknownTableSyntax):
        table = f"table({', '.join(p for p, _ in m.parents)}) " if m.parents else ""
        return f"~ {table}unknown" + ("" if m.prior is None else f" {prior(m.prior)}")
    if isinstance(m, A.InlineTable):
        return f"~ [{', '.join(num(x) for x in m.numbers)}]"
    if isinstance(m, A.DistCall):
        return f"~ {m.name}({', '.join(expr(a) for a in m.args)})"
    return f":= {expr(m.expr)}"


def prior(a: Any) -> str:
    """A Dirichlet prior as written: ``Dirichlet(0.5)`` or ``Dirichlet([1, 2])``."""
    if isinstance(a, tuple):
        return f"Dirichlet([{', '.join(num(x) for x in a)}])"
    return f"Dirichlet({num(a)})"


def diagram_expr(e: Any, parent: int = 0) -> str:
    """A diagram expression with the parentheses it needs (``;`` binds looser than ``⊗``, both
    to the left); written from a stack, not by recursion: a chain may be thousands long."""
    return write(e, parent, _diagram_pieces)


def _diagram_pieces(x: Any) -> str | tuple[int, list[Any]]:
    if isinstance(x, A.DSeq | A.DTensor):
        p = 1 if isinstance(x, A.DSeq) else 2
        return p, [(x.left, p), " ; " if p == 1 else " ⊗ ", (x.right, p + 1)]
    return _diagram_atom(x)


def _diagram_atom(e: Any) -> str:
    if isinstance(e, A.DRef):
        return e.name
    if e.kind == "copy":
        return f"copy({typ(e.types[0])}" + (f", {e.n})" if e.n != 2 else ")")
    if e.kind == "swap":
        return f"swap({typ(e.types[0])}, {typ(e.types[1])})"
    return f"{e.kind}({product(e.types)})"


def _option_value(o: A.Option) -> str:
    """An estimate option's value as written: ``"text"``, ``0.9``, ``{A, B}``, ``drop``."""
    if o.kind == "string":
        return f'"{o.value}"'
    if o.kind == "number":
        assert isinstance(o.value, float)
        return show_number(o.value)
    if isinstance(o.value, tuple):
        return "{" + ", ".join(o.value) + "}"
    return str(o.value)
