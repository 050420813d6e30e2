"""Where a new question's first call goes (issue 16): ``bench_first_call.py``'s questions, answered
one by one in a warm process with nothing else between them, timed phase by phase; then the same
first calls with other work between them (as the headline alternates its contenders), to show
how much of the headline's time is caches emptied by that work rather than our own.

    .venv/bin/python bench/profile_first_call.py [--networks alarm,munin1] [--questions 40]

It reaches into the exact engine (``ExactEngine.compile``, ``CompiledQuery``), so it follows
the code, not a public API. Medians in ms over the questions; each question is a new shape.

Phases: *parse* the query text (lark); *check* it against the model; *tree* (whether a
calibrated junction tree answers it; none is built for these); *compile* (cut, prune, plan: the
bucket plan or the staged contraction); *read* (the values' indices and the answer's layout);
*evaluate* (the arithmetic, NumPy). Interleaved: the first call after, in turn, nothing, a
pgmpy ``VariableElimination`` query, a fresh pyAgrum ``LazyPropagation``, and a pass over 16 MB
of memory (which empties the caches and runs no Python)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_first_call as b
from causaldsl.backends.exact import engine_for
from causaldsl.model.checks import check_query
from causaldsl.syntax.query import parse_query

PHASES = ("parse", "check", "tree", "compile", "read", "evaluate", "total")
BETWEEN = ("nothing", "pgmpy", "pyAgrum fresh", "16 MB pass")


def phases(model: object, qs: list[b.Question]) -> dict[str, float]:
    """Median ms of each phase of each question's first call."""
    eng = engine_for(model)
    times: dict[str, list[float]] = {k: [] for k in PHASES}
    for q in qs:
        t = [time.perf_counter()]
        p = parse_query(q.text())
        t.append(time.perf_counter())
        check_query(model, p)
        t.append(time.perf_counter())
        assert eng._from_tree(p) is None  # the contraction answers these
        t.append(time.perf_counter())
        cq = eng.compile(p, checked=True)
        t.append(time.perf_counter())
        values = {e.var: e.value for e in (*p.interventions, *p.evidence, *p.outcomes)
                  if e.value is not None}
        idx, read = cq.indices(values), eng._answer_reader(p, cq)
        t.append(time.perf_counter())
        joint, _ = cq.evaluate(idx)
        read(np.asarray(joint))
        t.append(time.perf_counter())
        for k, a, z in zip(PHASES, t, t[1:], strict=False):
            times[k].append(z - a)
        times["total"].append(t[-1] - t[0])
    return {k: 1e3 * statistics.median(v) for k, v in times.items()}


def interleaved(model: object, bn: object, name: str, qs: list[b.Question]) -> dict[str, float]:
    """Median ms of our first calls with each kind of work just before them, in turn."""
    agrum, pg = b.Agrum(name, model), b.Pgmpy(bn)
    junk = np.ones(2 ** 21)  # 16 MB
    before = {"nothing": lambda q: None, "pgmpy": pg, "pyAgrum fresh": agrum.fresh,
              "16 MB pass": lambda q: junk.__iadd__(1.0)}
    times: dict[str, list[float]] = {k: [] for k in BETWEEN}
    for i, q in enumerate(qs):
        k = BETWEEN[i % len(BETWEEN)]
        before[k](q)
        s = time.perf_counter()
        b.ours(model, q)
        times[k].append(time.perf_counter() - s)
    return {k: 1e3 * statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--networks", default=",".join(b.NETWORKS))
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--seed", type=int, default=20261207)  # bench_first_call.py's
    args = ap.parse_args()
    print(f"load average (1 min) at the start {os.getloadavg()[0]:.2f}\n")
    print("| network | " + " | ".join(PHASES) + " | " +
          " | ".join(f"after {k}" for k in BETWEEN) + " |")
    print("|---|" + "---:|" * (len(PHASES) + len(BETWEEN)))
    for name in args.networks.split(","):
        bn, model = b.load_ours(name)
        # two sets of new questions: the first for the phases, the second interleaved
        qs = b.questions(model, 2 * args.questions, args.seed)
        model.query(f"P({qs[0].target})")  # the process warm: parser and engine built
        ph = phases(model, qs[: args.questions])
        il = interleaved(model, bn, name, qs[args.questions:])
        print(f"| {name} | " + " | ".join(f"{ph[k]:.3f}" for k in PHASES) + " | " +
              " | ".join(f"{il[k]:.3f}" for k in BETWEEN) + " |", flush=True)
    print(f"\nload average (1 min) at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
