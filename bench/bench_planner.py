"""Benchmark: the planner's elimination order (issue 16), this checkout's against another's.

Records the einsums that new questions plan (``bench_first_call.py``'s seeded questions: the
``(terms, output, sizes)`` each call of ``elimination_path`` receives while the question is
answered), then times ``elimination_path`` on each of them, this checkout's and the baseline's
(``src/causaldsl/backends/eliminate.py`` at a git revision, by default the commit before the
planner was sped up) alternated, the order rotating from round to round. Both must return the
same path (steps, path, largest intermediate, flops), or the run stops. Reported per network:
the median time per einsum with min and max (each einsum's time is the median of its rounds),
and the ratio of the medians.

With ``--first-call-runs N``, also the whole first call of the same questions (parse, prune,
plan, evaluate, as ``bench_first_call.py``'s "ours"), in N fresh processes of each checkout
(the baseline's ``src`` and ``bench`` taken from git), alternated: each question's median over
the runs, then per network the median over the questions and the ratio per question. Needs the
bench extra (pgmpy reads the networks)::

    .venv/bin/python bench/bench_planner.py                       # munin1, andes, pathfinder
    .venv/bin/python bench/bench_planner.py --networks munin1 --rounds 9 --out /tmp/r.md
    .venv/bin/python bench/bench_planner.py --first-call-runs 6
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from sections import replace_section  # noqa: E402

#: the planner before issue 16's speed-up of ``elimination_path``
BASELINE = "2e36337"
SECTION = "bench_planner.py"


def baseline_module(rev: str) -> Any:
    """``eliminate.py`` as it was at ``rev``, imported under another name."""
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:src/causaldsl/backends/"
                           "eliminate.py"], capture_output=True, text=True, check=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="bench_planner_"))
    path = folder / "eliminate_baseline.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("eliminate_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["eliminate_baseline"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def recorded(network: str, n: int, seed: int) -> list[tuple[list[str], str, dict[str, int]]]:
    """The einsums ``elimination_path`` is given while ``n`` new questions are answered."""
    import bench_first_call as first
    import causaldsl.backends.plan as plan

    seen: list[tuple[list[str], str, dict[str, int]]] = []
    real = plan.elimination_path

    def spy(terms: Any, output: str, sizes: dict[str, int]) -> Any:
        seen.append((list(terms), output, dict(sizes)))
        return real(terms, output, sizes)

    _, model = first.load_ours(network)
    plan.elimination_path = spy  # type: ignore[assignment]
    try:
        for q in first.questions(model, n, seed):
            first.ours(model, q)
    finally:
        plan.elimination_path = real
    return seen


def key(p: Any) -> tuple[Any, ...]:
    return p.steps, p.path, p.largest_intermediate, p.flops


def time_network(cases: list[Any], contenders: dict[str, Any], rounds: int
                 ) -> dict[str, list[float]]:
    """Per contender, each einsum's median time over ``rounds`` alternated rounds."""
    names = list(contenders)
    per: dict[str, list[float]] = {c: [] for c in names}
    for terms, output, sizes in cases:
        want = key(contenders[names[0]](terms, output, sizes))
        for c in names[1:]:
            if key(contenders[c](terms, output, sizes)) != want:
                raise SystemExit(f"{c} returns another path for {terms} -> {output}")
        times: dict[str, list[float]] = {c: [] for c in names}
        for r in range(rounds):
            k = r % len(names)
            for c in names[k:] + names[:k]:
                t = time.perf_counter()
                contenders[c](terms, output, sizes)
                times[c].append(time.perf_counter() - t)
        for c in names:
            per[c].append(statistics.median(times[c]))
    return per


def first_calls(root: Path, networks: list[str], n: int, seed: int) -> dict[str, list[float]]:
    """In this process, with the code under ``root``: each question's first call, per
    network, after a warm-up question on alarm."""
    sys.path[:0] = [str(root / "src"), str(root / "bench")]
    import bench_first_call as first

    _, warm = first.load_ours("alarm")
    warm.query("P(HISTORY | CVP = LOW)")
    out = {}
    for net in networks:
        _, model = first.load_ours(net)
        out[net] = []
        for q in first.questions(model, n, seed):
            t = time.perf_counter()
            first.ours(model, q)
            out[net].append(time.perf_counter() - t)
    return out


