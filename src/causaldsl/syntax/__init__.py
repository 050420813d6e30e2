"""Syntax: source spans and located errors, the grammars and parser, expression and query
syntax trees, and their printer. Text in, trees out; no model is known here."""
