"""The package's own functions, ``causaldsl.load`` and ``causaldsl.parse``: wrong arguments and
unreadable paths are the project's errors (CausalError subclasses) naming what was given; a
missing file or a folder is also the built-in error code that catches those expects."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

import causaldsl
from causaldsl import (
    CausalError,
    CausalTypeError,
    FolderError,
    MissingFileError,
    SourceFileError,
)


def test_load_of_a_missing_file(tmp_path: Path):
    path = tmp_path / "nowhere.causal"
    with pytest.raises(MissingFileError, match=f"^{path}: no such file$") as e:
        causaldsl.load(path)
    assert isinstance(e.value, CausalError) and isinstance(e.value, FileNotFoundError)
    assert e.value.filename == str(path) and e.value.errno == 2
    with pytest.raises(FileNotFoundError):  # what code written for the built-in catches
        causaldsl.load(str(path))
    again = pickle.loads(pickle.dumps(e.value))
    assert type(again) is MissingFileError and str(again) == str(e.value)


def test_load_of_a_folder(tmp_path: Path):
    with pytest.raises(FolderError, match=f"^{tmp_path}: is a folder, not a .causal file$") as e:
        causaldsl.load(tmp_path)
    assert isinstance(e.value, IsADirectoryError) and isinstance(e.value, SourceFileError)
    assert e.value.filename == str(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions")
def test_load_of_an_unreadable_file(tmp_path: Path):
    path = tmp_path / "secret.causal"
    path.write_text("model m { X : {a, b} ~ [0.5, 0.5] }\n")
    path.chmod(0)
    with pytest.raises(SourceFileError, match=f"^{path}: cannot read: Permission denied$") as e:
        causaldsl.load(path)
    assert isinstance(e.value, OSError) and e.value.filename == str(path)


@pytest.mark.parametrize("path, message", [
    (None, r"load takes the path of a .causal file \(a str or a Path\), got None; to read "
           r"source text use causaldsl.parse\(text\)"),
    (5, "got int 5"),
    (["a.causal"], r"got list \['a.causal'\]"),
])
def test_load_of_something_that_is_no_path(path, message):
    with pytest.raises(CausalTypeError, match=message):
        causaldsl.load(path)


def test_load_of_a_path_with_a_nul():
    with pytest.raises(SourceFileError, match="not a usable path: embedded null byte"):
        causaldsl.load("a\0b.causal")


@pytest.mark.parametrize("text, message", [
    (None, r"parse takes .causal source text \(a str\), got None; to read a file use "
           r"causaldsl.load\(path\)"),
    (5, "got int 5"),
    (b"model m {}", r"got bytes b'model m \{\}'; decode it first, text.decode\('utf-8'\)"),
    (Path("a.causal"), "got PosixPath|got WindowsPath"),
])
def test_parse_of_something_that_is_no_text(text, message):
    with pytest.raises(CausalTypeError, match=message):
        causaldsl.parse(text)


def test_load_and_parse_still_read_files_and_text(tmp_path: Path):
    text = "model m {\n  X : {a, b} ~ [0.5, 0.5]\n}\n"
    (tmp_path / "m.causal").write_text(text)
    assert causaldsl.load(tmp_path / "m.causal").models["m"] == causaldsl.parse(text).models["m"]
    assert causaldsl.load(str(tmp_path / "m.causal")).models["m"].observed == ("X",)
