"""Posterior queries and the bootstrap's replicates are shared out among devices where there
are several (two CPU devices forced here), with the answers of one device: a draw dropped or duplicated by the
padding, or a shard answered with another's draws, would change them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CODE = """
import json, sys
import numpy as np, pandas as pd
import causaldsl
import jax
rng = np.random.default_rng(0)
x = rng.normal(size=60)
df = pd.DataFrame({"X": x, "Y": 1 + 2 * x + rng.normal(size=60)})
lin = causaldsl.parse('''model lin {
  param b0 ~ Normal(0, 10)
  param b1 ~ Normal(0, 10)
  X : Real ~ Normal(0, 1)
  Y : Real ~ Normal(b0 + b1 * X, 1)
}''').models["lin"]
par = lin.fit(df, draws=101, warmup=100, chains=1).query("E[X | Y = 2]")
tab = causaldsl.load("examples/smoking_bayes.causal")
fitted = tab.models["smoking_bayes"].fit("examples/smoking_data.csv", "mle", bootstrap=31,
                                          steps=200)
t = fitted.query("P(C = yes | do(S = yes))")
z = rng.normal(size=300)
tr = (rng.random(300) < 1 / (1 + np.exp(-z))).astype(int)
frame = pd.DataFrame({"Z": z, "T": tr, "Y": 1 + tr + z + rng.normal(size=300)})
from causaldsl.model.graph import ADMG
g = ADMG(["Z", "T", "Y"], [("Z", "T"), ("Z", "Y"), ("T", "Y")])
boot = causaldsl.estimate(g, "E[Y | do(T = 1)] - E[Y | do(T = 0)]", frame, method="aipw",
                          bootstrap=45, seed=2)
print(json.dumps({"devices": len(jax.devices()), "par": par.draws.tolist(),
                  "tab": t.draws.tolist(), "boot": [boot.se, *boot.ci]}))
"""


def run(devices: int) -> dict:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    done = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_two_devices_give_the_answers_of_one():
    one, two = run(1), run(2)
    assert one["devices"] == 1 and two["devices"] == 2
    assert len(two["par"]) == 101 and len(two["tab"]) == 31  # odd: the padding is cut off
    import numpy as np

    np.testing.assert_allclose(two["par"], one["par"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(two["tab"], one["tab"], rtol=0, atol=1e-9)
    # the bootstrap's chunks (weights (n, chunk)) are split by their replicates' axis
    np.testing.assert_allclose(two["boot"], one["boot"], rtol=0, atol=1e-12)
