"""Benchmark: what a new question costs (issue 16). The headline of ``bench/RESULTS.md``.

Run from the repository root (needs the bench extra: pyagrum, pgmpy)::

    .venv/bin/python bench/bench_first_call.py                   # writes its section of RESULTS.md
    .venv/bin/python bench/bench_first_call.py --networks alarm --questions 5 --out /tmp/r.md

Two measurements, contenders alternated (the order rotates from question to question):

* **First call of a new question in a warm process**, per bnlearn network (the BIF files pgmpy
  ships): seeded diagnostic questions ``P(T | E1 = e1, ...)``, each with its own target and
  evidence variables, so each is a new query *shape* for us (parse, prune, plan, evaluate; no
  answer served from a cache). Against: pyAgrum 3 (aGrUM's C++ engine) with a fresh
  ``LazyPropagation`` per question, and with one ``LazyPropagation`` reused across questions (as
  its users do); pgmpy's ``VariableElimination`` (one object per network); and a bare
  ``opt_einsum.contract`` over only the tables the question needs (the ancestors of target and
  evidence, sliced at the evidence), with a path found before the clock starts. Every answer is
  checked against pyAgrum's to 1e-9. Reported: medians per network with min and max, and the
  ratios of medians.
* **One-shot commands as whole processes**: ``causal run examples/smoking.causal`` against a
  pyAgrum script that answers the same four questions (surgery by hand), and ``causal query``
  of a do-question on alarm written as a .causal file against a pyAgrum script on alarm.bif;
  each script also with one BLAS thread, as the ``causal`` command runs. CPU seconds (user +
  system, from ``getrusage`` of the child) and wall time, medians with min and max; cold every
  time (causaldsl keeps no cache between commands).

Repeats of an identical question (answers served from a cache) are not in this benchmark: see
``bench_exact.py``, whose tables are labelled so.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

warnings.filterwarnings("ignore")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from sections import replace_section  # noqa: E402

NETWORKS = ["alarm", "hepar2", "win95pts", "andes", "pathfinder", "munin1"]
CACHE = Path.home() / ".cache" / "causaldsl-bench"
SECTION = "bench_first_call.py"


def log(*a: Any) -> None:
    print(*a, file=sys.stderr, flush=True)


def bif_path(name: str) -> Path:
    """The network's BIF file, unzipped from pgmpy's package into the cache."""
    import pgmpy

    out = CACHE / f"{name}.bif"
    if not out.is_file():
        src = Path(pgmpy.__file__).parent / "utils" / "example_models" / f"{name}.bif.gz"
        CACHE.mkdir(parents=True, exist_ok=True)
        out.write_bytes(gzip.decompress(src.read_bytes()))
    return out


def load_ours(name: str) -> Any:
    """Our model of the network, through pgmpy's BIF reader (pickled in the cache)."""
    import pickle

    import pgmpy

    from causaldsl.interop.pgmpy import from_pgmpy

    pkl = CACHE / f"{name}-pgmpy{pgmpy.__version__}.pkl"
    if pkl.is_file():
        with open(pkl, "rb") as f:
            bn = pickle.load(f)
    else:
        from pgmpy.readwrite import BIFReader

        bn = BIFReader(str(bif_path(name))).get_model()
        with open(pkl, "wb") as f:
            pickle.dump(bn, f, protocol=pickle.HIGHEST_PROTOCOL)
    return bn, from_pgmpy(bn, name)


@dataclass
class Question:
    target: str
    evidence: dict[str, str]
    #: the same variables with other values (from other samples): the shape's later calls
    again: list[dict[str, str]] = field(default_factory=list)

    def text(self) -> str:
        ev = ", ".join(f"{k} = {show(v)}" for k, v in self.evidence.items())
        return f"P({self.target} | {ev})"


