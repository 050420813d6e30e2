"""The tables path's NUTS takes the data as an argument of its compiled sampler: a new process
fitting other rows with as many distinct rows loads every program from JAX's persistent cache
(counted, not timed), yet finds the other data's posterior."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: A hidden H behind two observed tables (so no closed form: NUTS), fitted to 300 rows drawn
#: with the seed given: every one of the four (A, B) patterns is present, whatever the seed.
CHILD = """
import json, sys
import numpy as np, pandas as pd
from causaldsl import ModelBuilder
from tests.backends.compiles import compiled
import jax
hits = []
jax.monitoring.register_event_listener(
    lambda event, **kw: hits.append(event) if event.endswith("/cache_hits") else None)
rng = np.random.default_rng(int(sys.argv[1]))
h = rng.random(300) < 0.5
a = np.where(rng.random(300) < np.where(h, 0.8, 0.3), "yes", "no")
b = np.where(rng.random(300) < np.where(h, 0.7, 0.2), "yes", "no")
m = ModelBuilder("hab")
m.latent("H", ["no", "yes"], [0.5, 0.5])
m.observed("A", ["no", "yes"], given="H", unknown=True)
m.observed("B", ["no", "yes"], given="H", unknown=True)
with compiled() as names:
    fitted = m.build().fit(pd.DataFrame({"A": a, "B": b}), "nuts", draws=50, warmup=50,
                           chains=1, seed=4)
print(json.dumps({"compiled": names, "hits": len(hits),
                  "a": float(np.mean(fitted.draws["A"][:, :, 1]))}))
"""


@pytest.mark.slow
def test_a_new_data_set_with_as_many_patterns_loads_the_compiled_sampler(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items()
           if k not in ("CAUSALDSL_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "xdg"),
               PYTHONPATH=os.pathsep.join([str(root / "src"), str(root)]))

    def fit(seed: int) -> dict:
        done = subprocess.run([sys.executable, "-c", CHILD, str(seed)], cwd=root, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.splitlines()[-1])

    first, second = fit(1), fit(2)
    assert any("nuts_chain" in n for n in second["compiled"])  # the sampler, loaded …
    assert second["hits"] == len(second["compiled"]), second     # … like every program
    assert first["a"] != second["a"]
