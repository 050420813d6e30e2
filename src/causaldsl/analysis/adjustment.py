"""Adjustment rules on the graph view: the back-door criterion, the generalised adjustment
criterion with the optimal set, and the front-door criterion, each with its estimand."""

from __future__ import annotations

from collections.abc import Iterable

from causaldsl.analysis.estimand import Estimand, P, Product, Sum
from causaldsl.core.errors import QueryError
from causaldsl.model.graph import ADMG, as_names, show_set


def backdoor_admissible(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str,
                        z: Iterable[str] | str) -> bool:
    """Pearl's back-door criterion: no member of Z descends from X, and Z blocks every path
    from X to Y that starts with an arrow into X (checked as d-separation in ``G_{\\underline X}``)."""
    xs, ys, zs = as_names(x), as_names(y), as_names(z)
    g.check(xs | ys | zs, "back-door")
    if zs & (g.descendants(xs) | ys):
        return False
    return g.without_outgoing(xs).d_separated(xs, ys, zs)


def find_backdoor_set(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str
                      ) -> frozenset[str] | None:
    """A minimal back-door admissible set, or None when there is none (polynomial time)."""
    xs, ys = as_names(x), as_names(y)
    g.check(xs | ys, "back-door")
    if xs & ys:
        return None
    allowed = set(g.nodes) - g.descendants(xs) - ys
    return g.without_outgoing(xs).minimal_separator(xs, ys, allowed)


def backdoor_estimand(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str,
                      z: Iterable[str] | str) -> Estimand:
    """``Σ_z P(y | x, z) P(z)``."""
    xs, ys, zs = g.sort(as_names(x)), g.sort(as_names(y)), g.sort(as_names(z))
    if not zs:
        return P(ys, xs)
    return Sum(zs, Product((P(ys, (*xs, *zs)), P(zs)))).simplify()


def causal_nodes(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str) -> frozenset[str]:
    """``cn(X, Y)``: the nodes other than X on proper causal paths from X to Y (directed paths
    that meet X only at their start)."""
    xs, ys = as_names(x), as_names(y)
    down = g.descendants_avoiding(xs)  # reached from X without passing through X again
    return (down & g.ancestors(ys, cut=xs)) - xs


def forbidden_nodes(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str) -> frozenset[str]:
    """``forb(X, Y)``: X and every descendant of a causal node; an adjustment set avoids them."""
    xs = as_names(x)
    return g.descendants(causal_nodes(g, xs, y)) | xs


def adjustment_admissible(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str,
                          z: Iterable[str] | str) -> bool:
    """The generalised adjustment criterion (Shpitser, VanderWeele & Robins 2010; Perković et
    al. 2018): Z avoids ``forb(X, Y)`` and blocks every proper non-causal path from X to Y
    (m-separation in the proper back-door graph). Then ``P(y | do(x)) = Σ_z P(y | x, z) P(z)``.
    """
    xs, ys, zs = as_names(x), as_names(y), as_names(z)
    g.check(xs | ys | zs, "adjustment")
    if xs & ys or zs & forbidden_nodes(g, xs, ys):
        return False
    return _proper_backdoor_graph(g, xs, ys).d_separated(xs, ys, zs)


def _proper_backdoor_graph(g: ADMG, x: frozenset[str], y: frozenset[str]) -> ADMG:
    """``G^{pbd}_{XY}``: the first edge of every proper causal path from X to Y removed."""
    cn = causal_nodes(g, x, y)
    return g.without_edges({(a, b) for a, b in g.directed if a in x and b in cn})


def optimal_adjustment_set(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str
                           ) -> frozenset[str] | None:
    """The optimal adjustment set ``O = pa(cn(X, Y)) \\ forb(X, Y)`` of Henckel, Perković &
    Maathuis (2022): of all valid adjustment sets, the one whose estimator has the smallest
    asymptotic variance. None when no valid adjustment set exists. It is defined (and a
    QueryError says so otherwise) for graphs without hidden common causes and outcomes that
    all descend from the treatment."""
    xs, ys = as_names(x), as_names(y)
    g.check(xs | ys, "adjustment")
    if xs & ys:
        return None
    why = _no_optimal_set(g, xs, ys)
    if why:
        raise QueryError(f"the optimal adjustment set is defined for {why}; use "
                         "find_adjustment_set for a minimal one")
    cn = causal_nodes(g, xs, ys)
    o = frozenset(p for c in cn for p in g.parents(c)) - forbidden_nodes(g, xs, ys)
    return o if adjustment_admissible(g, xs, ys, o) else None


