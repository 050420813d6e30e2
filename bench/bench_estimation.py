"""Estimation benchmark (issue 14): causaldsl.estimate against DoWhy, statsmodels and pandas.

Setup, once, in a venv of its own so that the project's venv stays untouched (run from the
repository root):

    python3 -m venv /work/bench-venv
    /work/bench-venv/bin/pip install -e . dowhy statsmodels

Run:

    /work/bench-venv/bin/python bench/bench_estimation.py                # both parts
    /work/bench-venv/bin/python bench/bench_estimation.py --part aipw --repeats 3
    /work/bench-venv/bin/python bench/bench_estimation.py --part plugin --rows 10000000
    /work/bench-venv/bin/python bench/bench_estimation.py --part aipw --blas-threads 1
    /work/bench-venv/bin/python bench/bench_estimation.py --from-json run.json   # tables again

It prints Markdown tables (and writes them to ``--out`` when given) and the raw numbers as JSON
(``--json``). The checkout's ``src`` is put first on the path of every worker, so the code
measured is this checkout's whatever the venv's editable install points to.

Part ``aipw``: the ATE of a binary treatment on a continuous outcome, 10^5 rows, 10 covariates
(6 normal, 4 binary), simulated with a known effect (2.0) and both nuisance models correct.
AIPW with a nonparametric bootstrap of 1000 replicates that refits both nuisance models in
every replicate:

- causaldsl: ``causaldsl.estimate(g, ATE, df, method="aipw", bootstrap=1000)``;
- DoWhy: ``CausalModel.estimate_effect(..., method_name="backdoor.doubly_robust",
  confidence_intervals=True, method_params={"num_simulations": R, "propensity_score_model":
  LogisticRegression(C=inf, solver="newton-cholesky")})`` then ``get_confidence_intervals()``
  and ``get_standard_error()`` (both from the one bootstrap DoWhy caches). DoWhy's doubly
  robust estimator is the same AIPW (OLS outcome model with the treatment and the covariates,
  logistic propensity on the covariates, the unnormalised augmented-IPW mean); its default
  propensity model is scikit-learn's L2-penalised ``LogisticRegression()``, which is not the
  maximum-likelihood fit, so the benchmark gives it the unpenalised one (``--dowhy-default``
  also times DoWhy's defaults). Its propensities are clipped to [0.01, 0.99] by default; the
  simulated ones stay inside (0.03 to 0.94), so the clip never acts.
- statsmodels: a plain loop: ``sm.OLS`` + ``sm.Logit`` (Newton) on the resampled rows and the
  AIPW mean, 1000 times.

Each contender runs in a fresh process (JAX on the CPU) that imports it, then times a first
call (for causaldsl including JIT compilation: the whole call a user pays) and a second call in
the same process (labelled warm), and the point estimate alone (no bootstrap). Where a
contender runs fewer replicates than 1000 (``--dowhy-reps``, ``--sm-reps``), its time for 1000
is extrapolated linearly from the warm call's time per replicate, (warm - point estimate alone)
/ R: call time + that × (1000 - R).
Contenders alternate, ``--repeats`` rounds (the order rotates each round); the tables give the
median, min and max and the ratios of medians.

Part ``plugin``: a plug-in (back-door) estimate from a CSV file of ``--rows`` rows (finite
columns Z1 with 3 levels, Z2, X, Y binary, and two columns the question does not use) against
pandas ``read_csv`` + ``groupby`` computing the same formula (all columns, and only the needed
ones); wall time and peak RSS (``ru_maxrss``) of each fresh process. The CSV is cached in
``~/.cache/causaldsl-bench/``.

Timings on a shared machine are noisy: the load average is recorded at the start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = ROOT / "src"
CACHE = Path.home() / ".cache" / "causaldsl-bench"
ATE = "E[Y | do(T = 1)] - E[Y | do(T = 0)]"
ZS = [f"Z{i}" for i in range(1, 11)]
TRUTH = 2.0
FULL = 1000  # replicates every contender is reported at


# -- data ----------------------------------------------------------------------------------------


def simulate(n: int, seed: int):
    """10 covariates (6 normal, 4 binary), a logistic treatment, a linear outcome: ATE = 2."""
    import numpy as np

    rng = np.random.default_rng(seed)
    cont = rng.normal(size=(n, 6))
    binary = (rng.random((n, 4)) < np.array([0.3, 0.5, 0.4, 0.6])).astype(np.int64)
    z = np.column_stack([cont, binary])
    gamma = np.array([0.4, -0.3, 0.2, 0.1, -0.2, 0.3, 0.5, -0.4, 0.3, -0.2])
    beta = np.array([1.0, 0.5, -0.5, 0.3, 0.2, -0.4, 0.8, -0.6, 0.4, 0.3])
    e = 1 / (1 + np.exp(-(-0.2 + z @ gamma)))
    t = (rng.random(n) < e).astype(np.int64)
    y = 1.0 + TRUTH * t + z @ beta + rng.normal(size=n)
    return z, t, y, e


def frame(path: str):
    import numpy as np
    import pandas as pd

    d = np.load(path)
    df = pd.DataFrame({c: d["z"][:, i] for i, c in enumerate(ZS)})
    for c in ZS[6:]:
        df[c] = df[c].astype(np.int64)
    df["T"] = d["t"]
    df["Y"] = d["y"]
    return df


def write_csv(path: Path, rows: int, seed: int) -> None:
    """The plug-in's CSV: id, W (unused), Z1 in {0, 1, 2}, Z2, X, Y in {0, 1}; written in
    blocks of a million rows."""
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
            px = 1 / (1 + np.exp(-(-0.5 + 0.6 * z1 - 0.8 * z2)))
            x = (rng.random(m) < px).astype(np.int64)
            py = 1 / (1 + np.exp(-(-1.0 + 0.9 * x + 0.5 * z1 - 0.4 * z2)))
            y = (rng.random(m) < py).astype(np.int64)
            w = np.round(rng.normal(size=m), 4)
            pd.DataFrame({"id": np.arange(start, start + m), "W": w, "Z1": z1, "Z2": z2,
                          "X": x, "Y": y}).to_csv(f, header=start == 0, index=False)
    tmp.rename(path)


# -- workers (each in a fresh process) -----------------------------------------------------------


def rss_mib() -> float:
    """This process's peak resident set (VmHWM, MiB). Not ``ru_maxrss``: Linux carries the
    parent's peak over a fork and exec into it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def timed(fn):
    s, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - s, time.process_time() - c


