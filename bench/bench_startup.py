"""Cold start of `causal check` on an example: median wall time of fresh processes, against the
bare Python interpreter start in the same run (the floor any CLI pays). Target: under 0.5 s.

    .venv/bin/python bench/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    example = str(ROOT / "examples" / "smoking.causal")
    causal = [sys.executable, "-m", "causaldsl.app.cli", "check", example]
    bare = [sys.executable, "-c", "pass"]
    jax_free = [sys.executable, "-c",
                f"import sys, causaldsl.app.cli as c; c.main(['check', {example!r}]); "
                "assert 'jax' not in sys.modules"]
    timed(causal)  # warm the file cache and the .pyc files
    timed(jax_free)
    rows = []
    for name, cmd in (("python -c pass", bare), ("causal check smoking.causal", causal)):
        ts = [timed(cmd) for _ in range(args.runs)]
        rows.append((name, statistics.median(ts), min(ts)))
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"command: .venv/bin/python bench/bench_startup.py --runs {args.runs}")
    print("| what | median s | min s |\n|---|---:|---:|")
    for name, med, lo in rows:
        print(f"| {name} | {med:.3f} | {lo:.3f} |")
    print(f"\ncausal check over bare interpreter: {rows[1][1] / rows[0][1]:.1f}×; "
          f"target median < 0.5 s: {'met' if rows[1][1] < 0.5 else 'NOT met'}; "
          "JAX is not imported (checked)")


if __name__ == "__main__":
    main()