def first_call_table(rev: str, networks: list[str], n: int, seed: int, runs: int) -> list[str]:
    """The first calls of ``rev``'s checkout and this one, ``runs`` fresh processes each,
    alternated."""
    base = Path(tempfile.mkdtemp(prefix="bench_planner_src_"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src", "bench"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
    roots = {rev: base, "this checkout": ROOT}
    times: dict[str, list[dict[str, list[float]]]] = {k: [] for k in roots}
    for r in range(runs):
        for who in (list(roots) if r % 2 == 0 else list(roots)[::-1]):
            child = subprocess.run(
                [sys.executable, __file__, "--first-call-child", str(roots[who]),
                 "--networks", ",".join(networks), "--questions", str(n), "--seed", str(seed)],
                capture_output=True, text=True, check=True,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
            times[who].append(json.loads(child.stdout.strip().splitlines()[-1]))
    lines = [f"| network | {rev}, ms | this checkout, ms | ratio of medians | "
             "ratio per question: median (min–max) |", "|---|---:|---:|---:|---:|"]
    for net in networks:
        per = {who: [statistics.median(run[net][i] for run in times[who]) for i in range(n)]
               for who in roots}
        before, after = per[rev], per["this checkout"]
        ratios = [b / a for b, a in zip(before, after, strict=True)]
        lines.append(f"| {net} | {ms(before)} | {ms(after)} | "
                     f"{statistics.median(before) / statistics.median(after):.2f}× | "
                     f"{statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f}) |")
        print(lines[-1], file=sys.stderr, flush=True)
    return lines


def ms(ts: list[float]) -> str:
    return (f"{1e3 * statistics.median(ts):.3f} ({1e3 * min(ts):.3f}–{1e3 * max(ts):.3f})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--networks", default="munin1,andes,pathfinder")
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--baseline-rev", default=BASELINE)
    ap.add_argument("--first-call-runs", type=int, default=0)
    ap.add_argument("--first-call-child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help="write the table as a section of this file")
    args = ap.parse_args()
    if args.first_call_child:
        print(json.dumps(first_calls(args.first_call_child, args.networks.split(","),
                                     args.questions, args.seed)))
        return 0
    from causaldsl.backends.eliminate import elimination_path

    old = baseline_module(args.baseline_rev).elimination_path
    contenders = {args.baseline_rev: old, "this checkout": elimination_path}
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    load = [os.getloadavg()[0]]
    lines = ["| network | einsums (operands: median, max) | "
             f"{args.baseline_rev}, ms | this checkout, ms | ratio of medians |",
             "|---|---:|---:|---:|---:|"]
    for net in args.networks.split(","):
        cases = recorded(net, args.questions, args.seed)
        per = time_network(cases, contenders, args.rounds)
        sizes = [len(c[0]) for c in cases]
        before, after = per[args.baseline_rev], per["this checkout"]
        ratio = statistics.median(before) / statistics.median(after)
        lines.append(f"| {net} | {len(cases)} ({statistics.median(sizes):.0f}, {max(sizes)}) | "
                     f"{ms(before)} | {ms(after)} | {ratio:.2f}× |")
        print(lines[-1], file=sys.stderr, flush=True)
    first = []
    if args.first_call_runs:
        nets = [n for n in args.networks.split(",") if n != "pathfinder"]  # one question plans
        first = ["", f"The whole first call of the same questions on {', '.join(nets)} "
                 f"(`bench_first_call.py`'s *ours*), {args.first_call_runs} fresh processes of "
                 "each checkout, alternated: each question's median over its runs, then the "
                 "median (min–max) over the questions.", "",
                 *first_call_table(args.baseline_rev, nets, args.questions, args.seed,
                                   args.first_call_runs)]
    load.append(os.getloadavg()[0])
    text = "\n".join([
        f"### `elimination_path` alone, {args.baseline_rev} against this checkout "
        "(`bench_planner.py`)", "",
        f"The einsums that {args.questions} new questions per network plan (those of "
        "`bench_first_call.py`), each timed in "
        f"{args.rounds} rounds, the two implementations alternated; every path checked equal. "
        "Median time per einsum (min–max over the einsums).", "", *lines, *first, "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}; causaldsl at "
        f"commit {commit}; Python {sys.version.split()[0]}",
        f"- command: `{Path(sys.executable).name} bench/bench_planner.py "
        f"{' '.join(sys.argv[1:])}`",
        f"- load average (1 min): {load[0]:.2f} at the start, {load[1]:.2f} at the end"])
    print(text)
    if args.out:
        replace_section(args.out, SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
