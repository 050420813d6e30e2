"""What each part of NUTS's set-up for a model with parameters buys (issue 15), on the model
and data of ``bench_bayes_fit.py``: the potential's value and gradient row by row against the
reduced one (sufficient statistics for the Normal outcome, constant factors left out), and
fits with a diagonal against a dense mass matrix (seconds, leapfrog steps per draw, ESS of
E[Y | do(X = 1)], ms per ESS). Run from the repository root::

    .venv/bin/python bench/bench_bayes_parts.py --rounds 2

Each fit setting runs in fresh processes, alternated, each process fitting ``--fits`` times
(the first, which compiles, is left out); medians with min and max. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_bayes_fit as B  # noqa: E402


def frame(path: str):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    raw = np.load(path)
    df = pd.DataFrame({f"Z{i + 1}": raw["Z"][:, i] for i in range(B.K)})
    df["X"], df["Y"] = raw["X"], raw["Y"]
    return df


def gradient_worker(data: str, calls: int) -> dict:
    """µs per call of the jitted value and gradient of NUTS's potential, both forms."""
    import numpy as np
    from numpyro.infer.util import potential_energy

    import causaldsl
    from causaldsl.backends import jax64
    from causaldsl.bayes import parametric as P

    jax = jax64.jax()
    model = causaldsl.parse(B.TEXT).model
    out: dict[str, list[float]] = {"row by row": [], "reduced": []}
    grads = []
    for _ in range(3):
        for reduce, label in ((False, "row by row"), (True, "reduced")):
            joint, ev, priors, *_ = P._joint(model, frame(data), "error", reduce=reduce)
            init = P._compiled_potential(joint, ev, 1, jax.random.PRNGKey(0), list(priors))[1]
            vg = jax.jit(jax.value_and_grad(lambda u, d, j=joint: potential_energy(j, (d,), {}, u)))
            r = vg(init, ev)
            jax.block_until_ready(r)
            grads.append(r[1])
            t0 = time.perf_counter()
            for _ in range(calls):
                r = vg(init, ev)
            jax.block_until_ready(r)
            out[label].append((time.perf_counter() - t0) / calls * 1e6)
    diff = max(float(np.max(np.abs(np.asarray(grads[0][k]) - np.asarray(grads[1][k]))))
               for k in grads[0])
    return {"us": out, "grad_diff": diff}


def fit_worker(data: str, mass: str, fits: int) -> dict:
    import numpy as np
    import numpyro.infer
    from numpyro.diagnostics import effective_sample_size

    import causaldsl

    steps: list[float] = []
    run = numpyro.infer.MCMC.run

    def counting(self, *a, **k):  # type: ignore[no-untyped-def]
        k.setdefault("extra_fields", ("diverging", "num_steps"))
        res = run(self, *a, **k)
        steps.append(float(np.mean(np.asarray(self.get_extra_fields()["num_steps"]))))
        return res

    numpyro.infer.MCMC.run = counting
    df = frame(data)
    out = []
    for seed in range(fits):
        t0 = time.perf_counter()
        fitted = causaldsl.parse(B.TEXT).model.fit(df, "nuts", draws=1000, warmup=500,
                                                   chains=1, seed=seed, mass=mass)
        ey = np.asarray(fitted.query(B.QUERY).draws, dtype=float)
        s = time.perf_counter() - t0
        ess = float(effective_sample_size(ey[None]))
        out.append({"s": s, "ess": ess, "steps": steps[-1]})
    return {"fits": out[1:]}


def spawn(args: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        res = Path(f.name)
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(HERE.parent / "src"))
    subprocess.run([sys.executable, __file__, "--worker", *args, "--result", str(res)],
                   env=env, check=True)
    out = json.loads(res.read_text())
    res.unlink()
    return out


def med(xs: list[float], fmt: str) -> str:
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--fits", type=int, default=4)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--worker", nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        kind, data, *rest = args.worker
        res = gradient_worker(data, int(rest[0])) if kind == "gradient" else \
            fit_worker(data, rest[0], int(rest[1]))
        Path(args.result).write_text(json.dumps(res))
        return 0
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "data.npz")
        B.make_data(Path(data), B.ROWS)
        grad = spawn(["gradient", data, str(args.calls)])
        fits: dict[str, list[dict]] = {"diagonal": [], "dense": []}
        for r in range(args.rounds):
            for mass in (("diagonal", "dense") if r % 2 == 0 else ("dense", "diagonal")):
                loads.append(os.getloadavg()[0])
                fits[mass] += spawn(["fit", data, mass, str(args.fits)])["fits"]
    loads.append(os.getloadavg()[0])
    print(f"Load average (1 min) before each process and at the end: {med(loads, '{:.2f}')}; "
          f"{os.cpu_count()} cores. Command: `{' '.join(sys.argv)}`.\n")
    print("| potential (value and gradient, 10^4 rows) | µs per call |\n|---|---:|")
    for k, v in grad["us"].items():
        print(f"| {k} | {med(v, '{:.0f}')} |")
    print(f"\nLargest difference of the gradients: {grad['grad_diff']:.1e}.\n")
    print("| mass matrix | fits | fit + query s | leapfrog steps / draw | ESS | ms / ESS |\n"
          "|---|---:|---:|---:|---:|---:|")
    for mass, rows in fits.items():
        print(f"| {mass} | {len(rows)} | {med([x['s'] for x in rows], '{:.2f}')} | "
              f"{med([x['steps'] for x in rows], '{:.1f}')} | "
              f"{med([x['ess'] for x in rows], '{:.0f}')} | "
              f"{med([1000 * x['s'] / x['ess'] for x in rows], '{:.2f}')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
