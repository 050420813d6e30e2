"""Pictures (a functor: a node becomes a box, a wire an edge, a copy a dot): string diagrams,
causal graphs, surgery before and after, results as bar charts, and estimates from data as
forest and overlap plots. No JAX, no matplotlib.

``draw(x)`` picks the picture for ``x``; ``Picture.save("out.svg")`` writes it (svg, png, pdf,
dot by the extension). Everything but DOT needs graphviz's ``dot`` program.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from causaldsl.analysis.idstar import CounterfactualGraph
from causaldsl.core.errors import DrawError
from causaldsl.draw.chart import batch_chart, comparison_chart, distribution_chart, seeing_and_doing
from causaldsl.draw.diagram import diagram_picture
from causaldsl.draw.dot import escape
from causaldsl.draw.estimates import forest_plot, overlap_plot
from causaldsl.draw.graph import graph_picture
from causaldsl.draw.render import FORMATS, Picture, format_of
from causaldsl.draw.surgery import cut_wires, surgery_picture
from causaldsl.ir.diagram import Box, Diagram
from causaldsl.model.causal_model import CausalModel
from causaldsl.model.distribution import Batch, Distribution
from causaldsl.model.estimate import EffectEstimate
from causaldsl.model.graph import ADMG
from causaldsl.model.html import html_table


def draw(x: Any, *, do: Mapping[str, Any] | None = None, cut: Sequence[str] = (),
         graph: bool = False, latent: str = "project", direction: str = "TB",
         title: str | None = None) -> Picture:
    """The picture of a model, diagram, box, ADMG (or ID*'s counterfactual graph), result, or a
    dict of results to compare.
    An estimate from data (or a list or dict of them) is drawn as its forest plot.

    A model is drawn as its string diagram; with ``do``/``cut`` as the surgery before and
    after; with ``graph=True`` as its causal graph (``latent="show"`` keeps latent nodes).
    ``direction`` is ``"TB"`` (inputs at the top) or ``"LR"`` (left to right).
    """
    if isinstance(x, Picture):
        return x
    if isinstance(x, CausalModel):
        if do or cut:
            return surgery_picture(x, do, cut, direction)
        if graph:
            return graph_picture(x, latent, direction)
        return diagram_picture(x, direction, title)
    if isinstance(x, Box):
        x = x.diagram
    if isinstance(x, Diagram):
        return diagram_picture(x, direction, title)
    if isinstance(x, CounterfactualGraph):  # ID*'s graph: its nodes named by their terms
        x = x.admg()
    if isinstance(x, ADMG):
        return graph_picture(x, latent, direction)
    if isinstance(x, Distribution):
        return distribution_chart(x, title)
    if isinstance(x, Batch):
        return batch_chart(x, title)
    if isinstance(x, EffectEstimate):
        return forest_plot(x, title=title)
    if isinstance(x, Mapping | list | tuple) and x and all(
            isinstance(v, EffectEstimate) for v in (x.values() if isinstance(x, Mapping) else x)):
        return forest_plot(x, title=title)
    if isinstance(x, Mapping):
        return comparison_chart(x, title or "")
    raise DrawError(f"cannot draw a {type(x).__name__}; draw a model, diagram, box, graph, "
                    "distribution, batch, estimate, a dict of distributions, or a list or dict "
                    "of estimates")


def repr_svg(x: Any) -> str | None:
    """For ``_repr_svg_`` methods: the SVG, or None (Jupyter then shows the text)."""
    return draw(x)._repr_svg_()


def repr_html(x: Any) -> str | None:
    """For ``_repr_html_`` methods: the picture, and a result's table under its chart."""
    return _html(x, draw(x))


def repr_mimebundle(x: Any) -> dict[str, str]:
    """For ``_repr_mimebundle_`` methods: the SVG and the HTML of one drawing (Jupyter asks for
    every format it knows; without this it would draw once for each). Empty when graphviz is
    missing."""
    picture = draw(x)
    svg, html = picture._repr_svg_(), _html(x, picture)
    return {k: v for k, v in (("image/svg+xml", svg), ("text/html", html)) if v is not None}


def _html(x: Any, picture: Picture) -> str | None:
    """The picture's HTML, and under a result's chart its text (a distribution) or its
    table (a batch, a row per setting and cell; an estimate, one row) with the text folded
    away (the route, the interval's kind and any warning)."""
    html = picture._repr_html_()
    if html is not None and isinstance(x, Batch | EffectEstimate):
        title = x.title if isinstance(x, Batch) else str(x.details.get("query") or "")
        html += html_table(x.to_pandas(), title)
        html += f"<details><summary>as text</summary><pre>{escape(str(x))}</pre></details>"
    elif html is not None and isinstance(x, Distribution):
        html += f"<pre>{escape(str(x))}</pre>"
    return html


__all__ = ["FORMATS", "Picture", "comparison_chart", "cut_wires", "draw", "forest_plot",
           "format_of", "overlap_plot", "repr_html", "repr_mimebundle", "repr_svg",
           "seeing_and_doing", "surgery_picture"]
