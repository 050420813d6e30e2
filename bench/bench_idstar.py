"""ID*/IDC* against y0's (bench-only peer) on the same counterfactual queries: the papers'
examples (Shpitser & Pearl 2007/2008) and random graphs with random one- and two-world queries
over binary values. Each query is timed on a fresh graph (built outside the clock, so no memo
from an earlier call helps either side), contenders alternated, and the ratio is y0's median over
ours per query; the table gives the median of those ratios with their min and max. y0's ID* stops
at line 9 with ``P_x(var(S))`` as it is, so "ours" is our ID* in the same mode
(``experiments=True``: a placeholder term per district, left unsimplified as y0 leaves its
expression); "ours, to observations" also runs ID on each district and simplifies (what
``identify`` does), reported beside it. y0's crashes are skipped and counted.

    .venv/bin/python bench/bench_idstar.py [--random 40] [--reps 7] [--seed 0] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from causaldsl.analysis.estimand import Zero
from causaldsl.analysis.idstar import CfEvent, idc_star
from causaldsl.analysis.idstar import event as ev
from causaldsl.core.errors import NotIdentifiable, ZeroProbabilityError
from causaldsl.model.graph import ADMG

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' y0 converter
from tests.analysis.y0_graph import to_y0

PAPER = ADMG(["X", "W", "Y", "D", "Z"], [("X", "W"), ("W", "Y"), ("D", "Z"), ("Z", "Y")],
             [("X", "Y")])
BOW = ADMG(["X", "Y"], [("X", "Y")], [("X", "Y")])
FRONTDOOR = ADMG(["X", "M", "Y"], [("X", "M"), ("M", "Y")], [("X", "Y")])
MEDIATION = ADMG(["C", "X", "M", "Y"], [("C", "X"), ("C", "M"), ("C", "Y"), ("X", "M"),
                                        ("X", "Y"), ("M", "Y")])

Query = tuple[str, ADMG, list[CfEvent], list[CfEvent]]

EXAMPLES: list[Query] = [
    ("paper: P(y_x, x', z_d, d)", PAPER,
     [ev("Y", 1, X=1), ev("X", 0), ev("Z", 1, D=1), ev("D", 1)], []),
    ("paper: P(y_x | x', z_d, d)", PAPER,
     [ev("Y", 1, X=1)], [ev("X", 0), ev("Z", 1, D=1), ev("D", 1)]),
    ("bow: ETT P(y_x | x')", BOW, [ev("Y", 1, X=1)], [ev("X", 0)]),
    ("front door: ETT P(y_x | x')", FRONTDOOR, [ev("Y", 1, X=1)], [ev("X", 0)]),
    ("X → Y: PNS P(y_x, y'_x')", ADMG(["X", "Y"], [("X", "Y")]),
     [ev("Y", 1, X=1), ev("Y", 0, X=0)], []),
    ("mediation: P(y_{x,m}, m_x')", MEDIATION, [ev("Y", 1, X=1, M=0), ev("M", 0, X=0)], []),
]


def random_queries(n: int, rng: np.random.Generator) -> list[Query]:
    """Random ADMGs over 4-8 nodes (each pair joined with probability 1/2, up to 3 bidirected
    edges) and queries of one or two outcomes (the first in a world that sets one other node)
    and at most one piece of evidence, values 0 or 1; as the test against y0 draws them."""
    out: list[Query] = []
    while len(out) < n:
        k = int(rng.integers(4, 9))
        names = [f"V{i}" for i in range(k)]
        directed = [(names[i], names[j]) for i in range(k) for j in range(i + 1, k)
                    if rng.random() < 0.5]
        pairs = [(names[i], names[j]) for i in range(k) for j in range(i + 1, k)]
        bidirected = [pairs[i] for i in rng.choice(len(pairs), int(rng.integers(0, 4)),
                                                   replace=False)]
        g = ADMG(names, directed, bidirected)
        seen: set[tuple[str, frozenset[tuple[str, int]]]] = set()

        def term(world: bool, names: list[str] = names,
                 seen: set[tuple[str, frozenset[tuple[str, int]]]] = seen) -> CfEvent | None:
            y = str(rng.choice(names))
            w = {}
            if world:
                w[str(rng.choice([v for v in names if v != y]))] = int(rng.integers(0, 2))
            key = (y, frozenset(w.items()))
            if key in seen:
                return None
            seen.add(key)
            return ev(y, int(rng.integers(0, 2)), **w)

        gamma = [term(i == 0 or bool(rng.random() < 0.5)) for i in range(int(rng.integers(1, 3)))]
        delta = [term(bool(rng.random() < 0.5)) for _ in range(int(rng.integers(0, 2)))]
        if any(e is None for e in (*gamma, *delta)):
            continue
        out.append((f"random {len(out)}", g, gamma, delta))  # type: ignore[arg-type]
    return out


def y0_event(es: list[CfEvent]) -> dict[Any, Any]:
    from y0.dsl import Variable

    out = {}
    for e in es:
        var = Variable(e.var)
        if e.world:
            var = var @ [Variable(x)._intervention(bool(v)) for x, v in e.world]
        out[var] = Variable(e.var)._intervention(bool(e.value))
    return out


def run_y0(yg: Any, gamma: dict[Any, Any], delta: dict[Any, Any]) -> str:
    from y0.algorithm.identify import Unidentifiable
    from y0.algorithm.identify.id_star import id_star
    from y0.algorithm.identify.idc_star import idc_star as y0_idc_star

    try:
        if delta:
            y0_idc_star(yg, gamma, delta)
        else:
            id_star(yg, gamma)
    except Unidentifiable:
        return "refused"
    except ValueError as e:
        if "returned 0" in str(e):  # IDC*'s line 1: the evidence is inconsistent
            return "undefined"
        raise
    return "identified"


def run_ours(g: ADMG, gamma: list[CfEvent], delta: list[CfEvent], experiments: bool) -> str:
    try:
        est = idc_star(g, gamma, delta, experiments=experiments)
    except NotIdentifiable:
        return "refused"
    except ZeroProbabilityError:
        return "undefined"
    return "zero" if isinstance(est, Zero) else "identified"


def fresh(g: ADMG) -> ADMG:
    return ADMG(g.nodes, g.directed, [tuple(e) for e in g.bidirected])


def time_query(q: Query, reps: int) -> dict[str, Any] | None:
    """Per contender, the median seconds over ``reps`` alternated rounds; None if y0 crashes."""
    _, g, gamma, delta = q
    yg_gamma, yg_delta = y0_event(gamma), y0_event(delta)
    times: dict[str, list[float]] = {"ours": [], "ours_obs": [], "y0": []}
    try:
        run_y0(to_y0(g), yg_gamma, yg_delta)
    except Exception as e:  # a y0 crash: skipped and counted
        return {"crash": type(e).__name__}
    for r in range(reps):
        order = ["ours", "y0", "ours_obs"] if r % 2 == 0 else ["y0", "ours_obs", "ours"]
        for who in order:
            if who == "y0":
                yg = to_y0(g)
                t = time.perf_counter()
                run_y0(yg, yg_gamma, yg_delta)
            else:
                h = fresh(g)
                t = time.perf_counter()
                run_ours(h, gamma, delta, experiments=who == "ours")
            times[who].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--random", type=int, default=40)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                  "RESULTS-idstar.md"))
    args = ap.parse_args()
    from importlib.metadata import version

    rng = np.random.default_rng(args.seed)
    queries = EXAMPLES + random_queries(args.random, rng)
    rows, crashes, verdicts = [], Counter(), Counter()
    for q in queries:
        res = time_query(q, args.reps)
        if res is None or "crash" in res:
            crashes[res["crash"] if res else "?"] += 1
            continue
        ours_v = run_ours(fresh(q[1]), q[2], q[3], True)
        y0_v = run_y0(to_y0(q[1]), y0_event(q[2]), y0_event(q[3]))
        verdicts[(ours_v, y0_v)] += 1
        rows.append((q[0], ours_v, y0_v, res["ours"], res["ours_obs"], res["y0"]))
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    cmd = (f".venv/bin/python bench/bench_idstar.py --random {args.random} --reps {args.reps} "
           f"--seed {args.seed}")
    lines = ["# ID* and IDC* against y0", "",
             f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}, y0 {version('y0')}  ",
             f"load: `{uptime}`  ", f"command: `{cmd}`", "",
             "Each query on a fresh graph, contenders alternated, medians of "
             f"{args.reps} rounds; ratio = y0 / ours. y0's ID* returns P_x(var(S)) at line 9 "
             "without running ID, so `ours` runs ID* in that mode (experiments=True: a "
             "placeholder term per district, the expression left unsimplified, as y0 leaves "
             "its own); `ours, to observations` also runs ID on every district and simplifies "
             "(what identify does).",
             "", "## The papers' examples", "",
             "| query | ours | y0 | ours µs | ours, to observations µs | y0 µs | y0 / ours |",
             "|---|---|---|---:|---:|---:|---:|"]
    for name, ov, yv, o, oo, y in rows[:len(EXAMPLES)]:
        shown = name.replace("|", "\\|")
        lines.append(f"| {shown} | {ov} | {yv} | {o * 1e6:.0f} | {oo * 1e6:.0f} | "
                     f"{y * 1e6:.0f} | {y / o:.1f}× |")
    rand = rows[len(EXAMPLES):] if len(rows) > len(EXAMPLES) else []
    if rand:
        ratios = [y / o for *_, o, _, y in rand]
        ratios_obs = [y / oo for *_, oo, y in rand]
        lines += ["", f"## {len(rand)} random queries (graphs of 4-8 nodes)", "",
                  "| | median | min | max |", "|---|---:|---:|---:|",
                  f"| y0 / ours | {statistics.median(ratios):.1f}× | {min(ratios):.1f}× | "
                  f"{max(ratios):.1f}× |",
                  f"| y0 / ours, to observations | {statistics.median(ratios_obs):.1f}× | "
                  f"{min(ratios_obs):.1f}× | {max(ratios_obs):.1f}× |",
                  f"| ours µs | {statistics.median(o for *_, o, _, _ in rand) * 1e6:.0f} | "
                  f"{min(o for *_, o, _, _ in rand) * 1e6:.0f} | "
                  f"{max(o for *_, o, _, _ in rand) * 1e6:.0f} |",
                  f"| y0 µs | {statistics.median(y for *_, y in rand) * 1e6:.0f} | "
                  f"{min(y for *_, y in rand) * 1e6:.0f} | "
                  f"{max(y for *_, y in rand) * 1e6:.0f} |"]
    lines += ["", "Verdicts (ours / y0): " + ", ".join(f"{a} / {b}: {n}" for (a, b), n in
                                                       sorted(verdicts.items())),
              "", "y0 crashes (skipped): " + (", ".join(f"{k}: {n}" for k, n in crashes.items())
                                             or "none")]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
