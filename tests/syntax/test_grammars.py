"""The parsers ship ready-made (syntax/parser_tables.py): current with grammar/*.lark, the same as
parsers built from the grammars, and loaded with no pickle; nothing is read from or written to a
cache folder, whatever is planted there (issue 17, item 3)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import lark
import pytest

from causaldsl.syntax import grammars

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "smoking.causal"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_parser_tables",
                                                  REPO / "tools" / "gen_parser_tables.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_tables_are_current() -> None:
    tool = _tool()
    assert tool.TARGET.read_text(encoding="utf-8") == tool.source(), \
        "src/causaldsl/syntax/parser_tables.py is stale: run tools/gen_parser_tables.py"


@pytest.mark.parametrize(("name", "start", "positions"), grammars.SHIPPED)
def test_the_shipped_parser_is_the_built_one(name: str, start: str, positions: bool) -> None:
    loaded = grammars.shipped(name, start, positions)
    assert loaded is not None, "the shipped tables are not used: regenerate them"
    built = grammars.build(name, start, positions)
    assert grammars.serialize(loaded) == grammars.serialize(built)

    def terminals(p: lark.Lark) -> list[tuple[str, str, str, list[str], int]]:
        return [(t.name, t.pattern.type, t.pattern.value, sorted(t.pattern.flags), t.priority)
                for t in p.terminals]

    assert terminals(loaded) == terminals(built)
    if name == "causal.lark":
        for path in sorted((REPO / "examples").glob("*.causal")):
            text = path.read_text(encoding="utf-8")
            assert loaded.parse(text) == built.parse(text), path


def test_stale_tables_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from causaldsl.syntax import parser_tables

    key = grammars.table_key(*grammars.SHIPPED[0])
    monkeypatch.setitem(parser_tables.DIGESTS, key, "0" * 64)
    assert grammars.shipped(*grammars.SHIPPED[0]) is None
    monkeypatch.undo()
    monkeypatch.setattr(parser_tables, "LARK_VERSION", "0.0.0")
    assert grammars.shipped(*grammars.SHIPPED[0]) is None


def test_loading_the_parsers_unpickles_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pickle was loaded")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    for name, start, positions in grammars.SHIPPED:
        assert grammars.shipped(name, start, positions) is not None


class _Plant:
    """A pickle that, when loaded, creates the file ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _old_cache_paths(cache_home: Path) -> list[Path]:
    """Where causaldsl 0.1.0 kept lark's pickled parsers (``grammars._cache_file`` as it was)."""
    out = []
    folder = grammars.grammar_path("causal.lark").parent
    texts = [p.read_text() for p in sorted(folder.glob("*.lark"))]
    for name, start, positions in grammars.SHIPPED:
        options = dict(parser="lalr", start=start, propagate_positions=positions,
                       import_paths=[folder], maybe_placeholders=False)
        key = hashlib.sha256("\0".join([(folder / name).read_text(),
                                        repr(sorted(options.items(), key=str)),
                                        lark.__version__, *texts]).encode()).hexdigest()[:16]
        out.append(cache_home / "causaldsl" / f"{name}-{key}.cache")
    return out


def _causal(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "HOME")}
    environ["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), environ.get("PYTHONPATH", "")])
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "causaldsl.app.cli", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=60)


def test_a_pickle_planted_at_the_old_cache_path_is_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    home, cache = tmp_path / "home", tmp_path / "cache"
    planted = _old_cache_paths(cache) + _old_cache_paths(home / ".cache")
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        # lark read the first line (a hash), then unpickled before comparing it
        path.write_bytes(b"0" * 64 + b"\n" + pickle.dumps(_Plant(marker)) * 2)
    before = {p: p.read_bytes() for p in planted}
    for env in ({"HOME": str(home), "XDG_CACHE_HOME": str(cache)}, {"HOME": str(home)}):
        out = _causal(["run", str(EXAMPLE)], tmp_path, **env)
        assert out.returncode == 0, out.stderr
        assert "P(C | do(S = yes))" in out.stdout
        assert not marker.exists(), "the planted pickle was run"
    assert {p: p.read_bytes() for p in planted} == before
    assert sorted(p.name for p in (cache / "causaldsl").iterdir()) == sorted(
        p.name for p in planted if p.is_relative_to(cache))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_special_files_and_links_in_the_cache_folder_are_left_alone(tmp_path: Path) -> None:
    home, cache = tmp_path / "home", tmp_path / "cache"
    fifos = _old_cache_paths(cache)
    fifos[0].parent.mkdir(parents=True)
    for path in fifos:
        os.mkfifo(path)  # a FIFO hung every command: opening it waits for a writer
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    links = _old_cache_paths(home / ".cache")
    links[0].parent.mkdir(parents=True)
    for path in links:
        path.symlink_to(target)  # the cache was written through the link
    out = _causal(["check", str(EXAMPLE)], tmp_path, HOME=str(home), XDG_CACHE_HOME=str(cache))
    assert out.returncode == 0, out.stderr
    out = _causal(["check", str(EXAMPLE)], tmp_path, HOME=str(home))
    assert out.returncode == 0, out.stderr
    assert target.read_text() == "keep me\n"


def test_a_relative_cache_folder_writes_nothing_into_the_working_folder(tmp_path: Path) -> None:
    out = _causal(["check", str(EXAMPLE)], tmp_path, HOME=str(tmp_path / "home"),
                  XDG_CACHE_HOME="relative-cache")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
