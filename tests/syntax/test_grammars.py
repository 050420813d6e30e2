"""The parsers ship ready-made (syntax/parser_tables.py, read by lark's standalone runtime in
syntax/lark_standalone.py): current with grammar/*.lark and lark, the same as parsers built from
the grammars, loaded with no pickle and no import of lark; nothing is read from or written to a
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
from typing import Any

import lark
import pytest

from causaldsl.syntax import grammars, lark_standalone, parser_tables

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "smoking.causal"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_parser_tables",
                                                  REPO / "tools" / "gen_parser_tables.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_files_are_current() -> None:
    tool = _tool()
    assert tool.RUNTIME.read_text(encoding="utf-8") == tool.runtime_source(), \
        "src/causaldsl/syntax/lark_standalone.py is stale: run tools/gen_parser_tables.py"
    assert tool.TARGET.read_text(encoding="utf-8") == tool.source(), \
        "src/causaldsl/syntax/parser_tables.py is stale: run tools/gen_parser_tables.py"


def test_a_changed_grammar_makes_the_tables_stale(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    # the staleness check sees a grammar edit (here: one terminal more in query.lark)
    for p in grammars.grammar_path("causal.lark").parent.glob("*.lark"):
        (tmp_path / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    with (tmp_path / "query.lark").open("a", encoding="utf-8") as f:
        f.write('\nEXTRA: "~~~"\n%ignore EXTRA\n')
    monkeypatch.setattr(grammars, "grammar_path", lambda name: tmp_path / name)
    tool = _tool()
    assert tool.TARGET.read_text(encoding="utf-8") != tool.source()


@pytest.mark.parametrize(("name", "start", "positions"), grammars.SHIPPED)
def test_the_shipped_parser_is_the_built_one(name: str, start: str, positions: bool) -> None:
    tool = _tool()
    built = tool.build(name, start, positions)
    tables = parser_tables.TABLES[grammars.table_key(name, start, positions)]()
    assert tables == tool.serialize(built)
    loaded = grammars.parser(name, start, positions)

    def terminals(p: Any) -> list[tuple[str, str, str, list[str], int]]:
        return [(t.name, t.pattern.type, t.pattern.value, sorted(t.pattern.flags), t.priority)
                for t in p.terminals]

    assert terminals(loaded) == terminals(built)
    assert [r.origin.name for r in loaded.rules] == [r.origin.name for r in built.rules]
    if name == "causal.lark":
        for path in sorted((REPO / "examples").glob("*.causal")):
            text = path.read_text(encoding="utf-8")
            assert _shape(loaded.parse(text)) == _shape(built.parse(text)), path


def _shape(x: Any) -> Any:
    """A parse tree as plain data (the runtime's classes are not lark's): rule names, and
    each token's type, text and position."""
    if hasattr(x, "children"):
        return (str(x.data), [_shape(c) for c in x.children])
    return (x.type, str(x), x.line, x.column, x.end_line, x.end_column)


BROKEN = ["model m { X : {a, b} ~ [0.5 0.5] }", "model m { X : {a, b} ~ [0.5, $ 0.5] }",
          "type T = {a, b\nmodel m { X : T ~ [1, 0] }", "query P(C | do(S = yes)",
          "model m { latent : {a} ~ [1] }", "graph g { A -> -> B }", "model model { }",
          "observed P(X) in m = [0.5, 0.5", "box f : I -> ", "diagram d = f ; ; g"]


@pytest.mark.parametrize("text", BROKEN)
def test_a_syntax_error_is_the_runtime_s_own_and_says_what_lark_s_says(text: str) -> None:
    # the errors parse.py and query.py catch are the runtime's, with what lark's say: the
    # same place, the same token or character, the same expected sets (the contextual
    # lexer's states share scanners, so a lexer error's allowed set is checked too)
    with pytest.raises(lark_standalone.UnexpectedInput) as mine:
        grammars.parser("causal.lark").parse(text)
    with pytest.raises(lark.exceptions.UnexpectedInput) as theirs:
        _tool().build("causal.lark").parse(text)
    assert type(mine.value).__name__ == type(theirs.value).__name__
    for attr in ("line", "column", "pos_in_stream", "expected", "allowed", "char"):
        assert getattr(mine.value, attr, None) == getattr(theirs.value, attr, None), attr
    assert str(getattr(mine.value, "token", "")) == str(getattr(theirs.value, "token", ""))
    assert mine.value.interactive_parser.accepts() == theirs.value.interactive_parser.accepts()


def test_states_that_lex_the_same_terminals_share_a_scanner() -> None:
    lexers = grammars.parser("causal.lark").parser.lexer.lexers
    sets = {frozenset(t.name for t in lx.terminals) for lx in lexers.values()}
    assert len({id(lx) for lx in lexers.values()}) == len(sets) < len(lexers)


def test_no_module_of_the_package_imports_lark() -> None:
    # lark is a tool of tools/gen_parser_tables.py; the package parses with the runtime
    import ast

    for path in sorted((REPO / "src" / "causaldsl").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            assert not any(n == "lark" or n.startswith("lark.") for n in names), path


def test_loading_the_parsers_unpickles_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pickle was loaded")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    for name, start, positions in grammars.SHIPPED:
        assert grammars._load.__wrapped__(name, start, positions) is not None


def test_a_parser_that_does_not_ship_is_a_clear_error() -> None:
    with pytest.raises(LookupError, match=r"no parser ships for query\.lark:start:positions"):
        grammars.parser("query.lark", "start", True)


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


def test_a_parser_loads_once_however_it_is_asked_for() -> None:
    assert grammars.parser("query.lark", positions=False) is \
        grammars.parser("query.lark", "start", False)
    assert grammars.parser("causal.lark") is grammars.parser("causal.lark", "start", True)
