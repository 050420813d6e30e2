"""String diagrams as pictures: a node becomes a box, a wire an edge, a copy a dot, a discard a
ground symbol. Inputs enter at the top and outputs leave at the bottom (or left to right)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

from causaldsl.core.errors import DrawError
from causaldsl.core.types import OpaqueType, Type
from causaldsl.draw.dot import Dot, Html, escape
from causaldsl.draw.render import Picture
from causaldsl.ir.diagram import Diagram
from causaldsl.model.causal_model import CausalModel, Role

FONT = "Helvetica"
INK = "#333333"
FILL = {Role.OBSERVED: "#dbe9f6", Role.LATENT: "#eeeeee", Role.EXOGENOUS: "#f5f5f5"}
LATENT_INK = "#8c8c8c"
CUT = "#d62728"
NEW = "#fdd9a8"
NEW_INK = "#e6550d"


@dataclass(frozen=True)
class Style:
    """How one diagram is drawn: direction, latent wires, and what is highlighted."""

    direction: str = "TB"
    latent: frozenset[str] = frozenset()
    fill: Mapping[int, str] = field(default_factory=dict)        # node index → box colour
    dashed: frozenset[int] = frozenset()                           # node indices drawn dashed
    note: Mapping[int, str] = field(default_factory=dict)        # node index → second line
    new: frozenset[int] = frozenset()                              # boxes a rewrite put in
    cut: frozenset[tuple[str, int]] = frozenset()                  # (wire, reader) cut away
    new_inputs: frozenset[str] = frozenset()                       # inputs a rewrite opened
    free_outputs: bool = False     # outputs are named variables: any order, fewest crossings


def check_direction(direction: str) -> str:
    if direction not in ("TB", "LR"):
        raise DrawError(f"direction must be 'TB' (top to bottom) or 'LR' (left to right), "
                        f"not {direction!r}")
    return direction


def new_graph(name: str, title: str, direction: str) -> Dot:
    """A picture's top-level graph with the house style."""
    g = Dot(name, {"rankdir": check_direction(direction), "bgcolor": "white", "fontname": FONT,
                   "fontsize": 14, "label": title, "labelloc": "t", "nodesep": 0.3,
                   "ranksep": 0.35})
    g.node_defaults.update(fontname=FONT, fontsize=12, color=INK)
    g.edge_defaults.update(fontname=FONT, fontsize=10, color=INK, fontcolor="#555555",
                           arrowhead="none")
    return g


def wire_label(name: str, t: Type) -> str:
    return name if isinstance(t, OpaqueType) else f"{name} : {t}"