def show(label: str) -> str:
    import json
    import re

    bare = re.fullmatch(r"(?!(do|P|E|true|false)\b)[A-Za-z_][A-Za-z0-9_']*", label)
    return label if bare else json.dumps(label)


def questions(model: Any, n: int, seed: int) -> list[Question]:
    """Seeded questions with distinct (target, evidence variables); evidence values from a
    forward sample, so every evidence has positive probability."""
    import zlib

    rng = np.random.default_rng([seed, zlib.crc32(model.name.encode())])
    vs = model.variables
    children: dict[str, int] = {v: 0 for v in vs}
    for v in vs.values():
        for p in v.parents:
            children[p] += 1
    leaves = [v for v in vs if children[v] == 0]
    inner = [v for v in vs if children[v] > 0]
    seen = set()
    out = []
    while len(out) < n:
        sample = forward(model, rng)
        target = str(rng.choice(inner))
        pool = [v for v in (leaves if len(leaves) >= 4 else list(vs)) if v != target]
        ev = sorted(str(v) for v in rng.choice(pool, size=int(rng.integers(2, 5)), replace=False))
        key = (target, tuple(ev))
        if key in seen:
            continue
        seen.add(key)
        again = [forward(model, rng) for _ in range(3)]
        out.append(Question(target, {v: str(vs[v].type.values[sample[v]]) for v in ev},
                            [{v: str(vs[v].type.values[a[v]]) for v in ev} for a in again]))
    return out


def forward(model: Any, rng: np.random.Generator) -> dict[str, int]:
    """One ancestral sample: a state index per variable."""
    out: dict[str, int] = {}
    pending = dict(model.variables)
    while pending:
        for name, v in list(pending.items()):
            if all(p in out for p in v.parents):
                row = np.asarray(v.mechanism.array)[tuple(out[p] for p in v.parents)]
                out[name] = int(rng.choice(len(row), p=row / row.sum()))
                del pending[name]
    return out


# -- the contenders -------------------------------------------------------------------------------


def ours(model: Any, q: Question) -> np.ndarray:
    return np.asarray(model.query(q.text()).probs)


class Agrum:
    def __init__(self, name: str, model: Any):
        import pyagrum as gum

        self.gum = gum
        self.bn = gum.loadBN(str(bif_path(name)))
        # aGrUM reads BIF numbers to about 1e-8 (its rows sum to 1 ± 6e-8); give it our float64
        # tables, so that answers can be compared to 1e-9 (its axes are its names reversed)
        for node in self.bn.names():
            v = model.variables[node]
            axes = [*v.parents, node]
            cpt = self.bn.cpt(node)
            cpt[:] = np.ascontiguousarray(np.transpose(np.asarray(v.mechanism.array),
                                  [axes.index(n) for n in reversed(cpt.names)]))
        self.reused = gum.LazyPropagation(self.bn)

    def fresh(self, q: Question) -> np.ndarray:
        ie = self.gum.LazyPropagation(self.bn)
        ie.setEvidence(q.evidence)
        ie.addTarget(q.target)
        ie.makeInference()
        return ie.posterior(q.target).toarray()

    def reuse(self, q: Question) -> np.ndarray:
        ie = self.reused
        ie.eraseAllEvidence()
        ie.eraseAllTargets()
        ie.setEvidence(q.evidence)
        ie.addTarget(q.target)
        ie.makeInference()
        return ie.posterior(q.target).toarray()

    def states(self, var: str) -> list[str]:
        return list(self.bn.variable(var).labels())


class Pgmpy:
    def __init__(self, bn: Any):
        from pgmpy.inference import VariableElimination

        self.ve = VariableElimination(bn)

    def __call__(self, q: Question) -> np.ndarray:
        return np.asarray(self.ve.query([q.target], evidence=q.evidence,
                                        show_progress=False).values)


