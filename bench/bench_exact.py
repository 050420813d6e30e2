"""Benchmark: causaldsl's exact backend against pgmpy's VariableElimination.

Run from the repository root::

    .venv/bin/python bench/bench_exact.py                 # everything, writes bench/RESULTS.md
    .venv/bin/python bench/bench_exact.py --quick         # a smoke run, writes bench/RESULTS-quick.md
    .venv/bin/python bench/bench_exact.py --networks alarm,andes

What it measures, per network (all in one run, pgmpy and causaldsl on the same queries):

* per-query time: ~5 seeded diagnostic queries ``P(T | E1 = e1, ..)`` (evidence on leaves, values
  from a forward sample, so every evidence setting has positive probability) and one do-query
  ``P(Y | do(X = x), E1 = e1, E2 = e2)``. For causaldsl: the first call (parse + plan + first
  evaluation), the second call (where the tiered backend moves to its steady tier: the shape's
  answer table when small, else a jit-compiled contraction), then the median of N warm calls of
  the same string, and the median over ~10 *new* value settings of the same query shape (each
  string asked for the first time: parse + evaluation, compiled shape reused). For pgmpy: the
  median of repeated ``VariableElimination.query`` calls; a do-query is answered by surgery
  (copy the network, drop X's incoming edges, point-mass CPD at x) and then VE on the copy; the
  surgery's cost is reported separately and *not* counted in pgmpy's per-query time.
* batch: 1000 evidence settings of one query shape answered by one ``query_batch`` call, against
  pgmpy in a loop (timed on as many settings as fit in a time budget, extrapolated linearly to
  1000 when it did not do all of them; the output says so).
* correctness: every causaldsl answer timed (first call, warm call, new values, every batch row
  pgmpy computed) is checked against pgmpy's to 1e-6; the script exits 1 if any differs.
* memory: pgmpy runs in forked worker processes under ``RLIMIT_AS`` (8 GiB by default) and a
  wall-time limit, so a query pgmpy cannot answer is reported as "out of memory"/"timeout"
  instead of taking the machine down. For causaldsl the plan's largest intermediate table and
  the benchmark process's peak RSS are reported.
* a do-query on a seeded 200-node random binary network (in-degree <= 3): time and the plan's
  largest intermediate against the 2^200 entries of the joint.

Networks come from ``pgmpy.utils.get_example_model`` and are cached as pickles in
``~/.cache/causaldsl-bench`` (munin takes ~25 s to parse otherwise); ``--no-cache`` skips that.
JAX runs on the CPU. The benchmark re-executes itself once with ``PYTHONHASHSEED=0`` because
pgmpy's elimination order breaks ties by set iteration order, which otherwise varies per process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0":  # pgmpy's greedy elimination order depends on it
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.argv])

os.environ["JAX_PLATFORMS"] = "cpu"  # before anything can import JAX

import contextlib
import datetime
import gc
import math
import pickle
import platform
import re
import resource
import select
import signal
import statistics
import subprocess
import time
import traceback
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=UserWarning)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from sections import keep_below  # noqa: E402

ALL_NETWORKS = ("alarm", "hepar2", "win95pts", "andes", "munin")
TOL = 1e-6
GIB = 1024**3


def log(*a: Any) -> None:
    print(*a, file=sys.stderr, flush=True)


# -- settings ---------------------------------------------------------------------------------


@dataclass
class Settings:
    networks: list[str]
    quick: bool
    n_queries: int = 5           # observational queries per network (plus one do-query)
    ours_reps: int = 200         # warm calls of causaldsl per query
    new_values: int = 10         # fresh value settings per query shape
    pg_max_reps: int = 50        # warm pgmpy calls per query, at most ...
    pg_min_reps: int = 5         # ... at least ...
    pg_query_budget: float = 3.0  # ... and stop adding reps after this many seconds
    batch_n: int = 1000
    batch_reps: int = 5
    pg_batch_budget: float = 60.0  # pgmpy's loop over the batch stops after this many seconds
    pg_batch_min: int = 50
    pg_mem: int = 8 * GIB
    pg_timeout: float = 120.0    # wall-time limit of one pgmpy job (one query, or the batch loop)
    big_n: int = 200
    seed: int = 20240601
    cache: bool = True
    profile: bool = False

    @classmethod
    def make(cls, args: argparse.Namespace) -> Settings:
        s = cls(networks=args.networks, quick=args.quick)
        if args.quick:
            s.n_queries, s.ours_reps, s.new_values = 2, 50, 5
            s.pg_max_reps, s.pg_query_budget = 10, 0.5
            s.pg_batch_budget, s.pg_batch_min = 3.0, 20
            s.batch_reps, s.pg_timeout = 3, 30.0
        s.pg_mem = int(args.pg_mem_gib * GIB)
        if args.pg_timeout is not None:
            s.pg_timeout = args.pg_timeout
        s.cache = not args.no_cache
        s.profile = args.profile
        return s


# -- networks, sampling and queries (pure NumPy / pgmpy: runs before JAX is imported) ------------


def load_network(name: str, cache: bool) -> Any:
    import pgmpy

    path = Path.home() / ".cache" / "causaldsl-bench" / f"{name}-pgmpy{pgmpy.__version__}.pkl"
    if cache and path.is_file():
        with open(path, "rb") as f:
            return pickle.load(f)
    from pgmpy.utils import get_example_model

    bn = get_example_model(name)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump(bn, f, protocol=pickle.HIGHEST_PROTOCOL)
    return bn


def random_network(n: int, seed: int, window: int = 12) -> Any:
    """A seeded random binary network: node i has 0..3 parents among the `window` before it."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    rng = np.random.default_rng(seed)
    bn = DiscreteBayesianNetwork()
    names = [f"X{i}" for i in range(n)]
    bn.add_nodes_from(names)
    cpds = []
    for i in range(n):
        lo = max(0, i - window)
        k = min(int(rng.integers(1, 4)), i - lo) if i else 0
        parents = [names[j] for j in sorted(rng.choice(np.arange(lo, i), k, replace=False))] if k else []
        bn.add_edges_from((p, names[i]) for p in parents)
        vals = rng.dirichlet(np.ones(2), size=2 ** len(parents)).T  # (2, prod parent cards)
        cpds.append(TabularCPD(names[i], 2, vals, evidence=parents or None,
                               evidence_card=[2] * len(parents) or None,
                               state_names={v: ["0", "1"] for v in (names[i], *parents)}))
    bn.add_cpds(*cpds)
    bn.check_model()
    bn.name = f"random{n}"
    return bn


