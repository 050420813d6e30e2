"""The files the language reads and ``causal fmt`` rewrites.

Only regular files are read: a FIFO would block until someone writes to it and a device such as
``/dev/zero`` never ends, so both are refused, as is a loop of symbolic links; each refusal is an
``OSError`` whose text (``why``) says what the path is. A rewrite keeps the file what it was
(its mode, owner and hard links), refuses a read-only file, and refuses when the file changed
after it was read, so that no edit saved meanwhile is lost."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
from pathlib import Path
from typing import IO

from causaldsl.core.errors import CausalError

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


def write_regular(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to a file, made or replaced; a path that names a folder, a FIFO or a
    device is refused (an OSError, as ``open_regular`` refuses them) before anything is written."""
    with contextlib.suppress(FileNotFoundError):
        _refuse(path, os.stat(path).st_mode)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NONBLOCK", 0)
                 | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0), 0o666)
    try:
        _refuse(path, os.fstat(fd).st_mode)  # it could have been swapped since the stat
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        os.ftruncate(fd, 0)
        with os.fdopen(fd, "wb") as out:
            fd = -1
            out.write(data)
    finally:
        if fd >= 0:
            os.close(fd)


def rewrite(path: Path, before: bytes, text: str, shown: str) -> None:
    """Replace the file ``path`` (read as ``before``) by ``text`` (UTF-8), keeping what it is.

    A symbolic link stays a link: the file it names is rewritten. A read-only file is refused;
    so is a file whose bytes are no longer ``before`` (an edit saved meanwhile would be lost).
    The new text goes to a temporary file in the same folder that then replaces the file in one
    step, with the file's mode and owner; where that would break hard links (the file has
    several names) or could not keep the owner, the file is written in place instead. A
    CausalError says what was refused; an OSError, what failed."""
    real = resolve(path)
    st = os.stat(real)
    _refuse(real, st.st_mode)
    if not st.st_mode & 0o222 or not os.access(real, os.W_OK):  # root may write any file
        raise CausalError(f"{shown}: the file is read-only; not rewritten (make it writable "
                          f"to format it)")
    import tempfile

    data = text.encode("utf-8")
    if st.st_nlink > 1 or not _can_own(st):
        _write_in_place(real, before, data, shown)
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    except OSError as e:
        raise CausalError(f"{shown}: cannot write: {why(e)} (a temporary file cannot be made "
                          f"in {real.parent})") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))  # mkstemp makes 0600
        made = os.stat(tmp)
        if (made.st_uid, made.st_gid) != (st.st_uid, st.st_gid):
            os.chown(tmp, st.st_uid, st.st_gid)
        _unchanged(real, before, shown)
        os.replace(tmp, real)  # atomic: the file is either old or new, never half
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _can_own(st: os.stat_result) -> bool:
    """Whether a new file of ours can have the owner and group of ``st`` (chown: root may give
    any; others keep their own user and may choose among their groups)."""
    if not hasattr(os, "chown") or not hasattr(os, "geteuid"):
        return True  # no owners to keep (Windows)
    if os.geteuid() == 0:
        return True
    return st.st_uid == os.geteuid() and (st.st_gid == os.getegid()
                                           or st.st_gid in os.getgroups())


def _unchanged(real: Path, before: bytes, shown: str) -> None:
    if read_regular(real) != before:
        raise CausalError(f"{shown}: the file changed while it was being formatted; not "
                          f"rewritten (run causal fmt again)")


def _write_in_place(real: Path, before: bytes, data: bytes, shown: str) -> None:
    """Write ``data`` into the file itself (it keeps its inode: hard links, owner, mode),
    checking through the same open file that it still holds ``before``."""
    fd = os.open(real, os.O_RDWR | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "r+b") as f:
        _refuse(real, os.fstat(f.fileno()).st_mode)
        if f.read() != before:
            raise CausalError(f"{shown}: the file changed while it was being formatted; not "
                              f"rewritten (run causal fmt again)")
        f.seek(0)
        f.write(data)
        f.truncate()
        f.flush()
        os.fsync(f.fileno())
