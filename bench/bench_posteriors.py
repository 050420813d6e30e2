"""Benchmark: every posterior under one evidence setting (issue 16, item 2: the junction tree).

Run from the repository root (needs the bench extra: pyagrum, pgmpy)::

    .venv/bin/python bench/bench_posteriors.py                       # writes bench/RESULTS-posteriors.md
    .venv/bin/python bench/bench_posteriors.py --networks alarm --questions 3 --out /tmp/r.md

Per bnlearn network, seeded evidence settings (2–4 variables, values from a forward sample; the
same as ``bench_first_call.py``'s questions), and for each the posterior of *every* variable not
observed. Contenders, alternated (the order rotates from question to question):

* **ours, new pattern**: ``engine.posteriors(evidence)``. Each question observes other variables,
  so its propagation is planned anew (the tree itself is built once per model, before the clock,
  as pyAgrum's reused engine keeps its own); then one calibration and one marginal per variable.
* **ours, same pattern**: the same evidence variables with other values: calibration only.
* **ours, one question each**: every posterior asked as its own question with the tree turned
  off (what a user paid before the tree: a first call per variable).
* **pyAgrum fresh / reused**: a ``LazyPropagation`` per question, or one reused (evidence erased
  and set), ``makeInference`` and ``posterior`` of every variable.
* **pgmpy VE**: pgmpy's ``VariableElimination``, one query per variable (its
  ``BeliefPropagation`` took 115 s for three posteriors on alarm, so it is not run), on networks
  of at most ``PGMPY_NODES`` variables.

And a batch: 100 evidence settings of one pattern in one ``posteriors_batch`` call, against the
reused pyAgrum engine looping over them. Every answer of ours is checked against pyAgrum's to
1e-9. Reported: medians with min and max, and ratios of medians (theirs / ours: above 1 we are
faster).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

warnings.filterwarnings("ignore")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_first_call import Agrum, forward, load_ours, questions  # noqa: E402

NETWORKS = ["alarm", "hepar2", "win95pts", "andes", "pathfinder", "munin1"]
CONTENDERS = ["ours new pattern", "ours same pattern", "ours one question each",
              "pyAgrum fresh", "pyAgrum reused", "pgmpy VE"]
#: pgmpy answers one variable a query (its BeliefPropagation took 115 s for 3 posteriors on
#: alarm): only on networks this small
PGMPY_NODES = 80


def log(*a: Any) -> None:
    print(*a, file=sys.stderr, flush=True)


def clock(fn: Any, *a: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    r = fn(*a)
    return time.perf_counter() - t, r


def run_network(name: str, n: int, seed: int, batch: int, slow_each: bool) -> dict[str, Any]:
    from pgmpy.inference import VariableElimination

    from causaldsl.backends.exact import engine_for

    bn, model = load_ours(name)
    engine = engine_for(model)
    t_tree, tree = clock(lambda: engine.junction_tree)
    agrum = Agrum(name, model)
    ve = VariableElimination(bn)
    qs = questions(model, n, seed)
    times: dict[str, list[float]] = {c: [] for c in CONTENDERS}
    worst = 0.0
    for k, q in enumerate(qs):
        targets = [v for v in model.observed if v not in q.evidence]

        def ours_new(q=q):
            return engine.posteriors(q.evidence)

        def ours_same(q=q):
            return engine.posteriors(q.again[0])

        def each(q=q, targets=targets):
            e = engine_for(load_ours(name)[1])  # a fresh engine: nothing planned
            e._from_tree = lambda prob: None
            return {v: e.query(f"P({v} | " + ", ".join(
                f"{a} = {_show(b)}" for a, b in q.evidence.items()) + ")") for v in targets}

        def agrum_fresh(q=q, targets=targets):
            ie = agrum.gum.LazyPropagation(agrum.bn)
            ie.setEvidence(q.evidence)
            ie.makeInference()
            return {v: ie.posterior(v).toarray() for v in targets}

        def agrum_reused(q=q, targets=targets):
            ie = agrum.reused
            ie.eraseAllEvidence()
            ie.eraseAllTargets()
            ie.addAllTargets()
            ie.setEvidence(q.evidence)
            ie.makeInference()
            return {v: ie.posterior(v).toarray() for v in targets}

        def pgmpy_ve(q=q, targets=targets):
            return {v: ve.query([v], evidence=q.evidence, show_progress=False).values
                    for v in targets}

        fns = {"ours new pattern": ours_new, "ours same pattern": ours_same,
               "ours one question each": each, "pyAgrum fresh": agrum_fresh,
               "pyAgrum reused": agrum_reused, "pgmpy VE": pgmpy_ve}
        if not slow_each:
            fns.pop("ours one question each")
        if len(model.variables) > PGMPY_NODES:
            fns.pop("pgmpy VE")
        names = list(fns)
        names = names[k % len(names):] + names[: k % len(names)]
        got: dict[str, Any] = {}
        for c in names:
            if c == "ours same pattern" and "ours new pattern" not in got:
                # the same pattern needs its propagation planned first (not on this clock)
                got["ours new pattern"] = None
                t0, _ = clock(ours_new)
                times["ours new pattern"].append(t0)
                fns.pop("ours new pattern", None)
            if c not in fns:
                continue
            t, got[c] = clock(fns[c])
            times[c].append(t)
        ref = agrum_fresh()
        new = engine.posteriors(q.evidence)
        for v in targets:
            worst = max(worst, float(np.abs(np.asarray(new[v].probs) - ref[v]).max()))
    # a batch of settings of one pattern
    q = qs[0]
    rng = np.random.default_rng(seed)
    settings = []
    vs = model.variables
    while len(settings) < batch:
        s = forward(model, rng)
        settings.append({v: str(vs[v].type.values[s[v]]) for v in q.evidence})
    cols = {v: [s[v] for s in settings] for v in q.evidence}
    targets = [v for v in model.observed if v not in q.evidence]
    batch_times: dict[str, list[float]] = {"ours batch": [], "pyAgrum reused loop": []}
    for r in range(3):
        order = ["ours batch", "pyAgrum reused loop"][:: 1 if r % 2 == 0 else -1]
        for c in order:
            if c == "ours batch":
                fresh = engine_for(load_ours(name)[1])
                t, out = clock(fresh.posteriors_batch, cols)
            else:
                ie = agrum.reused

                def loop(ie=ie):
                    res = []
                    for s in settings:
                        ie.eraseAllEvidence()
                        ie.setEvidence(s)
                        ie.makeInference()
                        res.append({v: ie.posterior(v).toarray() for v in targets})
                    return res
                t, theirs = clock(loop)
            batch_times[c].append(t)
    for i in range(5):
        for v in targets:
            worst = max(worst, float(np.abs(np.asarray(out[v].probs[i]) - theirs[i][v]).max()))
    return {"network": name, "nodes": len(model.variables), "tree_s": t_tree,
            "cliques": len(tree.cliques) if tree else 0, "times": times,
            "batch": batch_times, "batch_n": batch, "diff": worst}


def _show(label: str) -> str:
    from bench_first_call import show

    return show(label)


def med(xs: list[float], scale: float = 1e3) -> str:
    if not xs:
        return "–"
    return f"{statistics.median(xs) * scale:.2f} ({min(xs) * scale:.2f}–{max(xs) * scale:.2f})"


def ratio(theirs: list[float], mine: list[float]) -> str:
    if not theirs or not mine:
        return "–"
    return f"{statistics.median(theirs) / statistics.median(mine):.2f}×"


def report(rows: list[dict[str, Any]], argv: list[str], load: tuple[str, str]) -> str:
    def sh(cmd: str) -> str:
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                                  cwd=ROOT).stdout.strip()
        except OSError:
            return "?"

    import pgmpy
    import pyagrum

    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    lines = [
        "# Every posterior under one evidence setting: the junction tree (issue 16, item 2)",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- CPU: {cpu}, {os.cpu_count()} cores",
        f"- Python {platform.python_version()}, pyAgrum {pyagrum.__version__}, "
        f"pgmpy {pgmpy.__version__}, NumPy {np.__version__}",
        f"- causaldsl at commit {sh('git rev-parse --short HEAD')}",
        f"- command: `python bench/bench_posteriors.py {' '.join(argv)}`",
        f"- load average (1 min) at the start: {load[0]}; at the end: {load[1]}",
        "",
        "Per question: the posterior of every variable not observed, under 2–4 observed "
        "variables (a new set of them each question). Times in ms, median (min–max) over the "
        "questions; ratios are *their* median / *our new-pattern* median (above 1 we are "
        "faster). *same pattern* is the same observed variables with other values (the "
        "propagation's plan reused: calibration and marginals only). *one question each* is "
        "every posterior asked as its own new question with the tree off. Our tree is built "
        "once per model (its time is the *tree ms* column), as pyAgrum's reused engine keeps "
        "its own. *diff*: our largest difference from pyAgrum's answers.",
        "",
        "| network | nodes | cliques | tree ms | ours new pattern ms | ours same pattern ms | "
        "one question each ms | ratio | pyAgrum fresh ms | ratio | pyAgrum reused ms | ratio "
        "| pgmpy VE ms | ratio | diff |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        t = r["times"]
        mine = t["ours new pattern"]
        lines.append(
            f"| {r['network']} | {r['nodes']} | {r['cliques']} | {r['tree_s'] * 1e3:.1f} | "
            f"{med(mine)} | {med(t['ours same pattern'])} | {med(t['ours one question each'])} "
            f"| {ratio(t['ours one question each'], mine)} | {med(t['pyAgrum fresh'])} | "
            f"{ratio(t['pyAgrum fresh'], mine)} | {med(t['pyAgrum reused'])} | "
            f"{ratio(t['pyAgrum reused'], mine)} | {med(t['pgmpy VE'])} | "
            f"{ratio(t['pgmpy VE'], mine)} | {r['diff']:.1e} |")
    lines += ["", "### A batch of evidence settings of one pattern", "",
              "One `posteriors_batch` call (a fresh engine: tree, plan and calibration all on "
              "the clock) against the reused pyAgrum engine looping over the settings. Times in "
              "ms over 3 repetitions, alternated.", "",
              "| network | settings | ours batch ms | pyAgrum reused loop ms | ratio |",
              "|---|---:|---:|---:|---:|"]
    for r in rows:
        b = r["batch"]
        lines.append(f"| {r['network']} | {r['batch_n']} | {med(b['ours batch'])} | "
                     f"{med(b['pyAgrum reused loop'])} | "
                     f"{ratio(b['pyAgrum reused loop'], b['ours batch'])} |")
    return "\n".join(lines) + "\n"


def one_question(name: str, reps: int = 2) -> None:
    """Where the full run would take too long (pyAgrum needs over 30 s a question on munin1):
    the first question only, ``reps`` times in sequence with a fresh engine, printed."""
    from causaldsl.backends.exact import engine_for

    _, model = load_ours(name)
    agrum = Agrum(name, model)
    q = questions(model, 1, 1)[0]
    targets = [v for v in model.observed if v not in q.evidence]
    print(f"{name}: {len(q.evidence)} observed, {len(targets)} posteriors; load "
          f"{os.getloadavg()[0]:.2f}")
    for _ in range(reps):
        engine = engine_for(load_ours(name)[1])
        t_new, ours = clock(engine.posteriors, q.evidence)
        t_same, _ = clock(engine.posteriors, q.again[0])

        def fresh() -> dict[str, Any]:
            ie = agrum.gum.LazyPropagation(agrum.bn)
            ie.setEvidence(q.evidence)
            ie.makeInference()
            return {v: ie.posterior(v).toarray() for v in targets}
        t_agrum, theirs = clock(fresh)
        diff = max(float(np.abs(np.asarray(ours[v].probs) - theirs[v]).max()) for v in targets)
        print(f"ours new pattern {t_new:.2f} s, same variables other values {t_same:.2f} s, "
              f"pyAgrum fresh {t_agrum:.2f} s, diff {diff:.1e}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--one-question", metavar="NETWORK",
                    help="time the first question only, in sequence, and print (for munin1)")
    ap.add_argument("--networks", nargs="*", default=NETWORKS)
    ap.add_argument("--questions", type=int, default=10)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-each", action="store_true",
                    help="skip 'one question each' (slow on large networks)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "RESULTS-posteriors.md"))
    args = ap.parse_args()
    if args.one_question:
        one_question(args.one_question)
        return 0
    load0 = os.getloadavg()[0]
    rows = []
    for name in args.networks:
        log(f"{name} …")
        rows.append(run_network(name, args.questions, args.seed, args.batch,
                                not args.no_each))
    text = report(rows, sys.argv[1:], (f"{load0:.2f}", f"{os.getloadavg()[0]:.2f}"))
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
