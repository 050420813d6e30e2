"""A query's answer on a fitted model: its posterior draws (one value, or one table per
draw), summarised by the mean and an equal-tailed credible interval, and whether the data
can decide it at all (identification from the observed columns)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.core.types import FiniteType, show_label
from causaldsl.model.html import html_table


@dataclass(frozen=True, eq=False)
class Posterior:
    """``draws``: shape ``(S,)`` for a number, ``(S, *cells)`` for a table whose axes are
    ``axes`` (typed ``types``). ``point``: the maximum-likelihood value when the fit was by
    ``mle`` (then the draws are bootstrap replicates). ``identified`` False means the data
    cannot decide the answer: ``why`` names the hedge, and the spread is the prior's; None
    means identification could not be decided (``why`` says why)."""

    query: str
    draws: np.ndarray
    axes: tuple[str, ...] = ()
    types: tuple[FiniteType, ...] = ()
    level: float = 0.95
    identified: bool | None = True
    why: str = ""
    method: str = ""
    point: np.ndarray | None = None
    #: NUTS only: the split r-hat and bulk effective sample size of this answer's draws
    r_hat: float | None = None
    ess: float | None = None
    #: the root-mean-square Monte Carlo error of one draw's value, where the values were
    #: sampled (fitted parameters), a part of the spread that is no posterior uncertainty
    mc_error: float | None = None

    @property
    def mean(self) -> Any:
        return _value(self.draws.mean(axis=0))

    @property
    def estimate(self) -> Any:
        """The value shown: the maximum-likelihood value for ``mle``, else the posterior mean."""
        return self.mean if self.point is None else _value(self.point)

    @property
    def sd(self) -> Any:
        return _value(self.draws.std(axis=0, ddof=1) if len(self.draws) > 1
                      else np.zeros(self.draws.shape[1:]))

    @property
    def interval(self) -> tuple[Any, Any]:
        """The equal-tailed interval holding ``level`` of the draws."""
        a = (1 - self.level) / 2
        lo, hi = np.quantile(self.draws, [a, 1 - a], axis=0)
        return _value(lo), _value(hi)

    def __float__(self) -> float:
        if self.draws.ndim != 1:
            raise TypeError(f"{self.query} is a table, not one number")
        return float(self.estimate)

    def __len__(self) -> int:
        return int(self.draws.shape[0])

    @property
    def kind(self) -> str:
        return "bootstrap" if self.method == "mle" else "posterior"

    def cells(self) -> list[tuple[Any, float, float, float]]:
        """(labels, estimate, low, high) for each cell of a table."""
        lo, hi = self.interval
        est = np.asarray(self.estimate)
        out = []
        for idx in itertools.product(*(range(t.size) for t in self.types)):
            labels = tuple(t.values[i] for t, i in zip(self.types, idx, strict=True))
            out.append((labels[0] if len(labels) == 1 else labels, float(est[idx]),
                        float(np.asarray(lo)[idx]), float(np.asarray(hi)[idx])))
        return out

    def summary_line(self) -> str:
        """The interval and what it is: ``95% credible interval [a, b]``."""
        what = "bootstrap interval" if self.kind == "bootstrap" else "credible interval"
        lo, hi = self.interval
        return f"{self.level:.0%} {what} [{float(lo):.4g}, {float(hi):.4g}]"

    def note(self) -> str:
        """What the reader must know besides the numbers: how many draws, by what, and
        whether the data can decide the answer."""
        est = "maximum likelihood, with" if self.kind == "bootstrap" else "posterior mean of"
        head = f"{est} {len(self)} {'replicates' if self.kind == 'bootstrap' else 'draws'}" \
            + (f" ({self.method})" if self.method and self.method != "mle" else "")
        if self.ess is not None:
            head += f", ESS {self.ess:.0f}" + (f", r-hat {self.r_hat:.3f}"
                                               if self.r_hat is not None else "")
        if self.mc_error is not None and self.draws.ndim == 1 and len(self.draws) > 1:
            total = float(np.var(self.draws, ddof=1))
            share = self.mc_error ** 2 / total if total > 0 else 0.0
            if share > 0.01:
                head += (f"\nMonte Carlo error of each draw's value: {self.mc_error:.3g}, "
                         f"{share:.0%} of the spread's variance: the interval is about "
                         f"{1 / np.sqrt(max(1 - share, 1e-12)) - 1:.0%} wider than the "
                         "posterior's")
        if self.identified:
            return head
        if self.identified is None:
            return (f"{head}\nwhether the observed columns identify this could not be decided "
                    f"({self.why}): the spread may come partly from the prior")
        return (f"{head}\nNOT IDENTIFIED from the observed columns: {self.why}\nThe data "
                "cannot decide this answer: its spread comes from the prior and will not "
                "shrink as data grow.")

    def body(self) -> str:
        """The answer without the query: ``= value (interval)`` and the note, or the table."""
        if self.draws.ndim == 1:
            return (f"= {float(self.estimate):.6g}  ({self.summary_line()}, sd "
                    f"{float(self.sd):.3g})\n{self.note()}")
        head = [*self.axes, "estimate" if self.kind == "bootstrap" else "mean", "low", "high"]
        rows = [[*(show_label(x) for x in (k if isinstance(k, tuple) else (k,))),
                 f"{m:.6g}", f"{lo:.6g}", f"{hi:.6g}"] for k, m, lo, hi in self.cells()]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                 for r in [head, *rows]]
        level = f"low/high: the {self.level:.0%} " + (
            "bootstrap interval" if self.kind == "bootstrap" else "credible interval")
        return "\n".join(lines) + f"\n{level}; {self.note()}"

    def __str__(self) -> str:
        return f"{self.query}{' ' if self.draws.ndim == 1 else chr(10)}{self.body()}"

    def to_pandas(self) -> Any:
        """A DataFrame summary: one row (a number) or a row per cell (a column per axis), with
        the estimate, sd, interval, and whether the data identify it. The draws themselves
        are ``draws``."""
        import pandas as pd

        lo, hi = self.interval
        sd = self.sd
        if self.draws.ndim == 1:
            return pd.DataFrame([{"query": self.query, "estimate": float(self.estimate),
                                  "sd": float(sd), "low": float(lo), "high": float(hi),
                                  "level": self.level, "identified": self.identified}])
        rows = []
        for (k, m, a, b), s in zip(self.cells(), np.asarray(sd).reshape(-1), strict=True):
            labels = k if isinstance(k, tuple) else (k,)
            rows.append({**dict(zip(self.axes, labels, strict=True)), "estimate": m,
                         "sd": float(s), "low": a, "high": b})
        out = pd.DataFrame(rows)
        out["level"], out["identified"] = self.level, self.identified
        return out

    def _repr_html_(self) -> str:
        """Jupyter: the summary table (:meth:`to_pandas`) under the query, and the note."""
        return html_table(self.to_pandas(), self.query, self.note())

    def to_dict(self) -> dict[str, Any]:
        """The answer as JSON-ready data."""
        lo, hi = self.interval
        out: dict[str, Any] = {"query": self.query, "kind": self.kind, "level": self.level,
                               "draws": len(self), "identified": self.identified}
        if not self.identified:
            out["why"] = self.why
        if self.method:
            out["method"] = self.method
        if self.ess is not None:
            out.update(ess=self.ess, r_hat=self.r_hat)
        if self.mc_error is not None:
            out["mc_error"] = self.mc_error
        if self.draws.ndim == 1:
            out.update(estimate=float(self.estimate), sd=float(self.sd), low=float(lo),
                       high=float(hi))
        else:
            out["axes"] = list(self.axes)
            out["table"] = [{"values": [show_label(x) for x in
                                        (k if isinstance(k, tuple) else (k,))],
                             "estimate": m, "low": a, "high": b} for k, m, a, b in self.cells()]
        return out


def _value(x: Any) -> Any:
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x
