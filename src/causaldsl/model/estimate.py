"""Answers that are estimates: a number or a table with its Monte Carlo standard error, and the
route that produced it (closed form, forward sampling, importance sampling, NUTS)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causaldsl.core.drawable import Drawable
from causaldsl.core.types import show_label
from causaldsl.model.distribution import Batch, Distribution, Expectations, _table


class Estimate(float):
    """A float with its standard error ``se`` (0 when exact), its ``route``, and diagnostics
    (``samples``, ``ess``, ``rhat``, ``sd``). Prints as ``value ± se  (route, …)``."""

    se: float
    route: str
    details: dict[str, Any]

    def __new__(cls, value: float, se: float = 0.0, route: str = "", **details: Any) -> Estimate:
        out = super().__new__(cls, value)
        out.se, out.route = float(se), route
        out.details = {k: v for k, v in details.items() if v is not None}
        return out

    @property
    def value(self) -> float:
        return float(self)

    def note(self) -> str:
        """The route and diagnostics, e.g. ``importance sampling, 10000 samples, ESS 4210``."""
        bits = [self.route] if self.route else []
        d = self.details
        if "samples" in d:
            bits.append(f"{d['samples']} samples")
        if "ess" in d:
            bits.append(f"ESS {d['ess']:.0f}")
        if "rhat" in d:
            bits.append(f"r-hat {d['rhat']:.3f}")
        if d.get("devices", 1) > 1:
            bits.append(f"on {d['devices']} devices")
        if "note" in d:
            bits.append(d["note"])
        return ", ".join(bits)

    def __str__(self) -> str:
        pm = f" ± {self.se:.2g}" if self.se else ""
        return f"{float(self):.6g}{pm}  ({self.note()})"

    __repr__ = __str__


class EffectEstimate(Estimate, Drawable):
    """An estimate from data: the value, its standard error ``se`` and interval ``ci`` at
    ``level``, the ``method`` and adjustment set, ``n`` rows, each mean it combines
    (``means``: text, value, se), and the propensity overlap (``diagnostics``, ``warnings``).
    A notebook shows it as its forest plot (one row) above its text, through the picture
    hook."""

    @property
    def ci(self) -> tuple[float, float]:
        lo, hi = self.details["ci"]
        return (float(lo), float(hi))

    @property
    def level(self) -> float:
        return float(self.details["level"])

    @property
    def method(self) -> str:
        return str(self.details["method"])

    @property
    def n(self) -> int:
        return int(self.details["n"])

    @property
    def adjustment(self) -> tuple[str, ...]:
        return tuple(self.details.get("adjustment", ()))

    @property
    def diagnostics(self) -> dict[str, Any]:
        return dict(self.details.get("diagnostics", {}))

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.details.get("warnings", ()))

    def to_dict(self) -> dict[str, Any]:
        """What ``--json`` prints: value, se, ci, level, method, n and the diagnostics."""
        d = self.details
        out = {"query": d.get("query"), "value": float(self), "se": self.se,
               "ci": list(self.ci), "level": self.level, "method": self.method, "n": self.n,
               "adjustment": list(self.adjustment), "interval": d.get("interval"),
               "means": [{"term": t, "value": v, "se": s} for t, v, s in d.get("means", ())],
               "diagnostics": self.diagnostics, "warnings": list(self.warnings)}
        out["models"] = {name: {c: {"coef": b, "se": s} for c, (b, s) in coefs.items()}
                         for name, coefs in d.get("models", {}).items()}
        for k in ("dropped", "censored", "bootstrap", "bootstrap_failed", "se_sandwich", "se_delta",
                  "instrument", "first_stage_F", "estimands", "described", "read"):
            if k in d:
                out[k] = d[k]
        return out

    def to_pandas(self) -> Any:
        """One row: query, value, se, ci_low, ci_high, level, method, n, adjustment."""
        import pandas as pd

        lo, hi = self.ci
        return pd.DataFrame([{"query": self.details.get("query"), "value": float(self),
                              "se": self.se, "ci_low": lo, "ci_high": hi, "level": self.level,
                              "method": self.method, "n": self.n,
                              "adjustment": ", ".join(self.adjustment)}])

    def __str__(self) -> str:
        d = self.details
        lo, hi = self.ci
        pct = f"{100 * self.level:g}%"
        head = f"{d.get('query', '')}\n" if d.get("query") else ""
        how = d.get("described", self.method)
        adj = ", ".join(self.adjustment) or "nothing"
        lines = [f"{head}= {float(self):.6g}   se {self.se:.3g}   {pct} CI [{lo:.6g}, {hi:.6g}]",
                 f"  by {how}" + ("" if self.method == "plugin" else f"; adjusting for {adj}")
                 + f"; n = {self.n}"
                 + (f" ({d['dropped']} incomplete rows dropped)" if d.get("dropped") else "")
                 + (f" ({d['censored']} censored: in the standardisation, without an outcome "
                    "to fit)" if d.get("censored") else ""),
                 f"  interval: {d.get('interval', '')}"
                 + (f", {d['bootstrap']} replicates" if "bootstrap" in d else "")
                 + (f" ({d['bootstrap_failed']} more could not be fitted: left out)"
                    if d.get("bootstrap_failed") else "")]
        if len(d.get("means", ())) > 1:
            lines += [f"  {t} = {v:.6g} (se {s:.3g})" for t, v, s in d["means"]]
        for arm, diag in self.diagnostics.items():
            lines.append(f"  overlap, {arm}: P in [{diag['propensity_min']:.3g}, "
                         f"{diag['propensity_max']:.3g}], ESS {diag['ess']:.0f} of "
                         f"{diag['rows']} rows, weights above 20: "
                         f"{100 * diag['weights_above_20']:.1f}%")
        for name, coefs in d.get("models", {}).items():
            shown = ", ".join(f"{c} {b:.4g}" for c, (b, _) in coefs.items())
            lines.append(f"  {name}: {shown}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    __repr__ = __str__


def combine(terms: list[tuple[float, Estimate]]) -> Estimate:
    """``Σ c_i e_i`` of independent estimates: the standard errors add in quadrature."""
    value = sum(c * float(e) for c, e in terms)
    se = float(np.sqrt(sum((c * e.se) ** 2 for c, e in terms)))
    routes = list(dict.fromkeys(e.route for _, e in terms))
    return Estimate(value, se, " + ".join(routes))


@dataclass(frozen=True, eq=False)
class SampledDistribution(Distribution):
    """A Distribution estimated by sampling: ``se`` has the shape of ``probs``."""

    se: np.ndarray = field(default_factory=lambda: np.zeros(()))
    route: str = ""

    def estimate(self, key: Any) -> Estimate:
        """One cell as an Estimate with its standard error: ``d.estimate("yes")``."""
        idx = self._index(key)
        return Estimate(float(self.probs[idx]), float(np.asarray(self.se)[idx]), self.route)

    def __str__(self) -> str:
        head = [*self.given, *self.variables]
        se = np.broadcast_to(np.asarray(self.se), self.probs.shape)
        rows = []
        for (lab, p), s in zip(self.items(), se.reshape(-1), strict=True):
            labels = [show_label(x) for x in (lab if isinstance(lab, tuple) else (lab,))]
            rows.append([*labels, f"{p:.4g}", f"± {s:.2g}"])
        title = f"{self.heading}  ({self.route})"
        return title + "\n" + _table([*head, "P", "se"], rows, sep_after=len(self.given))

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True, eq=False)
class SampledExpectations(Expectations):
    """Expectations estimated by sampling: ``se`` has the shape of ``values``; a cell is an
    :class:`Estimate`."""

    se: np.ndarray = field(default_factory=lambda: np.zeros(()))
    route: str = ""

    def __getitem__(self, key: Any) -> Any:
        idx = self._index(key)
        if len(idx) == len(self.given):
            return Estimate(float(self.values[idx]), float(np.asarray(self.se)[idx]), self.route)
        return dataclasses.replace(self, values=self.values[idx], se=np.asarray(self.se)[idx],
                                   given=self.given[len(idx):],
                                   given_types=self.given_types[len(idx):])

    def __str__(self) -> str:
        se = np.broadcast_to(np.asarray(self.se), self.values.shape).reshape(-1)
        rows = [[show_label(x) for x in (lab if isinstance(lab, tuple) else (lab,))]
                + [f"{v:.6g}", f"± {s:.2g}"] for (lab, v), s in zip(self.items(), se, strict=True)]
        return (f"{self.heading}  ({self.route})\n"
                + _table([*self.given, "E", "se"], rows, sep_after=len(self.given)))


@dataclass(frozen=True, eq=False)
class SampledBatch(Batch):
    """A Batch estimated by sampling: ``se`` has the shape of ``probs``; a row is a
    SampledDistribution, or an Estimate when the query is a number."""

    se: np.ndarray = field(default_factory=lambda: np.zeros(()))
    route: str = ""

    def to_pandas(self) -> Any:
        """:meth:`Batch.to_pandas` with the standard error of each cell (``se``)."""
        out = super().to_pandas()
        out["se"] = np.concatenate([np.asarray(self.se[i], dtype=np.float64).reshape(-1)
                                    for i in range(len(self))]) if len(self) else []
        return out

    def __getitem__(self, i: int) -> Any:
        row, se = self.probs[i], np.asarray(self.se)[i]
        if not self.variables and not self.given:
            return Estimate(float(row), float(se), self.route)
        return SampledDistribution(self.variables, self.types, row, self.given, self.given_types,
                                   self.title, se=se, route=self.route)

    def __str__(self) -> str:
        """One line per setting: its values, then the answer (a number ± se, or a shape)."""
        head = [*self.settings, "value" if not self.variables and not self.given else "answer"]
        rows = []
        for i in range(len(self)):
            cells = [show_label(col[i]) for col in self.settings.values()]
            if not self.variables and not self.given:
                rows.append([*cells, f"{self.probs[i]:.6g} ± {self.se[i]:.2g}"])
            else:
                rows.append([*cells, f"table of shape {self.probs.shape[1:]}"])
        return f"{self.title}  ({self.route})\n" + _table(head, rows, sep_after=len(self.settings))
