"""The linear g-formula from a CSV file larger than its chunks (issue 14): peak memory and time.

Run from the repository root (the project's venv has statsmodels, a test dependency):

    python bench/bench_moments.py                       # 5·10^6 rows, three rounds
    python bench/bench_moments.py --rows 2000000 --repeats 1

The file: ``--rows`` rows of Z1 (labels a, b, c), Z2 (0/1), W (normal), X (0/1) and Y (normal,
linear in all of them; the effect of X is 2), cached in ``~/.cache/causaldsl-bench/``. The
question ``E[Y | do(X = 1)] - E[Y | do(X = 0)]`` on the graph Z1, Z2, W → X, Y; X → Y, by
``method="gformula"`` (main effects). Contenders, each in a fresh process, alternated:

- ``chunks``: causaldsl reading the file in chunks of 2^20 rows (moments: three passes);
- ``chunks-fifth``: the same on the file's first fifth (so that memory against file size shows);
- ``whole``: causaldsl reading the file whole (the in-memory estimator, the threshold raised);
- ``statsmodels``: ``pd.read_csv`` + ``smf.ols("Y ~ X + Z1 + Z2 + W").fit(cov_type="HC0")``:
  with main effects the standardised effect is X's coefficient and its sandwich se is HC0's,
  so the estimates must agree (to 1e-6 relative, checked).

``--multilevel``: X has three levels a, b, c instead (multinomial logistic in Z1, Z2, W; Y
linear, the effects of b and c against a 1 and 2.5), the question
``E[Y | do(X = c)] - E[Y | do(X = a)]`` by ``method="aipw"`` (a linear outcome model and a
multinomial propensity, main effects), and no statsmodels contender:

    python bench/bench_moments.py --multilevel --rows 2000000 --repeats 2

Peak RSS is the process's VmHWM (``bench_estimation.rss_mib``). It prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_estimation import CACHE, SRC, fmt, load, med, rss_mib, timed  # noqa: E402

ATE = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
ATE3 = "E[Y | do(X = c)] - E[Y | do(X = a)]"


def write_csv(path: Path, rows: int, seed: int, multilevel: bool = False) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    block = 1_000_000
    with open(tmp, "w") as f:
        for start in range(0, rows, block):
            m = min(block, rows - start)
            z1 = rng.choice(3, m, p=[0.5, 0.3, 0.2])
            z2 = (rng.random(m) < 0.4).astype(np.int64)
            w = np.round(rng.normal(size=m), 4)
            if multilevel:
                eta = np.column_stack([np.zeros(m), -0.3 + 0.5 * z1 - 0.6 * z2 + 0.4 * w,
                                       0.2 - 0.4 * z1 + 0.3 * z2 - 0.5 * w])
                px = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
                x = (rng.random(m)[:, None] > np.cumsum(px, axis=1)).sum(axis=1)
                effect = np.array([0.0, 1.0, 2.5])[x]
            else:
                px = 1 / (1 + np.exp(-(-0.5 + 0.6 * z1 - 0.8 * z2 + 0.5 * w)))
                x = (rng.random(m) < px).astype(np.int64)
                effect = 2 * x
            y = np.round(1 + effect + 0.7 * z1 - 0.4 * z2 + 1.1 * w + rng.normal(size=m), 4)
            pd.DataFrame({"Z1": np.array(["a", "b", "c"])[z1], "Z2": z2, "W": w,
                          "X": np.array(["a", "b", "c"])[x] if multilevel else x,
                          "Y": y}).to_csv(f, header=start == 0, index=False)
    tmp.rename(path)


def worker(name: str, data: str, multilevel: bool = False) -> dict:
    base = rss_mib()
    if name == "statsmodels":
        import pandas as pd
        import statsmodels.formula.api as smf

        base = rss_mib()

        def fit():
            df = pd.read_csv(data)
            r = smf.ols("Y ~ X + Z1 + Z2 + W", data=df).fit(cov_type="HC0")
            return float(r.params["X"]), float(r.bse["X"]), len(df)

        (v, se, n), wall, cpu = timed(fit)
        return {"wall_s": wall, "cpu_s": cpu, "estimate": v, "se": se, "n": n,
                "rss_mib": rss_mib(), "rss_before_mib": base}
    import causaldsl
    from causaldsl.estimation import chunks
    from causaldsl.model.graph import ADMG

    chunks.OUT_OF_CORE_BYTES = 1 << 62 if name == "whole" else 0
    g = ADMG(["Z1", "Z2", "W", "X", "Y"],
             [(z, v) for z in ("Z1", "Z2", "W") for v in ("X", "Y")] + [("X", "Y")])
    base = rss_mib()
    query, method = (ATE3, "aipw") if multilevel else (ATE, "gformula")
    r, wall, cpu = timed(lambda: causaldsl.estimate(g, query, data, method=method))
    return {"wall_s": wall, "cpu_s": cpu, "estimate": float(r), "se": r.se, "n": r.n,
            "read": r.details.get("read", "whole"), "rss_mib": rss_mib(),
            "rss_before_mib": base}


def run(name: str, data: str, timeout: float, multilevel: bool = False) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, __file__, "--worker", name, "--data", data,
           *(["--multilevel"] if multilevel else [])]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode:
        raise RuntimeError(f"worker {name} failed:\n{p.stderr[-4000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["load_after"] = load()
    print(f"  {name}: {json.dumps(out)}", file=sys.stderr, flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--worker")
    ap.add_argument("--data")
    ap.add_argument("--multilevel", action="store_true",
                    help="a three-level treatment, by AIPW (see the docstring)")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.multilevel)))
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    stem = "aipw3" if args.multilevel else "gformula"
    path = CACHE / f"{stem}-{args.rows}-{args.seed}.csv"
    fifth = CACHE / f"{stem}-{args.rows}-{args.seed}-fifth.csv"
    if not path.exists():
        print(f"writing {path}", file=sys.stderr, flush=True)
        write_csv(path, args.rows, args.seed, args.multilevel)
    if not fifth.exists():
        with open(path) as src, open(fifth, "w") as dst:
            for i, line in enumerate(src):
                if i > args.rows // 5:
                    break
                dst.write(line)
    start, load0 = time.perf_counter(), load()
    names = ["chunks", "chunks-fifth", "whole", *([] if args.multilevel else ["statsmodels"])]
    results: dict[str, list[dict]] = {n: [] for n in names}
    for k in range(args.repeats):
        print(f"round {k + 1}/{args.repeats} (load {load():.2f})", file=sys.stderr, flush=True)
        for name in names[k % len(names):] + names[:k % len(names)]:
            results[name].append(run(name, str(fifth if name == "chunks-fifth" else path),
                                     args.timeout, args.multilevel))
    mib = {p: q.stat().st_size / 2 ** 20 for p, q in (("full", path), ("fifth", fifth))}
    lines = [f"Rows {args.rows:,} ({mib['full']:,.0f} MiB; the fifth {mib['fifth']:,.0f} MiB), "
             f"chunks of 2^20 rows; load (1 min) {load0:.2f} at the start.", "",
             "| contender | read | runs | wall s: median [min, max] | CPU s (median) | "
             "peak RSS MiB: median [min, max] | RSS before the call MiB | load after | "
             "n | estimate | se |", "|---|---|---:|---|---:|---|---:|---:|---:|---:|---:|"]
    ref = results["whole"][0]
    ok = True
    for name, rs in results.items():
        w, m = [r["wall_s"] for r in rs], [r["rss_mib"] for r in rs]
        if name != "chunks-fifth" and (abs(rs[0]["estimate"] - ref["estimate"]) >
                                       1e-6 * abs(ref["estimate"]) or
                                       abs(rs[0]["se"] - ref["se"]) > 1e-6 * ref["se"]):
            ok = False
        lines.append(f"| {name} | {rs[0].get('read', 'whole')} | {len(rs)} | {fmt(med(w))} "
                     f"[{fmt(min(w))}, {fmt(max(w))}] | {fmt(med(r['cpu_s'] for r in rs))} | "
                     f"{med(m):,.0f} [{min(m):,.0f}, {max(m):,.0f}] | "
                     f"{med(r['rss_before_mib'] for r in rs):,.0f} | "
                     f"{med(r['load_after'] for r in rs):.1f} | {rs[0]['n']:,} | "
                     f"{rs[0]['estimate']:.10f} | {rs[0]['se']:.10f} |")
    lines += ["", f"Estimates and se of the whole file equal within 1e-6 relative: "
              f"{'yes' if ok else 'NO'}. Wall time {time.perf_counter() - start:,.0f} s; "
              f"load (1 min) at the end {load():.2f}.", ""]
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
