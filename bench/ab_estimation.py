"""A/B of causaldsl's AIPW bootstrap between two source trees (``bench_estimation.py``'s part
``aipw`` data and worker: 10^5 rows, 10 covariates, a bootstrap of 1000, first and warm call in
a fresh process), the two alternated round by round, one BLAS thread per process:

    python bench/ab_estimation.py --a /work/main/src --b src --rounds 5 [--cold] [--xla-flags F]

``--cold``: no persistent compilation cache (``CAUSALDSL_JAX_CACHE=0``), so the first call
compiles every program; by default the cache serves them after the first round.
``--xla-flags``: ``XLA_FLAGS`` for B's processes only (A is run without), to A/B a flag on one
tree (``--b`` the same as ``--a``). Prints medians (min–max) of each side and their ratio, the
load, and checks that both sides give the same estimate, se and interval."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_estimation as be


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=be.FULL)
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--xla-flags")
    args = ap.parse_args()
    import numpy as np

    be.BLAS_THREADS = 1
    if args.cold:
        os.environ["CAUSALDSL_JAX_CACHE"] = "0"
    tmp = Path(tempfile.mkdtemp(prefix="ab-est-"))
    data = str(tmp / "data.npz")
    z, t, y, _ = be.simulate(100_000, 0)
    np.savez(data, z=z, t=t, y=y)
    sides = {"A": args.a, "B": args.b}
    out: dict[str, list[dict]] = {"A": [], "B": []}
    loads = [os.getloadavg()[0]]
    for k in range(args.rounds):
        for side in (("A", "B") if k % 2 == 0 else ("B", "A")):
            flags = os.environ.get("XLA_FLAGS")
            if side == "B" and args.xla_flags:
                os.environ["XLA_FLAGS"] = args.xla_flags
            try:
                out[side].append(be.run_worker("causaldsl", data, ["--reps", str(args.reps)],
                                               3600, sides[side]))
            finally:
                if flags is None:
                    os.environ.pop("XLA_FLAGS", None)
                else:
                    os.environ["XLA_FLAGS"] = flags
            loads.append(os.getloadavg()[0])

    def row(side: str, key: str, call: str) -> list[float]:
        return [r[call][key] for r in out[side]]

    print(f"load (1 min) {min(loads):.2f}–{max(loads):.2f}; {args.rounds} rounds, "
          f"{'cold' if args.cold else 'persistent'} compile cache; A={args.a} B={args.b}"
          f"{' XLA_FLAGS(B)=' + args.xla_flags if args.xla_flags else ''}")
    print("| call | A s | B s | A/B |\n|---|---:|---:|---:|")
    for call in ("first", "warm"):
        for key in ("wall_s", "cpu_s"):
            meds = {}
            cells = []
            for side in ("A", "B"):
                xs = row(side, key, call)
                meds[side] = statistics.median(xs)
                cells.append(f"{meds[side]:.2f} ({min(xs):.2f}–{max(xs):.2f})")
            print(f"| {call} {key[:-2]} | {cells[0]} | {cells[1]} | "
                  f"{meds['A'] / meds['B']:.2f}× |")
    for side in ("A", "B"):
        r = out[side][0]["first"]
        print(f"{side}: estimate {r['estimate']:.12f} se {r['se']:.12g} ci {r['ci']}")


if __name__ == "__main__":
    main()