def worker_causaldsl(args) -> dict:
    df = frame(args.data)
    (causaldsl, ADMG), t_import, _ = timed(_import_causaldsl)
    g = ADMG([*ZS, "T", "Y"], [(z, "T") for z in ZS] + [(z, "Y") for z in ZS] + [("T", "Y")])
    out = {"import_s": t_import, "module": causaldsl.__file__}
    for call in ("first", "warm"):
        r, wall, cpu = timed(lambda: causaldsl.estimate(g, ATE, df, method=args.method,
                                                        bootstrap=args.reps, seed=1))
        out[call] = {"wall_s": wall, "cpu_s": cpu, "estimate": float(r), "se": r.se,
                     "ci": list(r.ci), "replicates": r.details.get("bootstrap")}
    r, wall, _ = timed(lambda: causaldsl.estimate(g, ATE, df, method=args.method))
    out["point"] = {"wall_s": wall, "estimate": float(r), "se_sandwich": r.se}
    out["reps"] = args.reps
    out["rss_mib"] = rss_mib()
    return out


def _import_causaldsl():
    import causaldsl
    from causaldsl.model.graph import ADMG

    return causaldsl, ADMG


def worker_dowhy(args) -> dict:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    df = frame(args.data)

    def imp():
        import dowhy
        from dowhy import CausalModel
        from sklearn.linear_model import LogisticRegression
        return dowhy, CausalModel, LogisticRegression

    (dowhy, CausalModel, LogisticRegression), t_import, _ = timed(imp)
    logging.getLogger("dowhy").setLevel(logging.ERROR)
    import numpy as np

    method = "backdoor.doubly_robust" if args.method == "aipw" else args.method

    def call(reps: int):
        m = CausalModel(data=df, treatment="T", outcome="Y", common_causes=ZS)
        ident = m.identify_effect(proceed_when_unidentifiable=True)
        params: dict = {"num_simulations": reps} if reps else {}
        if not args.default:
            params["propensity_score_model"] = LogisticRegression(
                C=np.inf, solver="newton-cholesky", tol=1e-10, max_iter=100)
        r = m.estimate_effect(ident, method_name=method, confidence_intervals=bool(reps),
                              method_params=params)
        if reps:
            return r.value, r.get_standard_error(), r.get_confidence_intervals()
        return r.value, None, None

    out = {"import_s": t_import, "version": dowhy.__version__}
    for name in ("first", "warm"):
        (v, se, ci), wall, cpu = timed(lambda: call(args.reps))
        out[name] = {"wall_s": wall, "cpu_s": cpu, "estimate": float(v), "se": float(se),
                     "ci": [float(c) for c in np.ravel(ci)]}
    (v, _, _), wall, _ = timed(lambda: call(0))
    out["point"] = {"wall_s": wall, "estimate": float(v)}
    out["reps"] = args.reps
    out["rss_mib"] = rss_mib()
    return out