class Net:
    """What the benchmark needs of a pgmpy network: order, states, CPD arrays, a sampler."""

    def __init__(self, name: str, bn: Any):
        self.name, self.bn = name, bn
        self.cpds = {c.variable: c for c in bn.get_cpds()}
        self.states = {v: list(c.state_names[v]) for v, c in self.cpds.items()}
        self.parents = {v: list(c.variables[1:]) for v, c in self.cpds.items()}
        self.children: dict[str, list[str]] = {v: [] for v in self.cpds}
        for v, ps in self.parents.items():
            for p in ps:
                self.children[p].append(v)
        self.order = self._topo()

    def _topo(self) -> list[str]:
        indeg = {v: len(ps) for v, ps in self.parents.items()}
        ready = [v for v in self.bn.nodes() if indeg[v] == 0]
        out = []
        while ready:
            v = ready.pop()
            out.append(v)
            for c in self.children[v]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    ready.append(c)
        assert len(out) == len(indeg)
        return out

    def descendants(self, v: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self.children[v])
        while stack:
            u = stack.pop()
            if u not in seen:
                seen.add(u)
                stack.extend(self.children[u])
        return seen

    def sample(self, n: int, rng: np.random.Generator, do: dict[str, str] | None = None
               ) -> dict[str, np.ndarray]:
        """Ancestral sampling; returns state indices per variable. ``do`` fixes variables."""
        do = do or {}
        out: dict[str, np.ndarray] = {}
        for v in self.order:
            if v in do:
                out[v] = np.full(n, self.states[v].index(do[v]))
                continue
            cpd = self.cpds[v]
            card = len(self.states[v])
            vals = np.asarray(cpd.values, dtype=np.float64).reshape(card, -1)
            ps = self.parents[v]
            if ps:
                flat = np.ravel_multi_index([out[p] for p in ps],
                                            [len(self.states[p]) for p in ps])
            else:
                flat = np.zeros(n, dtype=np.int64)
            probs = vals[:, flat].T  # (n, card)
            u = rng.random(n)[:, None]
            out[v] = np.minimum((np.cumsum(probs, axis=1) < u).sum(axis=1), card - 1)
        return out


NAME_RE = re.compile(r"(?!(do|P|E)\b)[A-Za-z_][A-Za-z0-9_']*\Z")


def show(label: str) -> str:
    """A state name as the query language reads it back: bare when it is a plain name."""
    if NAME_RE.match(label) and label not in ("true", "false"):
        return label
    return json.dumps(label)


@dataclass
class QuerySpec:
    """``P(target | do(x_var = x_val), evidence)``: one value setting of one query shape."""

    kind: str                                 # "obs" or "do"
    target: str
    evidence: dict[str, str]
    do: tuple[str, str] | None = None
    alternatives: list[dict[str, str]] = field(default_factory=list)  # new evidence values

    def text(self, evidence: dict[str, str] | None = None) -> str:
        ev = self.evidence if evidence is None else evidence
        conds = []
        if self.do:
            conds.append(f"do({self.do[0]} = {show(self.do[1])})")
        conds += [f"{k} = {show(v)}" for k, v in ev.items()]
        return f"P({self.target} | {', '.join(conds)})"

    def shape_text(self) -> str:
        conds = [f"do({self.do[0]} = {show(self.do[1])})"] if self.do else []
        return f"P({self.target} | {', '.join([*conds, *self.evidence])})"


