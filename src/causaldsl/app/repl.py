"""The interactive ``causal repl``: load a file, define more in place, ask queries.

Definitions typed at the prompt are appended to the session's source and the whole is
elaborated again, so they can refer to each other exactly as in a file. Errors are shown and
leave the session as it was. History persists in ``~/.causal_history``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from causaldsl.app.answer import (
    answer,
    estimate_statement,
    fit_statement,
    identify_statement,
    show,
)
from causaldsl.core.errors import CausalError

HELP = """\
Type definitions as in a .causal file (multi-line blocks continue until braces balance;
:cancel or two empty lines drop an input whose brackets do not close), or a query such as
P(C | do(S = yes))  or  E[Y | do(X = 1)] - E[Y | do(X = 0)].
Commands:
  :help              this text
  :load FILE         read a .causal file into the session
  :type NAME         the type of a variable, or what a name is
  :models            the models and graphs defined so far
  :use NAME          ask this model from now on: typed queries, and query, identify and
                     estimate statements without `in NAME` (default: the last one defined)
  :draw [NAME] [--do "S=yes"] [--cut S] [--graph] [--latent] [--lr] [-o FILE]
                     draw a model, graph or diagram to a file (default NAME.svg)
  :draw P(...) [-o FILE]   a query's answer as a bar chart (SVG)
  :quit              leave (also Ctrl-D)"""

COMMANDS = [":help", ":load", ":type", ":models", ":use", ":draw", ":quit"]
KEYWORDS = ["type", "model", "graph", "observed", "box", "diagram", "query", "identify",
            "estimate", "fit", "to", "unknown", "param", "Dirichlet", "import", "latent",
            "assuming", "response_functions",
            "exogenous", "table", "do", "Bernoulli", "Categorical",
            "Bool", "Real", "if", "then", "else", "and", "or", "not", "true", "false"]


class Session:
    """The state of a REPL: accumulated source and the program it elaborates to."""

    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr):
        self.chunks: list[str] = []
        self.fits: dict[str, Any] = {}  # models learned by fit statements, by name
        self.program: Any = None
        self.current: str | None = None
        #: each ``:use``: the first line of the source it applies to, and the model chosen
        self.uses: list[tuple[int, str]] = []
        self.out, self.err = out, err
        from causaldsl.lang.loader import Loader

        self.loader = Loader()  # keeps imported files, so each is read once per :load

    # -- input ---------------------------------------------------------------------------
    def handle(self, text: str) -> bool:
        """Handle one complete input; False when the session should end."""
        s = text.strip()
        if not s or s.startswith("#"):
            return True
        if s.startswith(":"):
            return self.command(s)
        if s.startswith(("P(", "E[", "-")) or s[:2] in ("P ", "E "):
            self.ask(s)
            return True
        self.define(text)
        return True

    def command(self, s: str) -> bool:
        name, _, arg = s.partition(" ")
        arg = arg.strip()
        if name in (":quit", ":q", ":exit"):
            return False
        if name == ":help":
            print(HELP, file=self.out)
        elif name == ":load":
            self.load(arg)
        elif name == ":type":
            self.type_of(arg)
        elif name == ":models":
            models = list(self.program.models) if self.program else []
            print(", ".join(models) if models else "no models yet", file=self.out)
        elif name == ":draw":
            self.draw(arg)
        elif name == ":use":
            if self.program and arg in self.program.models:
                self.current = arg  # statements typed from now on without `in NAME` too
                self.uses.append((sum(c.count("\n") for c in self.chunks) + 1, arg))
            else:
                print(f"error: no model named {arg!r}", file=self.err)
        else:
            print(f"error: unknown command {name}; :help lists them", file=self.err)
        return True

    def load(self, path: str) -> None:
        """Import a file into the session (its own paths stay relative to it) and answer its
        query statements."""
        if not path:
            print("error: :load needs a file", file=self.err)
            return
        from causaldsl.lang.files import open_regular, resolve, why

        try:
            full = resolve(Path(path).expanduser())
            with open_regular(full):  # a FIFO, a device, a folder: refused here
                pass
        except IsADirectoryError:
            print(f"error: cannot read {path}: it is a folder, not a .causal file", file=self.err)
            return
        except OSError as e:
            print(f"error: cannot read {path}: {why(e)}", file=self.err)
            return
        kept = self.loader.loaded
        self.loader.loaded = {}  # read it and what it imports afresh, each file once
        if not self.define(f'import "{full}"'):
            self.loader.loaded = kept  # the session stays as it was
            return
        if full in self.loader.loaded:
            for st, target in self.loader.loaded[full].statements:
                self.answer(st, target, str(getattr(st, "text", "")))

    def define(self, text: str) -> bool:
        """Add a definition to the session; False (after printing why) when it is refused."""
        from causaldsl.syntax.diagnostics import SourceError

        chunk = text if text.endswith("\n") else text + "\n"
        source = "".join(self.chunks) + chunk
        try:
            program = self.loader.elaborate(source, "<repl>", self.uses)
        except SourceError as e:
            offset = sum(c.count("\n") for c in self.chunks)
            for d in e.diagnostics:  # report positions within what was just typed
                line = d.span.line - offset if d.file == "<repl>" else d.span.line
                print(f"{d.file}:{line}:{d.span.column}: error: {d.message}", file=self.err)
            return False
        except CausalError as e:
            print(f"error: {e}", file=self.err)
            return False
        new_statements = program.statements[len(self.program.statements) if self.program else 0:]
        self.chunks.append(chunk)
        self.program = program
        for st, target in new_statements:  # statements typed or loaded are answered now
            self.answer(st, target, str(getattr(st, "text", "")))
        return True

    def ask(self, text: str) -> None:
        from causaldsl.syntax.query import parse_query

        if self.program is None or not self.program.models:
            print("error: define or :load a model first", file=self.err)
            return
        target = self.program.target(self.current)
        try:
            q = parse_query(text)
        except CausalError as e:
            print(f"error: {e}", file=self.err)
            return
        self.answer(q, target, text)

    def answer(self, st: Any, target: str, text: str) -> None:
        """Answer a query (or a query or identify statement) as ``causal run`` would."""
        from causaldsl.lang import ast as A

        if isinstance(st, A.IdentifyStmt):
            with contextlib.redirect_stdout(self.out), contextlib.redirect_stderr(self.err):
                identify_statement(self.program, target, st, "", False)
            return
        if isinstance(st, A.EstimateStmt):
            with contextlib.redirect_stdout(self.out), contextlib.redirect_stderr(self.err):
                estimate_statement(self.program, target, st, "", False)
            return
        if isinstance(st, A.FitStmt):
            with contextlib.redirect_stdout(self.out), contextlib.redirect_stderr(self.err):
                fit_statement(self.program, target, st, "", False, self.fits)
            return

        q = st.query if isinstance(st, A.QueryStmt) else st
        try:
            result, method = answer(self.program, q, target, self.fits,
                                    assume=getattr(st, "assume", None))
        except CausalError as e:
            print(f"error: {e}", file=self.err)
            return
        print(show(text, target, result, method), file=self.out)

    def draw(self, arg: str) -> None:
        """``:draw``: write a picture of a model (or of a query's answer) and say where."""
        from causaldsl.draw.cli import repl_draw, save_chart

        if self.program is None or not (self.program.models or self.program.diagrams):
            print("error: define or :load a model first", file=self.err)
            return
        text = arg.strip()
        try:
            if text.startswith(("P(", "E[")):  # a query's answer, drawn as a chart
                query, _, output = text.rpartition(" -o ") if " -o " in text else (text, "", "")
                target = self.program.target(self.current)
                result, _ = answer(self.program, query.strip(), target)
                path = save_chart(result, f"{query.strip()}  [{target}]", output)
            else:
                path = repl_draw(self.program, self.current, arg)
        except CausalError as e:
            print(f"error: {e}", file=self.err)
            return
        print(f"wrote {path}", file=self.out)

    def type_of(self, name: str) -> None:
        p = self.program
        if p is None:
            print("error: nothing is defined yet", file=self.err)
            return
        if name in p.types:
            print(repr(p.types[name]), file=self.out)
            return
        if name in p.models:
            print(p.models[name], file=self.out)
            return
        if name in p.boxes:
            print(p.boxes[name], file=self.out)
            return
        if name in p.diagrams:
            d = p.diagrams[name]
            from causaldsl.core.types import product_str

            print(f"{name} : {product_str(d.dom)} → {product_str(d.cod)}", file=self.out)
            return
        for m in reversed(list(p.models.values())):
            if name in m.variables:
                v = m.variables[name]
                print(f"{name} : {v.type}  ({v.role} in {m.name})", file=self.out)
                return
        print(f"error: nothing is named {name!r}", file=self.err)

    # -- completion ----------------------------------------------------------------------
    def names(self) -> list[str]:
        out = list(KEYWORDS) + COMMANDS
        p = self.program
        if p is not None:
            out += [*p.types, *p.models, *p.boxes, *p.diagrams]
            for m in p.models.values():
                out += list(m.variables)
        return sorted(set(out))


def balanced(text: str) -> bool:
    """Whether a block is complete: braces, brackets and parentheses all closed. Those inside a
    quoted string or a comment do not count; neither a string nor a comment spans lines."""
    depth = 0
    for line in text.split("\n"):
        quoted = False
        i = 0
        while i < len(line):
            c = line[i]
            if quoted:
                if c == "\\":  # an escape in a query's string: skip what it escapes
                    i += 1
                elif c == '"':
                    quoted = False
            elif c == '"':
                quoted = True
            elif c == "#":
                break
            elif c in "{[(":
                depth += 1
            elif c in "}])":
                depth -= 1
            i += 1
    return depth <= 0


#: What drops an input whose brackets never close, typed at the continuation prompt.
CANCEL = ":cancel"


def read_block(read: Any) -> str:
    """One input: a line, and continuation lines while a bracket is open. ``:cancel`` or two
    empty lines in a row drop it (an empty string: nothing to do), so a stray ``(`` never
    swallows the session."""
    text = read("causal> ")
    hinted = False
    blank = 0
    while not balanced(text):
        if not hinted:
            print(f"   (a bracket is open: finish the input, or type {CANCEL})")
            hinted = True
        line = read("   ...> ")
        if line.strip() == CANCEL:
            return ""
        blank = blank + 1 if not line.strip() else 0
        if blank >= 2:
            print("   (dropped: two empty lines, and a bracket was still open)")
            return ""
        text += "\n" + line
    return text


def run(file: str | None = None) -> int:
    """The interactive loop (used by ``causal repl``)."""
    session = Session()
    history = Path(os.environ.get("CAUSAL_HISTORY", "~/.causal_history")).expanduser()
    try:
        import readline

        readline.set_completer_delims(" \t\n()[]{},|=;")

        def complete(text: str, state: int) -> str | None:
            matches = [n for n in session.names() if n.startswith(text)]
            return matches[state] if state < len(matches) else None

        readline.set_completer(complete)
        readline.parse_and_bind("tab: complete")
        with contextlib.suppress(OSError):
            readline.read_history_file(history)
    except ImportError:  # pragma: no cover - no readline on this platform
        readline = None  # type: ignore[assignment]
    print("causaldsl repl — :help for help, :quit or Ctrl-D to leave")
    if file:
        session.load(file)
    try:
        while True:
            try:
                text = read_block(input)
            except EOFError:
                print()
                break
            except KeyboardInterrupt:
                print("\n(interrupted; :quit to leave)")
                continue
            try:
                if not session.handle(text):
                    break
            except Exception as e:  # a bug: say so, keep the session
                print(f"internal error (a bug in causaldsl; please report it): "
                      f"{type(e).__name__}: {e}", file=sys.stderr)
    finally:
        if readline is not None:
            try:
                history.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(history)
            except OSError:
                pass
    return 0
