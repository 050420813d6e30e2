"""Loading files with imports: a chain of thousands of files loads without recursion per
import (issue 17), and errors, cycles and files imported twice are reported as a recursive
load reported them: at the import statement, in the file that has it."""

from __future__ import annotations

from pathlib import Path

import pytest

from causaldsl.lang.loader import Loader, load
from causaldsl.syntax.diagnostics import SourceError


def files(folder: Path, **texts: str) -> None:
    for name, text in texts.items():
        (folder / f"{name}.causal").write_text(text, encoding="utf-8")


def errors(path: Path, loader: Loader | None = None) -> list[str]:
    with pytest.raises(SourceError) as err:
        (loader or Loader()).load(path)
    return [f"{Path(d.file).name}:{d.span}: {d.message}" for d in err.value.diagnostics]


def test_a_chain_of_1500_imports(tmp_path, within):
    n = 1500
    for i in range(n):
        head = f'import "f{i + 1}.causal"\n' if i + 1 < n else ""
        files(tmp_path, **{f"f{i}": f"{head}type T{i} = {{a, b}}\n"})
    with within(60):
        prog = load(tmp_path / "f0.causal")
    assert len(prog.types) == n and prog.origins["T1499"] == str(tmp_path / "f1499.causal")


def test_cycles_are_reported_where_a_recursive_load_reported_them(tmp_path):
    files(tmp_path, c0='type C0 = {x}\nimport "c1.causal"\n', c1='import "c2.causal"\n',
          c2='import "c0.causal"\nimport "c3.causal"\ntype C2 = {x}\n', c3="type C3 = {x}\n")
    assert errors(tmp_path / "c0.causal") == [
        "c2.causal:1:1: cannot import 'c0.causal': import cycle: c0.causal → c1.causal → "
        "c2.causal → c0.causal"]
    assert errors(tmp_path / "c2.causal") == [
        "c1.causal:1:1: cannot import 'c2.causal': import cycle: c2.causal → c0.causal → "
        "c1.causal → c2.causal"]
    files(tmp_path, s='import "s.causal"\n')
    assert errors(tmp_path / "s.causal") == [
        "s.causal:1:1: cannot import 's.causal': import cycle: s.causal → s.causal"]


def test_a_failing_file_is_reported_at_each_import_of_it(tmp_path):
    files(tmp_path, f0='import "f1.causal"\nimport "f2.causal"\nimport "./f2.causal"\n',
          f1='import "f2.causal"\nimport "missing.causal"\n', f2="type F = {x, x}\n")
    assert errors(tmp_path / "f0.causal") == [
        "f1.causal:2:1: cannot import 'missing.causal': no such file",
        "f2.causal:1:10: value x is listed twice in this type",
        "f2.causal:1:10: value x is listed twice in this type",
        "f2.causal:1:10: value x is listed twice in this type",
    ]


def test_a_file_imported_along_two_paths_is_loaded_once(tmp_path):
    files(tmp_path, d0='import "d1.causal"\nimport "d2.causal"\ntype D0 = {x}\n',
          d1='import "d3.causal"\ntype D1 = {x}\n', d2='import "d3.causal"\ntype D2 = {x}\n',
          d3="type D3 = {x}\nmodel m { X : D3 ~ [1] }\n")
    loader = Loader()
    prog = loader.load(tmp_path / "d0.causal")
    assert sorted(prog.types) == ["D0", "D1", "D2", "D3"] and list(prog.models) == ["m"]
    assert prog.models["m"] is loader.loaded[(tmp_path / "d3.causal").resolve()].models["m"]


def test_a_loader_reads_a_fixed_file_again(tmp_path):
    """What failed in one load is not remembered by the next (the REPL's :load reuses a
    loader): a file fixed in between loads."""
    files(tmp_path, a='import "b.causal"\n', b="type B = {x, x}\n")
    loader = Loader()
    assert errors(tmp_path / "a.causal", loader) == [
        "b.causal:1:10: value x is listed twice in this type"]
    files(tmp_path, b="type B = {x, y}\n")
    assert list(loader.load(tmp_path / "a.causal").types) == ["B"]
