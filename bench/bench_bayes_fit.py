"""Benchmark (issue 15): fitting a Bayesian causal model by NUTS and answering
``E[Y | do(X = 1)]`` over its posterior, causaldsl against the same model in ChiRho/Pyro.

The target of issue 15: at least 10x less time than ChiRho/Pyro to the same effective sample
size. Run from the repository root; the driver runs in the project's venv, ChiRho in a venv of
its own (PyTorch must be the CPU file on disk, see bench/README.md)::

    /work/bench-venv/bin/pip install torch==2.13.0 && /work/bench-venv/bin/pip install pyro-ppl chirho
    .venv/bin/python bench/bench_bayes_fit.py --peer-python /work/bench-venv/bin/python
    .venv/bin/python bench/bench_bayes_fit.py --quick --out /tmp/r.md     # one round, no Pyro default

The model: a treatment X (binary, logistic in five standard normal covariates Z1..Z5) and a
linear outcome ``Y ~ Normal(b0 + bx X + c1 Z1 + ... + c5 Z5, s)``, 13 unknown parameters with
the priors of ``TEXT`` (the same in both), fitted to 10^4 rows drawn with NumPy from known
coefficients (``TRUE``: E[Y | do(X = 1)] = b0 + bx = 3). Both contenders observe every column
(Z1..Z5, X, Y) and run one chain of NUTS with the same warm-up and draws, float64, each one's
defaults (target acceptance 0.8, tree depth 10, initial values uniform in (-2, 2) on the
unconstrained scale; the mass matrix diagonal in Pyro and NumPyro, dense in causaldsl, whose
default is dense up to 50 sampled dimensions; causaldsl reads the Normal outcome's likelihood
from sufficient statistics, docs/bayes.md "How NUTS is run"). One chain because Pyro runs
several chains in parallel processes while causaldsl runs them one after another: one chain is
what both do alike.

What is timed is what a user pays for the answer, from the data in memory (a DataFrame for us,
NumPy arrays for Pyro) to the posterior draws of ``E[Y | do(X = 1)]`` in hand:

* ours: ``causaldsl.parse(TEXT).model.fit(df, method="nuts", ...)`` and
  ``fitted.query("E[Y | do(X = 1)]")``. For each posterior draw the query averages the
  outcome's conditional mean over 4096 forward samples of the model under ``do(X = 1)`` with
  fresh covariates (``causaldsl.bayes.parametric.PER_DRAW``).
* ChiRho: the Pyro model in a ``pyro.plate`` over rows, ``chirho.observational.handlers.
  condition`` on the data, ``pyro.infer.MCMC(NUTS(...))``; then ``pyro.infer.Predictive`` of
  ``chirho.interventional.handlers.do(model, {"X": 1})`` over the posterior samples
  (``parallel=True``, 4096 rows per draw, as ours) and the mean over rows of the outcome's
  conditional mean (a ``pyro.deterministic`` site): the same statistic as ours, draw by draw.
  Pyro is timed with ``jit_compile=True`` (its fastest setting here, so the ratio of the
  headline is against Pyro at its best) and, in ``--pyro-default-rounds`` processes, with its
  default ``jit_compile=False`` (what a user who changes nothing pays).

PyTorch runs on one thread (``--peer-threads``, 0 for its default of one per core). On two
idle cores its default two threads were 7% faster (32.2 s against 34.6 s for the same seed),
but while other work loaded the machine (load average 4-5) they took 166-190 s: threads that
wait for each other on a busy core. One thread is the setting that a shared machine can time.

Every run is a fresh process (imports not timed, reported apart). Ours runs twice in each
process: the first fit of a fresh process (*first call*) and a second fit with another seed
(*in-process repeat*). Each round has three of our processes, one after another: one with JAX's
persistent compilation cache empty (``XDG_CACHE_HOME`` pointed at a new folder: *cold cache*),
one with that folder filled by it (*warm cache*, what a later process of a user sees), and one
with the same cache on other data of the same shape (*warm cache, other data*: the compiled
sampler holds the data as constants, so new data compile again). A reference row writes the
same model by hand in NumPyro (as a user would: MCMC's defaults, no persistent cache, the query
by ``numpyro.infer.Predictive`` of ``numpyro.handlers.do``): the sampler's own cost. Pyro fits
once per process (half a minute to minutes each). Contenders alternate: the order of the round is reversed
every other round. Medians with min and max.

Effective sample size: ``numpyro.diagnostics.effective_sample_size`` on the draws of
``E[Y | do(X = 1)]`` (the same function for all, on the same statistic); time per effective
sample = wall seconds of fit + query / ESS; the ratio is Pyro's median seconds per ESS over
ours. The draws of ``b0 + bx`` (which is E[Y | do(X = 1)] exactly, since E[Zi] = 0, with no
forward-sampling noise) are reported beside them.

Agreement: the posterior mean and sd of E[Y | do(X = 1)], and of b0 + bx, of each side pooled
over its runs must agree within 4 Monte Carlo standard errors of the difference (the error of a
mean is sd / sqrt(ESS), of an sd about sd / sqrt(2 ESS)); the script exits 1 when they do not.
The least-squares estimate of b0 + bx and its standard error are printed beside them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # sections.py, beside this script
from sections import keep_below  # noqa: E402

#: The line of RESULTS-bayes.md below which the reading (written by hand) lives; it is kept.
KEEP = "<!-- bench_bayes_fit.py writes the part above this line; the reading below is kept -->"
ROOT = HERE.parent
DEFAULT_PEER = "/work/bench-venv/bin/python"

K = 5  # covariates
ROWS = 10_000
PER_DRAW = 4096  # forward rows per posterior draw in the query, as causaldsl's PER_DRAW
DATA_SEED = 15
#: The coefficients the data are drawn from; E[Y | do(X = 1)] = b0 + bx.
TRUE = {"b0": 1.0, "bx": 2.0, "c": (1.0, -0.5, 0.8, 0.3, -1.2), "s": 1.5,
        "a": (0.5, -0.4, 0.3, 0.2, -0.1)}
TRUTH = TRUE["b0"] + TRUE["bx"]
QUERY = "E[Y | do(X = 1)]"


def model_text() -> str:
    """The model in the .causal language: 13 parameters, their priors, five covariates."""
    params = ["  param b0 ~ Normal(0, 10)", "  param bx ~ Normal(0, 10)",
              *(f"  param c{i} ~ Normal(0, 10)" for i in range(1, K + 1)),
              "  param s ~ HalfNormal(5)",
              *(f"  param a{i} ~ Normal(0, 3)" for i in range(1, K + 1))]
    zs = [f"  Z{i} : Real ~ Normal(0, 1)" for i in range(1, K + 1)]
    lin = " + ".join(f"a{i} * Z{i}" for i in range(1, K + 1))
    out = " + ".join(f"c{i} * Z{i}" for i in range(1, K + 1))
    return "\n".join(["type Bin = {0, 1}", "model lin {", *params, *zs,
                      f"  X : Bin ~ Bernoulli(sigmoid({lin}))",
                      f"  Y : Real ~ Normal(b0 + bx * X + {out}, s)", "}", ""])


TEXT = model_text()


def make_data(path: Path, rows: int, seed: int = DATA_SEED) -> None:
    """``rows`` rows drawn from the model with the coefficients ``TRUE``, saved as .npz."""
    import numpy as np

    rng = np.random.default_rng(seed)
    z = rng.normal(size=(rows, K))
    x = (rng.random(rows) < 1 / (1 + np.exp(-z @ np.asarray(TRUE["a"])))).astype(np.int64)
    y = TRUE["b0"] + TRUE["bx"] * x + z @ np.asarray(TRUE["c"]) + TRUE["s"] * rng.normal(size=rows)
    np.savez(path, Z=z, X=x, Y=y)


# -- workers (each a fresh process) ----------------------------------------------------------

def worker_ours(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    # JAX before the clock, as PyTorch is for Pyro (causaldsl imports it lazily)
    import jax
    import numpy as np
    import numpyro
    import pandas as pd

    import causaldsl
    import_s = time.perf_counter() - t0
    raw = np.load(args.data)
    df = pd.DataFrame({f"Z{i + 1}": raw["Z"][:, i] for i in range(K)})
    df["X"], df["Y"] = raw["X"], raw["Y"]
    fits = []
    for j in range(args.fits):
        seed = args.seed + 1000 * j
        t0 = time.perf_counter()
        model = causaldsl.parse(TEXT).model
        t1 = time.perf_counter()
        fitted = model.fit(df, method="nuts", draws=args.draws, warmup=args.warmup,
                           chains=args.chains, seed=seed)
        t2 = time.perf_counter()
        post = fitted.query(QUERY)
        ey = np.asarray(post.draws, dtype=float)
        t3 = time.perf_counter()
        d = fitted.diagnostics
        fits.append({"seed": seed, "total_s": t3 - t0, "parse_s": t1 - t0, "fit_s": t2 - t1,
                     "query_s": t3 - t2, "ey": ey.tolist(),
                     "b0bx": (np.asarray(fitted.draws["b0"]) + np.asarray(fitted.draws["bx"])
                              ).tolist(),
                     "own_ess": post.ess, "divergences": d.divergences, "min_param_ess": d.ess})
    versions = {"causaldsl": causaldsl.__version__ if hasattr(causaldsl, "__version__") else "",
                "jax": jax.__version__, "numpyro": numpyro.__version__,
                "numpy": np.__version__, "pandas": pd.__version__,
                "python": platform.python_version()}
    return {"import_s": import_s, "fits": fits, "versions": versions,
            "cache": os.environ.get("XDG_CACHE_HOME", "")}


def worker_numpyro(args: argparse.Namespace) -> dict[str, Any]:
    """The same model written by hand in NumPyro, as a user writes it (no persistent
    compilation cache, MCMC's defaults): the sampler's own cost, for reference."""
    t0 = time.perf_counter()
    import jax
    import jax.numpy as jnp
    import numpy as np
    import numpyro
    import numpyro.distributions as dist
    from numpyro.handlers import do
    from numpyro.infer import MCMC, NUTS, Predictive
    import_s = time.perf_counter() - t0
    jax.config.update("jax_enable_x64", True)

    def model(n: int, z: Any = None, x: Any = None, y: Any = None) -> None:
        b0 = numpyro.sample("b0", dist.Normal(0.0, 10.0))
        bx = numpyro.sample("bx", dist.Normal(0.0, 10.0))
        c = jnp.stack([numpyro.sample(f"c{i}", dist.Normal(0.0, 10.0)) for i in range(1, K + 1)])
        s = numpyro.sample("s", dist.HalfNormal(5.0))
        a = jnp.stack([numpyro.sample(f"a{i}", dist.Normal(0.0, 3.0)) for i in range(1, K + 1)])
        with numpyro.plate("rows", n):
            z = numpyro.sample("Z", dist.Normal(0.0, 1.0).expand([K]).to_event(1), obs=z)
            x = numpyro.sample("X", dist.Bernoulli(logits=z @ a), obs=x)
            mu = numpyro.deterministic("mu", b0 + bx * x + z @ c)
            numpyro.sample("Y", dist.Normal(mu, s), obs=y)

    raw = np.load(args.data)
    fits = []
    for j in range(args.fits):
        seed = args.seed + 1000 * j
        t0 = time.perf_counter()
        z, x, y = (jnp.asarray(raw["Z"]), jnp.asarray(raw["X"], dtype=jnp.float64),
                   jnp.asarray(raw["Y"]))
        mcmc = MCMC(NUTS(model), num_warmup=args.warmup, num_samples=args.draws,
                    num_chains=args.chains, chain_method="sequential", progress_bar=False)
        mcmc.run(jax.random.PRNGKey(seed), len(raw["Y"]), z, x, y, extra_fields=("diverging",))
        samples = mcmc.get_samples()
        t1 = time.perf_counter()
        predictive = Predictive(do(model, {"X": jnp.float64(1.0)}), posterior_samples=samples,
                                return_sites=["mu"], parallel=True)
        ey = np.asarray(predictive(jax.random.PRNGKey(seed + 1), PER_DRAW)["mu"].mean(-1))
        t2 = time.perf_counter()
        fits.append({"seed": seed, "total_s": t2 - t0, "fit_s": t1 - t0, "query_s": t2 - t1,
                     "ey": ey.reshape(-1).tolist(),
                     "b0bx": np.asarray(samples["b0"] + samples["bx"]).tolist(),
                     "divergences": int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())})
    versions = {"jax": jax.__version__, "numpyro": numpyro.__version__}
    return {"import_s": import_s, "fits": fits, "versions": versions}


def worker_pyro(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    import numpy as np
    import pyro
    import pyro.distributions as dist
    import torch
    from chirho.interventional.handlers import do
    from chirho.observational.handlers import condition
    from pyro.infer import MCMC, NUTS, Predictive
    import_s = time.perf_counter() - t0
    torch.set_default_dtype(torch.float64)
    if args.threads:
        torch.set_num_threads(args.threads)

    def model(n: int) -> None:
        b0 = pyro.sample("b0", dist.Normal(0.0, 10.0))
        bx = pyro.sample("bx", dist.Normal(0.0, 10.0))
        c = [pyro.sample(f"c{i}", dist.Normal(0.0, 10.0)) for i in range(1, K + 1)]
        s = pyro.sample("s", dist.HalfNormal(5.0))
        a = [pyro.sample(f"a{i}", dist.Normal(0.0, 3.0)) for i in range(1, K + 1)]
        with pyro.plate("rows", n, dim=-1):
            z = [pyro.sample(f"Z{i}", dist.Normal(0.0, 1.0)) for i in range(1, K + 1)]
            x = pyro.sample("X", dist.Bernoulli(logits=sum(ai * zi for ai, zi in zip(a, z, strict=True))))
            mu = pyro.deterministic("mu", b0 + bx * x + sum(ci * zi for ci, zi in zip(c, z, strict=True)))
            pyro.sample("Y", dist.Normal(mu, s))

    raw = np.load(args.data)
    fits = []
    for j in range(args.fits):
        seed = args.seed + 1000 * j
        t0 = time.perf_counter()
        pyro.set_rng_seed(seed)
        data = {f"Z{i + 1}": torch.as_tensor(raw["Z"][:, i]) for i in range(K)}
        data["X"] = torch.as_tensor(raw["X"], dtype=torch.float64)
        data["Y"] = torch.as_tensor(raw["Y"])
        kernel = NUTS(condition(model, data=data), jit_compile=args.jit,
                      ignore_jit_warnings=True)
        mcmc = MCMC(kernel, num_samples=args.draws, warmup_steps=args.warmup,
                    num_chains=args.chains, disable_progbar=True)
        mcmc.run(len(raw["Y"]))
        samples = mcmc.get_samples()
        t1 = time.perf_counter()
        predictive = Predictive(do(model, {"X": torch.tensor(1.0)}), posterior_samples=samples,
                                return_sites=["mu"], parallel=True)
        ey = predictive(PER_DRAW)["mu"].mean(-1).reshape(-1).numpy()
        t2 = time.perf_counter()
        div = mcmc.diagnostics().get("divergences", {})
        fits.append({"seed": seed, "total_s": t2 - t0, "fit_s": t1 - t0, "query_s": t2 - t1,
                     "ey": ey.tolist(), "b0bx": (samples["b0"] + samples["bx"]).tolist(),
                     "divergences": sum(len(v) for v in div.values())})
    import chirho
    versions = {"torch": torch.__version__, "pyro": pyro.__version__,
                "chirho": getattr(chirho, "__version__", _dist_version("chirho")),
                "numpy": np.__version__, "python": platform.python_version(),
                "torch_threads": torch.get_num_threads()}
    return {"import_s": import_s, "fits": fits, "versions": versions, "jit": args.jit}


WORKERS = {"ours": worker_ours, "numpyro": worker_numpyro, "pyro": worker_pyro}


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    try:
        return version(name)
    except Exception:  # only for the report
        return "?"


# -- the driver ------------------------------------------------------------------------------

def run_worker(kind: str, python: str, args: argparse.Namespace, tmp: Path, tag: str, seed: int,
               fits: int, env_extra: dict[str, str], jit: bool = False,
               data: str = "data.npz") -> dict[str, Any]:
    """One fresh process; its result, its wall time and the load average before and after."""
    out = tmp / f"{tag}.json"
    cmd = [python, str(Path(__file__).resolve()), "--worker", kind, "--data", str(tmp / data),
           "--result", str(out), "--seed", str(seed), "--fits", str(fits), "--draws",
           str(args.draws), "--warmup", str(args.warmup), "--chains", str(args.chains)]
    if jit:
        cmd.append("--jit")
    if kind == "pyro":
        cmd += ["--threads", str(args.peer_threads)]
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT / "src"), **env_extra)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"worker {tag} failed ({proc.returncode})")
    res = json.loads(out.read_text())
    res.update(tag=tag, process_wall_s=wall, load_before=load0, load_after=os.getloadavg()[0])
    return res


def ess(x: list[float], chains: int) -> float:
    import numpy as np
    from numpyro.diagnostics import effective_sample_size

    return float(effective_sample_size(np.asarray(x, dtype=float).reshape(chains, -1)))


def summarise(runs: dict[str, list[dict[str, Any]]], chains: int) -> dict[str, list[dict]]:
    """Per contender: one record per fit with the statistic's mean, sd, ESS, s/ESS."""
    import numpy as np

    out: dict[str, list[dict]] = {}
    for name, procs in runs.items():
        for p in procs:
            for j, f in enumerate(p["fits"]):
                label = name if len(p["fits"]) == 1 else (
                    f"{name}, first call" if j == 0 else f"{name}, in-process repeat")
                ey = np.asarray(f["ey"])
                e = ess(f["ey"], chains)
                bb = np.asarray(f["b0bx"])
                rec = {"total_s": f["total_s"], "fit_s": f["fit_s"], "query_s": f["query_s"],
                       "mean": float(ey.mean()), "sd": float(ey.std(ddof=1)), "ess": e,
                       "s_per_ess": f["total_s"] / e, "b0bx_mean": float(bb.mean()),
                       "b0bx_sd": float(bb.std(ddof=1)), "b0bx_ess": ess(f["b0bx"], chains),
                       "divergences": f["divergences"], "import_s": p["import_s"],
                       "process_wall_s": p["process_wall_s"], "own_ess": f.get("own_ess"),
                       "load": p["load_before"]}
                out.setdefault(label, []).append(rec)
    return out


def med(xs: list[float], fmt: str = "{:.2f}") -> str:
    if not xs:
        return ""
    if len(xs) == 1:
        return fmt.format(xs[0])
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def pooled(recs: list[dict[str, Any]], key: str = "", common: bool = False
           ) -> tuple[float, float, float, float]:
    """The mean of the runs' posterior means and sds of the statistic (``key``: "" for
    E[Y | do(X = 1)], "b0bx_" for b0 + bx), and their Monte Carlo standard errors: a run's mean
    has sd / sqrt(ESS), its sd about sd / sqrt(2 ESS); averaged over independent runs, or not
    reduced at all where the runs share their errors (``common``)."""
    k = len(recs)
    mean = sum(r[f"{key}mean"] for r in recs) / k
    sd = sum(r[f"{key}sd"] for r in recs) / k
    var = sum(r[f"{key}sd"] ** 2 / r[f"{key}ess"] for r in recs) / k
    shrink = 1 if common else k
    return mean, sd, math.sqrt(var / shrink), math.sqrt(var / 2 / shrink)


def ols_reference(rows: int) -> tuple[float, float]:
    """The least-squares estimate of b0 + bx on the benchmark's data and its standard error:
    with these weak priors and 10^4 rows, the posterior of b0 + bx is close to normal with that
    mean and sd (a check on both samplers that needs no sampler)."""
    import numpy as np

    with tempfile.TemporaryDirectory() as name:
        make_data(Path(name, "d.npz"), rows)
        raw = np.load(Path(name, "d.npz"))
        z, x, y = raw["Z"], raw["X"], raw["Y"]
    a = np.column_stack([np.ones(len(y)), x, z])
    beta = np.linalg.lstsq(a, y, rcond=None)[0]
    s2 = float(((y - a @ beta) ** 2).sum()) / (len(y) - a.shape[1])
    g = np.zeros(a.shape[1])
    g[:2] = 1
    return float(beta[0] + beta[1]), math.sqrt(s2 * float(g @ np.linalg.solve(a.T @ a, g)))


def agreement(ours: list[dict[str, Any]], peer: list[dict[str, Any]], key: str, what: str,
              common: bool, peer_key: str | None = None) -> tuple[str, bool]:
    """A sentence comparing the pooled means and sds of ``what``, and whether they agree
    within 4 standard errors of the difference (``peer_key``: the peer's statistic, where it
    differs from ours)."""
    m1, s1, em1, es1 = pooled(ours, key, common)
    m2, s2, em2, es2 = pooled(peer, key if peer_key is None else peer_key)
    z_mean = (m1 - m2) / math.hypot(em1, em2)
    z_sd = (s1 - s2) / math.hypot(es1, es2)
    ok = abs(z_mean) <= 4 and abs(z_sd) <= 4
    return (f"{what}: mean {m1:.4f} ± {em1:.4f} (ours) against {m2:.4f} ± {em2:.4f} (Pyro), "
            f"difference {z_mean:+.2f} standard errors; sd {s1:.4f} ± {es1:.4f} against "
            f"{s2:.4f} ± {es2:.4f}, difference {z_sd:+.2f} standard errors: "
            f"{'agree' if ok else 'DISAGREE'}. The truth {TRUTH} is {(TRUTH - m1) / s1:+.2f} "
            f"(ours) and {(TRUTH - m2) / s2:+.2f} (Pyro) posterior sds from the means."), ok


def report(saved: dict[str, Any]) -> tuple[str, bool]:
    args = saved["args"]
    table = summarise(saved["runs"], args["chains"])
    vo, vp = saved["versions_ours"], saved["versions_pyro"]
    lines = ["# Bayesian fit: causaldsl against ChiRho/Pyro (issue 15)", "",
             "Fitting a linear outcome model with a binary treatment, 5 covariates and "
             f"{args['rows']:,} rows by NUTS and answering `{QUERY}` over the posterior. "
             "Target of issue 15: at least 10× less time than ChiRho/Pyro to the same effective "
             "sample size. Written by `bench/bench_bayes_fit.py` (its docstring says what is "
             "timed and how).", "",
             f"- date: {saved['date']}",
             f"- CPU: {saved['cpu']}, {saved['cores']} cores; RAM {saved['ram']}",
             f"- ours: Python {vo.get('python')}, JAX {vo.get('jax')} (CPU, float64), NumPyro "
             f"{vo.get('numpyro')}, NumPy {vo.get('numpy')}, pandas {vo.get('pandas')}",
             f"- peer: PyTorch {vp.get('torch')} (threads: {vp.get('torch_threads')}), Pyro "
             f"{vp.get('pyro')}, ChiRho {vp.get('chirho')}, NumPy {vp.get('numpy')}, Python "
             f"{vp.get('python')} (its own venv)",
             f"- causaldsl at commit {saved['commit']}",
             f"- command: `{saved['command']}`",
             f"- load average (1 min) at the start: {saved['load_start']:.2f}; at the end: "
             f"{saved['load_end']:.2f}; sampled before each process: {med(saved['loads'])} "
             "(median, min–max). The 2 cores are shared with another developer's work; a load "
             "near 1 is this benchmark alone.",
             f"- total benchmark wall time: {saved['wall_s']:.0f} s", "",
             f"Model: `{next(x for x in TEXT.splitlines() if 'Y :' in x).strip()}` with "
             "`X ~ Bernoulli(sigmoid(a1 * Z1 + ... + a5 * Z5))`, `Zi ~ Normal(0, 1)`, priors "
             "Normal(0, 10) on b0, bx, c1..c5, Normal(0, 3) on a1..a5, HalfNormal(5) on s "
             f"(13 parameters); {args['rows']:,} rows drawn with NumPy from b0 = {TRUE['b0']}, "
             f"bx = {TRUE['bx']}, c = {TRUE['c']}, s = {TRUE['s']}, a = {TRUE['a']} (truth "
             f"E[Y | do(X = 1)] = {TRUTH}). NUTS: {args['chains']} chain, {args['warmup']} "
             f"warm-up steps, {args['draws']} draws, float64, each library's defaults otherwise "
             "(target acceptance 0.8, tree depth 10; the mass matrix diagonal in Pyro and NumPyro, "
             "dense in causaldsl, its default up to 50 sampled dimensions; causaldsl reads the "
             "Normal outcome's likelihood from sufficient statistics). Every contender "
             f"answers the query with {PER_DRAW} forward rows per posterior draw (the mean of "
             "Y's conditional mean under do(X = 1) with fresh covariates).", "",
             "## Time to the answer, and per effective sample", "",
             "Seconds of fit + query from the data in memory to the draws of E[Y | do(X = 1)] in "
             "hand, median (min–max) over runs; imports are not in it (their own column). "
             "*first call*: the first fit of a fresh process; *in-process repeat*: a second fit "
             "(another seed) in the same process. *cold cache*: JAX's persistent compilation "
             "cache empty; *warm cache*: filled by the process before, on the same data; *warm "
             "cache, other data*: filled on the same data, the fit on other data of the same "
             "shape (another seed). ESS: `numpyro.diagnostics.effective_sample_size` of the "
             "draws of E[Y | do(X = 1)], the same function for every row. Ratios: Pyro's "
             "median seconds per ESS over the row's (above 1 we are faster); *vs Pyro (jit)* "
             "is against Pyro at its fastest here (`NUTS(jit_compile=True)`), *vs Pyro "
             "(default)* against Pyro as it comes (`jit_compile=False`).", "",
             "| contender | runs | fit + query s | fit s | query s | ESS | ms / ESS | vs Pyro "
             "(jit) | vs Pyro (default) | 10× met (vs jit) | import s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    pyro_spe = statistics.median(r["s_per_ess"] for r in table[PYRO])
    pyro_def = (statistics.median(r["s_per_ess"] for r in table[PYRO_DEFAULT])
                if PYRO_DEFAULT in table else None)
    ours_labels = [k for k in table if k.startswith("ours")]
    hand_labels = [k for k in table if k.startswith("NumPyro")]
    for label in [*ours_labels, *hand_labels, PYRO, *([PYRO_DEFAULT] if pyro_def else [])]:
        recs = table[label]
        spe = statistics.median(r["s_per_ess"] for r in recs)
        peer = label.startswith("pyro")
        ratio = "" if peer else f"{pyro_spe / spe:.1f}×"
        ratio_d = f"{pyro_def / spe:.1f}×" if pyro_def and not peer else ""
        met = "" if peer or label in hand_labels else ("yes" if pyro_spe / spe >= 10 else "no")
        lines.append(
            f"| {label} | {len(recs)} | {med([r['total_s'] for r in recs])} | "
            f"{med([r['fit_s'] for r in recs])} | {med([r['query_s'] for r in recs])} | "
            f"{med([r['ess'] for r in recs], '{:.0f}')} | "
            f"{med([r['s_per_ess'] * 1e3 for r in recs], '{:.1f}')} | {ratio} | {ratio_d} | "
            f"{met} | {med([r['import_s'] for r in recs])} |")
    pyro_s = statistics.median(r["total_s"] for r in table[PYRO])
    plain = [f"{label}: {pyro_s / statistics.median(r['total_s'] for r in table[label]):.1f}×"
             for label in [*ours_labels, *hand_labels]]
    lines += ["", "Ratios of median seconds alone (Pyro with jit over the row, no ESS): "
              + "; ".join(plain) + "."]
    cost = []
    for base in (COLD, WARM, OTHER, HAND):
        first, again = f"{base}, first call", f"{base}, in-process repeat"
        if first in table and again in table:
            a = statistics.median(r["total_s"] for r in table[first])
            b = statistics.median(r["total_s"] for r in table[again])
            cost.append(f"{base}: {a - b:.1f} s ({(a - b) / a:.0%} of its first call)")
    if cost:
        lines += ["", "What a first call costs over an in-process repeat (median first − median "
                  "repeat; compiling, or loading from the cache, and tracing): "
                  + "; ".join(cost) + "."]
    lines.append("")

    lines += ["## The answers", "",
              "Posterior mean and sd of E[Y | do(X = 1)] (median over runs, min–max), the ESS of "
              "its draws, and the same for b0 + bx: the exact E[Y | do(X = 1)] given the "
              "parameters (E[Zi] = 0), without the forward-sampling noise of the query. "
              "Divergent transitions summed over runs. The *other data* row is another data set "
              "(another posterior) and is left out of the agreement check.", "",
              "| contender | mean | sd | ESS | b0 + bx mean | b0 + bx sd | b0 + bx ESS | "
              "divergences | ESS by causaldsl's `Posterior` |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, recs in table.items():
        own = [r["own_ess"] for r in recs if r["own_ess"] is not None]
        lines.append(
            f"| {label} | {med([r['mean'] for r in recs], '{:.4f}')} | "
            f"{med([r['sd'] for r in recs], '{:.4f}')} | {med([r['ess'] for r in recs], '{:.0f}')}"
            f" | {med([r['b0bx_mean'] for r in recs], '{:.4f}')} | "
            f"{med([r['b0bx_sd'] for r in recs], '{:.4f}')} | "
            f"{med([r['b0bx_ess'] for r in recs], '{:.0f}')} | "
            f"{sum(r['divergences'] for r in recs)} | {med(own, '{:.0f}') if own else ''} |")
    ours_all = [r for label in ours_labels if OTHER not in label for r in table[label]]
    pyro_all = [r for label, recs in table.items() if label.startswith("pyro") for r in recs]
    # our answer is exact draw by draw (the mean passes through the linear mechanisms, no
    # forward rows); Pyro's Predictive answer carries the forward rows' noise, so ours is set
    # against Pyro's b0 + bx, the same exact quantity
    exact = bool(ours_all) and all(abs(r["sd"] - r["b0bx_sd"]) < 1e-9 and
                                   abs(r["mean"] - r["b0bx_mean"]) < 1e-9 for r in ours_all)
    text1, ok1 = agreement(ours_all, pyro_all, "", "E[Y | do(X = 1)]", common=not exact,
                           peer_key="b0bx_" if exact else None)
    if exact:
        text1 += (" (ours exact per draw, against Pyro's b0 + bx: Pyro's own answer, from "
                  "forward rows, is wider by their noise)")
    text2, ok2 = agreement(ours_all, pyro_all, "b0bx_", "b0 + bx", common=False)
    ok = ok1 and ok2
    lines += ["", f"Agreement, the runs of each side on the same data pooled ({len(ours_all)} of "
              f"ours, {len(pyro_all)} of Pyro). Tolerance: 4 Monte Carlo standard errors of the "
              "difference (a run's mean has the error sd / sqrt(ESS), its sd about "
              "sd / sqrt(2 ESS)); at 4 a false alarm has odds under 1e-4, and a shift of a tenth "
              "of the posterior sd would still show." + (
                  " Our answer is exact draw by draw (no forward rows: the mean passes through "
                  "the linear mechanisms)." if exact else
                  " Our answers to the query are not averaged down over runs: `fitted.query` "
                  "draws its forward samples with the same seed (0) whatever the fit's seed, so "
                  "every run of ours shares that part of its error."), "",
              f"- {text1}", f"- {text2}",
              "- Reference without a sampler: least squares gives b0 + bx = "
              "{:.4f} with standard error {:.4f} (the normal approximation to the posterior "
              "of b0 + bx).".format(*ols_reference(args["rows"])), "",
              f"Verdict: {'the answers agree' if ok else 'THE ANSWERS DISAGREE'}.", ""]

    lines += ["## Each run", "",
              "| contender | fit + query s | fit s | query s | mean | sd | ESS | ms / ESS | "
              "process wall s | load before |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, recs in table.items():
        for r in recs:
            lines.append(f"| {label} | {r['total_s']:.2f} | {r['fit_s']:.2f} | {r['query_s']:.2f}"
                         f" | {r['mean']:.4f} | {r['sd']:.4f} | {r['ess']:.0f} | "
                         f"{r['s_per_ess'] * 1e3:.1f} | {r['process_wall_s']:.1f} | "
                         f"{r['load']:.2f} |")
    lines += ["", "*process wall s*: the whole worker process (interpreter, imports, data, and "
              "for ours and NumPyro both fits).", ""]
    return "\n".join(lines), ok


def machine() -> tuple[str, int, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                   if x.startswith("MemTotal"))
        ram = f"{mem / 2 ** 20:.1f} GiB"
    except (OSError, StopIteration):
        ram = "?"
    return cpu, os.cpu_count() or 0, ram


def commit() -> str:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--", "src")
    return head + (" (src modified)" if dirty else "")


COLD, WARM, OTHER = "ours, cold cache", "ours, warm cache", "ours, warm cache, other data"
HAND = "NumPyro by hand (reference)"
PYRO, PYRO_DEFAULT = "pyro, jit_compile=True", "pyro, jit_compile=False (default)"


def drive(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    saved: dict[str, Any] = {
        "date": datetime.now().isoformat(timespec="seconds"), "commit": commit(),
        "command": " ".join([sys.executable, *sys.argv]),
        "load_start": os.getloadavg()[0], "args": vars(args).copy()}
    saved["cpu"], saved["cores"], saved["ram"] = machine()
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in (COLD, WARM, OTHER, HAND, PYRO,
                                                              PYRO_DEFAULT)}
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-bayes-") as name:
        tmp = Path(name)
        make_data(tmp / "data.npz", args.rows)
        make_data(tmp / "other.npz", args.rows, DATA_SEED + 1)

        def step(label: str, r: int, cache: Path | None = None) -> None:
            kind = {COLD: "ours", WARM: "ours", OTHER: "ours", HAND: "numpyro"}.get(label, "pyro")
            python = args.peer_python if kind == "pyro" else args.ours_python
            fits = 1 if kind == "pyro" else 2
            seed = r + 100 * (COLD, WARM, OTHER, HAND, PYRO, PYRO_DEFAULT).index(label)
            env = {"XDG_CACHE_HOME": str(cache)} if cache else {}
            res = run_worker(kind, python, args, tmp, f"{kind}{r}-{seed}", seed, fits, env,
                             jit=label == PYRO, data="other.npz" if label == OTHER else "data.npz")
            runs[label].append(res)
            loads.append(res["load_before"])
            times = ", ".join(f"{f['total_s']:.1f} s" for f in res["fits"])
            print(f"round {r}: {label}: {times} (import {res['import_s']:.1f} s, load "
                  f"{res['load_before']:.2f})", flush=True)

        for r in range(args.rounds):
            cache = tmp / f"cache{r}"  # emptied for each round: the first process fills it
            cache.mkdir(mode=0o700)
            ours = [lambda r=r, c=cache, k=k: step(k, r, c) for k in (COLD, WARM, OTHER)]
            peers = [lambda r=r: step(HAND, r), lambda r=r: step(PYRO, r)]
            for one in (ours + peers if r % 2 == 0 else peers[::-1] + ours):
                one()
        for r in range(args.pyro_default_rounds):
            step(PYRO_DEFAULT, r)
    saved["runs"] = {k: v for k, v in runs.items() if v}
    saved["loads"] = loads
    saved["load_end"] = os.getloadavg()[0]
    saved["wall_s"] = time.perf_counter() - started
    saved["versions_ours"] = runs[COLD][0]["versions"]
    saved["versions_pyro"] = runs[PYRO][0]["versions"]
    if args.json:
        Path(args.json).write_text(json.dumps(saved))
    return finish(saved, args.out)


def finish(saved: dict[str, Any], out: str | None) -> int:
    text, ok = report(saved)
    print(text)
    if out:
        Path(out).write_text(keep_below(text, Path(out), KEEP), encoding="utf-8")
        print(f"wrote {out}")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds of ours (two processes) "
                    "and Pyro with jit_compile=True (one process), alternated")
    ap.add_argument("--pyro-default-rounds", type=int, default=1,
                    help="processes of Pyro with its default jit_compile=False (minutes each)")
    ap.add_argument("--rows", type=int, default=ROWS)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--chains", type=int, default=1)
    ap.add_argument("--ours-python", default=sys.executable)
    ap.add_argument("--peer-python", default=DEFAULT_PEER)
    ap.add_argument("--peer-threads", type=int, default=1,
                    help="PyTorch's threads for Pyro (0: its default, one per core)")
    ap.add_argument("--out", default=str(HERE / "RESULTS-bayes.md"))
    ap.add_argument("--json", help="save the raw results here")
    ap.add_argument("--from-json", help="write the report from saved raw results, run nothing")
    ap.add_argument("--quick", action="store_true", help="one round, no default Pyro, prints "
                    "only (unless --out is given)")
    # worker mode (internal)
    ap.add_argument("--worker", choices=tuple(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--fits", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--jit", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        res = WORKERS[args.worker](args)
        Path(args.result).write_text(json.dumps(res))
        return 0
    if args.from_json:
        return finish(json.loads(Path(args.from_json).read_text()), args.out)
    if args.quick:
        args.rounds, args.pyro_default_rounds = 1, 0
        if "--out" not in sys.argv:
            args.out = None
    return drive(args)


if __name__ == "__main__":
    sys.exit(main())
