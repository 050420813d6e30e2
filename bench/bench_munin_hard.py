"""Munin queries that pgmpy's VariableElimination cannot answer within 8 GiB, answered by us.

Targets are interior nodes and the evidence is 40 leaves set to one forward sample, seeded.
pgmpy runs in a forked process capped at RLIMIT_AS = 8 GiB and 120 s; we run in this process
and report the plan's largest intermediate and the peak RSS.

    .venv/bin/python bench/bench_munin_hard.py [--seed 3] [--evidence 40] [--queries 4]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def _pgmpy(bn, target, evidence, out):  # type: ignore[no-untyped-def]
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
    from pgmpy.inference import VariableElimination

    t = time.time()
    try:
        r = VariableElimination(bn).query([target], evidence=evidence, show_progress=False)
        out.put(("ok", time.time() - t, r.values.tolist()))
    except MemoryError:
        out.put(("out of memory", time.time() - t, None))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--evidence", type=int, default=40)
    ap.add_argument("--queries", type=int, default=4)
    args = ap.parse_args()
    mp.set_start_method("fork")
    from pgmpy.sampling import BayesianModelSampling
    from pgmpy.utils import get_example_model

    from causaldsl.backends.exact import engine_for
    from causaldsl.interop.pgmpy import from_pgmpy
    from causaldsl.syntax.query import parse_query

    bn = get_example_model("munin")
    model = from_pgmpy(bn, "munin")
    rng = np.random.default_rng(args.seed)
    nodes = list(bn.nodes())
    leaves = [n for n in nodes if bn.out_degree(n) == 0]
    inner = [n for n in nodes if n not in leaves and bn.in_degree(n) > 0]
    sample = BayesianModelSampling(bn).forward_sample(size=1, seed=args.seed, show_progress=False)
    print(f"command: .venv/bin/python bench/bench_munin_hard.py --seed {args.seed} "
          f"--evidence {args.evidence} --queries {args.queries}")
    print("| target | evidence | pgmpy (8 GiB cap) | ours s | largest intermediate | peak RSS MiB | "
          "max abs diff |\n|---|---:|---|---:|---:|---:|---:|")
    for _ in range(args.queries):
        target = str(rng.choice(inner))
        ev = {v: sample[v].iloc[0] for v in rng.choice(leaves, args.evidence, replace=False)}
        q: mp.Queue = mp.Queue()
        p = mp.Process(target=_pgmpy, args=(bn, target, ev, q))
        p.start()
        p.join(120)
        if p.is_alive():
            p.kill()
            res = ("timeout (120 s)", 120.0, None)
        else:
            res = q.get() if not q.empty() else (f"died (exit {p.exitcode})", 0.0, None)
        text = f"P({target} | " + ", ".join(f'{v} = "{x}"' for v, x in ev.items()) + ")"
        t = time.time()
        d = model.query(text)
        ours = time.time() - t
        cq = engine_for(model).compile(parse_query(text))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        diff = "—" if res[2] is None else f"{np.abs(np.array(res[2]) - d.probs).max():.1e}"
        pg = res[0] if res[0] != "ok" else f"{res[1]:.2f} s"
        print(f"| {target} | {len(ev)} | {pg} | {ours:.2f} | {cq.plan.largest_intermediate:,} | "
              f"{rss} | {diff} |", flush=True)


if __name__ == "__main__":
    main()