class BareEinsum:
    """opt_einsum over the ancestors' tables, sliced at the evidence, with a path found before
    the clock starts: what the arithmetic alone costs."""

    def __init__(self, model: Any, q: Question):
        import opt_einsum

        self.contract = opt_einsum.contract
        keep = model.ancestors([q.target, *q.evidence])
        vs = model.variables
        letters: dict[str, int] = {}
        self.ops: list[Any] = []
        for name in keep:
            v = vs[name]
            wires = [*v.parents, name]
            arr = np.asarray(v.mechanism.array)
            idx = tuple(vs[w].type.index(q.evidence[w]) if w in q.evidence else slice(None)
                        for w in wires)
            self.ops += [arr[idx], [letters.setdefault(w, len(letters)) for w in wires
                                    if w not in q.evidence]]
        self.out = [letters[q.target]]
        self.path, _ = opt_einsum.contract_path(*self.ops, self.out, optimize="auto-hq")

    def __call__(self, q: Question) -> np.ndarray:
        p = self.contract(*self.ops, self.out, optimize=self.path)
        return p / p.sum()


# -- running --------------------------------------------------------------------------------------


@dataclass
class Row:
    network: str
    nodes: int
    times: dict[str, list[float]] = field(default_factory=dict)
    #: per question: our first call, then the same shape's next calls (other values)
    later: list[tuple[float, list[float]]] = field(default_factory=list)
    worst_diff: float = 0.0      # ours (and the bare einsum) against pyAgrum, on the same tables
    pgmpy_diff: float = 0.0      # pgmpy, on its own reading of the BIF (rows not renormalised)


