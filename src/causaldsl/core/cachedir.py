"""The user's private cache directory: ``$XDG_CACHE_HOME/causaldsl/<name>`` (``~/.cache`` when
``XDG_CACHE_HOME`` is not an absolute path), created with mode 0700 and handed out only when no
other user can write to it or swap it. What is cached there may be loaded as code (JAX's compiled
programs), and nothing is loaded from a place another user could write (issue 17)."""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

#: The folder under the user's cache directory.
APP = "causaldsl"


@dataclass(frozen=True)
class CacheDir:
    """A private cache directory (``path``), or None with the ``reason`` it was refused."""

    path: Path | None
    reason: str = ""


def cache_home(env: dict[str, str] | None = None) -> Path | None:
    """``$XDG_CACHE_HOME`` when it is an absolute path (the XDG rule: a relative one is ignored),
    else ``~/.cache``; None when the home directory is not known."""
    env = dict(os.environ) if env is None else env
    xdg = env.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg)
    home = env.get("HOME") or os.path.expanduser("~")
    return Path(home, ".cache") if os.path.isabs(home) else None


def private_cache_dir(name: str, home: Path | None = None, uid: int | None = None) -> CacheDir:
    """``<cache home>/causaldsl/<name>``, each of its two folders created with mode 0700 where
    missing, when it is safe to load from: both are real directories (not symbolic links) owned
    by ``uid`` (the current user) and not writable by group or others, and no directory above
    them can be written by another user (each is owned by ``uid`` or root and, when group or
    others may write to it, sticky, as ``/tmp`` is), so that nobody else can put a folder of
    theirs in its place. Otherwise ``path`` is None and ``reason`` says why; nothing raises."""
    if uid is None:
        if not hasattr(os, "getuid"):
            return CacheDir(None, "no user ids on this system to check the owner with")
        uid = os.getuid()
    base = cache_home() if home is None else home
    if base is None:
        return CacheDir(None, "the home directory is not known")
    try:
        base = Path(os.path.realpath(base))  # the directories themselves, not links to them
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        for above in (base, *base.parents):
            reason = _shared(above, uid)
            if reason:
                return CacheDir(None, reason)
        path = base
        for part in (APP, name):
            path = path / part
            with contextlib.suppress(FileExistsError):  # checked next, whoever made it
                path.mkdir(mode=0o700)
            reason = _not_private(path, uid)
            if reason:
                return CacheDir(None, reason)
    except OSError as e:
        return CacheDir(None, f"{e.filename or base}: {e.strerror or e}")
    return CacheDir(path)


def _not_private(path: Path, uid: int) -> str:
    """Why ``path`` is not a private directory of ``uid`` ("" when it is)."""
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link"
    if not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a directory"
    if st.st_uid != uid:
        return f"{path} is owned by user {st.st_uid}, not by {uid}"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{path} can be written by its group or by others (mode {stat.S_IMODE(st.st_mode):o})"
    return ""


def _shared(path: Path, uid: int) -> str:
    """Why another user could replace what is inside ``path`` ("" when nobody can): it is owned
    by someone other than ``uid`` and root, or group or others may write to it without the
    sticky bit (which keeps them from renaming or removing entries that are not theirs)."""
    st = path.stat()
    if st.st_uid not in (uid, 0):
        return f"{path} is owned by user {st.st_uid}, not by {uid} or root"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
        return (f"{path} can be written by its group or by others without the sticky bit "
                f"(mode {stat.S_IMODE(st.st_mode):o})")
    return ""
