"""Estimates from data as small SVG charts, written directly (no matplotlib, no graphviz): a
forest plot (one row per estimate: its value and confidence interval, against zero) and an
overlap plot (the propensity histograms of the treatment arms, mirrored)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

from causaldsl.core.errors import DrawError
from causaldsl.draw.chart import FONT, PALETTE
from causaldsl.draw.dot import escape
from causaldsl.draw.render import Picture
from causaldsl.model.estimate import EffectEstimate

ROW = 24          # height of a forest plot's row
PLOT_W = 300      # width of the forest plot's axis
CHAR = 6.0        # width of a character at font size 11, roughly
INK, GREY, GRID = "#333333", "#888888", "#e5e5e5"


def _svg_head(width: float, height: float) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" font-size="11">',
            '<rect width="100%" height="100%" fill="white"/>']


def _pct(level: float) -> str:
    return f"{100 * level:g}%"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round numbers (1, 2 or 5 times a power of ten apart) from at or below ``lo`` to at or
    above ``hi``, about ``count`` of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise DrawError("an axis needs finite ends")
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    raw = (hi - lo) / max(1, count - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.8)
    digits = max(0, -math.floor(math.log10(step)) + 1)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(k * step, digits) + 0.0 for k in range(first, last + 1)]  # + 0.0: no -0


def _tick_text(t: float) -> str:
    return f"{t:.10g}"


def _estimates(estimates: Any, labels: Sequence[str] | None
               ) -> tuple[list[EffectEstimate], list[str] | None]:
    if isinstance(estimates, EffectEstimate):
        items: list[Any] = [estimates]
    elif isinstance(estimates, Mapping):
        items = list(estimates.values())
        labels = labels if labels is not None else [str(k) for k in estimates]
    elif isinstance(estimates, Sequence) and not isinstance(estimates, str):
        items = list(estimates)
    else:
        raise DrawError(f"a forest plot takes an estimate, a list of estimates or a dict of "
                        f"them, not a {type(estimates).__name__}")
    if not items:
        raise DrawError("a forest plot needs at least one estimate")
    for e in items:
        if not isinstance(e, EffectEstimate):
            raise DrawError(f"a forest plot takes estimates from causaldsl.estimate, not a "
                            f"{type(e).__name__}")
        if not math.isfinite(float(e)):
            raise DrawError(f"{e.details.get('query', 'an estimate')} is {float(e)}: there is "
                            "no value to draw")
    if labels is not None:
        labels = [str(x) for x in labels]
        if len(labels) != len(items):
            raise DrawError(f"{len(labels)} labels for {len(items)} estimates; give one label "
                            "per estimate")
    return items, labels


def forest_plot(estimates: Any, labels: Sequence[str] | None = None, title: str | None = None,
                *, means: bool = False) -> Picture:
    """One row per estimate (an :class:`EffectEstimate`, a list of them, or a dict label →
    estimate): a dot at its value, a line across its confidence interval, and a dashed line at
    zero. Rows are labelled by ``labels`` (default: the dict's keys, else each estimate's
    method, or its query and method when the queries differ); the title defaults to the
    query they share. With ``means=True`` each estimate is followed by a grey row per mean it
    combines, with the normal interval of that mean's standard error at the same level."""
    items, given = _estimates(estimates, labels)
    queries = [str(e.details.get("query", "")) for e in items]
    same = len(set(queries)) == 1
    if given is None:
        given = [e.method if same else f"{q} by {e.method}" for e, q in zip(items, queries,
                                                                              strict=True)]
    if title is None:
        title = queries[0] if same else ""
    levels = {e.level for e in items}
    rows: list[dict[str, Any]] = []  # label, value, lo, hi, kind, note
    for e, label in zip(items, given, strict=True):
        lo, hi = e.ci
        note = f"{_pct(e.level)} CI, {e.details.get('interval', '')}; n = {e.n}"
        if e.warnings:
            note += "; " + "; ".join(e.warnings)
        rows.append({"label": label, "value": float(e), "lo": lo, "hi": hi, "kind": "estimate",
                     "level": e.level, "note": note})
        if means:
            z = NormalDist().inv_cdf(0.5 + e.level / 2)
            for text, v, s in e.details.get("means", ()):
                rows.append({"label": str(text), "value": float(v), "lo": v - z * s,
                             "hi": v + z * s, "kind": "mean", "level": e.level,
                             "note": f"{_pct(e.level)} normal interval, se {s:.3g}"})
    numbers = [x for r in rows for x in (r["value"], r["lo"], r["hi"]) if math.isfinite(x)]
    ticks = nice_ticks(min(0.0, *numbers), max(0.0, *numbers))
    t0, t1 = ticks[0], ticks[-1]

    def at(v: float) -> float:
        return left + (v - t0) / (t1 - t0) * PLOT_W

    def shown(r: dict[str, Any]) -> str:
        ci = (f"[{r['lo']:.3g}, {r['hi']:.3g}]" if math.isfinite(r["lo"]) and
              math.isfinite(r["hi"]) else "[no interval]")
        return f"{r['value']:.3g} {ci}" + (f" {_pct(r['level'])}" if len(levels) > 1 else "")

    left = max(70.0, max(len(r["label"]) for r in rows) * CHAR + 20)
    right = max(len(shown(r)) for r in rows) * CHAR + 24
    width = max(left + PLOT_W + right, len(title) * 7.5 + 16)
    top = 36 if title else 12
    y1 = top + len(rows) * ROW
    height = y1 + 52
    out = _svg_head(width, height)
    if title:
        out.append(f'<text x="{width / 2:.1f}" y="20" text-anchor="middle" font-size="14">'
                   f"{escape(title)}</text>")
    for t in ticks:  # grid, axis ticks and their numbers
        x = at(t)
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{y1}" '
                   f'stroke="{GRID}"/>')
        out.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{y1}" y2="{y1 + 5}" '
                   f'stroke="{GREY}"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{y1 + 18}" text-anchor="middle" '
                   f'fill="#555555">{_tick_text(t)}</text>')
    out.append(f'<line class="axis" x1="{left:.1f}" x2="{left + PLOT_W:.1f}" y1="{y1}" '
               f'y2="{y1}" stroke="{GREY}"/>')
    x0 = at(0.0)
    out.append(f'<line class="zero" x1="{x0:.1f}" x2="{x0:.1f}" y1="{top}" y2="{y1}" '
               f'stroke="{GREY}" stroke-dasharray="4 3"/>')
    for i, r in enumerate(rows):
        y = top + (i + 0.5) * ROW
        main = r["kind"] == "estimate"
        colour = PALETTE[0] if main else GREY
        cls = "" if main else "mean-"
        tip = escape(f"{r['label']}: {shown(r)}; {r['note']}")
        out.append(f'<text class="{cls}label" x="{left - 10:.1f}" y="{y + 4:.1f}" '
                   f'text-anchor="end" fill="{INK if main else GREY}">'
                   f"{escape(r['label'])}</text>")
        if math.isfinite(r["lo"]) and math.isfinite(r["hi"]):
            xa, xb = at(r["lo"]), at(r["hi"])
            out.append(f'<line class="{cls}interval" x1="{xa:.2f}" x2="{xb:.2f}" y1="{y:.1f}" '
                       f'y2="{y:.1f}" stroke="{colour}" stroke-width="{2 if main else 1.5}">'
                       f"<title>{tip}</title></line>")
            for xe in (xa, xb):
                out.append(f'<line class="cap" x1="{xe:.2f}" x2="{xe:.2f}" y1="{y - 4:.1f}" '
                           f'y2="{y + 4:.1f}" stroke="{colour}" stroke-width="1.5"/>')
        out.append(f'<circle class="{cls}estimate" cx="{at(r["value"]):.2f}" cy="{y:.1f}" '
                   f'r="{4.5 if main else 3.5}" fill="{colour}"><title>{tip}</title></circle>')
        out.append(f'<text class="{cls}value" x="{left + PLOT_W + 14:.1f}" y="{y + 4:.1f}" '
                   f'fill="{INK if main else GREY}">{escape(shown(r))}</text>')
    caption = ("estimates and confidence intervals (levels as given)" if len(levels) > 1
               else f"estimate and {_pct(next(iter(levels)))} confidence interval"
               if len(items) == 1 else f"estimates and {_pct(next(iter(levels)))} confidence "
               "intervals")
    out.append(f'<text x="{left + PLOT_W / 2:.1f}" y="{height - 10:.0f}" text-anchor="middle" '
               f'fill="#555555">{escape(caption)}</text>')
    out.append("</svg>")
    return Picture(svg_text="\n".join(out) + "\n")


