"""Charts as PNG through the same graphviz program as every other picture: the chart's SVG
(rectangles, lines, circles and text, all this package writes for charts) turned into DOT
whose nodes are pinned where the SVG puts each shape, laid out by ``neato -n2`` (positions
kept). Text is placed by its anchor from an estimate of its width, and a rotated label is
written level; docs/pictures.md says so."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from causaldsl.draw.dot import Dot

SVG = "{http://www.w3.org/2000/svg}"
#: The arguments that make graphviz keep the pinned positions (in points).
PINNED = ("-Kneato", "-n2")
#: About how wide a character is, in ems, in the sans-serif fonts of the charts.
EM = 0.55


def chart_dot(svg: str) -> Dot:
    """The chart ``svg`` as a DOT graph of pinned shapes (see the module's doc)."""
    root = ET.fromstring(svg)
    width, height = float(root.get("width", 0)), float(root.get("height", 0))
    font = root.get("font-family", "Helvetica").split(",")[0].strip()
    size = float(root.get("font-size", 11))
    g = Dot("chart", {"bgcolor": "white", "pad": "0", "splines": "line",
                      "bb": f"0,0,{width:.1f},{height:.1f}"},
            node_defaults={"label": "", "fixedsize": "true", "penwidth": "0", "margin": "0"},
            edge_defaults={"dir": "none", "arrowhead": "none"})

    def at(x: float, y: float) -> str:
        return f"{x:.2f},{height - y:.2f}!"

    def corner(name: str, x: float, y: float) -> str:
        return g.node(name, shape="point", width="0.001", style="invis", pos=at(x, y))

    corner("origin", 0, 0)
    corner("far", width, height)
    for i, e in enumerate(root.iter()):
        tag = e.tag.removeprefix(SVG)
        name = f"s{i}"
        if tag == "rect" and e.get("x") is not None:
            x, y = float(e.get("x", 0)), float(e.get("y", 0))
            w, h = float(e.get("width", 0)), float(e.get("height", 0))
            if w <= 0 or h <= 0:
                continue
            fill = e.get("fill", "black")
            g.node(name, shape="box", style="filled", fillcolor=_colour(fill),
                   color=_colour(e.get("stroke", fill)), penwidth="1" if e.get("stroke") else "0",
                   width=f"{w / 72:.4f}", height=f"{h / 72:.4f}", pos=at(x + w / 2, y + h / 2))
        elif tag == "circle":
            r = float(e.get("r", 0))
            g.node(name, shape="circle", style="filled",
                   fillcolor=_colour(e.get("fill", "black")),
                   color=_colour(e.get("stroke", e.get("fill", "black"))), penwidth="1",
                   width=f"{2 * r / 72:.4f}", height=f"{2 * r / 72:.4f}",
                   pos=at(float(e.get("cx", 0)), float(e.get("cy", 0))))
        elif tag == "line":
            a = corner(f"{name}a", float(e.get("x1", 0)), float(e.get("y1", 0)))
            b = corner(f"{name}b", float(e.get("x2", 0)), float(e.get("y2", 0)))
            style = {"style": "dashed"} if e.get("stroke-dasharray") else {}
            g.edge(a, b, color=_colour(e.get("stroke", "black")),
                   penwidth=e.get("stroke-width", "1"), **style)
        elif tag == "text" and (e.text or "").strip():
            text = e.text or ""
            fs = float(e.get("font-size", size))
            w = len(text) * fs * EM
            x, y = float(e.get("x", 0)), float(e.get("y", 0))
            anchor = e.get("text-anchor", "start")
            cx = x + w / 2 if anchor == "start" else x - w / 2 if anchor == "end" else x
            g.node(name, shape="plaintext", fixedsize="false", label=text, fontsize=f"{fs:g}",
                   fontname=font, fontcolor=_colour(e.get("fill", "black")),
                   pos=at(cx, y - fs * 0.35))
    return g


def _colour(value: str) -> str:
    """An SVG colour as graphviz takes it (``none`` is transparent)."""
    return "transparent" if value in ("none", "transparent") else value