def worker_statsmodels(args) -> dict:
    import numpy as np

    d = np.load(args.data)
    z, t, y = d["z"], d["t"].astype(np.float64), d["y"]
    (sm,), t_import, _ = timed(lambda: (__import__("statsmodels.api").api,))
    n = len(y)
    ones = np.ones(n)

    def aipw(z, t, y):
        xo = np.column_stack([ones, t, z])
        b = sm.OLS(y, xo).fit().params
        x1, x0 = xo.copy(), xo.copy()
        x1[:, 1], x0[:, 1] = 1.0, 0.0
        m1, m0 = x1 @ b, x0 @ b
        e = sm.Logit(t, np.column_stack([ones, z])).fit(disp=0).predict()
        return float(np.mean(m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e)))

    def call(reps: int, seed: int):
        est = aipw(z, t, y)
        rng = np.random.default_rng(seed)
        vals = []
        for _ in range(reps):
            i = rng.integers(0, n, n)
            vals.append(aipw(z[i], t[i], y[i]))
        if not reps:
            return est, None, None
        vals_a = np.asarray(vals)
        return est, float(vals_a.std(ddof=1)), [float(np.quantile(vals_a, q))
                                                for q in (0.025, 0.975)]

    out = {"import_s": t_import, "version": sm.__version__ if hasattr(sm, "__version__")
           else __import__("statsmodels").__version__}
    for name in ("first", "warm"):
        (v, se, ci), wall, cpu = timed(lambda: call(args.reps, 1))
        out[name] = {"wall_s": wall, "cpu_s": cpu, "estimate": v, "se": se, "ci": ci}
    (v, _, _), wall, _ = timed(lambda: call(0, 1))
    out["point"] = {"wall_s": wall, "estimate": v}
    out["reps"] = args.reps
    out["rss_mib"] = rss_mib()
    return out


def worker_plugin(args) -> dict:
    """One plug-in estimate from the CSV in this fresh process: causaldsl, or pandas."""
    base = rss_mib()
    if args.worker == "plugin-causaldsl":
        import causaldsl
        from causaldsl.model.graph import ADMG

        g = ADMG(["Z1", "Z2", "X", "Y"], [("Z1", "X"), ("Z2", "X"), ("Z1", "Y"), ("Z2", "Y"),
                                          ("X", "Y")])
        base = rss_mib()
        r, wall, cpu = timed(lambda: causaldsl.estimate(
            g, "E[Y | do(X = 1)] - E[Y | do(X = 0)]", args.data, method="plugin"))
        return {"wall_s": wall, "cpu_s": cpu, "estimate": float(r), "se": r.se, "n": r.n,
                "rss_mib": rss_mib(), "rss_before_mib": base}
    import pandas as pd

    base = rss_mib()
    usecols = ["Z1", "Z2", "X", "Y"] if args.worker == "plugin-pandas-usecols" else None

    def backdoor():
        df = pd.read_csv(args.data, usecols=usecols)
        n = len(df)
        pz = df.groupby(["Z1", "Z2"]).size() / n
        py = df.groupby(["Z1", "Z2", "X"])["Y"].mean()
        return sum(pz[z] * (py[(*z, 1)] - py[(*z, 0)]) for z in pz.index), n

    (v, n), wall, cpu = timed(backdoor)
    return {"wall_s": wall, "cpu_s": cpu, "estimate": float(v), "n": n, "rss_mib": rss_mib(),
            "rss_before_mib": base}


WORKERS = {"causaldsl": worker_causaldsl, "dowhy": worker_dowhy,
           "statsmodels": worker_statsmodels}


# -- the driver ------------------------------------------------------------------------------


#: Threads for the BLAS of NumPy-based workers (``--blas-threads``); None: the library's
#: default (OpenBLAS: one per core).
BLAS_THREADS: int | None = None


