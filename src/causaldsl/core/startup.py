"""What the ``causal`` command sets before NumPy loads (docs/exact.md, "One-shot commands")."""

from __future__ import annotations

import gc
import os
import sys

#: the variables by which a user chooses how many threads NumPy's BLAS starts
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "GOTO_NUM_THREADS", "MKL_NUM_THREADS")


def is_command(argv0: str) -> bool:
    """Whether this process is the ``causal`` command (its entry script), not a library user's."""
    return os.path.basename(argv0) in ("causal", "causal.exe")


def one_blas_thread(argv0: str, environ: dict[str, str] | None = None) -> bool:
    """Ask for one BLAS thread when this process is the ``causal`` command and the user chose no
    number: a command answers with small tables, and the thread pool OpenBLAS starts with NumPy
    spins idle, costing a one-shot command more CPU than its arithmetic. Library users keep
    NumPy's default. Returns whether it set the variable."""
    env = os.environ if environ is None else environ
    if not is_command(argv0) or any(v in env for v in BLAS_THREADS):
        return False
    env["OPENBLAS_NUM_THREADS"] = "1"
    return True


def hold_collector(argv0: str) -> bool:
    """Hold the cyclic garbage collector while the ``causal`` command loads its modules and
    its file: the objects they make live as long as the command, yet each full collection
    walks them all again (about 10 ms of a one-shot command, more on a large file).
    ``resume_collector``, called by the command once its file is loaded (or first thing, for a
    command that loads none), turns it back on. Returns whether it held it."""
    if not is_command(argv0) or not gc.isenabled():
        return False
    gc.disable()
    global _held
    _held = True
    return True


def resume_collector() -> None:
    """Move what has loaded into the collector's permanent generation (``gc.freeze``: never
    walked again) and turn the collector back on, if ``hold_collector`` held it: the
    questions that follow, and a long command (a fit, the REPL), collect as usual."""
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()


_held = False
_argv0 = sys.argv[0] if getattr(sys, "argv", None) else ""
one_blas_thread(_argv0)
hold_collector(_argv0)
