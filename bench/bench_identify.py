"""Identification against y0 (bench-only peer) on random ADMGs with 20, 50 and 100 observed
nodes: the same verdicts, and the time ratio (y0 / ours) of answering P(Y | do(X)) with an
estimand (ID on our side, y0's identify_outcomes on theirs).

    .venv/bin/python bench/bench_identify.py [--graphs 20] [--sizes 20,50,100] [--seed 0]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import networkx as nx
import numpy as np

from causaldsl.analysis.id_algorithm import id_algorithm
from causaldsl.core.errors import NotIdentifiable
from causaldsl.model.graph import ADMG


def random_admg(n: int, rng: np.random.Generator) -> ADMG:
    """A random ADMG: each node has up to 3 parents among the 8 before it, and about n/4
    bidirected edges between nodes at most 6 apart (local confounding)."""
    names = [f"V{i}" for i in range(n)]
    directed = []
    for i in range(1, n):
        lo = max(0, i - 8)
        for j in rng.choice(np.arange(lo, i), min(int(rng.integers(1, 4)), i - lo), replace=False):
            directed.append((names[j], names[i]))
    bidirected = set()
    for _ in range(n // 4):
        i = int(rng.integers(0, n - 1))
        j = min(n - 1, i + int(rng.integers(1, 7)))
        bidirected.add((names[i], names[j]))
    return ADMG(names, directed, bidirected)


def y0_identify(g: ADMG, x: str, y: str):  # type: ignore[no-untyped-def]
    from y0.algorithm.identify import identify_outcomes
    from y0.dsl import Variable as V
    from y0.graph import NxMixedGraph

    d, u = nx.DiGraph(), nx.Graph()
    d.add_nodes_from(V(v) for v in g.nodes)
    u.add_nodes_from(V(v) for v in g.nodes)
    d.add_edges_from((V(a), V(b)) for a, b in g.directed)
    u.add_edges_from(tuple(V(v) for v in sorted(e)) for e in g.bidirected)
    return identify_outcomes(NxMixedGraph(d, u), treatments={V(x)}, outcomes={V(y)})


def timed(fn, reps: int = 5) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    out, best = None, float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--graphs", type=int, default=20)
    ap.add_argument("--sizes", default="20,50,100")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from importlib.metadata import version

    rng = np.random.default_rng(args.seed)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, y0 {version('y0')}")
    print(f"command: .venv/bin/python bench/bench_identify.py --graphs {args.graphs} "
          f"--sizes {args.sizes} --seed {args.seed}")
    print("| nodes | graphs | identifiable | same verdicts | y0 crashed | ours median ms | "
          "y0 median ms | ratio of medians | min per-graph ratio |\n"
          "|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for n in map(int, args.sizes.split(",")):
        ours_t, y0_t, ratios, agree, ident, crashed = [], [], [], 0, 0, 0
        for _ in range(args.graphs):
            g = random_admg(n, rng)
            anc = sorted(g.ancestors({g.nodes[-1]}) - {g.nodes[-1]}, key=g.nodes.index)
            x, y = (anc[len(anc) // 2] if anc else g.nodes[0]), g.nodes[-1]

            def ours(g: ADMG = g, x: str = x, y: str = y):  # type: ignore[no-untyped-def]
                try:
                    return id_algorithm(g, {y}, {x})
                except NotIdentifiable:
                    return None

            t_ours, est = timed(ours)
            try:
                t_y0, theirs = timed(lambda g=g, x=x, y=y: y0_identify(g, x, y))
            except (KeyError, nx.NetworkXError):
                crashed += 1
                continue
            ours_t.append(t_ours)
            y0_t.append(t_y0)
            ratios.append(t_y0 / t_ours)
            agree += (est is None) == (theirs is None)
            ident += est is not None
        k = len(ours_t)
        print(f"| {n} | {k} | {ident} | {agree}/{k} | {crashed} | "
              f"{statistics.median(ours_t) * 1e3:.2f} | {statistics.median(y0_t) * 1e3:.2f} | "
              f"{statistics.median(y0_t) / statistics.median(ours_t):.1f}× | "
              f"{min(ratios):.1f}× |", flush=True)


if __name__ == "__main__":
    main()
