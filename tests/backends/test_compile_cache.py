"""The persistent compilation cache (issue 16, item 4): compiled samplers are kept in the user's
private cache directory and loaded by later processes, and the directory is used only when no
other user could write to it (issue 17: nothing is loaded from where another user could write).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from causaldsl.backends.jax64 import CACHE_ENV, cache_wanted
from causaldsl.core.cachedir import cache_home, private_cache_dir

ROOT = Path(__file__).resolve().parents[2]
ME = os.getuid() if hasattr(os, "getuid") else -1
pytestmark = pytest.mark.skipif(ME < 0, reason="no user ids to check the owner with")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_directory_is_made_private(tmp_path):
    home = tmp_path / "cache"
    got = private_cache_dir("jax", home=home)
    assert got.path == home / "causaldsl" / "jax" and got.reason == ""
    assert mode(home / "causaldsl") == mode(home / "causaldsl" / "jax") == 0o700
    again = private_cache_dir("jax", home=home)     # an existing private directory is kept
    assert again.path == got.path
    (home / "causaldsl" / "jax").chmod(0o755)      # readable by others, writable by no one else
    assert private_cache_dir("jax", home=home).path == got.path


@pytest.mark.parametrize("which", ["causaldsl", "causaldsl/jax"])
def test_a_symbolic_link_is_refused(tmp_path, which):
    home = tmp_path / "cache"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (home / which).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / which).symlink_to(elsewhere)
    got = private_cache_dir("jax", home=home)
    assert got.path is None and got.reason == f"{home / which} is a symbolic link"


@pytest.mark.parametrize("bits", [0o770, 0o730, 0o707, 0o702, 0o777])
def test_a_directory_writable_by_group_or_others_is_refused(tmp_path, bits):
    home = tmp_path / "cache"
    jax_dir = home / "causaldsl" / "jax"
    jax_dir.mkdir(mode=0o700, parents=True)
    jax_dir.chmod(bits)
    got = private_cache_dir("jax", home=home)
    assert got.path is None and "can be written by its group or by others" in got.reason
    (home / "causaldsl").chmod(bits)
    jax_dir.chmod(0o700)
    assert private_cache_dir("jax", home=home).path is None


def test_a_directory_owned_by_another_user_is_refused(tmp_path):
    home = tmp_path / "cache"
    assert private_cache_dir("jax", home=home).path is not None
    got = private_cache_dir("jax", home=home, uid=ME + 1)   # as another user sees it
    assert got.path is None and got.reason.endswith(f"is owned by user {ME}, not by {ME + 1}")
    if ME == 0:  # root can give the directory away for real
        os.chown(home / "causaldsl" / "jax", 4242, -1)
        got = private_cache_dir("jax", home=home)
        assert got.path is None and "is owned by user 4242, not by 0" in got.reason


def test_a_file_in_its_place_is_refused(tmp_path):
    home = tmp_path / "cache"
    (home / "causaldsl").mkdir(mode=0o700, parents=True)
    (home / "causaldsl" / "jax").write_text("not a directory")
    got = private_cache_dir("jax", home=home)
    assert got.path is None and got.reason.endswith("is not a directory")


def test_a_directory_above_that_others_can_write_needs_the_sticky_bit(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)   # anyone could rename causaldsl/ and put a folder of theirs there
    got = private_cache_dir("jax", home=shared / "cache")
    assert got.path is None and got.reason.startswith(f"{shared} can be written by")
    shared.chmod(0o1777)  # as /tmp: only the owner of an entry may rename or remove it
    assert private_cache_dir("jax", home=shared / "cache").path == (
        shared / "cache" / "causaldsl" / "jax")


def test_a_home_that_cannot_be_made_is_no_error(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    got = private_cache_dir("jax", home=blocked / "cache")
    assert got.path is None and got.reason


def test_the_cache_home_follows_xdg_and_ignores_a_relative_one():
    assert cache_home({"XDG_CACHE_HOME": "/x/cache", "HOME": "/h"}) == Path("/x/cache")
    assert cache_home({"XDG_CACHE_HOME": "x/cache", "HOME": "/h"}) == Path("/h/.cache")
    assert cache_home({"XDG_CACHE_HOME": "", "HOME": "/h"}) == Path("/h/.cache")
    assert cache_home({"HOME": "/h"}) == Path("/h/.cache")


def test_the_environment_variable_turns_it_off():
    assert cache_wanted({}) and cache_wanted({CACHE_ENV: "1"})
    for off in ("0", "off", "OFF", "no", "false", " 0 "):
        assert not cache_wanted({CACHE_ENV: off})


#: A fresh process: answers a sampled query and says where JAX keeps compiled programs, whether
#: the sampler came from the persistent cache, and what was compiled.
CHILD = """
import json, sys
import causaldsl
from tests.backends.compiles import compiled
m = causaldsl.parse("model m { X : Real ~ Normal(0, 1)\\n Y : Real := exp(X) }").models["m"]
hits = []
import jax
jax.monitoring.register_event_listener(
    lambda event, **kw: hits.append(event) if event.endswith("/cache_hits") else None)
with compiled() as names:
    y = m.query("E[Y]", samples=200, seed=1)
print(json.dumps({"dir": jax.config.jax_compilation_cache_dir, "hits": len(hits),
                  "compiled": names, "value": float(y)}))
"""


def child(env: dict[str, str]) -> dict:
    full = {k: v for k, v in os.environ.items()
            if k not in (CACHE_ENV, "XDG_CACHE_HOME", "JAX_COMPILATION_CACHE_DIR")}
    full.update(env, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=full,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.glob("*-cache")) if path.is_dir() else []


def test_a_new_process_loads_the_compiled_sampler(tmp_path):
    xdg = tmp_path / "xdg"
    where = xdg / "causaldsl" / "jax"
    first = child({"XDG_CACHE_HOME": str(xdg)})
    assert first["dir"] == str(where) and first["hits"] == 0
    assert first["compiled"] == ["jit(packed)"] and entries(where)
    assert mode(where) == 0o700
    second = child({"XDG_CACHE_HOME": str(xdg)})
    assert second["compiled"] == ["jit(packed)"] and second["hits"] == 1   # loaded, not built
    assert second["value"] == first["value"]


def test_no_cache_when_turned_off_or_not_private(tmp_path):
    xdg = tmp_path / "xdg"
    off = child({"XDG_CACHE_HOME": str(xdg), CACHE_ENV: "0"})
    assert off["dir"] is None and not xdg.exists()
    where = xdg / "causaldsl" / "jax"
    where.mkdir(parents=True)
    where.chmod(0o777)
    shared = child({"XDG_CACHE_HOME": str(xdg)})
    assert shared["dir"] is None and entries(where) == []
    assert shared["value"] == off["value"]
    mine = tmp_path / "mine"   # a directory the user gave JAX is left as it is
    users = child({"XDG_CACHE_HOME": str(xdg), "JAX_COMPILATION_CACHE_DIR": str(mine)})
    assert users["dir"] == str(mine) and entries(where) == []