def make_queries(net: Net, s: Settings, n_obs: int, with_batch: bool = True
                 ) -> tuple[list[QuerySpec], list[dict[str, str]]]:
    """Seeded diagnostic queries (target inside, evidence on leaves, values from a forward
    sample), one do-query, and the batch's evidence rows (for the first query's shape)."""
    rng = np.random.default_rng([s.seed, zlib.crc32(net.name.encode())])
    ok = [v for v in net.order if NAME_RE.match(v)]
    leaves = [v for v in ok if not net.children[v]]
    inner = [v for v in ok if net.children[v]]
    n_rows = max(2000, s.batch_n + 200)
    sample = net.sample(n_rows, rng)

    def row(vars_: list[str], i: int, smp: dict[str, np.ndarray]) -> dict[str, str]:
        return {v: net.states[v][int(smp[v][i])] for v in vars_}

    def alternatives(vars_: list[str], smp: dict[str, np.ndarray], main: dict[str, str]
                     ) -> list[dict[str, str]]:
        seen = {tuple(main.values())}
        alts = []
        for i in rng.permutation(len(smp[vars_[0]])):
            r = row(vars_, int(i), smp)
            if tuple(r.values()) not in seen:
                seen.add(tuple(r.values()))
                alts.append(r)
                if len(alts) == s.new_values:
                    break
        return alts

    queries = []
    for _ in range(n_obs):
        target = str(rng.choice(inner))
        pool = [v for v in (leaves if len(leaves) >= 4 else ok) if v != target]
        ev = [str(v) for v in rng.choice(pool, size=int(rng.integers(2, 5)), replace=False)]
        main = row(ev, int(rng.integers(n_rows)), sample)
        queries.append(QuerySpec("obs", target, main, None, alternatives(ev, sample, main)))
    # a do-query: X inside the network, Y downstream of it, evidence on two leaves
    xs = [v for v in inner if net.descendants(v) & set(ok)]
    x = str(rng.choice(xs))
    y = str(rng.choice(sorted(net.descendants(x) & set(ok))))
    x_val = net.states[x][int(sample[x][int(rng.integers(n_rows))])]
    isample = net.sample(n_rows, rng, do={x: x_val})
    pool = [v for v in (leaves if len(leaves) >= 4 else ok) if v not in (x, y)]
    ev = [str(v) for v in rng.choice(pool, size=2, replace=False)]
    main = row(ev, int(rng.integers(n_rows)), isample)
    queries.append(QuerySpec("do", y, main, (x, x_val), alternatives(ev, isample, main)))
    batch_rows = [row(list(queries[0].evidence), i, sample) for i in range(s.batch_n)] \
        if with_batch else []
    return queries, batch_rows


# -- pgmpy in memory-capped, time-limited worker processes --------------------------------------


def mutilate(bn: Any, x: str, x_val: str) -> Any:
    """Surgery in pgmpy: a copy of the network where X has no parents and a point-mass CPD."""
    from pgmpy.factors.discrete import TabularCPD

    mut = bn.copy()
    old = mut.get_cpds(x)
    states = list(old.state_names[x])
    mut.remove_cpds(old)
    for p in list(mut.predecessors(x)):
        mut.remove_edge(p, x)
    point = [[1.0] if s_ == x_val else [0.0] for s_ in states]
    mut.add_cpds(TabularCPD(x, len(states), point, state_names={x: states}))
    return mut


def _answer(factor: Any, target: str) -> dict[str, float]:
    return {str(st): float(p) for st, p in zip(factor.state_names[target], factor.values, strict=True)}


