"""Reading .causal text: parse (lark) → syntax tree → elaborate → Program. Imports are read
relative to the importing file, each once, and an import cycle is an error."""

from __future__ import annotations

from pathlib import Path

from causaldsl.core.errors import CausalError
from causaldsl.lang.elaborate import Elaborator, Program
from causaldsl.lang.files import resolve
from causaldsl.lang.parse import parse_module, read_source, without_bom


class Loader:
    """Loads files and their imports; remembers what it loaded."""

    def __init__(self) -> None:
        self.loaded: dict[Path, Program] = {}
        self.loading: list[Path] = []

    def load(self, path: str | Path) -> Program:
        p = resolve(path)  # a loop of symbolic links: an OSError
        if p in self.loaded:
            return self.loaded[p]
        if p in self.loading:
            chain = " → ".join(x.name for x in [*self.loading[self.loading.index(p):], p])
            raise CausalError(f"import cycle: {chain}")
        text = read_source(p, str(path))
        self.loading.append(p)
        try:
            prog = self.elaborate(text, str(path))
        finally:
            self.loading.pop()
        self.loaded[p] = prog
        return prog

    def load_import(self, importer: str, path: str) -> Program:
        base = Path(importer).parent if importer not in ("<string>", "<repl>") else Path.cwd()
        return self.load(base / path)

    def elaborate(self, text: str, file: str) -> Program:
        text = without_bom(text)
        return Elaborator(file, text, self).run(parse_module(text, file))


def load(path: str | Path) -> Program:
    """Read a .causal file (and its imports) into IR values; errors name file:line:col."""
    return Loader().load(path)


def parse(text: str, file: str = "<string>") -> Program:
    """Read .causal source text into IR values (imports are relative to the current folder)."""
    return Loader().elaborate(text, file)
