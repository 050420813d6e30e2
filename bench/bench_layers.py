"""Did re-layering the package (issue 13) add start-up or per-query cost? Whole processes of
`causal check`, `causal run` and `causal query` on the examples, and a warm first query, on two
checkouts (before and after), alternated, in one run. CPU seconds of the child (getrusage) and
wall time; medians with min and max, and the ratio after / before of the medians.

    .venv/bin/python bench/bench_layers.py BEFORE_SRC AFTER_SRC [--runs 11]

BEFORE_SRC and AFTER_SRC are the `src` folders of the two checkouts (e.g. a `git worktree` of
the commit before the change, and this one).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_QUERY = """
import time, causaldsl
m = causaldsl.load("examples/smoking.causal").models["smoking"]
m.query("P(C)")  # the engine and JAX loaded, the exact backend warm
t = time.perf_counter(); m.query("P(C | do(S = yes), T = no)"); print(1e3 * (time.perf_counter() - t))
"""

COMMANDS = {
    "causal check smoking": ["-m", "causaldsl.cli", "check", "examples/smoking.causal"],
    "causal run smoking": ["-m", "causaldsl.cli", "run", "examples/smoking.causal"],
    "causal query smoking do": ["-m", "causaldsl.cli", "query", "examples/smoking.causal",
                                "P(C | do(S = yes))"],
    "causal run linear (sampling)": ["-m", "causaldsl.cli", "run", "examples/linear.causal"],
    "warm first query of a new shape (ms, in-process)": ["-c", FIRST_QUERY],
}


def child(src: str, args: list[str]) -> tuple[float, float, str]:
    env = {**os.environ, "PYTHONPATH": src}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True,
                         env=env, cwd=ROOT).stdout
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, out


def summary(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3f} [{min(xs):.3f}, {max(xs):.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--runs", type=int, default=11)
    a = ap.parse_args()
    sides = {"before": a.before, "after": a.after}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"load {os.getloadavg()[0]:.2f}; python {platform.python_version()}")
    print(f"command: {' '.join(sys.argv)}\n")
    print("| what | before: median [min, max] | after | after / before |")
    print("|---|---|---|---|")
    for name, args in COMMANDS.items():
        for src in sides.values():  # warm the .pyc files and the parser cache
            child(src, args)
        got: dict[str, list[float]] = {k: [] for k in sides}
        for _ in range(a.runs):
            for side, src in sides.items():  # alternated
                cpu, _, out = child(src, args)
                got[side].append(float(out) if args[0] == "-c" else cpu)
        unit = "" if args[0] == "-c" else " CPU s"
        ratio = statistics.median(got["after"]) / statistics.median(got["before"])
        print(f"| {name}{unit} | {summary(got['before'])} | {summary(got['after'])} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
