"""Parsing .causal text into its syntax tree: source files read as UTF-8, every syntax error
located and saying, readably, what could come next."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from causaldsl.lang.ast import Module, transformer
from causaldsl.lang.files import read_regular
from causaldsl.syntax.diagnostics import Diagnostic, SourceError, Span, source_line
from causaldsl.syntax.grammars import parser
from causaldsl.syntax.lark_standalone import UnexpectedInput, VisitError
from causaldsl.syntax.query import TransformError

KEYWORDS = {"type", "model", "graph", "observed", "box", "diagram", "query", "identify",
            "estimate", "with", "import", "latent", "exogenous", "table", "if", "then", "else",
            "and", "or", "not",
            "true", "false", "in", "from", "by", "return", "do", "P", "E", "id", "copy",
            "discard", "swap", "Real", "Bool", "assuming"}


_TERMINALS = {"NAME": "a name", "NUMBER": "a number", "SIGNED_INT": "an integer", "INT": "an integer",
              "STRING": 'a "quoted" path', "LBRACE": "'{'", "RBRACE": "'}'", "LPAR": "'('",
              "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COLON": "':'", "COMMA": "','",
              "EQUAL": "'='", "TILDE": "'~'", "$END": "end of file", "SIGNED_REAL": "a number",
              "ESCAPED_STRING": 'a "quoted" value', "METHOD": "a method (backdoor, adjustment, "
              "frontdoor, comb, id)", "NUMBERS": "numbers", "PROPERTY": "a property",
              "ASSUMPTION": "an assumption (response_functions)",
              # a list of numbers as one token; wherever it may stand, so may its '['
              "NUMBER_ROW": "'['"}


#: What an expected-token list shows as one entry when it holds several of these.
_OPERATORS = {"'+'", "'-'", "'*'", "'/'", "'^'", "'=='", "'!='", "'<'", "'<='", "'>'", "'>='",
              "'and'", "'or'"}


_STATEMENTS = ("type", "model", "graph", "observed", "box", "diagram", "query", "identify",
               "estimate", "fit", "import")


BOM = "\ufeff"


def without_bom(text: str) -> str:
    """The text without a leading byte order mark (some editors write one): it is no part of
    the source."""
    return text[1:] if text.startswith(BOM) else text


def read_source(path: Path, shown: str | None = None) -> str:
    """The text of a .causal file as ``read_text`` has it (UTF-8, \\r\\n and \\r read as \\n;
    a byte order mark is kept: parsing and formatting drop it, and ``causal fmt --check``
    sees it). Only a regular file is read (``files.read_regular``: a FIFO or a device is an
    OSError). Bytes that are not UTF-8 are a SourceError at their line and column (``shown``:
    the path to name)."""
    return decode_source(read_regular(path), shown if shown is not None else str(path))


def decode_source(data: bytes, shown: str) -> str:
    """A .causal file's bytes as text (see ``read_source``)."""
    try:
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as e:
        start = data.rfind(b"\n", 0, e.start) + 1
        line = data.count(b"\n", 0, e.start) + 1
        col = len(data[start:e.start].decode("utf-8", errors="replace")) + 1
        text = data.decode("utf-8", errors="replace")
        raise SourceError([Diagnostic(
            shown, Span(line, col),
            f"the file is not UTF-8 text (byte 0x{data[e.start]:02x} here); save it as UTF-8",
            source_line(text, line))]) from None


def parse_module(text: str, file: str = "<string>") -> Module:
    """Parse .causal text into its syntax tree; a syntax error is a located SourceError."""
    text = without_bom(text)
    try:
        tree = parser("causal.lark", "start").parse(text)
    except UnexpectedInput as e:
        first = syntax_diagnostic(e, text, file)
        raise SourceError(_all_syntax_errors(text, file) or [first], parsed=False) from None
    try:
        module: Module = transformer(text).transform(tree)
    except VisitError as e:
        if not isinstance(e.orig_exc, TransformError):  # a number too large, worlds too deep
            raise
        tok = e.orig_exc.token
        line = tok.line or 1
        raise SourceError([Diagnostic(file, Span(line, tok.column or 1), e.orig_exc.message,
                                      source_line(text, line))], parsed=False) from None
    return module


_STATEMENT_START = re.compile(
    r"^(type|model|graph|observed|box|diagram|query|identify|import)\b")


