"""A bracketed list of numbers is lexed as one token (grammar: NUMBER_ROW) where it holds only
numbers, and by the rule ``numbers`` where it holds a comment or a mistake: both read the same
values, lines and spans, and a mistake or an overflow is reported where it stands."""

from __future__ import annotations

import pytest

from causaldsl.lang.ast import Numbers
from causaldsl.lang.parse import parse_module
from causaldsl.syntax.grammars import parser
from causaldsl.syntax.tree import Record

from .test_language import located

ROWS = """model m {
  A : {a, b, c} ~ [0.25, - 0.25,
                   .5e0]
  B : {x, y} ~ table(A) {
    a: [1, 0], b: [0.5,0.5,], c: [ 1e-1 , 9E-1 ]
  }
}
observed P(A) in m = [0.2, 0.3, 0.5]
"""


def _numbers(tree):
    """Every Numbers in a parsed module, in order."""
    found = []

    def walk(x):
        if isinstance(x, Numbers):
            found.append((tuple(x), x.lines))
        elif isinstance(x, (tuple, list)):
            for y in x:
                walk(y)
        elif isinstance(x, Record):
            for name in x._fields:
                walk(getattr(x, name))

    walk(tree)
    return found


def _commented(text: str) -> str:
    """The same text with a comment inside every list, so that no list is one token."""
    return text.replace("[", "[ # c\n")


def test_rows_lexed_as_one_token_read_as_the_rule_reads_them():
    fast, slow = parse_module(ROWS), parse_module(_commented(ROWS))
    rows = _numbers(fast)
    # hand-read: "- 0.25" is -0.25 and ".5e0" 0.5; the second number of A's row stands on
    # line 2, its third on line 3 (fmt keeps comments between numbers by these lines)
    assert rows[0] == ((0.25, -0.25, 0.5), (2, 2, 3))
    assert [r[0] for r in rows[1:]] == [(1.0, 0.0), (0.5, 0.5), (0.1, 0.9), (0.2, 0.3, 0.5)]
    assert [r[0] for r in _numbers(slow)] == [r[0] for r in rows]
    tokens = [t.type for t in parser("causal.lark").lex(ROWS)]
    assert tokens.count("NUMBER_ROW") == 5 and "NUMBER" not in tokens
    assert "NUMBER_ROW" not in [t.type for t in parser("causal.lark").lex(_commented(ROWS))]


def test_a_table_element_spans_its_brackets_either_way():
    """The inline table's span starts at '[' and ends after ']' whether its list was one
    token or several (errors about the table point at it)."""
    text = "model m {\n  A : Bool ~ [0.5, 0.5]\n}"
    for t in (text, text.replace("0.5]", "0.5 # c\n]")):
        table = parse_module(t).statements[0].items[0].mechanism
        assert (table.span.line, table.span.column) == (2, 14)


@pytest.mark.parametrize(("text", "line", "col", "message"), [
    # an overflow on the row's second line: located at the number, not at the '['
    ("model m {\n  X : Bool ~ [0.5,\n     -1e400]\n}", 3, 6, "the number -1e400 is too large"),
    ("model m {\n  X : Bool ~ [0.5, 1e999]\n}", 2, 20, "the number 1e999 is too large"),
    # a mistake in a list: no NUMBER_ROW matches, and the rule says what it expected
    ("model m {\n  X : Bool ~ [0.5, x]\n}", 2, 20, "expected"),
    ("model m {\n  X : Bool ~ [0.5 0.5]\n}", 2, 19, "expected"),
    # spaces the language refuses stay refused inside a list (regex's \s would take them)
    ("model m {\n  X : Bool ~ [0.5,\u00a00.5]\n}", 2, 19, "unexpected character '\\xa0'"),
    ("model m {\n  X : Bool ~ [0.5,\x0b0.5]\n}", 2, 19, "unexpected character '\\x0b'"),
    # a list where none may stand is reported by its '[', not as the whole list
    ("model m {\n  A : Bool ~ [0.5, 0.5]\n  B : Bool ~ table(A) { true [0.5,\n 0.5] }\n}",
     3, 30, "unexpected '['; expected ':'"),
])
def test_mistakes_in_a_list_are_located(tmp_path, capsys, text, line, col, message):
    err = located(tmp_path, capsys, text, line, col, message)
    assert "NUMBER_ROW" not in err and "number row" not in err