def add_diagram(g: Dot, d: Diagram, style: Style, prefix: str = "") -> None:
    """Draw ``d`` into ``g``; every node and edge id starts with ``prefix``."""
    tb = style.direction == "TB"
    into, out_of = ("n", "s") if tb else ("w", "e")
    # each reader of a wire: (node, head port, edge id suffix, node index; -1 for an output)
    readers: dict[str, list[tuple[str, str, str, int]]] = {w: [] for w in d.wire_types}
    for j, n in enumerate(d.nodes):
        for k, w in enumerate(n.inputs):
            readers[w].append((f"{prefix}b{j}", f"i{k}:{into}", f"{j}.{k}", j))
    for k, w in enumerate(d.outputs):
        if style.free_outputs:
            readers[w].append((f"{prefix}out{k}", into, f"out.{k}", -1))
        else:
            readers[w].append((f"{prefix}out", f"p{k}:{into}", f"out.{k}", -1))
    sources: dict[str, tuple[str, str]] = {}
    if d.inputs:
        ends = g.subgraph(f"{prefix}inputs", rank="source")
        labels = [wire_label(w, t) for w, t in zip(d.inputs, d.input_types, strict=True)]
        hot = [w in style.new_inputs for w in d.inputs]
        ends.node(f"{prefix}in", shape="none", margin=0, label=_boundary(labels, hot, tb),
                  id=f"{prefix}in", **{"class": "inputs"})
        for k, w in enumerate(d.inputs):
            sources[w] = (f"{prefix}in", f"p{k}:{out_of}")
    states = g.subgraph(f"{prefix}states", rank="min")  # states start at the top, as drawn
    for j, n in enumerate(d.nodes):
        (states if not n.inputs else g).node(
            f"{prefix}b{j}", shape="none", margin=0, label=_box_label(d, j, style),
            id=f"{prefix}b{j}", **{"class": "box new" if j in style.new else "box"})
        for k, w in enumerate(n.outputs):
            sources[w] = (f"{prefix}b{j}", f"o{k}:{out_of}")
    tops = list(states.nodes)
    for a, b in itertools.pairwise(tops):  # states in the diagram's order
        states.edge(a, b, style="invis", **{"class": "layout"})
    if d.outputs and style.free_outputs:  # named variables: let graphviz order them
        ends = g.subgraph(f"{prefix}outputs", rank="sink")
        for k, w in enumerate(d.outputs):
            ends.node(f"{prefix}out{k}", shape="plaintext", label=w, fontsize=11,
                      fontcolor="#555555", id=f"{prefix}out{k}", **{"class": "output"})
    elif d.outputs:
        ends = g.subgraph(f"{prefix}outputs", rank="sink")
        ends.node(f"{prefix}out", shape="none", margin=0,
                  label=_boundary(list(d.outputs), [False] * len(d.outputs), tb),
                  id=f"{prefix}out", **{"class": "outputs"})
    for w, t in d.wire_types.items():
        _add_wire(g, w, wire_label(w, t), sources[w], readers[w], style, prefix, tb)


def _add_wire(g: Dot, w: str, label: str, source: tuple[str, str],
              readers: list[tuple[str, str, str, int]], style: Style, prefix: str, tb: bool) -> None:
    latent = w in style.latent
    look: dict[str, object] = {"style": "dashed", "color": LATENT_INK} if latent else {}
    if w in style.new_inputs:
        look = {"color": NEW_INK, "penwidth": 2}
    kind = "wire latent" if latent else "wire"
    src, port = source
    first = {"label": label, "tailport": port, **look}
    if src == f"{prefix}in":
        first.pop("label")  # the input's own name sits at the top already
    if not readers:
        ground = g.node(f"{prefix}discard:{w}", shape="none", margin=0, label=_ground(tb),
                        id=f"{prefix}discard:{w}", **{"class": "discard"})
        g.edge(src, ground, headport="n" if tb else "w", id=f"{prefix}{w}>discard",
               **{"class": kind}, **first)
        return
    if len(readers) > 1:
        dot = g.node(f"{prefix}copy:{w}", shape="point", width=0.09, color=LATENT_INK if latent
                     else INK, id=f"{prefix}copy:{w}", **{"class": "copy"})
        g.edge(src, dot, id=f"{prefix}{w}>copy", **{"class": kind}, **first)
        src, first = dot, dict(look)
    for node, head, where, j in readers:
        attrs = {**first, "headport": head}
        cls = kind
        if (w, j) in style.cut:
            attrs.update(color=CUT, penwidth=2.5, style="bold", label="cut", fontcolor=CUT)
            cls += " cut"
        g.edge(src, node, id=f"{prefix}{w}>{where}", **{"class": cls}, **attrs)
        first = dict(look)


