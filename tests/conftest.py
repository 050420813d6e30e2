import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so tests can import examples/ and bench/


@contextlib.contextmanager
def _within(seconds: float) -> Iterator[None]:
    """Fail, rather than hang, when the body runs longer than ``seconds`` (a SIGALRM timer:
    the main thread only, where pytest and its xdist workers run tests; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def within():  # type: ignore[no-untyped-def]
    """``with within(30): ...`` fails the test if the body takes longer than 30 seconds."""
    return _within