def _no_optimal_set(g: ADMG, x: frozenset[str], y: frozenset[str]) -> str:
    """Why Henckel et al.'s optimal set is not defined here, or '' when it is."""
    if g.bidirected:
        return ("graphs without hidden common causes, and this one has bidirected edges "
                f"({'; '.join(e for e in g.edges_text() if '↔' in e)})")
    away = y - g.descendants(x)
    if away:
        return (f"outcomes that descend from the treatment, and {show_set(away)} does not "
                f"descend from {show_set(x)}")
    return ""


def find_adjustment_set(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str
                        ) -> frozenset[str] | None:
    """A minimal set meeting the generalised adjustment criterion, or None (polynomial time:
    a minimal m-separator in the proper back-door graph, avoiding the forbidden nodes)."""
    xs, ys = as_names(x), as_names(y)
    g.check(xs | ys, "adjustment")
    if xs & ys:
        return None
    allowed = set(g.nodes) - forbidden_nodes(g, xs, ys) - ys
    return _proper_backdoor_graph(g, xs, ys).minimal_separator(xs, ys, allowed)


def frontdoor_admissible(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str,
                         z: Iterable[str] | str) -> bool:
    """Pearl's front-door criterion: (i) Z intercepts every directed path from X to Y;
    (ii) no back-door path from X to Z is open; (iii) X blocks every back-door path from Z to Y."""
    xs, ys, zs = as_names(x), as_names(y), as_names(z)
    g.check(xs | ys | zs, "front-door")
    if not zs or zs & (xs | ys) or xs & ys:
        return False
    return (_intercepts_directed_paths(g, xs, ys, zs)
            and not zs & _confounded_with_treatment(g, xs)
            and g.without_outgoing(zs).d_separated(zs, ys, xs))


def _intercepts_directed_paths(g: ADMG, x: frozenset[str], y: frozenset[str], z: frozenset[str]) -> bool:
    cut = g.subgraph(set(g.nodes) - z)
    return not (cut.descendants(x) - x) & y


def _confounded_with_treatment(g: ADMG, x: frozenset[str]) -> frozenset[str]:
    """The nodes with an open back-door path from X (d-connected to X once X's outgoing edges
    are cut): condition (ii) of the front-door criterion fails for each."""
    return g.without_outgoing(x).d_connected(x)


def find_frontdoor_set(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str
                       ) -> frozenset[str] | None:
    """A minimal front-door set, or None when there is none (polynomial time)."""
    xs, ys = as_names(x), as_names(y)
    g.check(xs | ys, "front-door")
    if xs & ys:
        return None
    cand = set(g.nodes) - xs - ys - _confounded_with_treatment(g, xs)
    while cand:  # the largest set meeting (iii): cutting fewer edges opens no path, so every
        # member that (iii) rules out goes at once, until none does
        bad = cand & g.without_outgoing(cand).d_connected(ys, xs)
        if not bad:
            break
        cand -= bad
    if not cand or not frontdoor_admissible(g, xs, ys, cand):
        return None
    pruned = True
    while pruned and len(cand) > 1:  # prune to a minimal set: no member can go
        pruned = False
        for v in g.sort(cand)[::-1]:
            if len(cand) > 1 and frontdoor_admissible(g, xs, ys, cand - {v}):
                cand.discard(v)
                pruned = True
    return frozenset(cand)


def frontdoor_estimand(g: ADMG, x: Iterable[str] | str, y: Iterable[str] | str,
                       z: Iterable[str] | str) -> Estimand:
    """``Σ_z P(z | x) Σ_x' P(y | x', z) P(x')``."""
    xs, ys, zs = g.sort(as_names(x)), g.sort(as_names(y)), g.sort(as_names(z))
    inner = Sum(xs, Product((P(xs), P(ys, g.sort((*xs, *zs))))))
    return Sum(zs, Product((P(zs, xs), inner))).simplify()
