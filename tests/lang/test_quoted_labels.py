"""Quoted labels (issue 18: "Quoted labels in the language, so any label a BIF file holds
round-trips"): a label that is no name is written in quotes in a type, a table row and a query;
a quoted label is always a name; ``causal fmt`` writes a label bare where it can and quoted
where it must, and reads back what it wrote."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causaldsl import parse
from causaldsl.lang.fmt import format_source, label
from causaldsl.syntax.diagnostics import SourceError
from causaldsl.syntax.query import parse_query, quote, unquote

SOURCE = r"""type Age = {"0-3 days", "4-10 days", "12+", "<5"}
model m {
  A : Age ~ [0.1, 0.2, 0.3, 0.4]
  B : {"a b", "say \"hi\"", "back\\slash", c} ~ table(A) {
    "0-3 days": [1, 0, 0, 0], "4-10 days": [0, 1, 0, 0], "12+": [0, 0, 1, 0], "<5": [0, 0, 0, 1]
  }
}
query P(B = "say \"hi\"" | do(A = "4-10 days"))
"""


def test_labels_in_quotes_are_any_text():
    prog = parse(SOURCE)
    m = prog.models["m"]
    assert m["A"].type.values == ("0-3 days", "4-10 days", "12+", "<5")
    assert m["B"].type.values == ("a b", 'say "hi"', "back\\slash", "c")
    assert m.query('P(B = "say \\"hi\\"" | do(A = "4-10 days"))') == 1.0
    assert m.query('P(B = "back\\\\slash")') == pytest.approx(0.3)
    assert m.query('P(B = "a b" | A = "0-3 days")') == 1.0


def test_a_quoted_label_is_a_name():
    """``"yes"`` is ``yes``; ``"1"`` is the name 1, not the number; ``"true"`` not the boolean."""
    prog = parse('type T = {"yes", no}\ntype U = {yes, "no"}\ntype N = {"0", "1"}\n'
                 'type M = {0, 1}\ntype B = {"false", "true"}\n')
    assert prog.types["T"] == prog.types["U"]
    assert prog.types["N"].values == ("0", "1") and prog.types["M"].values == (0, 1)
    assert prog.types["N"] != prog.types["M"]
    assert prog.types["B"].values == ("false", "true") and prog.types["B"] != parse(
        "type B = {false, true}\n").types["B"]


def test_fmt_writes_a_label_bare_where_it_can_and_quoted_where_it_must():
    text = format_source('type T = {"yes", no, "0", 0, "true", true, "table", "P", "x\'", '
                         '"a b", "12+", "a\\"b", "é"}\n')
    assert text == ('type T = {yes, no, "0", 0, "true", true, "table", P, x\', "a b", "12+", '
                    '"a\\"b", "é"}\n')
    assert format_source(text) == text
    assert format_source(SOURCE) == format_source(format_source(SOURCE))
    assert parse(format_source(SOURCE)).models["m"] == parse(SOURCE).models["m"]


@settings(deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"),
               max_size=12))
def test_any_label_without_a_line_break_round_trips(text):
    assert unquote(quote(text)) == text
    written = label(text)
    source = f"type T = {{{written}}}\nmodel m {{\n  X : T ~ [1]\n}}\nquery P(X = {quote(text)})\n"
    prog = parse(source)
    assert prog.types["T"].values == (text,)
    assert prog.models["m"].query(f"P(X = {quote(text)})") == 1.0
    assert parse(format_source(source)).types["T"].values == (text,)
    q = parse_query(f"P(X = {quote(text)})")
    assert q.outcomes[0].value == text and parse_query(str(q)) == q


def test_an_unterminated_quote_is_a_located_error():
    with pytest.raises(SourceError) as e:
        parse('type T = {yes, "no}\n')
    first = str(e.value).splitlines()[0]
    assert first.startswith("<string>:1:16: error: unexpected character '\"'"), first