def _all_syntax_errors(text: str, file: str) -> list[Diagnostic]:
    """Every syntax error, not only the first: parse each top-level statement on its own (a
    statement starts with its keyword at the start of a line) and shift its positions."""
    lines = text.split("\n")  # as the parser counts lines (not at a form feed, say)
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    starts = [i for i, line in enumerate(lines) if _STATEMENT_START.match(line)]
    if not starts or starts[0] != 0:
        starts = [0, *starts]
    out = []
    for k, begin in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        chunk = "".join(lines[begin:end])
        try:
            parser("causal.lark", "start").parse(chunk)
        except UnexpectedInput as e:
            d = syntax_diagnostic(e, chunk, file)
            line = d.span.line + begin
            out.append(Diagnostic(file, Span(line, d.span.column), d.message,
                                  source_line(text, line)))
    return out


def syntax_diagnostic(e: Any, text: str, file: str, grammar: str = "causal.lark") -> Diagnostic:
    """A syntax error of ``grammar`` (a lark error) as a located diagnostic: what was found,
    and what could come instead."""
    line, col = getattr(e, "line", 1) or 1, getattr(e, "column", 1) or 1
    token = getattr(e, "token", None)
    if token is not None and getattr(token, "type", None) == "$END":
        lines = text.rstrip().split("\n")
        line, col = len(lines), len(lines[-1]) + 1
        what = "unexpected end of file"
    elif token is not None:
        # a list of numbers lexed as one token (NUMBER_ROW) where none may stand: say its '[',
        # as when it was lexed number by number
        what = "unexpected '['" if getattr(token, "type", None) == "NUMBER_ROW" \
            else f"unexpected {str(token)!r}"
    else:
        ch = text[e.pos_in_stream] if getattr(e, "pos_in_stream", None) is not None and \
            e.pos_in_stream < len(text) else ""
        what = f"unexpected character {ch!r}"
    expected = getattr(e, "expected", None) or getattr(e, "allowed", None) or []
    # what the parser can take here, where it can say (LALR's own list has the lookaheads of
    # merged states: tokens that cannot come next); a lexer error keeps the list above
    with contextlib.suppress(Exception):
        expected = e.interactive_parser.accepts() or expected
    names = expected_names(expected, grammar)
    msg = what + (f"; expected {', '.join(names)}" if names else "")
    if grammar == "causal.lark" and token is not None and str(token) in KEYWORDS and \
            "a name" in names:
        msg += f" ({str(token)!r} is a keyword and cannot be a name)"
    return Diagnostic(file, Span(line, col), msg, source_line(text, line))


def expected_names(terminals: Any, grammar: str = "causal.lark") -> list[str]:
    """What a syntax error says it expected, all of it and readable: quoted tokens and words,
    never a terminal's name (``ROLE``, ``__ANON_1``); many operators are "an operator", and
    every statement keyword "a new statement"."""
    names = {n for x in terminals for n in _readable(str(x), grammar)}
    tail = []
    if len(names & _OPERATORS) >= 4:
        names -= _OPERATORS
        tail.append("an operator")
    if {f"'{k}'" for k in _STATEMENTS} <= names:
        names -= {f"'{k}'" for k in _STATEMENTS}
        tail.append(f"a new statement ({', '.join(_STATEMENTS[:3])}, …)")
    return sorted(names) + tail


def _readable(terminal: str, grammar: str = "causal.lark") -> tuple[str, ...]:
    """A terminal of the grammar as a syntax error names it: its text quoted, each of the
    texts it matches when it is a choice of texts (``'latent'``, ``'exogenous'``), or words."""
    short = terminal if terminal.startswith("__") else terminal.rsplit("__", 1)[-1]
    if short in _TERMINALS:
        return (_TERMINALS[short],)
    from causaldsl.syntax.grammars import parser as p

    for t in p(grammar, "start").terminals:
        if t.name != terminal:
            continue
        pat = t.pattern
        if pat.type == "str":
            return (f"'{pat.value}'",)
        choice = re.fullmatch(r"\(\?:(.*)\)", pat.value)
        alternatives = choice.group(1).split("|") if choice else []
        if alternatives and all(_PLAIN.fullmatch(a) for a in alternatives):
            return tuple("'" + re.sub(r"\\(.)", r"\1", a) + "'" for a in alternatives)
    return (short.lower().replace("_", " "),)


_PLAIN = re.compile(r"(?:\\.|[^\\.^$*+?{}\[\]()|])+")  # a regex that is only a text