def run_worker(name: str, data: str, extra: list[str], timeout: float,
               src: str | None = None) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join([src or str(SRC), os.environ.get("PYTHONPATH", "")]))
    if BLAS_THREADS:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(BLAS_THREADS)
    cmd = [sys.executable, __file__, "--worker", name, "--data", data, *extra]
    s = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    wall = time.perf_counter() - s
    if p.returncode:
        raise RuntimeError(f"worker {name} failed:\n{p.stderr[-4000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["process_s"] = wall
    out["load_after"] = load()
    print(f"  {name}: {json.dumps(out)[:300]}", file=sys.stderr, flush=True)
    return out


def load() -> float:
    return os.getloadavg()[0]


def med(xs):
    return statistics.median(xs)


def fmt(x: float) -> str:
    return f"{x:,.3f}" if x < 10 else f"{x:,.1f}"


def scaled(r: dict, call: str) -> float:
    """The call's time for FULL replicates: measured, or extrapolated linearly with the time
    per replicate of the warm call ((warm - point estimate alone) / R): the first call keeps its
    one-off costs once, plus FULL - R replicates."""
    t = r[call]["wall_s"]
    if r["reps"] == FULL:
        return t
    per = (r["warm"]["wall_s"] - r["point"]["wall_s"]) / r["reps"]
    return t + per * (FULL - r["reps"])


def part_aipw(args, report: list[str], raw: dict) -> bool:
    import numpy as np

    tmp = Path(tempfile.mkdtemp(prefix="bench-est-"))
    data = str(tmp / "data.npz")
    z, t, y, e = simulate(args.n, args.seed)
    np.savez(data, z=z, t=t, y=y)
    contenders = [("causaldsl", ["--reps", str(FULL), "--method", "aipw"]),
                  ("dowhy", ["--reps", str(args.dowhy_reps), "--method", "aipw"]),
                  ("statsmodels", ["--reps", str(args.sm_reps)])]
    if args.dowhy_default:
        contenders.append(("dowhy-default", ["--reps", str(args.dowhy_reps), "--method", "aipw",
                                             "--default"]))
    if args.baseline_src and args.baseline_reps:
        contenders.append(("causaldsl-baseline", ["--reps", str(args.baseline_reps), "--method",
                                                  "aipw"]))
    results: dict[str, list[dict]] = {name: [] for name, _ in contenders}
    for k in range(args.repeats):
        order = contenders[k % len(contenders):] + contenders[:k % len(contenders)]
        print(f"round {k + 1}/{args.repeats} (load {load():.2f})", file=sys.stderr, flush=True)
        for name, extra in order:
            if name in ("dowhy-default", "causaldsl-baseline") and k:
                continue  # once
            worker = {"dowhy-default": "dowhy", "causaldsl-baseline": "causaldsl"}.get(name, name)
            src = args.baseline_src if name == "causaldsl-baseline" else None
            results[name].append(run_worker(worker, data, extra, args.timeout, src))
    raw["aipw"] = results
    raw["aipw_data"] = {"n": args.n, "seed": args.seed, "e_min": float(e.min()),
                        "e_max": float(e.max())}
    return render_aipw(results, raw["aipw_data"], report)


def scaled_cpu(r: dict, call: str) -> float:
    """CPU seconds for FULL replicates: measured, or the measured share of CPU over wall time
    applied to the extrapolated wall time."""
    c = r[call]["cpu_s"]
    return c if r["reps"] == FULL else c * scaled(r, call) / r[call]["wall_s"]


def ratio(theirs: list[float], ours: list[float]) -> str:
    return (f"{med(theirs) / med(ours):,.0f}× ({min(theirs) / max(ours):,.0f}–"
            f"{max(theirs) / min(ours):,.0f})")


def render_aipw(results: dict[str, list[dict]], info: dict, report: list[str]) -> bool:
    ours = results["causaldsl"]
    first = [r["first"]["wall_s"] for r in ours]
    warm = [r["warm"]["wall_s"] for r in ours]
    first_cpu = [r["first"]["cpu_s"] for r in ours]
    report += [
        f"## AIPW with a bootstrap of {FULL} replicates ({info['n']:,} rows, 10 covariates)", "",
        f"Data: n = {info['n']:,}, seed {info['seed']}, true ATE {TRUTH}; propensities in "
        f"[{info['e_min']:.3f}, {info['e_max']:.3f}]. Seconds per call; *first* is the first "
        "call in a fresh process (for causaldsl including JAX's compilation), *warm* the second "
        "call in the same process. Ratio = the contender's median / causaldsl's median (first "
        "with first, warm with warm), in brackets the contender's fastest over causaldsl's "
        "slowest and its slowest over causaldsl's fastest. CPU s is the process's CPU time "
        "during the call (both cores busy: up to 2 × wall).", "",
        "| contender | replicates timed | runs | first call s: median [min, max] | warm call s: "
        "median [min, max] | point estimate alone s | first call CPU s | import s | peak RSS "
        "MiB | load (1 min) after | ratio, first call | ratio, warm | ratio of CPU s, first |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, rs in results.items():
        if not rs:
            continue
        f = [scaled(r, "first") for r in rs]
        w = [scaled(r, "warm") for r in rs]
        c = [scaled_cpu(r, "first") for r in rs]
        note = "" if rs[0]["reps"] == FULL else f" (to {FULL}: ×{FULL / rs[0]['reps']:g})"
        rf = rw = rc = "1"
        if name != "causaldsl":  # the contender's time over causaldsl's
            rf, rw, rc = f"**{ratio(f, first)}**", ratio(w, warm), ratio(c, first_cpu)
        report.append(
            f"| {name} | {rs[0]['reps']}{note} | {len(rs)} | {fmt(med(f))} [{fmt(min(f))}, "
            f"{fmt(max(f))}] | {fmt(med(w))} [{fmt(min(w))}, {fmt(max(w))}] | "
            f"{fmt(med(r['point']['wall_s'] for r in rs))} | {fmt(med(c))} | "
            f"{fmt(med(r['import_s'] for r in rs))} | {med(r['rss_mib'] for r in rs):,.0f} | "
            f"{med(r['load_after'] for r in rs):.1f} | {rf} | {rw} | {rc} |")
    report += ["", "Answers (first run of each; the bootstrap's se and 95% percentile interval "
               "from the first call):", "",
               "| contender | point estimate | minus causaldsl's | bootstrap se | interval |",
               "|---|---:|---:|---:|---|"]
    ok = True
    ref = ours[0]["point"]["estimate"]
    for name, rs in results.items():
        if not rs:
            continue
        r = rs[0]
        diff = r["point"]["estimate"] - ref
        if name in ("statsmodels", "dowhy", "causaldsl-baseline") and abs(diff) > 1e-6:
            ok = False
        ci = r["first"]["ci"]
        report.append(f"| {name} | {r['point']['estimate']:.10f} | {diff:.1e} | "
                      f"{r['first']['se']:.5f} | [{ci[0]:.4f}, {ci[-1]:.4f}] |")
    report += ["", f"Point estimates within 1e-6 of causaldsl's (statsmodels, DoWhy with the "
               f"unpenalised propensity): {'yes' if ok else 'NO'}.", ""]
    return ok


def part_plugin(args, report: list[str], raw: dict) -> bool:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"plugin-{args.rows}-{args.seed}.csv"
    if not path.exists():
        print(f"writing {path}", file=sys.stderr, flush=True)
        write_csv(path, args.rows, args.seed)
    names = ["plugin-causaldsl", "plugin-pandas-all", "plugin-pandas-usecols"]
    if args.baseline_src:
        names.append("plugin-causaldsl-baseline")
    results: dict[str, list[dict]] = {n: [] for n in names}
    for k in range(args.repeats):
        print(f"plugin round {k + 1}/{args.repeats} (load {load():.2f})", file=sys.stderr,
              flush=True)
        for name in names[k % len(names):] + names[:k % len(names)]:
            base = name == "plugin-causaldsl-baseline"
            results[name].append(run_worker("plugin-causaldsl" if base else name, str(path), [],
                                            args.timeout, args.baseline_src if base else None))
    raw["plugin"] = results
    raw["plugin_data"] = {"rows": args.rows, "mib": path.stat().st_size / 2 ** 20}
    return render_plugin(results, raw["plugin_data"], report)


def render_plugin(results: dict[str, list[dict]], info: dict, report: list[str]) -> bool:
    report += [f"## Plug-in from a CSV of {info['rows']:,} rows ({info['mib']:,.0f} MiB)", "",
               "A fresh process per run; wall time of the call (reading included) and the "
               "process's peak RSS (VmHWM; *before*: after the imports, before the call).", "",
               "| contender | runs | wall s: median [min, max] | CPU s (median) | peak RSS MiB "
               "(median) | RSS before the call MiB | load (1 min) after | estimate |",
               "|---|---:|---|---:|---:|---:|---:|---:|"]
    ref = results["plugin-causaldsl"][0]["estimate"]
    ok = True
    for name, rs in results.items():
        w = [r["wall_s"] for r in rs]
        if abs(rs[0]["estimate"] - ref) > 1e-9:
            ok = False
        report.append(f"| {name} | {len(rs)} | {fmt(med(w))} [{fmt(min(w))}, {fmt(max(w))}] | "
                      f"{fmt(med(r['cpu_s'] for r in rs))} | "
                      f"{med(r['rss_mib'] for r in rs):,.0f} | "
                      f"{med(r['rss_before_mib'] for r in rs):,.0f} | "
                      f"{med(r['load_after'] for r in rs):.1f} | {rs[0]['estimate']:.10f} |")
    report += ["", f"Estimates equal within 1e-9: {'yes' if ok else 'NO'}.", ""]
    return ok


def header(args) -> list[str]:
    import numpy as np

    def ver(mod: str) -> str:
        try:
            return __import__(mod).__version__
        except Exception:  # pragma: no cover - optional
            return "absent"

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"],
                           capture_output=True, text=True).stdout.strip()
    cpu = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return [
        "# Estimation benchmark (generated by bench/bench_estimation.py)", "",
        f"- date {time.strftime('%Y-%m-%dT%H:%M:%S')}; CPU {cpu or platform.processor()}, "
        f"{os.cpu_count()} cores; RAM {mem:.1f} GiB; load average (1 min) at the start "
        f"{load():.2f}",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, pandas {ver('pandas')}, "
        f"JAX {ver('jax')}, statsmodels {ver('statsmodels')}, DoWhy {ver('dowhy')}, "
        f"scikit-learn {ver('sklearn')}",
        f"- causaldsl at commit {commit}{' (with uncommitted changes in src)' if dirty else ''}"
        f"; BLAS threads per worker: {args.blas_threads or 'the default (one per core)'}",
        f"- command: `{' '.join([Path(sys.executable).as_posix(), *sys.argv])}`", ""]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("all", "aipw", "plugin"), default="all")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dowhy-reps", type=int, default=100,
                    help="DoWhy's replicates per call (extrapolated to 1000)")
    ap.add_argument("--sm-reps", type=int, default=FULL,
                    help="the statsmodels loop's replicates per call (extrapolated to 1000)")
    ap.add_argument("--dowhy-default", action="store_true",
                    help="also time DoWhy's doubly robust estimator with its defaults, once")
    ap.add_argument("--baseline-src",
                    help="also time causaldsl from this src folder (an export of an older "
                         "commit): its AIPW once, its plug-in every round")
    ap.add_argument("--baseline-reps", type=int, default=100,
                    help="the baseline's AIPW replicates (0: no AIPW baseline)")
    ap.add_argument("--blas-threads", type=int,
                    help="OPENBLAS/OMP/MKL_NUM_THREADS for every worker (default: the "
                         "libraries' own, one thread per core); on a busy machine OpenBLAS's "
                         "threads wait for each other and one thread is faster")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--from-json", help="print the tables of an earlier run's --json file")
    ap.add_argument("--out")
    ap.add_argument("--json")
    # worker options
    ap.add_argument("--worker")
    ap.add_argument("--data")
    ap.add_argument("--reps", type=int, default=FULL)
    ap.add_argument("--method", default="aipw")
    ap.add_argument("--default", action="store_true")
    args = ap.parse_args()
    if args.worker:
        fn = worker_plugin if args.worker.startswith("plugin-") else WORKERS[args.worker]
        print(json.dumps(fn(args)))
        return 0
    if args.from_json:  # the tables again, from a run's raw numbers
        raw = json.loads(Path(args.from_json).read_text())
        report: list[str] = []
        if "aipw" in raw:
            render_aipw(raw["aipw"], raw["aipw_data"], report)
        if "plugin" in raw:
            render_plugin(raw["plugin"], raw["plugin_data"], report)
        print("\n".join(report))
        return 0
    global BLAS_THREADS
    BLAS_THREADS = args.blas_threads
    report = header(args)
    raw = {}
    ok = True
    start = time.perf_counter()
    if args.part in ("all", "aipw"):
        ok &= part_aipw(args, report, raw)
    if args.part in ("all", "plugin"):
        ok &= part_plugin(args, report, raw)
    report += [f"Load average (1 min) at the end {load():.2f}; benchmark wall time "
               f"{time.perf_counter() - start:,.0f} s.", ""]
    text = "\n".join(report)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