def pg_job(bns: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """Runs in a worker: time pgmpy's VE on one query (or loop over a batch)."""
    from pgmpy.inference import VariableElimination

    bn = bns[job["network"]]
    out: dict[str, Any] = {}
    if job.get("do"):
        t0 = time.perf_counter()
        bn = mutilate(bn, *job["do"])
        out["surgery_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ve = VariableElimination(bn)
    out["init_s"] = time.perf_counter() - t0
    target = job["target"]

    def q(ev: dict[str, str]) -> tuple[float, dict[str, float]]:
        t = time.perf_counter()
        f = ve.query([target], evidence=ev, show_progress=False)
        return time.perf_counter() - t, _answer(f, target)

    if job["kind"] == "query":
        out["first"], out["answer"] = q(job["evidence"])
        times: list[float] = []
        spent = 0.0
        while len(times) < job["max_reps"] and (len(times) < job["min_reps"] or spent < job["budget"]):
            t, _ = q(job["evidence"])
            times.append(t)
            spent += t
        out["times"] = times
        out["alt_answers"], out["alt_times"] = [], []
        for ev in job["alternatives"]:
            t, a = q(ev)
            out["alt_answers"].append(a)
            out["alt_times"].append(t)
    else:  # batch loop
        times, answers = [], []
        spent = 0.0
        for ev in job["rows"]:
            if len(times) >= job["min_rows"] and spent >= job["budget"]:
                break
            t, a = q(ev)
            times.append(t)
            answers.append(a)
            spent += t
        out["times"], out["answers"] = times, answers
    return out


def _run_worker(bns: dict[str, Any], job: dict[str, Any], mem: int, timeout: float
                ) -> dict[str, Any]:
    """Fork a worker with RLIMIT_AS = mem; wait at most `timeout` seconds for its answer."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # worker
        os.close(r)
        code = 0
        try:
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
            try:
                res: dict[str, Any] = {"status": "ok", **pg_job(bns, job)}
            except MemoryError:
                res = {"status": "out of memory"}
            except Exception as e:
                res = {"status": f"error: {type(e).__name__}: {e}"[:300],
                       "traceback": traceback.format_exc()[-2000:]}
            data = pickle.dumps(res)
            with os.fdopen(w, "wb") as f:
                f.write(data)
        except BaseException:
            code = 1
        os._exit(code)
    os.close(w)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    with os.fdopen(r, "rb", buffering=0) as f:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([f], [], [], left)
            if not ready:
                continue
            chunk = f.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return {"status": f"timeout (>{timeout:.0f} s)"}
    if chunks:
        try:
            return pickle.loads(b"".join(chunks))
        except Exception:
            pass
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return {"status": f"out of memory (killed by {signal.Signals(sig).name})"
                if sig in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS)
                else f"died ({signal.Signals(sig).name})"}
    return {"status": "out of memory (worker could not report)"}


def zygote(conn: Any, bns: dict[str, Any]) -> None:
    """A process forked before JAX is imported; it forks one worker per pgmpy job."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        job, mem, timeout = msg
        conn.send(_run_worker(bns, job, mem, timeout))


class Pgmpy:
    def __init__(self, bns: dict[str, Any], s: Settings):
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=zygote, args=(child, bns), daemon=True)
        self.proc.start()
        child.close()
        self.s = s

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        self.conn.send((job, self.s.pg_mem, self.s.pg_timeout))
        res: dict[str, Any] = self.conn.recv()
        return res

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(None)
        self.proc.join(5)


# -- causaldsl -----------------------------------------------------------------------------------


def rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def ours_vec(d: Any, target: str, states: list[str]) -> np.ndarray:
    """Our Distribution as a vector in pgmpy's state order."""
    ours = {str(v): float(p) for v, p in zip(d.types[0].values, np.asarray(d.probs), strict=True)}
    return np.array([ours[st] for st in states])


def pg_vec(ans: dict[str, float], states: list[str]) -> np.ndarray:
    return np.array([ans[st] for st in states])


def timed(fn: Any, *a: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    r = fn(*a)
    return time.perf_counter() - t, r


@dataclass
class QueryResult:
    network: str
    spec: QuerySpec
    text: str
    tables: int | None = None
    largest: int | None = None
    first_s: float | None = None
    second_s: float | None = None
    warm: list[float] = field(default_factory=list)
    new_values: list[float] = field(default_factory=list)
    ours_error: str | None = None
    pg_status: str = "not run"
    pg_first_s: float | None = None
    pg_times: list[float] = field(default_factory=list)
    pg_surgery_s: float | None = None
    max_diff: float | None = None
    checked: int = 0

    @property
    def ours_ms(self) -> float | None:
        return statistics.median(self.warm) * 1e3 if self.warm else None

    @property
    def new_ms(self) -> float | None:
        return statistics.median(self.new_values) * 1e3 if self.new_values else None

    @property
    def pg_ms(self) -> float | None:
        return statistics.median(self.pg_times) * 1e3 if self.pg_times else None


def run_ours_query(model: Any, r: QueryResult, s: Settings) -> dict[str, Any]:
    """Time one query in causaldsl: call 1, call 2, then warm calls; then new value settings."""
    from causaldsl.backends.exact import engine_for
    from causaldsl.syntax.query import parse_query

    answers: dict[str, Any] = {}
    try:
        r.first_s, answers["first"] = timed(model.query, r.text)
        r.second_s, answers["second"] = timed(model.query, r.text)
        for _ in range(3):
            model.query(r.text)
        gc.disable()
        try:
            for _ in range(s.ours_reps):
                t, answers["warm"] = timed(model.query, r.text)
                r.warm.append(t)
            answers["alts"] = []
            for ev in r.spec.alternatives:
                t, a = timed(model.query, r.spec.text(ev))
                r.new_values.append(t)
                answers["alts"].append(a)
        finally:
            gc.enable()
        cq = engine_for(model).compile(parse_query(r.text))
        r.tables = len(cq.table_vars)
        r.largest = int(cq.plan.largest_intermediate)
    except Exception as e:
        r.ours_error = f"{type(e).__name__}: {e}"[:300]
    return answers


def check(r: QueryResult, answers: dict[str, Any], pg: dict[str, Any], states: list[str],
          failures: list[str]) -> None:
    if r.ours_error or pg.get("status") != "ok":
        return
    diffs = []
    want = pg_vec(pg["answer"], states)
    for k in ("first", "second", "warm"):
        diffs.append(float(np.max(np.abs(ours_vec(answers[k], r.spec.target, states) - want))))
    for a, b in zip(answers["alts"], pg["alt_answers"], strict=True):
        diffs.append(float(np.max(np.abs(ours_vec(a, r.spec.target, states) - pg_vec(b, states)))))
    r.max_diff, r.checked = max(diffs), len(diffs)
    if r.max_diff > TOL:
        failures.append(f"{r.network}: {r.text}: max |ours - pgmpy| = {r.max_diff:.3g}")


@dataclass
class BatchResult:
    network: str
    text: str
    n: int
    ours_first_s: float | None = None
    ours_warm: list[float] = field(default_factory=list)
    ours_error: str | None = None
    pg_status: str = "not run"
    pg_times: list[float] = field(default_factory=list)
    max_diff: float | None = None

    @property
    def pg_total_s(self) -> float | None:
        if not self.pg_times:
            return None
        return sum(self.pg_times) * self.n / len(self.pg_times)

    @property
    def extrapolated(self) -> bool:
        return 0 < len(self.pg_times) < self.n


def run_batch(model: Any, net: Net, spec: QuerySpec, rows: list[dict[str, str]], s: Settings,
              pg: Pgmpy, failures: list[str]) -> BatchResult:
    text = spec.shape_text()
    b = BatchResult(net.name, text, len(rows))
    cols = {v: [r_[v] for r_ in rows] for v in spec.evidence}
    try:
        b.ours_first_s, res = timed(model.query_batch, text, cols)
        for _ in range(2):
            model.query_batch(text, cols)
        for _ in range(s.batch_reps):
            t, res = timed(model.query_batch, text, cols)
            b.ours_warm.append(t)
        probs = np.asarray(res.probs)
        order = [str(v) for v in res.types[0].values]
    except Exception as e:
        b.ours_error = f"{type(e).__name__}: {e}"[:300]
    log(f"  batch: ours {b.ours_first_s}s first; pgmpy loop ...")
    out = pg.run({"kind": "batch", "network": net.name, "target": spec.target, "rows": rows,
                  "budget": s.pg_batch_budget, "min_rows": s.pg_batch_min})
    b.pg_status = out["status"]
    if b.pg_status == "ok":
        b.pg_times = out["times"]
        if not b.ours_error:
            states = net.states[spec.target]
            perm = [order.index(st) for st in states]
            want = np.array([pg_vec(a, states) for a in out["answers"]])
            got = probs[: len(want)][:, perm]
            b.max_diff = float(np.max(np.abs(got - want)))
            if b.max_diff > TOL:
                failures.append(f"{net.name}: batch {text}: max |ours - pgmpy| = {b.max_diff:.3g}")
    return b


# -- reporting -----------------------------------------------------------------------------------


def ms(x: float | None, nd: int = 3) -> str:
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.{nd}f}"


def code(text: str) -> str:
    """A query as a code span inside a markdown table cell (pipes escaped)."""
    return "`" + text.replace("|", "\\|") + "`"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    r = a / b
    return f"{r:,.0f}×" if r >= 10 else f"{r:.2f}×"


def sci(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n:,}"


def sh(cmd: str) -> str:
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return "?"


def source_state() -> tuple[str, str]:
    """The commit of the checkout and a digest of uncommitted changes to what is imported."""
    commit = sh(f"git -C {ROOT} rev-parse --short HEAD")
    diff = sh(f"git -C {ROOT} diff HEAD -- src grammar")
    return commit, (f"{zlib.crc32(diff.encode()):08x}" if diff else "")


def machine_info(argv: list[str], src_start: tuple[str, str]) -> list[str]:
    import jax
    import opt_einsum
    import pgmpy

    def sh(cmd: str) -> str:
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception:
            return "?"

    model = sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor()
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    commit, dirty = src_start
    changed = source_state() != src_start
    note = " — **the source changed during the run; the numbers are for the state at its start**"
    exe = Path(sys.executable)
    shown = exe.relative_to(ROOT) if exe.is_relative_to(ROOT) else exe
    return [
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- CPU: {model}, {os.cpu_count()} cores (`lscpu` CPU(s): {sh('nproc --all')}); "
        f"RAM {mem / GIB:.1f} GiB",
        f"- Python {platform.python_version()}, JAX {jax.__version__} "
        f"(backend {jax.default_backend()}, default float {jax.numpy.zeros(()).dtype}), "
        f"pgmpy {pgmpy.__version__}, NumPy {np.__version__}, opt_einsum {opt_einsum.__version__}",
        f"- causaldsl at commit {commit}"
        f"{f' with uncommitted changes in src/ or grammar/ (diff digest {dirty})' if dirty else ''}"
        f"{note if changed else ''}",
        f"- command: `cd {ROOT} && {shown} {' '.join(argv)}` "
        "(re-executed with PYTHONHASHSEED=0, JAX_PLATFORMS=cpu)",
    ]


def report(s: Settings, results: list[QueryResult], batches: list[BatchResult],
           mem_notes: list[str], big: dict[str, Any], failures: list[str], info: list[str],
           startup: dict[str, float], wall: float, profile_text: str | None) -> str:
    L: list[str] = []
    L.append("# Repeated questions: causaldsl's exact backend vs pgmpy VariableElimination"
             + (" (--quick)" if s.quick else ""))
    L.append("")
    L.append("**Cache hits.** The *warm* columns below ask a question already answered, which the "
             "engine serves from the query shape's stored answer table; they are not what a new "
             "question costs. For that, see the headline above (`bench_first_call.py`): a new "
             "question's first call against pyAgrum, pgmpy and a bare einsum, and one-shot "
             "commands as whole processes.")
    L.append("")
    L += info
    L.append(f"- total benchmark wall time: {wall:.0f} s. One-time process costs, not in the tables: "
             f"importing causaldsl's exact backend (JAX) {startup['jax_import']:.2f} s; the first "
             f"query of the process (on a 2-node model) {startup['tiny_first'] * 1e3:.0f} ms, its "
             f"second call (first jit: XLA start-up) {startup['tiny_second'] * 1e3:.0f} ms")
    L.append("")
    L.append("Ratios are pgmpy time / causaldsl time (higher is better for causaldsl). "
             "Targets set for this benchmark: warm per-query ≥ 30×, batch of 1000 ≥ 1000×.")
    L.append("")
    # summary per network
    L.append("## Summary per network (warm per-query time: cache hits)")
    L.append("")
    L.append("Medians over the network's queries of each query's median time. "
             "*first call* is parse + plan + the first evaluation (NumPy); *2nd call* is where the "
             "tiered backend moves to its steady tier (the shape's whole answer table when it is "
             "small, else a jit-compiled contraction); "
             "*new values* asks the same shape with value settings never asked before.")
    L.append("")
    L.append("| network | nodes | queries | pgmpy median ms | ours warm median ms | ratio | "
             "min ratio | ours new-values ms | ratio (new values) | ours 1st call ms (median / max) | "
             "ours 2nd call ms (median / max) | all agree (1e-6) |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for net in s.networks:
        rs = [r for r in results if r.network == net]
        if not rs:
            continue
        ok = [r for r in rs if r.pg_ms is not None and r.ours_ms is not None]
        pg_med = statistics.median([r.pg_ms for r in ok]) if ok else None  # type: ignore[type-var]
        our_med = statistics.median([r.ours_ms for r in ok]) if ok else None  # type: ignore[type-var]
        news = [r.new_ms for r in ok if r.new_ms is not None]
        new_med = statistics.median(news) if news else None
        ratios = [r.pg_ms / r.ours_ms for r in ok]  # type: ignore[operator]
        firsts = [r.first_s * 1e3 for r in rs if r.first_s is not None]
        seconds = [r.second_s * 1e3 for r in rs if r.second_s is not None]

        def med_max(xs: list[float]) -> str:
            return f"{ms(statistics.median(xs))} / {ms(max(xs))}" if xs else "-"

        agree = all(r.max_diff is not None and r.max_diff <= TOL for r in rs)
        pg_fail = [r.pg_status for r in rs if r.pg_status != "ok"]
        nodes = NODES.get(net, "-")
        L.append(
            f"| {net} | {nodes} | {len(rs)}{f' ({len(pg_fail)} pgmpy failed)' if pg_fail else ''} | "
            f"{ms(pg_med)} | {ms(our_med)} | {ratio(pg_med, our_med)} | "
            f"{f'{min(ratios):,.1f}×' if ratios else '-'} | {ms(new_med)} | {ratio(pg_med, new_med)} | "
            f"{med_max(firsts)} | {med_max(seconds)} | "
            f"{'yes' if agree else 'NO / not all checked'} |")
    L.append("")
    # batch
    L.append(f"## Batch: {s.batch_n} evidence settings in one `query_batch` call vs a pgmpy loop")
    L.append("")
    L.append("Ours on a fresh model (its first call plans and compiles the shape), then the median "
             f"of {s.batch_reps} warm calls; values are passed as a dict of label lists.")
    L.append("")
    L.append("| network | query shape | ours 1st call ms | ours warm ms | pgmpy loop s (1000) | "
             "pgmpy settings timed | ratio (warm) | ratio (1st call) | max abs diff |")
    L.append("|---|---|---:|---:|---:|---|---:|---:|---:|")
    for b in batches:
        warm = statistics.median(b.ours_warm) if b.ours_warm else None
        pgt = b.pg_total_s
        timed_note = (f"{len(b.pg_times)} of {b.n}, extrapolated" if b.extrapolated
                      else (f"all {b.n}" if b.pg_times else b.pg_status))
        L.append(f"| {b.network} | {code(b.text)} | {ms(b.ours_first_s * 1e3 if b.ours_first_s else None)} | "
                 f"{ms(warm * 1e3 if warm else None)} | {f'{pgt:.2f}' if pgt else '-'} | {timed_note} | "
                 f"{ratio(pgt, warm)} | {ratio(pgt, b.ours_first_s)} | "
                 f"{f'{b.max_diff:.1e}' if b.max_diff is not None else (b.ours_error or '-')} |")
    L.append("")
    # per query detail
    L.append("## Every query")
    L.append("")
    L.append("Times in ms. pgmpy: median of its reps (count in brackets), its first call, and for "
             "do-queries the one-off surgery (copy + edit of the network), which is *not* included "
             "in its per-query time. Ours: warm median of "
             f"{s.ours_reps} calls; new values: median over {s.new_values} fresh settings. "
             "*largest*: entries of the plan's largest intermediate table (8 bytes each).")
    L.append("")
    L.append("| network | query | tables | largest | pgmpy ms | pgmpy 1st ms | ours warm ms | ratio | "
             "ours new-values ms | ours 1st call ms | ours 2nd call ms | max abs diff (answers checked) |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        pgcell = (f"{ms(r.pg_ms)} ({len(r.pg_times)})" if r.pg_times else f"**{r.pg_status}**")
        if r.pg_surgery_s is not None:
            pgcell += f" + surgery {ms(r.pg_surgery_s * 1e3)}"
        diff = (f"{r.max_diff:.1e} ({r.checked})" if r.max_diff is not None
                else ("not checked: " + (r.ours_error or r.pg_status)))
        L.append(f"| {r.network} | {code(r.text)} | {r.tables or '-'} | {sci(r.largest)} | {pgcell} | "
                 f"{ms(r.pg_first_s * 1e3 if r.pg_first_s else None)} | "
                 f"{ms(r.ours_ms) if r.ours_ms else ('**' + str(r.ours_error) + '**')} | "
                 f"{ratio(r.pg_ms, r.ours_ms)} | {ms(r.new_ms)} | "
                 f"{ms(r.first_s * 1e3 if r.first_s else None)} | "
                 f"{ms(r.second_s * 1e3 if r.second_s else None)} | {diff} |")
    L.append("")
    # memory
    L.append("## Memory")
    L.append("")
    L.append(f"pgmpy runs in forked workers capped at RLIMIT_AS = {s.pg_mem / GIB:.0f} GiB and "
             f"{s.pg_timeout:.0f} s per job (one query with its reps, or the batch loop); a failure "
             "shows as **out of memory** / **timeout** above. causaldsl runs in the main process:")
    L.append("")
    L += mem_notes
    L.append("")
    # big network
    if big:
        L.append(f"## A do-query on a {s.big_n}-node random binary network")
        L.append("")
        L.append(f"Seeded random network, {s.big_n} binary nodes, in-degree ≤ 3 (parents among the "
                 "12 preceding nodes). The joint would have 2^200 ≈ 1.6e60 entries.")
        L.append("")
        L.append("| query | tables kept | largest intermediate | vs 2^200 | ours 1st call ms | "
                 "ours 2nd call ms | ours warm ms | pgmpy ms | ratio | max abs diff |")
        L.append("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
        r = big["result"]
        frac = f"2^{math.log2(r.largest):.1f} = 2^-{200 - math.log2(r.largest):.1f} of the joint" \
            if r.largest else "-"
        L.append(f"| {code(r.text)} | {r.tables} | {sci(r.largest)} | {frac} | "
                 f"{ms(r.first_s * 1e3 if r.first_s else None)} | "
                 f"{ms(r.second_s * 1e3 if r.second_s else None)} | {ms(r.ours_ms)} | "
                 f"{ms(r.pg_ms) if r.pg_times else r.pg_status} | {ratio(r.pg_ms, r.ours_ms)} | "
                 f"{f'{r.max_diff:.1e}' if r.max_diff is not None else '-'} |")
        L.append("")
    L.append("## Correctness")
    L.append("")
    if failures:
        L.append("**FAILURES** (answers differing from pgmpy by more than 1e-6, or not checked):")
        L += [f"- {f}" for f in failures]
    else:
        n = sum(r.checked for r in results) + (big["result"].checked if big else 0)
        nb = sum(len(b.pg_times) for b in batches)
        L.append(f"All {n} single-query answers (first, second and warm calls, and new values) and "
                 f"{nb} batch rows agree with pgmpy to within 1e-6.")
    L.append("")
    if profile_text:
        L.append("## Profile of a warm query (cProfile)")
        L.append("")
        L.append("```")
        L.append(profile_text.rstrip())
        L.append("```")
        L.append("")
    return "\n".join(L) + "\n"


NODES: dict[str, int] = {}


def profile_warm(model: Any, text: str, n: int = 2000) -> str:
    import cProfile
    import io
    import pstats

    for _ in range(10):
        model.query(text)
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(n):
        model.query(text)
    pr.disable()
    buf = io.StringIO()
    buf.write(f"{n} warm calls of {text}\n")
    pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(18)
    out = buf.getvalue()
    return "\n".join(line for line in out.splitlines() if line.strip())


# -- main ----------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--networks", type=lambda x: [n.strip() for n in x.split(",") if n.strip()],
                    default=None, help=f"comma-separated, default {','.join(ALL_NETWORKS)}")
    ap.add_argument("--quick", action="store_true",
                    help="fewer queries and repetitions, shorter pgmpy budgets (a few minutes)")
    ap.add_argument("--out", type=Path, default=None,
                    help="markdown file to write (default bench/RESULTS.md, bench/RESULTS-quick.md "
                         "with --quick)")
    ap.add_argument("--pg-mem-gib", type=float, default=8.0, help="pgmpy's address-space cap")
    ap.add_argument("--pg-timeout", type=float, default=None, help="seconds per pgmpy job")
    ap.add_argument("--no-big", action="store_true", help="skip the 200-node do-query")
    ap.add_argument("--no-cache", action="store_true", help="do not cache networks as pickles")
    ap.add_argument("--profile", action="store_true",
                    help="add a cProfile of warm calls of the first query to the report")
    args = ap.parse_args()
    if args.networks is None:
        args.networks = list(ALL_NETWORKS)
    s = Settings.make(args)
    out_path = args.out or (ROOT / "bench" / ("RESULTS-quick.md" if s.quick else "RESULTS.md"))
    t_start = time.perf_counter()
    load_start = os.getloadavg()

    # 1. networks, queries and samples: pgmpy and NumPy only, before JAX exists in this process
    bns: dict[str, Any] = {}
    nets: dict[str, Net] = {}
    plans: dict[str, tuple[list[QuerySpec], list[dict[str, str]]]] = {}
    for name in s.networks:
        t = time.perf_counter()
        bns[name] = load_network(name, s.cache)
        nets[name] = Net(name, bns[name])
        NODES[name] = len(nets[name].order)
        plans[name] = make_queries(nets[name], s, s.n_queries)
        log(f"{name}: {NODES[name]} nodes, loaded in {time.perf_counter() - t:.1f} s")
    big_name = f"random{s.big_n}"
    if not args.no_big:
        bns[big_name] = random_network(s.big_n, s.seed)
        nets[big_name] = Net(big_name, bns[big_name])
    assert "jax" not in sys.modules
    pg = Pgmpy(bns, s)  # forks now: workers never see JAX

    # 2. causaldsl
    src_start = source_state()  # what is about to be imported
    t = time.perf_counter()
    import jax

    import causaldsl  # noqa: F401
    from causaldsl.backends import exact  # noqa: F401  (imports JAX, enables x64)
    from causaldsl.interop.pgmpy import from_pgmpy

    jax.config.update("jax_platforms", "cpu")
    startup = {"jax_import": time.perf_counter() - t}
    # one-time costs of the process (grammar load, XLA backend start), kept out of the tables
    from causaldsl import FiniteType, Table, Variable
    from causaldsl.model.causal_model import CausalModel

    yn = FiniteType("YN", ["no", "yes"])
    tiny = CausalModel.from_variables(
        [Variable("A", yn, mechanism=Table(np.array([0.3, 0.7]), 0)),
         Variable("B", yn, parents=("A",), mechanism=Table(np.array([[0.9, 0.1], [0.2, 0.8]]), 1))],
        "tiny")
    startup["tiny_first"], _ = timed(tiny.query, "P(A | B = yes)")
    startup["tiny_second"], _ = timed(tiny.query, "P(A | B = yes)")

    results: list[QueryResult] = []
    batches: list[BatchResult] = []
    failures: list[str] = []
    mem_notes: list[str] = []
    profile_text = None
    try:
        for name in s.networks:
            net = nets[name]
            t = time.perf_counter()
            model = from_pgmpy(bns[name], name)
            log(f"{name}: converted in {time.perf_counter() - t:.2f} s")
            specs, rows = plans[name]
            rss0 = rss_now()
            largest = 0
            for spec in specs:
                r = QueryResult(name, spec, spec.text())
                answers = run_ours_query(model, r, s)
                log(f"  {r.text}: ours first {r.first_s}, second {r.second_s}, warm {r.ours_ms} ms "
                    f"{r.ours_error or ''}")
                job = {"kind": "query", "network": name, "target": spec.target,
                       "evidence": spec.evidence, "do": spec.do, "alternatives": spec.alternatives,
                       "max_reps": s.pg_max_reps, "min_reps": s.pg_min_reps,
                       "budget": s.pg_query_budget}
                pgr = pg.run(job)
                r.pg_status = pgr["status"]
                if r.pg_status == "ok":
                    r.pg_first_s = pgr["first"]
                    r.pg_times = pgr["times"]
                    r.pg_surgery_s = pgr.get("surgery_s")
                else:
                    log(f"  pgmpy: {r.pg_status} {pgr.get('traceback', '')}")
                check(r, answers, pgr, net.states[spec.target], failures)
                if r.max_diff is None and r.pg_status == "ok":
                    failures.append(f"{name}: {r.text}: not checked ({r.ours_error})")
                log(f"  pgmpy {r.pg_status} {r.pg_ms} ms; diff {r.max_diff}")
                results.append(r)
                largest = max(largest, r.largest or 0)
            if rows:  # on a fresh model, so that its first call compiles the shape
                fresh = from_pgmpy(bns[name], name)
                batches.append(run_batch(fresh, net, specs[0], rows, s, pg, failures))
                del fresh
            mem_notes.append(
                f"- {name}: largest intermediate over its queries {largest:,} entries "
                f"({largest * 8 / 1024:,.1f} KiB); process RSS {rss0 / 2**20:,.0f} MiB before its "
                f"queries, {rss_now() / 2**20:,.0f} MiB after; peak RSS so far "
                f"{peak_rss() / 2**20:,.0f} MiB (includes every loaded pgmpy network and JAX)")
            if s.profile and profile_text is None:
                profile_text = profile_warm(model, specs[0].text())
            del model
            gc.collect()
        big: dict[str, Any] = {}
        if not args.no_big:
            net = nets[big_name]
            model = from_pgmpy(bns[big_name], big_name)
            spec = QuerySpec("do", "X199", {"X150": "0"}, ("X100", "1"), [])
            r = QueryResult(big_name, spec, spec.text())
            answers = run_ours_query(model, r, s)
            pgr = pg.run({"kind": "query", "network": big_name, "target": "X199",
                          "evidence": spec.evidence, "do": spec.do, "alternatives": [],
                          "max_reps": s.pg_max_reps, "min_reps": s.pg_min_reps,
                          "budget": s.pg_query_budget})
            r.pg_status = pgr["status"]
            if r.pg_status == "ok":
                r.pg_first_s = pgr["first"]
                r.pg_times = pgr["times"]
                r.pg_surgery_s = pgr.get("surgery_s")
            check(r, answers, pgr, net.states["X199"], failures)
            log(f"{big_name}: {r.text}: ours {r.ours_ms} ms, largest {r.largest}, pgmpy {r.pg_ms}")
            big = {"result": r}
            mem_notes.append(f"- {big_name}: largest intermediate {r.largest:,} entries; "
                             f"peak RSS {peak_rss() / 2**20:,.0f} MiB")
    finally:
        pg.close()
    for r in results:
        if r.ours_error:
            failures.append(f"{r.network}: {r.text}: causaldsl failed: {r.ours_error}")
    info = machine_info(sys.argv, src_start)
    load_end = os.getloadavg()
    busy = max(load_start[0], load_end[0]) > 1.5
    info.append(f"- load average (1 min) {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end"
                + (" — **other processes were competing for the CPUs; expect noisier timings**"
                   if busy else ""))
    text = report(s, results, batches, mem_notes, big, failures, info, startup,
                  time.perf_counter() - t_start, profile_text)
    print(text)
    out_path.write_text(keep_other_sections(text, out_path))
    log(f"wrote {out_path}")
    return 1 if failures else 0


#: The line in RESULTS.md below which other benchmarks' sections live; they are kept.
OTHERS = "<!-- bench_exact.py writes the part above this line; the sections below are kept -->"


HEADLINE_END = "<!-- bench_first_call.py ends -->"


def keep_other_sections(text: str, path: Path) -> str:
    """``text`` after the headline section that bench_first_call.py keeps at the top of
    ``path``, and followed by the other benchmarks' sections (below ``OTHERS``)."""
    old = path.read_text() if path.exists() else ""
    if HEADLINE_END in old:
        text = old.split(HEADLINE_END, 1)[0] + HEADLINE_END + "\n\n" + text
    return keep_below(text, path, OTHERS)


if __name__ == "__main__":
    sys.exit(main())
