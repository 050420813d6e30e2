"""Results as small HTML tables for notebooks (Jupyter's ``text/html``): built from their
``to_pandas()`` frames, every cell and heading escaped, long tables cut to their first rows."""

from __future__ import annotations

from html import escape
from typing import Any

#: Rows shown before a table is cut (``to_pandas()`` has them all).
MAX_ROWS = 40


def html_table(frame: Any, caption: str = "", note: str = "") -> str:
    """``frame`` (a DataFrame) as an HTML table under ``caption`` and above ``note``: numbers
    to six significant digits, no index column."""
    shown = frame.head(MAX_ROWS)
    body = shown.to_html(index=False, escape=True, border=0, classes="causaldsl-table",
                         float_format=lambda x: f"{x:.6g}", na_rep="")
    head = f"<p><b>{escape(caption)}</b></p>" if caption else ""
    more = (f"<p>… and {len(frame) - MAX_ROWS} more rows (<code>to_pandas()</code> has them "
            "all)</p>" if len(frame) > MAX_ROWS else "")
    tail = f"<p>{escape(note)}</p>" if note else ""
    return f'<div class="causaldsl-result">{head}{body}{more}{tail}</div>'
