"""The ``causal`` command in its own process, under a 4 GiB address-space cap and a time limit:
a regression that reads without limit or allocates a huge table fails fast rather than swapping,
and a hang fails the test instead of hanging the suite. The cap is set in the child (preexec_fn
would fork a process that runs JAX threads)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CAPPED = ("import resource, sys\n"
          "if hasattr(resource, 'RLIMIT_AS'):\n"
          "    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))\n"
          "from causaldsl.app.cli import main\n"
          "sys.exit(main(sys.argv[1:]))\n")


def causal(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``causal *args`` in ``cwd`` as a capped process; its exit code and output."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"),
                                                      os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", CAPPED, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
