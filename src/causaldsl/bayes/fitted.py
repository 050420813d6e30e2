"""A fitted model: a model with unknown tables and the posterior draws of those tables.
Every query is the exact backend's batch over the draws (one vmapped call), and says whether
the observed columns identify it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from causaldsl.bayes.gaussian import NormalPosterior
from causaldsl.bayes.inference import Diagnostics
from causaldsl.bayes.posterior import Posterior
from causaldsl.core.errors import CausalError, NotIdentifiable, QueryError
from causaldsl.ir.mechanism import Table
from causaldsl.model.causal_model import CausalModel, Variable, check_query
from causaldsl.model.graph import ADMG
from causaldsl.syntax.query import Expect, Linear, Prob, parse_query, terms_of


@dataclass(frozen=True, eq=False)
class FittedModel:
    """``model`` (its unknown tables as declared), ``draws`` of each unknown table (a leading
    axis of draws), the data's observed columns (``observed``, ``n`` rows from ``source``), and
    how the fit went. ``point``: the maximum-likelihood tables of a fit ``by mle``;
    ``concentration``: the exact Dirichlet posterior of a conjugate fit; ``normal``: the exact
    Normal posterior of the parameters of a conjugate fit."""

    model: CausalModel
    draws: Mapping[str, np.ndarray]
    observed: tuple[str, ...]
    n: int
    diagnostics: Diagnostics
    source: str = "data"
    point: Mapping[str, np.ndarray] | None = None
    concentration: Mapping[str, np.ndarray] | None = field(default=None, repr=False)
    normal: NormalPosterior | None = field(default=None, repr=False)

    @property
    def method(self) -> str:
        return self.diagnostics.method

    @cached_property
    def tables(self) -> dict[str, np.ndarray]:
        """Each unknown table's estimate: the posterior mean (exact where conjugate), or the
        maximum-likelihood table."""
        if self.point is not None:
            return {v: np.asarray(self.point[v]) for v in self.model.unknown}
        if self.concentration is not None:
            return {v: a / a.sum(axis=-1, keepdims=True) for v, a in self.concentration.items()}
        return {v: np.asarray(self.draws[v]).mean(axis=0) for v in self.model.unknown}

    @cached_property
    def estimated_model(self) -> CausalModel:
        """The model with each unknown table replaced by its estimate (``tables``)."""
        new = []
        for v, arr in self.tables.items():
            var = self.model.variables[v]
            new.append(Variable(v, var.type, var.role, var.parents,
                                Table(arr, len(var.parents))))
        return self.model.replace(new)

    def query(self, text: str | Prob | Expect | Linear, level: float = 0.95) -> Posterior:
        """The posterior of ``text`` (``P(...)``, ``E[...]``, a sum of them), observational,
        interventional or counterfactual: its value under each draw of the tables."""
        check_query("query", text)
        if not isinstance(level, float | int) or isinstance(level, bool) or not 0 < level < 1:
            raise QueryError(f"level is a probability between 0 and 1 (0.95 for a 95% "
                             f"interval), got {level!r}")
        q = parse_query(text) if isinstance(text, str) else text
        terms = terms_of(q)
        total: np.ndarray | None = None
        point: np.ndarray | None = None
        why: list[str] = []
        undecided: list[str] = []
        mcs: list[np.ndarray] = []  # each term's Monte Carlo variance per draw (parameters)
        axes: tuple[str, ...] = ()
        types: tuple[Any, ...] = ()
        for coef, term in terms:
            values, axes, types = self._values(term, self.draws)
            if self.model.parameters:
                mcs.append(values.mc)
            if len(terms) > 1 and values.ndim > 1:
                raise QueryError(f"{term} is a table; in a sum of queries name every value "
                                 f"({', '.join(axes)})")
            total = coef * values if total is None else total + coef * values
            if self.point is not None:  # the same term under the one maximum-likelihood draw
                one = np.asarray(self._values(term, {p: np.asarray(v)[None] for p, v in
                                                     self.point.items()})[0])[0]
                point = coef * one if point is None else point + coef * one
            decided, reason = self.identification(term)
            if reason:
                (why if decided else undecided).append(reason)
        assert total is not None
        r_hat, ess = self._mixing(total)
        identified = False if why else None if undecided else True
        mc = None
        if mcs:  # the terms' errors are not independent (shared numbers): bound them
            per_draw = sum(abs(c) * np.sqrt(m) for m, (c, _) in zip(mcs, terms, strict=True))
            mc = float(np.sqrt(np.mean(np.asarray(per_draw) ** 2)))
        return Posterior(str(q), total, axes, types, float(level), identified,
                         "; ".join(why or undecided), self.method, point, r_hat, ess, mc)

    def sample(self, n: int, seed: int = 0, do: Any = None, columns: Any = None) -> Any:
        """``n`` rows of the posterior predictive as a DataFrame: each row drawn from the
        model under a posterior draw picked at random (``do`` and ``columns`` as in
        ``CausalModel.sample``): synthetic data that carry the posterior's uncertainty."""
        import pandas as pd

        from causaldsl.backends.simulate import simulate
        from causaldsl.core.checks import check_count, check_seed

        rows = check_count("the number of rows n", n, 0)
        rng = np.random.default_rng(check_seed(seed))
        size = len(next(iter(self.draws.values())))
        pick = rng.integers(size, size=rows)
        if self.model.parameters:
            return simulate(self.model, rows, seed, do, columns,
                            params={p: np.asarray(a)[pick] for p, a in self.draws.items()})
        parts = []
        for k, (i, count) in enumerate(zip(*np.unique(pick, return_counts=True),
                                           strict=True)):  # rows of one draw at once
            tables = [Variable(v, var.type, var.role, var.parents,
                               Table(np.asarray(self.draws[v])[i], len(var.parents)))
                      for v, var in ((v, self.model.variables[v]) for v in self.model.unknown)]
            parts.append(simulate(self.model.replace(tables), int(count), seed + k, do, columns))
        if not parts:
            return simulate(self.estimated_model, 0, seed, do, columns)
        frame = pd.concat(parts, ignore_index=True)
        return frame.iloc[rng.permutation(rows)].reset_index(drop=True)

    def _values(self, term: Any, draws: Mapping[str, np.ndarray]
                ) -> tuple[Any, tuple[str, ...], tuple[Any, ...]]:
        """A term's value under each of ``draws`` (one per draw, or one table per draw), and
        the table's axes and their types: the exact backend's batch over the tables, or the
        forward passes of the parameters."""
        if not self.model.parameters:
            batch = self.estimated_model.query_batch(term, tables=dict(draws))
            return (np.asarray(batch.probs, dtype=np.float64), (*batch.variables, *batch.given),
                    (*batch.types, *batch.given_types))
        from causaldsl.bayes.parametric import parametric_answer
        from causaldsl.core.types import FiniteType
        from causaldsl.model.checks import check_query as check_on_model

        check_on_model(self.model, term.prob if isinstance(term, Expect) else term)
        values = parametric_answer(self.model, draws, term)
        if values.ndim == 1:
            return values, (), ()
        prob = term.prob if isinstance(term, Expect) else term
        (y,) = prob.outcomes
        yt = self.model.variables[y.var].type
        assert isinstance(yt, FiniteType)
        return values, (y.var,), (yt,)

    def _mixing(self, draws: np.ndarray) -> tuple[float | None, float | None]:
        """For NUTS: the worst split r-hat and bulk ESS over an answer's cells (its draws are
        kept chain after chain); None otherwise."""
        d = self.diagnostics
        if d.method != "nuts" or len(draws) % d.chains:
            return None, None
        from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

        by_chain = draws.reshape(d.chains, -1, *draws.shape[1:])
        if not np.any(by_chain.std(axis=1) > 0):
            return None, None  # the same value in every draw: nothing to mix
        ess = float(np.nanmin(effective_sample_size(by_chain)))
        r_hat = float(np.nanmax(split_gelman_rubin(by_chain))) if d.chains > 1 else None
        return r_hat, ess

    @cached_property
    def observed_graph(self) -> ADMG:
        """The graph of the data's columns: every other variable projected out."""
        parents = {v.name: v.parents for v in self.model.variables.values()}
        return ADMG.latent_projection(parents, self.observed, name=self.model.name)

    def identification(self, term: Any) -> tuple[bool, str]:
        """(True, "") when the observed columns identify ``term``; (True, why) when they do
        not (the hedge, or a variable that is no column); (False, why) when the question could
        not be put to the identification algorithms."""
        from causaldsl.analysis.identify import identify

        prob = term.distribution if isinstance(term, Expect) else term
        read = {e.var for e in (*prob.outcomes, *prob.interventions, *prob.evidence)}
        hidden = sorted(read - set(self.observed))
        if hidden:
            return True, (f"{', '.join(hidden)} {'is' if len(hidden) == 1 else 'are'} not a "
                          "column of the data")
        try:
            identify(self.observed_graph, prob)
        except NotIdentifiable as e:
            return True, str(e)
        except CausalError as e:  # a query ID cannot take: say so rather than guess
            return False, str(e)
        return True, ""

    def to_dict(self) -> dict[str, Any]:
        """How the fit went, as JSON-ready data."""
        d = self.diagnostics
        out = {"method": d.method, "rows": self.n, "columns": list(self.observed),
               "draws": d.draws, "r_hat": d.r_hat, "ess": d.ess, "divergences": d.divergences,
               "seconds": d.seconds, "warnings": list(d.warnings)}
        if self.normal is not None:  # the exact posterior of the coefficients
            out["normal"] = {"names": list(self.normal.names),
                             "mean": self.normal.mean.tolist(), "cov": self.normal.cov.tolist()}
        return out

    def __str__(self) -> str:
        learned = ", ".join([*self.model.unknown, *self.model.parameters])
        lines = [f"fitted {self.model.name}: {learned} learned from "
                 f"{self.n} rows of {self.source} (columns {', '.join(self.observed)})",
                 str(self.diagnostics)]
        lines += [f"warning: {w}" for w in self.diagnostics.warnings]
        return "\n".join(lines)

    __repr__ = __str__
