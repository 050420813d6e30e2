"""Checks of what a user passes at the public API: counts and seeds (a clear QueryError naming
the argument instead of an overflow deep inside an engine), and names (a CausalTypeError saying
what was expected and what was given instead of a TypeError from deep inside)."""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from typing import Any

from causaldsl.core.errors import CausalTypeError, QueryError, shown

#: Seeds are 0 ≤ seed < SEEDS: the 32 bits of a JAX random key's seed.
SEEDS = 2**32


def check_seed(seed: Any) -> int:
    """``seed`` as an int, or a QueryError saying what a seed must be."""
    return check_count("the seed", seed, 0, SEEDS - 1)


#: The most samples (or NUTS draws, warm-up steps, chains) one query may ask for: the largest
#: array dimension XLA indexes with 32-bit integers.
MAX_COUNT = 2**31 - 1


def check_count(name: str, value: Any, least: int, most: int = MAX_COUNT) -> int:
    """``value`` as an int (or a NumPy integer; not a float, a string or a bool) from ``least``
    to ``most``, or a QueryError naming ``name``."""
    try:
        n = operator.index(value)
    except TypeError:
        raise QueryError(f"{name} must be an integer, not {value!r}") from None
    if isinstance(value, bool) or not least <= n <= most:
        raise QueryError(f"{name} must be an integer from {least} to {most}, got {value!r}")
    return n


#: The most entries one table may have, at load or as a plan's intermediate: 2^28 float64 =
#: 2 GiB. Sizes are checked against it before anything is allocated.
MAX_ENTRIES = 2**28


def entries_error(what: str, sizes: Sequence[int]) -> str | None:
    """Why a table with axes of these ``sizes`` may not be made (None when it may): its size
    and the limit, in entries and bytes of float64."""
    n = math.prod(sizes)
    if n <= MAX_ENTRIES:
        return None
    shape = " × ".join(f"{s:,}" for s in sizes)
    return (f"{what} needs a table of {shape} = {count(n)} entries ({_bytes(8 * n)}), above "
            f"the limit of {MAX_ENTRIES:,} entries ({_bytes(8 * MAX_ENTRIES)})")


def count(n: int) -> str:
    """A count as people read it: ``268,435,456``, or ``about 2.6 × 10^120`` past 10^15."""
    if n < 10**15:
        return f"{n:,}"
    digits = len(str(n)) - 1
    return f"about {n / 10**digits:.1f} × 10^{digits}" if digits < 300 else \
        f"about 10^{digits}"


def _bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            if unit == "bytes":
                return f"{n} bytes"
            return f"{n:.1f} {unit}" if n < 10**15 else f"{count(int(n))} {unit}"
        n = n // 1024 if n >= 10**15 else n / 1024  # type: ignore[assignment]
    raise AssertionError


def check_name(what: str, value: Any) -> str:
    """``value`` if it is a name (a str), else a CausalTypeError: ``what`` must be a name…"""
    if not isinstance(value, str):
        raise CausalTypeError(f"{what} must be a name (a str), got {shown(value)}")
    return value


def check_names(what: str, value: Any) -> tuple[str, ...]:
    """One name or an iterable of names as a tuple, else a CausalTypeError saying so."""
    if isinstance(value, str):
        return (value,)
    if value is None or isinstance(value, bytes) or not isinstance(value, Iterable):
        raise CausalTypeError(f"{what} is a name or a list of names, e.g. \"X\" or [\"X\", "
                              f"\"Z\"], got {shown(value)}")
    names = tuple(value)
    for n in names:
        if not isinstance(n, str):
            raise CausalTypeError(f"{what} is a name or a list of names (str), got "
                                  f"{shown(value)}, which holds {shown(n)}")
    return names


def available_memory() -> int:
    """Bytes of memory available to a new allocation: Linux's MemAvailable (free memory and
    the caches it can drop), else the free pages."""
    import os

    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
