"""Results files written by several benchmarks: one writes the part above a marker line and keeps
what lies below it; the others each replace their own section (below it, or at the top for a
headline)."""

from __future__ import annotations

from pathlib import Path


def keep_below(text: str, path: Path, marker: str) -> str:
    """``text``, then ``marker`` and whatever lies below it in ``path`` (nothing when ``path``
    has no such line)."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if marker not in old:
        return text
    return text.rstrip("\n") + "\n\n" + marker + old.split(marker, 1)[1]


def with_section(path: Path, name: str, text: str, marker: str) -> str:
    """``path``'s text with the section ``name`` (between ``<!-- name: begin -->`` and
    ``<!-- name: end -->``, below ``marker``) replaced by ``text``, or added at the end."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    block = f"{begin}\n{text.strip()}\n{end}\n"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        return head + block + rest.split(end, 1)[1].lstrip("\n")
    if marker not in old:
        old = old.rstrip("\n") + "\n\n" + marker + "\n"
    return old.rstrip("\n") + "\n\n" + block


def replace_section(path: Path, name: str, text: str, first: bool = False) -> None:
    """Write ``text`` as the section ``name`` of ``path`` (between ``<!-- name begins -->``
    and ``<!-- name ends -->``): in place of its old text, or, when it has none yet, at the
    top (``first``) or at the end."""
    begin, end = f"<!-- {name} begins -->", f"<!-- {name} ends -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + block + rest.split(end, 1)[1].lstrip("\n")
    elif first:
        new = block + "\n" + old
    else:
        new = old.rstrip("\n") + "\n\n" + block
    path.write_text(new, encoding="utf-8")