# -- overlap --------------------------------------------------------------------------------

BINS_W = 320      # width of an overlap panel's axis
HALF_H = 64       # height of each half of a mirrored histogram


def overlap_plot(estimate: EffectEstimate, title: str | None = None) -> Picture:
    """The propensity overlap of an ``ipw`` or ``aipw`` estimate: for each treatment level
    ``X = x`` a panel of ``P(X = x | covariates)`` in 20 bins over [0, 1], the rows with
    ``X = x`` above the axis and the other arms below it (stacked, one colour per arm), so
    where one side has rows and the other none the arms do not overlap. A DrawError says why
    when the estimate has no propensity model (``plugin``, ``gformula``)."""
    if not isinstance(estimate, EffectEstimate):
        raise DrawError(f"an overlap plot takes an estimate from causaldsl.estimate, not a "
                        f"{type(estimate).__name__}")
    panels = [(arm, d) for arm, d in estimate.diagnostics.items()
              if isinstance(d, Mapping) and d.get("histogram")]
    if not panels:
        raise DrawError(f"this estimate (method {estimate.method}) has no propensity model, so "
                        "there is no overlap to draw; estimate with method ipw or aipw")
    x_name = panels[0][0].partition(" = ")[0]
    arms = list(dict.fromkeys(a for _, d in panels for a in d["histogram"]))
    colour = {a: PALETTE[k % len(PALETTE)] for k, a in enumerate(arms)}
    given = ", ".join(estimate.adjustment)
    if title is None:
        title = f"overlap of the treatment arms ({estimate.method})"
    rows = {a: sum(panels[0][1]["histogram"].get(a, ())) for a in arms}
    legend = {a: f"{x_name} = {a} ({rows[a]} rows)" for a in arms}
    left, right = 54, 20
    width = max(left + BINS_W + right, len(title) * 7.5 + 16)
    entry = max(len(t) for t in legend.values()) * CHAR + 30
    per_row = max(1, int((width - left) // entry))
    head = 40 + 18 * -(-len(arms) // per_row)  # title and legend
    panel_h = 34 + 2 * HALF_H + 34
    height = head + len(panels) * panel_h + 6
    out = _svg_head(width, height)
    out.append(f'<text x="{width / 2:.1f}" y="20" text-anchor="middle" font-size="14">'
               f"{escape(title)}</text>")
    for k, a in enumerate(arms):  # legend, as many entries a row as fit
        x, y = left + (k % per_row) * entry, 42 + 18 * (k // per_row)
        out.append(f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" fill="{colour[a]}"/>')
        out.append(f'<text class="legend" x="{x + 14:.1f}" y="{y}">{escape(legend[a])}</text>')
    for p, (arm, d) in enumerate(panels):
        hist = {a: [int(c) for c in counts] for a, counts in d["histogram"].items()}
        bins = len(next(iter(hist.values())))
        bin_w = BINS_W / bins
        level = arm.partition(" = ")[2]
        up = hist.get(level, [0] * bins)
        others = [a for a in hist if a != level]
        below = [sum(hist[a][b] for a in others) for b in range(bins)]
        scale = max(1, *up, *below)
        y0 = head + p * panel_h
        mid = y0 + 34 + HALF_H
        heading = f"P({arm}{' | ' + given if given else ''})"
        out.append(f'<g class="panel" data-arm="{escape(arm)}">')
        out.append(f'<text class="heading" x="{left}" y="{y0 + 14}" font-size="12">'
                   f"{escape(heading)}</text>")
        note = (f"ESS {d['ess']:.0f} of {d['rows']} rows; P in [{d['propensity_min']:.3g}, "
                f"{d['propensity_max']:.3g}]") if "ess" in d else ""
        out.append(f'<text x="{left}" y="{y0 + 28}" fill="#555555">{escape(note)}</text>')
        for c, y in ((scale, mid - HALF_H), (0, mid), (scale, mid + HALF_H)):  # counts
            out.append(f'<line class="{"midline" if y == mid else "grid"}" x1="{left}" '
                       f'x2="{left + BINS_W}" y1="{y:.1f}" y2="{y:.1f}" '
                       f'stroke="{GREY if y == mid else GRID}"/>')
            out.append(f'<text class="count" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                       f'fill="#555555">{c}</text>')
        for b in range(bins):
            lo, hi = b / bins, (b + 1) / bins
            x = left + b * bin_w
            if up[b]:
                h = up[b] / scale * HALF_H
                out.append(_bar(x, mid - h, bin_w, h, colour.get(level, INK), level, b,
                                f"{x_name} = {level}, P in [{lo:g}, {hi:g}): {up[b]} rows"))
            offset = 0.0
            for a in others:
                if hist[a][b]:
                    h = hist[a][b] / scale * HALF_H
                    out.append(_bar(x, mid + offset, bin_w, h, colour[a], a, b,
                                    f"{x_name} = {a}, P in [{lo:g}, {hi:g}): {hist[a][b]} rows"))
                    offset += h
        base = mid + HALF_H
        for t in (0.0, 0.25, 0.5, 0.75, 1.0):
            x = left + t * BINS_W
            out.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{base:.1f}" '
                       f'y2="{base + 5:.1f}" stroke="{GREY}"/>')
            out.append(f'<text class="tick" x="{x:.1f}" y="{base + 17:.1f}" '
                       f'text-anchor="middle" fill="#555555">{t:g}</text>')
        out.append("</g>")
    out.append("</svg>")
    return Picture(svg_text="\n".join(out) + "\n")


def _bar(x: float, y: float, w: float, h: float, fill: str, arm: str, b: int, tip: str) -> str:
    return (f'<rect class="bar" data-arm="{escape(arm)}" data-bin="{b}" x="{x + 0.5:.2f}" '
            f'y="{y:.2f}" width="{w - 1:.2f}" height="{h:.2f}" fill="{fill}" '
            f'fill-opacity="0.85"><title>{escape(tip)}</title></rect>')
