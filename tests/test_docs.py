"""Every ```python block in docs/*.md runs, in order, one namespace per file.

Conventions the docs follow (and this test enforces):

- A ```text block directly after a ```python block is that block's expected standard output;
  it is compared line by line (trailing spaces ignored).
- A block directly preceded by ``<!-- xfail: BUG ... -->`` shows correct usage that a known bug
  in ``src/`` breaks. It is left out of its file's run (later blocks never depend on it) and
  checked on its own as a strict xfail, so the marker must go once the bug is fixed.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
_FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
_XFAIL = re.compile(r"<!--\s*xfail:\s*(.*?)\s*-->\s*\Z", re.S)


@dataclass(frozen=True)
class Block:
    code: str
    line: int                   # line of the opening fence in the .md file
    output: str | None = None   # expected stdout, from a ```text block right after
    bug: str | None = None      # reason, from an <!-- xfail: ... --> marker right before


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    out: list[Block] = []
    prev_end = 0
    prev_python = False
    for m in _FENCE.finditer(text):
        lang, body = m.group(1), m.group(2)
        between = text[prev_end: m.start()]
        if lang == "python":
            marker = _XFAIL.search(between.rstrip())
            line = text.count("\n", 0, m.start()) + 1
            out.append(Block(body, line, None, marker.group(1) if marker else None))
            prev_python = True
        else:
            if lang == "text" and prev_python and not between.strip():
                last = out[-1]
                out[-1] = Block(last.code, last.line, body, last.bug)
            prev_python = False
        prev_end = m.end()
    return out


def _run(block: Block, path: Path, namespace: dict[str, object]) -> None:
    # pad with blank lines so that tracebacks point at the line in the .md file
    code = compile("\n" * block.line + block.code, str(path), "exec")
    if block.output is None:
        exec(code, namespace)
        return
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(code, namespace)
    got = [ln.rstrip() for ln in buf.getvalue().rstrip().splitlines()]
    want = [ln.rstrip() for ln in block.output.rstrip().splitlines()]
    assert got == want, (f"{path.name}:{block.line}: printed output differs from the ```text "
                         "block after it\n--- got ---\n" + "\n".join(got)
                         + "\n--- documented ---\n" + "\n".join(want))


def _namespace(path: Path) -> dict[str, object]:
    return {"__name__": f"docs_{path.stem.replace('-', '_')}"}


DOC_FILES = sorted(DOCS.glob("*.md"))
KNOWN_BUGS = [(path, i, b.bug) for path in DOC_FILES
              for i, b in enumerate(blocks(path)) if b.bug is not None]


def test_the_documented_pages_exist_and_have_examples():
    names = {p.name for p in DOC_FILES}
    assert {"python-api.md", "ir.md", "exact.md"} <= names
    for name in ("python-api.md", "ir.md", "exact.md"):
        assert len(blocks(DOCS / name)) >= 5, f"{name} has too few runnable examples"


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_doc_examples_run(path: Path):
    ns = _namespace(path)
    for block in blocks(path):
        if block.bug is None:
            _run(block, path, ns)


@pytest.mark.parametrize(
    "path,index",
    [pytest.param(p, i, marks=pytest.mark.xfail(strict=True, reason=reason),
                  id=f"{p.name}:{blocks(p)[i].line}") for p, i, reason in KNOWN_BUGS]
    or [pytest.param(None, None, marks=pytest.mark.skip(reason="no known bugs in the docs"))])
def test_doc_example_blocked_by_known_bug(path: Path, index: int):
    ns = _namespace(path)
    all_blocks = blocks(path)
    for block in all_blocks[:index]:
        if block.bug is None:
            _run(block, path, ns)
    _run(all_blocks[index], path, ns)


def test_block_parser_pairs_outputs_and_markers(tmp_path: Path):
    md = tmp_path / "x.md"
    md.write_text("# t\n\n```python\nprint(1)\n```\n\n```text\n1\n```\n\n"
                  "<!-- xfail: BUG: it breaks -->\n```python\nraise RuntimeError\n```\n\n"
                  "```sh\nls\n```\n", encoding="utf-8")
    got = blocks(md)
    assert [(b.code, b.line, b.output, b.bug) for b in got] == [
        ("print(1)\n", 3, "1\n", None),
        ("raise RuntimeError\n", 12, None, "BUG: it breaks")]