def clock(fn: Any, *a: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    r = fn(*a)
    return time.perf_counter() - t, r


def run_network(name: str, n: int, seed: int, with_pgmpy: bool) -> Row:
    bn, model = load_ours(name)
    agrum = Agrum(name, model)
    pg = Pgmpy(bn) if with_pgmpy else None
    qs = questions(model, n, seed)
    row = Row(name, len(model.variables))
    contenders = ["ours", "pyAgrum fresh", "pyAgrum reused", "bare einsum"] + \
        (["pgmpy VE"] if pg else [])
    for c in contenders:
        row.times[c] = []
    for i, q in enumerate(qs):
        bare = BareEinsum(model, q)
        fns = {"ours": lambda q=q: ours(model, q), "pyAgrum fresh": lambda q=q: agrum.fresh(q),
               "pyAgrum reused": lambda q=q: agrum.reuse(q), "bare einsum": lambda q=q, bare=bare: bare(q),
               "pgmpy VE": (lambda q=q: pg(q)) if pg else None}
        k = i % len(contenders)
        answers = {}
        for c in contenders[k:] + contenders[:k]:  # alternate who goes first
            dt, answers[c] = clock(fns[c])  # type: ignore[misc]
            row.times[c].append(dt)
        # the same shape again with other values: no later call should cost much more
        row.later.append((row.times["ours"][-1], [clock(ours, model, Question(
            q.target, ev))[0] for ev in q.again]))
        # pyAgrum orders states as the BIF does, as we do; check every answer against it
        want = np.asarray(answers["pyAgrum fresh"], dtype=float)
        for c in contenders:
            diff = float(np.max(np.abs(np.asarray(answers[c], dtype=float) - want)))
            if c == "pgmpy VE":
                row.pgmpy_diff = max(row.pgmpy_diff, diff)
                continue
            row.worst_diff = max(row.worst_diff, diff)
            if diff > 1e-9:
                log(f"  DISAGREE {name} {c} {q.text()}: {diff:.2e}")
    log(f"{name}: " + ", ".join(f"{c} {1e3 * statistics.median(t):.2f} ms"
                                for c, t in row.times.items()))
    return row


SMOKING_AGRUM = r'''
import pyagrum as gum
bn = gum.fastBN("H{no|yes}->S{no|yes}->T{no|yes}->C{no|yes}<-H")
bn.cpt("H").fillWith([0.5, 0.5])
bn.cpt("S")[{"H": "no"}] = [0.8, 0.2]; bn.cpt("S")[{"H": "yes"}] = [0.3, 0.7]
bn.cpt("T")[{"S": "no"}] = [0.9, 0.1]; bn.cpt("T")[{"S": "yes"}] = [0.2, 0.8]
for t, h, row in (("no", "no", [0.9, 0.1]), ("no", "yes", [0.6, 0.4]),
                  ("yes", "no", [0.7, 0.3]), ("yes", "yes", [0.2, 0.8])):
    bn.cpt("C")[{"T": t, "H": h}] = row
def posterior(net, evidence):
    ie = gum.LazyPropagation(net); ie.setEvidence(evidence); ie.makeInference()
    return ie.posterior("C").toarray()
def do(s):  # surgery: S loses its parents and becomes a point mass
    cut = gum.BayesNet(bn); cut.eraseArc("H", "S")
    cut.cpt("S").fillWith([1.0, 0.0] if s == "no" else [0.0, 1.0])
    return posterior(cut, {})
print("P(C | S = yes)", posterior(bn, {"S": "yes"}))
print("P(C | do(S = yes))", do("yes"))
print("P(C | do(S))", do("no"), do("yes"))
print("ACE", do("yes")[1] - do("no")[1])
'''


ALARM_AGRUM = r'''
import sys
import pyagrum as gum
bn = gum.loadBN(sys.argv[1])
cut = gum.BayesNet(bn)  # surgery: X loses its parents and becomes a point mass on x
for parent in list(cut.parents("{x}")):
    cut.eraseArc(parent, cut.idFromName("{x}"))
labels = list(cut.variable("{x}").labels())
cut.cpt("{x}").fillWith([1.0 if label == "{value}" else 0.0 for label in labels])
ie = gum.LazyPropagation(cut)
ie.makeInference()
print(ie.posterior("{y}"))
'''


def alarm_file() -> Path:
    """alarm as a .causal file, written by causaldsl from the BIF (cached)."""
    import causaldsl

    out = CACHE / "alarm.causal"
    if not out.is_file():
        causaldsl.write(causaldsl.read(bif_path("alarm")), out)
    return out


def one_shot(reps: int, baseline: Path | None = None
             ) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Per comparison, (CPU seconds, wall seconds) per run of each command, contenders
    alternated, in an environment like an installed one. The pyAgrum scripts run twice: as a
    user runs them, and with one BLAS thread (``OPENBLAS_NUM_THREADS=1``, what the ``causal``
    command asks for itself): the pool of threads OpenBLAS starts when NumPy loads spins while
    idle, and how much CPU that costs depends on how busy the machine is. With ``baseline`` (the
    ``src`` folder of another checkout), the same commands run on that code too."""
    causal = str(ROOT / ".venv" / "bin" / "causal")
    x, value, y = "ERRLOWOUTPUT", "TRUE", "HRBP"
    one = {"OPENBLAS_NUM_THREADS": "1"}
    alarm_script = [sys.executable, "-c", ALARM_AGRUM.format(x=x, value=value, y=y),
                    str(bif_path("alarm"))]
    pairs: dict[str, dict[str, tuple[list[str], dict[str, str]]]] = {
        "smoking: four questions": {
            "causal run examples/smoking.causal": ([causal, "run", "examples/smoking.causal"], {}),
            "pyAgrum script": ([sys.executable, "-c", SMOKING_AGRUM], {}),
            "pyAgrum script, one BLAS thread": ([sys.executable, "-c", SMOKING_AGRUM], one)},
        f"alarm: P({y} | do({x} = {value}))": {
            "causal query alarm.causal": ([causal, "query", str(alarm_file()),
                                           f"P({y} | do({x} = {value}))"], {}),
            "pyAgrum script on alarm.bif": (alarm_script, {}),
            "pyAgrum script on alarm.bif, one BLAS thread": (alarm_script, one)},
    }
    if baseline is not None:  # the same commands on other code (PYTHONPATH comes first)
        for cmds in pairs.values():
            first = next(iter(cmds.values()))[0]
            cmds[f"the same command on {baseline}"] = (first, {"PYTHONPATH": str(baseline)})
    # as installed: byte code cached (pip compiles it at install time; this environment may
    # say PYTHONDONTWRITEBYTECODE), so one untimed run of each writes it first
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for what, cmds in pairs.items():
        out: dict[str, list[tuple[float, float]]] = {c: [] for c in cmds}
        results[what] = out
        names = list(cmds)
        for c in names:
            done = subprocess.run(cmds[c][0], cwd=ROOT, capture_output=True, text=True,
                                  env={**env, **cmds[c][1]})
            assert done.returncode == 0, done.stderr[-2000:]
        for i in range(reps):
            k = i % len(names)
            for c in names[k:] + names[:k]:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                done = subprocess.run(cmds[c][0], cwd=ROOT, capture_output=True, text=True,
                                      env={**env, **cmds[c][1]})
                wall = time.perf_counter() - t
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                assert done.returncode == 0, done.stderr[-2000:]
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                out[c].append((cpu, wall))
    return results


# -- the report -----------------------------------------------------------------------------------


def med(xs: list[float]) -> str:
    return f"{1e3 * statistics.median(xs):.2f} ({1e3 * min(xs):.2f}–{1e3 * max(xs):.2f})"


def ratio(theirs: list[float], mine: list[float]) -> str:
    return f"{statistics.median(theirs) / statistics.median(mine):.2f}×"


def report(rows: list[Row], shots: dict[str, dict[str, list[tuple[float, float]]]],
           info: list[str], n: int) -> str:
    lines = ["## Headline: a new question's first call, and one-shot commands (issue 16)", "",
             *info, "",
             f"### First call of a new question in a warm process ({n} questions per network)",
             "",
             "Each question has its own target and evidence variables, so each is a new query "
             "shape for us: parse, prune, plan and evaluate, nothing served from a cache. Times "
             "in ms: median (min–max) over the questions. Ratios are *their* median / *our* "
             "median: above 1 we are faster. pyAgrum is given our float64 tables (it reads BIF "
             "numbers to about 1e-8), and every answer of ours agrees with its to 1e-9 (*diff*); "
             "pgmpy answers from its own reading of the BIF, whose rows it does not renormalise "
             "(*pgmpy diff*).", "",
             "| network | nodes | ours ms | pyAgrum fresh ms | ratio | pyAgrum reused ms | ratio "
             "| pgmpy VE ms | ratio | bare einsum ms | ours / bare | diff | pgmpy diff |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        t = r.times
        pg = (med(t["pgmpy VE"]), ratio(t["pgmpy VE"], t["ours"])) if "pgmpy VE" in t \
            else ("not run", "")
        lines.append(
            f"| {r.network} | {r.nodes} | {med(t['ours'])} | {med(t['pyAgrum fresh'])} | "
            f"{ratio(t['pyAgrum fresh'], t['ours'])} | {med(t['pyAgrum reused'])} | "
            f"{ratio(t['pyAgrum reused'], t['ours'])} | {pg[0]} | {pg[1]} | "
            f"{med(t['bare einsum'])} | {ratio(t['ours'], t['bare einsum'])} | "
            f"{r.worst_diff:.1e} | {r.pgmpy_diff:.1e} |")
    lines += ["", "### Later calls of the same question shape", "",
              "After each first call, the same question with three other evidence values "
              "(new strings, the compiled shape reused; the tiered backend may build the shape's "
              "answer table or compile once the calls before have paid for it). Medians in ms, "
              "and how many later calls took longer than 1.5 × that question's first call.", "",
              "| network | first call ms | 2nd call ms | 3rd call ms | 4th call ms | "
              "later calls > 1.5 × first |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        firsts = [f for f, _ in r.later]
        cols = [[ls[k] for _, ls in r.later] for k in range(3)]
        slow = sum(t > 1.5 * f for f, ls in r.later for t in ls)
        lines.append(f"| {r.network} | {1e3 * statistics.median(firsts):.2f} | " +
                     " | ".join(f"{1e3 * statistics.median(c):.2f}" for c in cols) +
                     f" | {slow} of {3 * len(r.later)} |")
    if shots:
        lines += ["", "### One-shot commands, whole processes", "",
                  "CPU seconds (user + system of the child) and wall seconds: median (min–max); "
                  "the CPU ratio is that pyAgrum script's CPU median over ours (above 1 we are "
                  "cheaper). The `causal` command asks NumPy's BLAS for one thread; a pyAgrum "
                  "script as a user runs it does not, and the pool of threads OpenBLAS starts "
                  "spins while idle, which costs more CPU the idler the machine is: so the "
                  "scripts run with one BLAS thread too.", "",
                  "| question | command | CPU s | wall s | CPU ratio |", "|---|---|---:|---:|---:|"]
        for what, runs in shots.items():
            shown = what.replace("|", "\\|")  # a table cell
            names = list(runs)
            ours_cpu = statistics.median(x[0] for x in runs[names[0]])
            for c, xs in runs.items():
                cpu, wall = [x[0] for x in xs], [x[1] for x in xs]
                r = "" if c == names[0] else f"{statistics.median(cpu) / ours_cpu:.2f}×"
                lines.append(f"| {shown} | {c} | {statistics.median(cpu):.3f} "
                             f"({min(cpu):.3f}–{max(cpu):.3f}) | {statistics.median(wall):.3f} "
                             f"({min(wall):.3f}–{max(wall):.3f}) | {r} |")
    return "\n".join(lines) + "\n"


def machine(argv: list[str]) -> list[str]:
    import opt_einsum
    import pgmpy
    import pyagrum

    def sh(cmd: str) -> str:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()

    commit = sh(f"git -C {ROOT} rev-parse --short HEAD")
    cpu = sh("lscpu | sed -n 's/^Model name: *//p'")
    dirty = " (with uncommitted changes)" if sh(f"git -C {ROOT} status --porcelain src") else ""
    return [f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
            f"- CPU: {cpu or platform.processor()}, {os.cpu_count()} cores",
            f"- Python {platform.python_version()}, pyAgrum {pyagrum.__version__}, pgmpy "
            f"{pgmpy.__version__}, NumPy {np.__version__}, opt_einsum {opt_einsum.__version__}",
            f"- causaldsl at commit {commit}{dirty}",
            f"- command: `{Path(sys.executable).name} bench/bench_first_call.py "
            f"{' '.join(argv)}`",
            f"- load average (1 min) at the start: {os.getloadavg()[0]:.2f}"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--one-shot-reps", type=int, default=7)
    ap.add_argument("--one-shot-baseline", type=Path, metavar="SRC",
                    help="also run the one-shot commands on the code in SRC (another "
                    "checkout's src folder), alternated with the rest")
    ap.add_argument("--no-pgmpy", action="store_true")
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = ap.parse_args()
    info = machine(sys.argv[1:])
    # a warm process: imports done and one question answered before any clock starts
    _, warm = load_ours("alarm")
    warm.query("P(HISTORY | CVP = LOW)")
    rows = [run_network(n, args.questions, args.seed, not args.no_pgmpy)
            for n in args.networks.split(",")]
    if args.one_shot_reps:
        info.append(f"- load average (1 min) before the one-shot commands: "
                    f"{os.getloadavg()[0]:.2f}")
    shots = one_shot(args.one_shot_reps, args.one_shot_baseline) if args.one_shot_reps else {}
    info.append(f"- load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    text = report(rows, shots, info, args.questions)
    replace_section(args.out, SECTION, text, first=True)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
