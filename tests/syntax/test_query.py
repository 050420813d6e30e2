"""The query parser on long and nested queries: sums and differences of any number of terms
are read without recursion; potential outcomes nest at most MAX_WORLD_DEPTH worlds deep, and a
query past that is a syntax error at the potential outcome that goes past it."""

from __future__ import annotations

import pytest

from causaldsl.core.errors import QuerySyntaxError
from causaldsl.syntax.query import MAX_WORLD_DEPTH, Event, Linear, Prob, parse_query

A = Prob((Event("A", "a"),))


def test_a_difference_of_a_thousand_terms():
    q = parse_query(" - ".join(["P(A = a)"] * 1000))
    assert isinstance(q, Linear) and q.terms == ((1.0, A),) + ((-1.0, A),) * 999
    assert parse_query(str(q)) == q


def test_sums_scaled_and_in_parentheses():
    n = 3000
    q = parse_query("2 * (" + " + ".join(["P(A = a)"] * n) + ") - " + "(" * n + "P(A = a)"
                    + ")" * n)
    assert isinstance(q, Linear) and q.terms == ((2.0, A),) * n + ((-1.0, A),)


def nested(depth: int) -> str:
    return "P(" + "Y[X = " * depth + "x" + "]" * depth + " = y)"


def test_worlds_nest_up_to_the_limit():
    q = parse_query(nested(MAX_WORLD_DEPTH))
    assert isinstance(q, Prob)
    e, depth = q.outcomes[0], 0
    while e.world:
        depth += 1
        e = e.world[0][1] if isinstance(e.world[0][1], Event) else Event("Y")
    assert depth == MAX_WORLD_DEPTH
    assert parse_query("E[" + nested(MAX_WORLD_DEPTH)[2:-5] + "]")


@pytest.mark.parametrize("depth", [MAX_WORLD_DEPTH + 1, 5000])
def test_deeper_worlds_are_a_located_syntax_error(depth):
    with pytest.raises(QuerySyntaxError) as err:
        parse_query(nested(depth))
    column = 3 + 6 * (depth - MAX_WORLD_DEPTH - 1)  # the potential outcome that goes past it
    assert str(err.value).startswith(
        f"query:1:{column}: Y[…] nests worlds {MAX_WORLD_DEPTH + 1} deep; potential outcomes may "
        f"nest at most {MAX_WORLD_DEPTH} deep\n")
    with pytest.raises(QuerySyntaxError, match="potential outcomes may nest at most"):
        parse_query("E[" + nested(depth)[2:-5] + "]")
    with pytest.raises(QuerySyntaxError, match="potential outcomes may nest at most"):
        parse_query(f"P(Z = z | {nested(depth)[2:-1]})")
