"""Located errors: ``file:line:col: message``, the source line, and a caret under the column."""

from __future__ import annotations

from dataclasses import dataclass, field

from causaldsl.core.errors import CausalError


@dataclass(frozen=True)
class Span:
    """Where a piece of syntax stands: 1-based line and column of its first character."""

    line: int
    column: int
    end_line: int = field(default=0, compare=False)  # last line (0: same as line); for fmt

    @property
    def last_line(self) -> int:
        return max(self.end_line, self.line)

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


NOWHERE = Span(1, 1)


@dataclass(frozen=True)
class Diagnostic:
    """One error in a source file."""

    file: str
    span: Span
    message: str
    source_line: str = ""

    def __str__(self) -> str:
        head = f"{self.file}:{self.span.line}:{self.span.column}: error: {self.message}"
        if not self.source_line:
            return head
        pad = " " * (len(str(self.span.line)))
        caret = " " * max(self.span.column - 1, 0) + "^"
        return f"{head}\n {self.span.line} | {self.source_line}\n {pad} | {caret}"


class SourceError(CausalError):
    """One or more located errors in a .causal source; ``str`` lists them all. ``parsed`` is
    False for syntax errors: the text does not parse as .causal (and may be no .causal file
    at all, so an importer does not quote it)."""

    def __init__(self, diagnostics: list[Diagnostic], parsed: bool = True):
        self.diagnostics = diagnostics
        self.parsed = parsed
        count = len(diagnostics)
        tail = f"\n{count} errors" if count > 1 else ""
        super().__init__("\n".join(str(d) for d in diagnostics) + tail)


def source_line(text: str, line: int) -> str:
    """The text of a line, counted as the parser counts lines: by "\n" alone."""
    lines = text.split("\n")
    return lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
