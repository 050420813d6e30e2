"""Reading .causal text: parse (lark) → syntax tree → elaborate → Program. Imports are read
relative to the importing file, each once, and an import cycle is an error.

A chain of imports may be thousands of files long (generated models), so loading does not
recurse per import: before a file is elaborated, the files it imports, and theirs, are read
and elaborated deepest first by a loop with a stack of its own (in the order, and with the
errors, that elaborating each import where it stands would give); the file's own import
statements then find them loaded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from causaldsl.core import hooks
from causaldsl.core.errors import CausalError
from causaldsl.lang import ast as A
from causaldsl.lang.elaborate import Elaborator, Program, origin_of
from causaldsl.lang.files import resolve
from causaldsl.lang.parse import parse_module, read_source, without_bom


class Loader:
    """Loads files and their imports; remembers what it loaded."""

    def __init__(self) -> None:
        self.loaded: dict[Path, Program] = {}
        self.loading: list[Path] = []
        # within one outermost load: each file read ahead (its text and syntax tree, or why it
        # could not be), and the imports that failed (raised again where imported again)
        self._read: dict[Path, tuple[str, A.Module] | Exception] = {}
        self._failed: dict[Path, Exception] = {}
        self._depth = 0

    def load(self, path: str | Path) -> Program:
        p = resolve(path)  # a loop of symbolic links: an OSError
        if p in self.loaded:
            return self.loaded[p]
        if p in self.loading:
            chain = " → ".join(x.name for x in [*self.loading[self.loading.index(p):], p])
            raise CausalError(f"import cycle: {chain}")
        if p in self._failed:
            raise self._failed[p]
        self._depth += 1
        try:
            self._imports_first(p, str(path))
            return self._load_one(p, str(path))
        finally:
            self._depth -= 1
            if not self._depth:  # a later load reads the files afresh
                self._read.clear()
                self._failed.clear()

    def load_import(self, importer: str, path: str) -> Program:
        return self.load(_import_path(importer, path))

    def elaborate(self, text: str, file: str, uses: Sequence[tuple[int, str]] = ()) -> Program:
        """``text`` as a program; ``uses``: (line, model) choices of the model that statements
        without ``in NAME`` ask from that line on (the REPL's ``:use``)."""
        text = without_bom(text)
        return Elaborator(file, text, self, uses).run(parse_module(text, file))

    # -- without recursion ---------------------------------------------------------------
    def _load_one(self, p: Path, shown: str) -> Program:
        """Read (unless read ahead) and elaborate one file; its imports are loaded already,
        or failed, or on the chain being loaded (a cycle, which its elaboration reports)."""
        if is_network(p):
            model = hooks.read_network(p, shown)
            variables = model.variables.values()
            structure = bool(variables) and all(v.mechanism is None for v in variables)
            prog = Program(shown, models={model.name: model},
                           origins={model.name: origin_of(shown)},
                           graphs={model.name} if structure else set())
            self.loaded[p] = prog
            return prog
        got = self._read.pop(p, None)
        if isinstance(got, Exception):
            raise got
        if got is None:
            text = without_bom(read_source(p, shown))
            module = parse_module(text, shown)
        else:
            text, module = got
        self.loading.append(p)
        try:
            prog = Elaborator(shown, text, self).run(module)
        finally:
            self.loading.pop()
        self.loaded[p] = prog
        return prog

    def _imports_first(self, root: Path, shown: str) -> None:
        """Load what ``root`` imports, and what those import, deepest first, with a loop: each
        file after the files it imports, in the order their import statements stand, with
        ``loading`` the chain of files that import it (so a cycle is reported as a recursive
        load would report it). A file that fails is remembered, and its importer's import
        statement reports the same error."""
        base = list(self.loading)
        stack: list[tuple[Path, str, list[tuple[Path, str]]]] = [
            (root, shown, self._read_ahead(root, shown))]
        on_chain = {root, *base}
        while stack:
            p, name, imports = stack[-1]
            if imports:
                q, q_name = imports.pop()
                if q not in self.loaded and q not in self._failed and q not in on_chain:
                    stack.append((q, q_name, self._read_ahead(q, q_name)))
                    on_chain.add(q)
                continue
            stack.pop()
            on_chain.discard(p)
            if not stack:
                return  # the root: load elaborates it
            self.loading = [*base, *(x for x, _, _ in stack)]
            try:
                self._load_one(p, name)
            except Exception as e:  # its importer reports it, where it imports it
                self._failed[p] = e
            finally:
                self.loading = base

    def _read_ahead(self, p: Path, shown: str) -> list[tuple[Path, str]]:
        """Read and parse a file, keep the result (or the error) for its elaboration, and
        return the files it imports, resolved and as named, last written first (a stack). A
        network file imports nothing; it is read when it is loaded."""
        if is_network(p):
            return []
        try:
            text = without_bom(read_source(p, shown))
            module = parse_module(text, shown)
        except Exception as e:  # reported when the file is elaborated, where it is imported
            self._read[p] = e
            return []
        self._read[p] = (text, module)
        out: list[tuple[Path, str]] = []
        for st in module.statements:
            if not isinstance(st, A.Import):
                continue
            try:
                target = _import_path(shown, st.path)
                out.append((target.resolve(), str(target)))
            except Exception:  # its elaboration reports the error of the path itself
                continue
        out.reverse()  # popped from the end: the first import first
        return out


#: The extensions of the files of other formats that load as a model or a graph (BIF, XMLBIF,
#: Hugin, dagitty; ``interop.formats`` reads them).
NETWORK_EXTENSIONS = (".bif", ".bif.gz", ".xmlbif", ".bifxml", ".xml", ".net", ".dagitty")


def is_network(path: str | Path) -> bool:
    """Whether a path names a network file of another format (by its extension)."""
    return str(path).lower().endswith(NETWORK_EXTENSIONS)


def _import_path(importer: str, path: str) -> Path:
    """The file an import statement names: relative to the importing file's folder (to the
    current folder for text that is no file)."""
    base = Path(importer).parent if importer not in ("<string>", "<repl>") else Path.cwd()
    return base / path


def load(path: str | Path) -> Program:
    """Read a .causal file (and its imports) into IR values; errors name file:line:col."""
    return Loader().load(path)


def parse(text: str, file: str = "<string>") -> Program:
    """Read .causal source text into IR values (imports are relative to the current folder)."""
    return Loader().elaborate(text, file)
