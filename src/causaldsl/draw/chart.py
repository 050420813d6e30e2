"""Results as small SVG bar charts, written directly (no matplotlib, no graphviz): one
distribution, or several side by side (observational against interventional)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from causaldsl.core.errors import DrawError
from causaldsl.core.types import FiniteType, show_label
from causaldsl.draw.dot import escape
from causaldsl.draw.render import Picture
from causaldsl.model.causal_model import CausalModel
from causaldsl.model.distribution import Batch, Distribution
from causaldsl.syntax.query import Prob

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
MAX_BARS = 60
FONT = "Helvetica, Arial, sans-serif"


def _combos(names: Sequence[str], types: Sequence[FiniteType], named: bool = True) -> list[str]:
    """``C = no`` (or just ``no`` when not ``named``) for every combination of values."""
    return [", ".join(f"{n} = {show_label(v)}" if named else show_label(v)
                      for n, v in zip(names, vs, strict=True))
            for vs in itertools.product(*(t.values for t in types))]


def distribution_chart(d: Distribution, title: str | None = None) -> Picture:
    """One bar per value; a conditional has one group per value of what it is given."""
    values = d.probs
    axis = d.given or d.variables
    groups = _combos(axis, d.given_types or d.types, named=False)
    series = _combos(d.variables, d.types) if d.given else []
    table = values.reshape(len(groups), max(1, len(series)))
    return Picture(svg_text=bar_chart(title or d.heading, groups, series, table, ", ".join(axis)))


def comparison_chart(results: Mapping[str, Any], title: str = "") -> Picture:
    """Several distributions over the same variables, bar by bar (each its own colour)."""
    if not results:
        raise DrawError("a comparison needs at least one distribution")
    first = next(iter(results.values()))
    for name, d in results.items():
        if not isinstance(d, Distribution):
            raise DrawError(f"{name}: a comparison chart takes distributions, not "
                            f"{type(d).__name__}")
        if [t.values for t in d.axis_types] != [t.values for t in first.axis_types]:
            raise DrawError(f"{name} is over other values than {next(iter(results))}; only "
                            "distributions over the same values can be compared")
    groups = _combos(first.axes, first.axis_types, named=False)
    table = np.stack([np.asarray(d.probs).reshape(-1) for d in results.values()], axis=1)
    return Picture(svg_text=bar_chart(title, groups, list(results), table, ", ".join(first.axes)))


def seeing_and_doing(model: CausalModel, query: str | Prob) -> Picture:
    """``P(Y | do(X = x), Z)`` beside ``P(Y | X = x, Z)``: what intervening changes, over every
    value of the outcome."""
    from causaldsl.syntax.query import Event, parse_query

    q = parse_query(query) if isinstance(query, str) else query
    if not isinstance(q, Prob) or not q.interventions:
        raise DrawError(f"{q}: seeing against doing needs a P(... | do(...)) query")
    whole = tuple(Event(e.var) for e in q.outcomes)  # every value, not one
    seeing = Prob(whole, (), q.interventions + q.evidence)
    doing = Prob(whole, q.interventions, q.evidence)
    answers: dict[str, Any] = {str(s): model.query(s) for s in (seeing, doing)}
    return comparison_chart(answers, "seeing against doing")


def batch_chart(b: Batch, title: str | None = None) -> Picture:
    """A batch of answers: one group per setting (the first few when there are many)."""
    n = len(b)
    per = int(np.prod(b.probs.shape[1:], dtype=int)) or 1
    keep = max(1, min(n, MAX_BARS // per))
    rows = np.asarray(b.probs[:keep]).reshape(keep, per)
    series = _combos(b.given + b.variables, b.given_types + b.types) if per > 1 else []
    note = f" (first {keep} of {n})" if keep < n else ""
    return Picture(svg_text=bar_chart((title or b.title or "batch") + note,
                                      [str(i) for i in range(keep)], series, rows, "setting"))


def bar_chart(title: str, groups: Sequence[str], series: Sequence[str], table: np.ndarray,
              caption: str = "") -> str:
    """A grouped bar chart of probabilities (rows: groups, columns: series) as SVG text."""
    table = np.asarray(table, dtype=float).reshape(len(groups), max(1, len(series)))
    ns = table.shape[1]
    if len(groups) * ns > MAX_BARS:
        raise DrawError(f"{len(groups) * ns} bars are too many for a chart (at most {MAX_BARS})")
    bar = 26 if ns == 1 else max(12, 26 - 2 * ns)
    left = 48
    longest = max((len(g) for g in groups), default=0)
    group_w = max(ns * bar + 22, (300 - left - 20) / len(groups))
    if longest * 6.5 + 10 <= 130:  # room for the label written level
        group_w = max(group_w, longest * 6.5 + 10)
    gap = group_w - ns * bar
    long_label = longest * 6.5 > group_w - 4
    bottom = 48 + (int(longest * 4.6) if long_label else 0)
    width = max(left + len(groups) * group_w + 20, 16 + len(title) * 7.5)
    per_row = 2 if max((len(x) for x in series), default=0) * 6.5 + 30 < (width - left) / 2 else 1
    top, plot_h = 40 + 18 * (-(-len(series) // per_row)), 150
    height = top + plot_h + bottom
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
           f'viewBox="0 0 {width:.0f} {height}" font-family="{FONT}" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{width / 2:.1f}" y="20" text-anchor="middle" font-size="14">'
           f"{escape(title)}</text>"]
    for k, s in enumerate(series):  # legend, two entries a row when they fit
        x, row = left + (k % per_row) * (width - left) / 2, 40 + 18 * (k // per_row)
        out.append(f'<rect x="{x:.1f}" y="{row - 9}" width="10" height="10" '
                   f'fill="{PALETTE[k % len(PALETTE)]}"/>')
        out.append(f'<text x="{x + 14:.1f}" y="{row}">{escape(s)}</text>')
    base = top + plot_h
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = base - tick * plot_h
        out.append(f'<line x1="{left}" x2="{width - 10:.0f}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{"#999999" if tick == 0 else "#e5e5e5"}"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555555">'
                   f"{tick:g}</text>")
    for i, g in enumerate(groups):
        x0 = left + gap / 2 + i * group_w
        for k in range(ns):
            p = float(table[i, k])
            h = max(0.0, min(1.0, p)) * plot_h
            x = x0 + k * bar
            colour = PALETTE[k % len(PALETTE)]
            name = f"{g}: {series[k]}" if series else g
            out.append(f'<rect class="bar" x="{x:.1f}" y="{base - h:.1f}" width="{bar - 2}" '
                       f'height="{h:.1f}" fill="{colour}"><title>{escape(name)}: {p:.6g}'
                       "</title></rect>")
            if ns * len(groups) <= 24:
                out.append(f'<text x="{x + (bar - 2) / 2:.1f}" y="{base - h - 3:.1f}" '
                           f'text-anchor="middle" font-size="9" fill="#333333">{p:.3g}</text>')
        cx = x0 + ns * bar / 2
        if long_label:
            out.append(f'<text x="{cx:.1f}" y="{base + 14}" text-anchor="end" '
                       f'transform="rotate(-35 {cx:.1f} {base + 14})">{escape(g)}</text>')
        else:
            out.append(f'<text x="{cx:.1f}" y="{base + 16}" text-anchor="middle">{escape(g)}</text>')
    if caption:
        out.append(f'<text x="{left + len(groups) * group_w / 2:.1f}" y="{height - 10}" '
                   f'text-anchor="middle" fill="#555555">{escape(caption)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
