"""The files the language reads.

Only regular files are read: a FIFO would block until someone writes to it and a device such as
``/dev/zero`` never ends, so both are refused, as is a loop of symbolic links; each refusal is an
``OSError`` whose text (``why``) says what the path is."""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path
from typing import IO

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class NotRegularFileError(OSError):
    """A path that names a FIFO, a device or a socket: reading it could block or never end."""

    def __init__(self, path: str | os.PathLike[str], what: str) -> None:
        super().__init__(errno.EINVAL, f"it is {what}, not a regular file", os.fspath(path))

    def __str__(self) -> str:
        return str(self.strerror)


class SymlinkLoopError(OSError):
    """A path whose symbolic links lead back to themselves."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(errno.ELOOP, "it is a loop of symbolic links", os.fspath(path))

    def __str__(self) -> str:
        return str(self.strerror)


def why(e: OSError) -> str:
    """What went wrong with a file, said as a message says it (no errno, no repeated path)."""
    if isinstance(e, NotRegularFileError | SymlinkLoopError):
        return str(e)
    if isinstance(e, FileNotFoundError):
        return "no such file"
    if isinstance(e, IsADirectoryError):
        return "it is a folder, not a file"
    if e.errno == errno.ELOOP:
        return "it is a loop of symbolic links"
    if isinstance(e, PermissionError):
        return "permission denied"
    return e.strerror.lower() if e.strerror else str(e)


def resolve(path: str | os.PathLike[str]) -> Path:
    """``Path(path).resolve()``, with a loop of symbolic links an OSError on every Python
    (3.11 and 3.12 raise RuntimeError)."""
    try:
        return Path(path).resolve()
    except RuntimeError:
        raise SymlinkLoopError(path) from None


def _refuse(path: str | os.PathLike[str], mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", os.fspath(path))
    if not stat.S_ISREG(mode):
        what = next((name for test, name in _KINDS if test(mode)), "a special file")
        raise NotRegularFileError(path, what)


def open_regular(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a regular file to read (binary); anything else is refused before it is read, and a
    FIFO without ever blocking: it is opened non-blocking and checked once open."""
    try:
        _refuse(path, os.stat(path).st_mode)
    except RuntimeError:  # pragma: no cover - os.stat raises OSError (ELOOP) for loops
        raise SymlinkLoopError(path) from None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
                 | getattr(os, "O_BINARY", 0))
    try:
        _refuse(path, os.fstat(fd).st_mode)  # it could have been swapped since the stat
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file (see ``open_regular``)."""
    with open_regular(path) as f:
        return f.read()


def open_regular_text(path: str | os.PathLike[str], encoding: str = "utf-8",
                      newline: str | None = None) -> IO[str]:
    """A regular file opened to read as text (``open``'s ``encoding`` and ``newline``)."""
    return io.TextIOWrapper(open_regular(path), encoding=encoding, newline=newline)
