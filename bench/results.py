"""Sections of bench/RESULTS.md that each benchmark owns: the text between
``<!-- NAME begins -->`` and ``<!-- NAME ends -->`` is replaced, the rest of the file kept."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, name: str, text: str, first: bool = False) -> None:
    """Write ``text`` as the section ``name`` of ``path``: in place of its old text, or, when
    it has none yet, at the top (``first``) or at the end."""
    begin, end = f"<!-- {name} begins -->", f"<!-- {name} ends -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = path.read_text() if path.exists() else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + block + rest.split(end, 1)[1].lstrip("\n")
    elif first:
        new = block + "\n" + old
    else:
        new = old.rstrip("\n") + "\n\n" + block
    path.write_text(new)
