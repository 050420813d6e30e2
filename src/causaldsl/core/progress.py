"""Progress bars on standard error (tqdm, the library NumPyro draws its own bars with): long
sampling, batches, bootstraps and fits say how far they are when asked (``progress=True``,
``--progress``), and print nothing otherwise. tqdm is imported on first use."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def bar(total: int, what: str, unit: str = "it", on: bool = True) -> Iterator[Callable[[int], None]]:
    """A bar of ``total`` steps named ``what`` on standard error, as ``advance(k)`` (k more
    steps done), closed on leaving; with ``on=False`` a no-op that prints nothing."""
    if not on:
        yield _nothing
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=what, unit=unit, file=sys.stderr, dynamic_ncols=True,
              leave=True) as shown:
        yield shown.update


def callback(total: int, what: str, unit: str = "it") -> tuple[Callable[[int, int], None], Any]:
    """``(done, total) → None`` drawing a tqdm bar on standard error (for code that reports
    its progress by calling back), and the bar (to close)."""
    from tqdm import tqdm

    shown = tqdm(total=total, desc=what, unit=unit, file=sys.stderr, dynamic_ncols=True)

    def report(done: int, of: int) -> None:
        shown.total = of
        shown.update(done - shown.n)
        if done >= of:
            shown.close()

    return report, shown


def announce(text: str) -> None:
    """A line on standard error saying what the silent part of long work is doing now (e.g.
    compiling, before a sampler's own bar appears)."""
    print(text, file=sys.stderr, flush=True)


def _nothing(k: int) -> None:
    """No bar: advancing it does nothing."""