def _box_label(d: Diagram, j: int, style: Style) -> Html:
    n = d.nodes[j]
    tb = style.direction == "TB"
    name = escape(n.box.name)
    note = style.note.get(j)
    text = name + (f'<BR/><FONT POINT-SIZE="10">{escape(note)}</FONT>' if note else "")
    longest = max(len(n.box.name), len(note or ""))
    size = max(36, 8 * longest + 16, 26 * max(len(n.inputs), len(n.outputs)))
    fill = style.fill.get(j, "#ffffff")
    ink = NEW_INK if j in style.new else INK
    look = "rounded,dashed" if j in style.dashed else "rounded"
    width = 2 if j in style.new else 1
    body = (f'<TD BORDER="{width}" STYLE="{look}" BGCOLOR="{fill}" COLOR="{ink}" '
            f'CELLPADDING="6" {"WIDTH" if tb else "HEIGHT"}="{size if tb else 30}">{text}</TD>')

    def ports(kind: str, count: int) -> str:
        if count == 0:
            return ""
        step = max(1, size // count) if tb else 30 // count or 1
        if tb:
            cells = "".join(f'<TD PORT="{kind}{k}" WIDTH="{step}" HEIGHT="1"></TD>'
                            for k in range(count))
            return f'<TR><TD><TABLE {_PLAIN}><TR>{cells}</TR></TABLE></TD></TR>'
        cells = "".join(f'<TR><TD PORT="{kind}{k}" WIDTH="1" HEIGHT="{step}"></TD></TR>'
                        for k in range(count))
        return f'<TD><TABLE {_PLAIN}>{cells}</TABLE></TD>'

    if tb:
        rows = ports("i", len(n.inputs)) + f"<TR>{body}</TR>" + ports("o", len(n.outputs))
    else:
        rows = f'<TR>{ports("i", len(n.inputs))}{body}{ports("o", len(n.outputs))}</TR>'
    return Html(f"<TABLE {_PLAIN}>{rows}</TABLE>")


_PLAIN = 'BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"'


def _boundary(labels: list[str], hot: list[bool], tb: bool) -> Html:
    """A diagram's inputs or outputs: one port per wire, in order, named."""
    cells = []
    for k, (text, h) in enumerate(zip(labels, hot, strict=True)):
        colour = NEW_INK if h else "#555555"
        cells.append(f'<TD PORT="p{k}" CELLPADDING="3"><FONT POINT-SIZE="11" COLOR="{colour}">'
                     f"{escape(text)}</FONT></TD>")
    gap = '<TD WIDTH="16"></TD>' if tb else '<TD HEIGHT="8"></TD>'
    if tb:
        return Html(f"<TABLE {_PLAIN}><TR>{gap.join(cells)}</TR></TABLE>")
    return Html(f"<TABLE {_PLAIN}>" + "".join(f"<TR>{c}</TR>" for c in cells) + "</TABLE>")


def _ground(tb: bool) -> Html:
    """The discard: three bars, each shorter, like an electrical ground."""
    bars = [(16, 2), (10, 2), (4, 2)]
    if tb:
        rows = "".join(f'<TR><TD><TABLE {_PLAIN}><TR><TD BGCOLOR="{INK}" WIDTH="{w}" HEIGHT="{h}" '
                       f'FIXEDSIZE="TRUE"></TD></TR></TABLE></TD></TR>' for w, h in bars)
        return Html(f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="0">{rows}</TABLE>')
    cells = "".join(f'<TD><TABLE {_PLAIN}><TR><TD BGCOLOR="{INK}" WIDTH="{h}" HEIGHT="{w}" '
                    f'FIXEDSIZE="TRUE"></TD></TR></TABLE></TD>' for w, h in bars)
    return Html(f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="0"><TR>{cells}</TR>'
                "</TABLE>")


def model_style(m: CausalModel, direction: str = "TB") -> Style:
    """Boxes coloured by role; latent and exogenous wires dashed and grey."""
    hidden = frozenset(v for v, r in m.roles.items() if r is not Role.OBSERVED)
    fill = {j: FILL[m.roles[n.outputs[0]]] for j, n in enumerate(m.diagram.nodes)}
    dashed = frozenset(j for j, n in enumerate(m.diagram.nodes) if n.outputs[0] in hidden)
    return Style(direction, hidden, fill, dashed, free_outputs=True)


def diagram_picture(x: Diagram | CausalModel, direction: str = "TB", title: str | None = None
                    ) -> Picture:
    """The string diagram of a diagram or of a model (latent wires dashed)."""
    if isinstance(x, CausalModel):
        style, d = model_style(x, direction), x.diagram
        title = f"model {x.name}" if title is None else title
    else:
        style, d = Style(check_direction(direction)), x
        title = "" if title is None else title
    g = new_graph("diagram", title, direction)
    add_diagram(g, d, style)
    return Picture(g)
