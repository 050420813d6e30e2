"""Write src/causaldsl/syntax/parser_tables.py: the LALR tables of the shipped parsers, built from
grammar/*.lark, as JSON text in a Python module (loaded with no pickle). Run it after changing a
grammar or lark's version; tests/syntax/test_grammars.py fails while the file is stale.

    .venv/bin/python tools/gen_parser_tables.py          # write the file
    .venv/bin/python tools/gen_parser_tables.py --check  # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "causaldsl" / "syntax" / "parser_tables.py"

HEADER = '''"""The LALR tables of the shipped parsers as JSON text (``syntax.grammars`` loads them with
``json`` and ``lark.Lark.load``: no pickle), with the digest of the grammar files and options they
were made from. Generated from grammar/*.lark by tools/gen_parser_tables.py: do not edit."""

# ruff: noqa: E501
'''


def source() -> str:
    """The text of parser_tables.py for the grammars and lark of this checkout."""
    sys.path.insert(0, str(ROOT / "src"))
    import lark

    from causaldsl.syntax import grammars

    digests, texts = {}, {}
    for name, start, positions in grammars.SHIPPED:
        key = grammars.table_key(name, start, positions)
        tables = grammars.serialize(grammars.build(name, start, positions))
        text = "\n".join(_lines(tables))
        if grammars.tables_from_json(text) != tables:  # a tuple or an int key lark added
            raise SystemExit(f"{key}: the tables do not survive JSON; see tables_from_json")
        if "'''" in text or text.endswith("\\"):
            raise SystemExit(f"{key}: the JSON text cannot be a raw string literal")
        digests[key] = grammars.grammar_digest(name, start, positions)
        texts[key] = text
    body = "".join(f"    {k!r}: r'''\n{t}\n''',\n" for k, t in texts.items())
    return (HEADER + f"\nLARK_VERSION = {lark.__version__!r}\n\n"
            f"DIGESTS = {json.dumps(digests, indent=4)}\n\n"
            f"TABLES = {{\n{body}}}\n")


def _lines(x: object, indent: str = "", width: int = 100) -> list[str]:
    """``x`` as JSON text: a container wider than ``width`` is broken into lines indented by
    two, its items packed several a line when each is short."""
    flat = json.dumps(x, separators=(", ", ": "), ensure_ascii=True)
    if len(indent) + len(flat) <= width or not isinstance(x, dict | list | tuple) or not x:
        return [indent + flat]
    inner = indent + "  "
    pairs = ([(json.dumps(str(k)) + ": ", v) for k, v in x.items()] if isinstance(x, dict)
             else [("", v) for v in x])
    out: list[str] = []
    line = ""
    for i, (head, v) in enumerate(pairs):
        comma = "," if i < len(pairs) - 1 else ""
        item = head + json.dumps(v, separators=(", ", ": "), ensure_ascii=True) + comma
        if len(inner) + len(item) <= width:  # short: packed
            if line and len(inner) + len(line) + 1 + len(item) > width:
                out.append(inner + line)
                line = ""
            line = f"{line} {item}" if line else item
            continue
        if line:
            out.append(inner + line)
            line = ""
        value = _lines(v, inner, width)
        out += [inner + head + value[0].lstrip(), *value[1:]]
        out[-1] += comma
    if line:
        out.append(inner + line)
    return [indent + ("{" if isinstance(x, dict) else "["), *out,
            indent + ("}" if isinstance(x, dict) else "]")]


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = ap.parse_args()
    text = source()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run tools/gen_parser_tables.py")
            return 1
        print(f"{TARGET.relative_to(ROOT)} is current")
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
