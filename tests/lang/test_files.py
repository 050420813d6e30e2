"""Files the language reads: only regular files (a FIFO blocked every command, /dev/zero was read
until memory ran out) and no loop of symbolic links (a RuntimeError traceback); each refusal
names the path, and the command line exits 1 with no traceback (issue 17, items 5 and 7)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from causaldsl.lang import files
from causaldsl.lang.loader import load
from tests.capped import causal

REPO = Path(__file__).resolve().parents[2]
MODEL = "type YN = {no, yes}\nmodel m {\n  S : YN ~ [0.5, 0.5]\n}\nquery P(S)\n"
GRAPH = ('type YN = {no, yes}\ngraph g {\n  S : YN\n  T : YN\n  S -> T\n}\n'
         'observed P(S, T) in g from "{csv}"\nquery P(T | do(S = yes))\n')

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
needs_dev = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")


def refused(out: subprocess.CompletedProcess[str], *parts: str) -> str:
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr, out.stderr
    for part in parts:
        assert part in out.stderr, (part, out.stderr)
    return out.stderr


# -- the functions ------------------------------------------------------------------------------


@needs_fifo
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "f.causal"
    os.mkfifo(fifo)
    with pytest.raises(files.NotRegularFileError) as e:
        files.read_regular(fifo)  # it would wait for a writer forever
    assert files.why(e.value) == "it is a FIFO (named pipe), not a regular file"
    assert e.value.filename == str(fifo)
    with pytest.raises(files.NotRegularFileError):
        files.open_regular_text(fifo)


@needs_dev
def test_a_device_is_refused_before_it_is_read() -> None:
    for dev in ("/dev/zero", "/dev/urandom", "/dev/null"):
        with pytest.raises(files.NotRegularFileError) as e:
            files.read_regular(dev)
        assert str(e.value) == "it is a character device, not a regular file"


def test_a_loop_of_symbolic_links_is_an_oserror(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    for call in (files.resolve, files.read_regular):
        with pytest.raises(OSError) as e:
            call(tmp_path / "a")
        assert files.why(e.value) == "it is a loop of symbolic links"


def test_regular_files_folders_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "x.causal").write_bytes(b"abc\n")
    (tmp_path / "link.causal").symlink_to("x.causal")
    assert files.read_regular(tmp_path / "x.causal") == b"abc\n"
    assert files.read_regular(tmp_path / "link.causal") == b"abc\n"  # a link to a file reads
    with files.open_regular_text(tmp_path / "x.causal") as f:
        assert f.read() == "abc\n"
    with pytest.raises(IsADirectoryError) as e:
        files.read_regular(tmp_path)
    assert files.why(e.value) == "it is a folder, not a file"
    with pytest.raises(FileNotFoundError) as e2:
        files.read_regular(tmp_path / "nope")
    assert files.why(e2.value) == "no such file"


@needs_fifo
def test_load_refuses_a_fifo_among_the_imports(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f.causal")
    with pytest.raises(files.NotRegularFileError):
        load(tmp_path / "f.causal")
    (tmp_path / "main.causal").write_text('import "f.causal"\n')
    from causaldsl.syntax.diagnostics import SourceError

    with pytest.raises(SourceError, match=r"cannot import 'f\.causal': it is a FIFO"):
        load(tmp_path / "main.causal")


# -- the command line: the main file, an imported file, CSV data -----------------------------------


@needs_fifo
@pytest.mark.parametrize("command", ["check", "run", "fmt"])
def test_the_command_refuses_a_fifo(tmp_path: Path, command: str) -> None:
    os.mkfifo(tmp_path / "f.causal")
    refused(causal(command, "f.causal", cwd=tmp_path),
            "f.causal: cannot read: it is a FIFO (named pipe), not a regular file")


@needs_fifo
def test_the_command_refuses_a_fifo_for_query_identify_and_draw(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f.causal")
    for args in (["query", "f.causal", "P(S)"], ["identify", "f.causal", "P(S | do(T))"],
                 ["draw", "f.causal", "-o", "-"]):
        refused(causal(*args, cwd=tmp_path), "f.causal: cannot read: it is a FIFO")


@needs_dev
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", ["check", "fmt"])
def test_the_command_refuses_a_device(tmp_path: Path, command: str, device: str) -> None:
    refused(causal(command, device, cwd=tmp_path),
            f"{device}: cannot read: it is a character device, not a regular file")


@needs_fifo
@needs_dev
@pytest.mark.parametrize("name", ["f.causal", "/dev/zero", "/dev/urandom"])
def test_an_import_of_a_special_file_is_a_located_error(tmp_path: Path, name: str) -> None:
    if name == "f.causal":
        os.mkfifo(tmp_path / name)
    (tmp_path / "main.causal").write_text(f'import "{name}"\n' + MODEL)
    what = "a FIFO (named pipe)" if name == "f.causal" else "a character device"
    refused(causal("check", "main.causal", cwd=tmp_path),
            f"main.causal:1:1: error: cannot import '{name}': it is {what}, not a regular file")


@needs_fifo
@needs_dev
@pytest.mark.parametrize("name", ["data.csv", "/dev/zero"])
def test_csv_data_from_a_special_file_is_a_located_error(tmp_path: Path, name: str) -> None:
    if name == "data.csv":
        os.mkfifo(tmp_path / name)
    (tmp_path / "g.causal").write_text(GRAPH.replace("{csv}", name))
    what = "a FIFO (named pipe)" if name == "data.csv" else "a character device"
    for command in ("check", "run"):
        refused(causal(command, "g.causal", cwd=tmp_path),
                f"g.causal:7:1: error: cannot read '{name}': it is {what}, not a regular file")


def test_a_loop_of_symbolic_links_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                   ) -> None:
    from causaldsl.app.cli import main

    (tmp_path / "a.causal").symlink_to("b.causal")
    (tmp_path / "b.causal").symlink_to("a.causal")
    (tmp_path / "loop.csv").symlink_to("loop.csv")
    loop = str(tmp_path / "a.causal")
    for args in (["check", loop], ["run", loop], ["query", loop, "P(S)"],
                 ["identify", loop, "P(S | do(T))"], ["draw", loop, "-o", "-"], ["fmt", loop]):
        assert main(args) == 1, args
        err = capsys.readouterr().err
        assert f"{loop}: cannot read: it is a loop of symbolic links" in err, (args, err)
        assert "Traceback" not in err
    (tmp_path / "main.causal").write_text('import "a.causal"\n' + MODEL)
    assert main(["check", str(tmp_path / "main.causal")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'main.causal'}:1:1: error: cannot import 'a.causal': it is a loop of " \
           "symbolic links" in err
    (tmp_path / "g.causal").write_text(GRAPH.replace("{csv}", "loop.csv"))
    assert main(["check", str(tmp_path / "g.causal")]) == 1
    err = capsys.readouterr().err
    assert "7:1: error: cannot read 'loop.csv': it is a loop of symbolic links" in err


@needs_fifo
def test_the_repl_refuses_a_special_file_or_a_loop(tmp_path: Path) -> None:
    import io

    from causaldsl.app.repl import Session

    os.mkfifo(tmp_path / "f.causal")
    (tmp_path / "a.causal").symlink_to("a.causal")
    out, err = io.StringIO(), io.StringIO()
    s = Session(out=out, err=err)
    s.load(str(tmp_path / "f.causal"))
    s.load(str(tmp_path / "a.causal"))
    if Path("/dev/zero").exists():
        s.load("/dev/zero")
    text = err.getvalue()
    assert f"error: cannot read {tmp_path / 'f.causal'}: it is a FIFO" in text, text
    assert f"error: cannot read {tmp_path / 'a.causal'}: it is a loop of symbolic links" in text
    assert "Traceback" not in text and "internal error" not in text
