"""Surgery made visible: a model's diagram before and after ``do``/``cut``, side by side. The
wires the rewrite cuts are red and labelled "cut"; the new point states (or opened inputs) are
orange. When comb disintegration applies, the comb f and the channel g in its hole are shaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from causaldsl.core.errors import CausalError, DrawError
from causaldsl.core.types import show_label
from causaldsl.draw.diagram import NEW, add_diagram, model_style, new_graph
from causaldsl.draw.render import Picture
from causaldsl.model.causal_model import CausalModel, Role
from causaldsl.model.surgery import cut as cut_model
from causaldsl.model.surgery import do as do_model

COMB_F = "#e3d7ef"
COMB_G = "#c7e9c0"


def cut_wires(before: CausalModel, after: CausalModel) -> frozenset[tuple[str, str]]:
    """``(parent, variable)`` for every wire a rewrite removed: parents no longer read."""
    out = set()
    for name, v in before.variables.items():
        if name in after.variables:
            kept = set(after[name].parents)
            out |= {(p, name) for p in v.parents if p not in kept}
    return frozenset(out)


def surgery_picture(model: CausalModel, do: Mapping[str, Any] | None = None,
                    cut: Sequence[str] = (), direction: str = "TB", comb: bool = True
                    ) -> Picture:
    """``model`` before and after ``do(**do)`` and/or ``cut(*cut)``, side by side."""
    if not do and not cut:
        raise DrawError("a surgery picture needs do values or variables to cut")
    after = model
    if do:
        after = do_model(after, dict(do))
    if cut:
        after = cut_model(after, *cut)
    names = [*(do or {}), *cut]
    removed = cut_wires(model, after)
    what = ", ".join([f"do({v} = {show_label(x)})" for v, x in (do or {}).items()]
                     + [f"cut({v})" for v in cut])
    g = new_graph("surgery", f"model {model.name}: {what}", direction)

    before_style = model_style(model, direction)
    index = {n.outputs[0]: j for j, n in enumerate(model.diagram.nodes)}
    before_style = replace(before_style, cut=frozenset((p, index[v]) for p, v in removed))
    title = "before"
    shape = _comb(model, names) if comb else None
    if shape is not None:
        (gs, fs), caption = shape
        fill = dict(before_style.fill)
        fill.update({index[v]: COMB_F for v in fs if v in index})
        fill.update({index[v]: COMB_G for v in gs if v in index})
        before_style = replace(before_style, fill=fill)
        title = f"before: {caption}"
    left = g.subgraph("cluster_before", label=title, color="#bbbbbb", style="rounded",
                      fontsize=12)
    add_diagram(left, model.diagram, before_style, "before:")

    after_style = model_style(after, direction)
    a_index = {n.outputs[0]: j for j, n in enumerate(after.diagram.nodes)}
    new = frozenset(a_index[v] for v in names if v in a_index)
    notes = {a_index[v]: f"= {show_label(x)}" for v, x in (do or {}).items() if v in a_index}
    fill = {**after_style.fill, **{j: NEW for j in new}}
    after_style = replace(after_style, fill=fill, new=new, note=notes,
                          new_inputs=frozenset(v for v in cut))
    right = g.subgraph("cluster_after", label=f"after {what}", color="#bbbbbb", style="rounded",
                       fontsize=12)
    add_diagram(right, after.diagram, after_style, "after:")
    if direction == "LR":  # stacked: graphviz puts the cluster defined last on top
        g.subgraphs.reverse()
    return Picture(g)


def _comb(model: CausalModel, names: Sequence[str]) -> tuple[tuple[set[str], set[str]], str] | None:
    """The comb's regions (g's boxes, f's boxes) when comb disintegration applies to the
    intervened variables and their final observed effects; None otherwise."""
    from causaldsl.analysis.comb import comb_shape

    if any(model.roles.get(v) is not Role.OBSERVED for v in names):
        return None
    try:
        a = model.admg()
        effects = a.descendants(names) - set(names)
        outcome = {v for v in effects if not a.children(v)}
        c = comb_shape(a, names, outcome)
    except CausalError:
        return None
    g_boxes = set(c.between)
    f_boxes = set(model.ancestors(c.outcome)) - g_boxes
    caption = (f"comb f (purple) around g = P({', '.join(c.between)} | {', '.join(c.treatment)}) "
               "(green)")
    return (g_boxes, f_boxes), caption
