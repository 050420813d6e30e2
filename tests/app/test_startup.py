"""Start-up: building models, parsing queries and answering finite ones must not import JAX (the
CLI's check/identify rely on this, and a one-shot `causal query` costs a quarter of a second
without it); batches over tables load it, in float64."""

import subprocess
import sys

CODE = """
import sys
import causaldsl
from examples.smoking import smoking_model
m = smoking_model()
causaldsl.parse_query("P(C | do(S = yes), T = no)")
causaldsl.do(m, S="yes"); causaldsl.cut(m, "S"); m.graph()
assert "jax" not in sys.modules, "jax was imported before any query"
# a finite question is answered by NumPy, on its first call and from the shape's answer table
# after: a one-shot command never imports JAX
for q in ("P(C)", "P(C | do(S = yes))", "P(C | do(S = no))", "P(C = yes | T = no)"):
    m.query(q)
assert "jax" not in sys.modules, "jax was imported for a finite question"
m.query_batch("P(C | do(S))", {"S": ["yes", "no"]})  # batches over tables or large shapes vmap
m.query_batch("P(C = yes | do(S = yes))", tables={"T": [[[0.9, 0.1], [0.2, 0.8]]]})
assert "jax" in sys.modules
import jax
assert jax.config.jax_enable_x64, "JAX runs in float64 once the exact backend loads it"
"""


def test_building_and_parsing_do_not_import_jax():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", CODE], check=True, cwd=root)


ONE_SHOT = """
import sys
from causaldsl.app.cli import main
assert main(["query", "examples/smoking.causal", "P(C | do(S = yes))"]) == 0
assert main(["run", "examples/smoking.causal"]) == 0
# nor networkx: the junction tree imports it when it builds a tree, which these never do
assert "networkx" not in sys.modules, "networkx was imported by a one-shot question"
# a model answers itself: no identification, no Bayesian layer, no estimation
later = sorted(m for m in sys.modules if m.split(".")[:2] in (
    ["causaldsl", "analysis"], ["causaldsl", "bayes"], ["causaldsl", "estimation"]))
assert not later, later
# and no path search: the bucket tier plans in the model's order (opt_einsum costs 9 ms)
assert "opt_einsum" not in sys.modules, "opt_einsum was imported by a one-shot question"
# nor lark (20 ms): the shipped tables are read by its standalone runtime; nor what a one-shot
# exact question never uses: the junction tree, sampled results, JSON, JAX's cache folder
for name in ("lark", "causaldsl.backends.junction", "causaldsl.model.estimate", "json",
             "causaldsl.core.cachedir"):
    assert name not in sys.modules, f"{name} was imported by a one-shot question"
assert main(["run", "examples/frontdoor.causal"]) == 0
assert main(["posteriors", "examples/smoking.causal", "--given", "C = yes"]) == 0
assert "jax" not in sys.modules, sorted(k for k in sys.modules if k.startswith("jax"))[:5]
"""


def test_one_shot_commands_on_finite_models_do_not_import_jax():
    """`causal query` and `causal run` on finite models answer with NumPy (issue 16, item 3)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", ONE_SHOT], cwd=root, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-3000:]


BLAS = """
import os, sys
sys.argv[0] = {argv0!r}
import causaldsl
loaded = list(sys.modules)
assert loaded.index("causaldsl.core.startup") < loaded.index("numpy"), "NumPy loaded first"
print(os.environ.get("OPENBLAS_NUM_THREADS"))
"""


def _blas_threads(argv0: str, **env: str) -> str:
    import os
    from pathlib import Path

    from causaldsl.core.startup import BLAS_THREADS

    clean = {k: v for k, v in os.environ.items() if k not in BLAS_THREADS}
    done = subprocess.run([sys.executable, "-c", BLAS.format(argv0=argv0)], text=True,
                          capture_output=True, env={**clean, **env},
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_the_causal_command_starts_numpy_with_one_blas_thread():
    """OpenBLAS's idle pool cost `causal run examples/smoking.causal` 0.25 s of CPU instead of
    0.16 s (issue 16's one-shot target): the command asks for one thread before NumPy loads,
    unless the user chose a number; a library user's process keeps NumPy's default."""
    assert _blas_threads("/venv/bin/causal") == "1"
    assert _blas_threads("/venv/bin/causal", OMP_NUM_THREADS="4") == "None"
    assert _blas_threads("/venv/bin/causal", OPENBLAS_NUM_THREADS="3") == "3"
    assert _blas_threads("/usr/bin/python3") == "None"
    assert _blas_threads("/home/me/causal.py") == "None"


COLLECTOR = """
import contextlib, gc, io, sys
sys.argv[0] = {argv0!r}
import causaldsl.app.cli as cli
from causaldsl.lang import loader
held = [not gc.isenabled()]
load = loader.load
def watched(*args, **kwargs):
    held.append(not gc.isenabled())
    return load(*args, **kwargs)
loader.load = watched
with contextlib.redirect_stdout(io.StringIO()):
    assert cli.main({argv!r}) == {code}
print(*held, gc.isenabled(), gc.get_freeze_count() > 0)
"""


def _collector(argv0: str, argv: list[str], code: int = 0) -> str:
    from pathlib import Path

    done = subprocess.run([sys.executable, "-c", COLLECTOR.format(argv0=argv0, argv=argv,
                                                                  code=code)], text=True,
                          capture_output=True, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_the_causal_command_holds_the_collector_only_while_its_modules_load():
    """A full collection walked every loaded object again (about 10 ms of a one-shot command):
    the command holds the collector while it loads its modules and its file, then freezes what
    loaded and turns the collector back on, so the questions and a long command (a fit, the
    REPL) collect as usual; a library user's process is left alone. (Printed: held at start,
    held while the file loads, on at the end, anything frozen.)"""
    smoking = "examples/smoking.causal"
    assert _collector("/venv/bin/causal", ["check", smoking]) == "True True True True"
    assert _collector("/venv/bin/causal", ["check", "no-such.causal"], 1) == "True True True True"
    # a command that loads no file with ``_load`` (here: none at all) turns it on at once
    assert _collector("/venv/bin/causal", ["fmt", "--check", smoking]) == "True True True"
    assert _collector("/venv/bin/causal", ["--version"]) == "True True True"
    assert _collector("/usr/bin/python3", ["check", smoking]) == "False False True False"


ESTIMATE = """
import sys
import numpy as np
import pandas as pd
import causaldsl
from causaldsl.model.graph import ADMG
rng = np.random.default_rng(0)
z = rng.normal(size=500)
t = (rng.random(500) < 1 / (1 + np.exp(-z))).astype(int)
df = pd.DataFrame({"Z": z, "T": t, "Y": 2.0 * t + z + rng.normal(size=500)})
g = ADMG(["Z", "T", "Y"], [("Z", "T"), ("Z", "Y"), ("T", "Y")])
r = causaldsl.estimate(g, "E[Y | do(T = 1)] - E[Y | do(T = 0)]", df, method="aipw")
assert r.details["adjustment"] == ("Z",), r.details  # chosen by the graph
# the adjustment set is chosen and checked (d-separation) by our own reachability pass:
# importing networkx costs an estimate's first call 0.12-0.17 s
assert "networkx" not in sys.modules, "networkx was imported by an estimate"
"""


def test_an_estimate_chooses_its_adjustment_set_without_networkx():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", ESTIMATE], check=True, cwd=root)
