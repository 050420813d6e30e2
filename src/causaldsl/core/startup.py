"""What the ``causal`` command sets before NumPy loads (docs/exact.md, "One-shot commands")."""

from __future__ import annotations

import os
import sys

#: the variables by which a user chooses how many threads NumPy's BLAS starts
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "GOTO_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread(argv0: str, environ: dict[str, str] | None = None) -> bool:
    """Ask for one BLAS thread when this process is the ``causal`` command and the user chose no
    number: a command answers with small tables, and the thread pool OpenBLAS starts with NumPy
    spins idle, costing a one-shot command more CPU than its arithmetic. Library users keep
    NumPy's default. Returns whether it set the variable."""
    env = os.environ if environ is None else environ
    name = os.path.basename(argv0)
    if name not in ("causal", "causal.exe") or any(v in env for v in BLAS_THREADS):
        return False
    env["OPENBLAS_NUM_THREADS"] = "1"
    return True


one_blas_thread(sys.argv[0] if getattr(sys, "argv", None) else "")
