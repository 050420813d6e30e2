"""Causal graphs as pictures: DAGs with latent nodes drawn, or ADMGs where hidden causes are
projected away into dashed, curved bidirected edges."""

from __future__ import annotations

from causaldsl.core.errors import DrawError
from causaldsl.draw.diagram import FILL, INK, LATENT_INK, new_graph
from causaldsl.draw.dot import Dot
from causaldsl.draw.render import Picture
from causaldsl.model.causal_model import CausalModel, Role
from causaldsl.model.graph import ADMG

BIDIRECTED = "#1f77b4"


def graph_picture(x: CausalModel | ADMG, latent: str = "project", direction: str = "TB"
                  ) -> Picture:
    """The causal graph of a model or an ADMG. ``latent="project"`` draws the ADMG (hidden
    causes as bidirected edges); ``latent="show"`` draws a model's latent nodes too."""
    if latent not in ("project", "show"):
        raise DrawError(f"latent must be 'project' or 'show', not {latent!r}")
    if isinstance(x, ADMG):
        g = new_graph("graph", f"graph {x.name}", direction)
        add_admg(g, x)
    elif latent == "show":
        g = new_graph("graph", f"graph {x.name}", direction)
        _add_dag(g, x)
    else:
        g = new_graph("graph", f"graph {x.name} (latent variables projected)"
                      if x.latent or x.exogenous else f"graph {x.name}", direction)
        add_admg(g, x.admg())
    return Picture(g)


def _node(g: Dot, name: str, hidden: bool = False, role: Role = Role.OBSERVED) -> None:
    look: dict[str, object] = {"style": "filled", "fillcolor": FILL[role]}
    if hidden:
        look = {"style": "dashed,filled", "fillcolor": FILL[role], "color": LATENT_INK,
                "fontcolor": "#555555"}
    g.node(name, shape="ellipse", label=name, id=f"node:{name}",
           **{"class": "node latent" if hidden else "node"}, **look)


def add_admg(g: Dot, a: ADMG) -> None:
    """Observed nodes in topological order, directed edges solid, bidirected dashed."""
    g.edge_defaults.update(arrowhead="normal", arrowsize=0.7)
    for n in a.order:
        _node(g, n)
    directed, bidirected = a.sorted_edges()
    for u, v in directed:
        g.edge(u, v, id=f"edge:{u}->{v}", **{"class": "directed"})
    for u, v in bidirected:
        g.edge(u, v, dir="both", style="dashed", color=BIDIRECTED, constraint="false",
               id=f"edge:{u}<->{v}", **{"class": "bidirected"})


def _add_dag(g: Dot, m: CausalModel) -> None:
    g.edge_defaults.update(arrowhead="normal", arrowsize=0.7)
    for v in m.variables.values():
        _node(g, v.name, v.role is not Role.OBSERVED, v.role)
    for v in m.variables.values():
        for p in v.parents:
            hidden = m.roles[p] is not Role.OBSERVED
            g.edge(p, v.name, id=f"edge:{p}->{v.name}", **{"class": "directed latent" if hidden
                                                          else "directed"},
                   **({"style": "dashed", "color": LATENT_INK} if hidden else {"color": INK}))
