"""Named quantities from a graph and data: ETT, NDE, NIE, CDE, PN, PS and PNS, each term
identified by ID*/IDC* (ID for the interventional CDE), with its formula, evaluated on
observational data (0 for an inconsistent event); or ``NotIdentifiable`` with the reason
(hedge, conflict).

The natural effects are nested counterfactuals; ``identify`` unnests them,
``P(Y[X = x, M = M[X = x']] = y) = Σ_m P(Y[X = x, M = m] = y, M[X = x'] = m)``, and the
conjunction goes to ID* with m open (named by its variable, so the sum over m is a sum over
the estimand's free m). Where Pearl's conditions hold this gives the mediation formula; where
they fail (a recanting witness, a hidden common cause of M and Y) ID* says why.
See docs/counterfactuals.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from causaldsl.analysis.identify import Identification, identify
from causaldsl.core.errors import NotIdentifiable, QueryError
from causaldsl.model.distribution import Distribution
from causaldsl.syntax.query import Expect, Linear, Prob, terms_of

GRAPH = ("the graph: its directed edges and hidden common causes (bidirected edges), and "
         "positivity of the data where the formula divides")


@dataclass(frozen=True)
class IdentifiedQuantity:
    """A named quantity as a sum of identified terms: ``terms`` pairs a coefficient with the
    identification of a probability; ``means`` says the quantity averages the outcome's
    values (an expectation) rather than reading one of them."""

    name: str
    definition: Prob | Linear
    terms: tuple[tuple[float, Identification], ...]
    means: bool

    def formula(self) -> str:
        """Each term's formula, by the rule that found it."""
        parts = [f"{t.query} = {t.formula()}" for _, t in self.terms]
        rules = ", ".join(dict.fromkeys(t.method for _, t in self.terms))
        how = " (the mean over its values of each)" if self.means else ""
        return f"{'; '.join(parts)}  [{rules}{how}]"

    def evaluate(self, source: Any, **kw: Any) -> float:
        """The value on observational data: a model, a joint table (``names=``), a
        Distribution, a DataFrame or a CSV/Parquet file, as ``Identification.evaluate``."""
        total = 0.0
        for c, t in self.terms:
            v = t.evaluate(source, **kw)
            if isinstance(v, Distribution):
                if not self.means or v.given:
                    raise QueryError(f"{self.name}: {t.query} is a table, not a number")
                v = v.expectation()
            total += c * float(v)
        return total

    def __str__(self) -> str:
        return f"{self.name} = {self.definition}\n  {self.formula()}"


def identify_quantity(graph: Any, name: str, definition: Prob | Linear) -> IdentifiedQuantity:
    """The quantity ``definition`` (a probability, or a sum of probabilities and expectations,
    as the named quantities of ``quantities`` define them) identified on ``graph`` (a model,
    an ADMG or a networkx DiGraph), term by term; NotIdentifiable names the term and the
    reason."""
    terms = []
    means = False
    for c, term in terms_of(definition):
        if isinstance(term, Expect):
            means = True
            prob = term.distribution
        else:
            prob = term
        try:
            terms.append((c, identify(graph, prob)))
        except NotIdentifiable as e:
            raise NotIdentifiable(f"{name}: {e}{_hint(name)}", e.f, e.f_prime, e.roots,
                                  reason=e.reason) from None
    return IdentifiedQuantity(name, definition, tuple(terms), means)


def _hint(name: str) -> str:
    if name in ("PN", "PS", "PNS"):
        return (f". {name} has sharp bounds from the data all the same: "
                f"causaldsl.counterfactual.bounds(...) or bounds_from(model, {name!r}, X, Y)")
    return ""


__all__ = ["GRAPH", "IdentifiedQuantity", "identify_quantity"]
