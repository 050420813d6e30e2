"""Start-up: building models and parsing queries must not import JAX (the CLI's check/identify
rely on this); only answering a query loads the exact backend."""

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
m.query("P(C)")
assert "jax" in sys.modules
"""


def test_building_and_parsing_do_not_import_jax():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", CODE], check=True, cwd=root)
