"""Turning pictures into files: DOT text as is, SVG/PNG/PDF through graphviz's ``dot`` program.

DOT output needs nothing installed. The other formats run the program the ``CAUSAL_DOT``
environment variable names, else ``dot`` on the PATH, else the ``graphviz-pure`` program that
installs with causaldsl (a static build of dot: SVG and PNG, no PDF). docs/pictures.md says more.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from causaldsl.core.errors import CausalError, DrawError
from causaldsl.draw.dot import Dot
from causaldsl.draw.raster import PINNED, chart_dot

FORMATS = ("svg", "png", "pdf", "dot")
_EXTENSIONS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
INSTALL_HINT = ("install graphviz (Debian/Ubuntu: `apt install graphviz`, macOS: "
                "`brew install graphviz`, conda: `conda install graphviz`), or write DOT "
                "instead (a .dot file) and render it elsewhere")


def format_of(path: str | Path) -> str:
    """The picture format a file name asks for, by its extension."""
    ext = Path(path).suffix.lower()
    if ext not in _EXTENSIONS:
        raise DrawError(f"{path}: unknown picture format {ext or '(no extension)'!r}; use one of "
                        ".svg, .png, .pdf, .dot")
    return _EXTENSIONS[ext]


def dot_program(fmt: str = "svg") -> str:
    """The path of the program that lays out DOT for ``fmt``: ``$CAUSAL_DOT``, else ``dot``
    on the PATH, else the bundled ``graphviz-pure`` (not for PDF); DrawError saying how to get
    one when there is none."""
    named = os.environ.get("CAUSAL_DOT")
    if named:
        found = _which(named)
        if found is None:
            raise DrawError(f"CAUSAL_DOT names the graphviz program {named!r}, which was not "
                            f"found; it is needed for SVG, PNG and PDF pictures; {INSTALL_HINT}")
        return found
    found = _which("dot")
    if found is not None:
        return found
    bundled = bundled_dot()
    if bundled is None:
        raise DrawError("graphviz's dot was not found, and it is needed for SVG, PNG and PDF "
                        "pictures; `pip install graphviz-pure` (installed with causaldsl) "
                        f"draws SVG and PNG, or {INSTALL_HINT}")
    if fmt == "pdf":
        raise DrawError("PDF needs graphviz's dot, which was not found (the bundled "
                        f"graphviz-pure writes SVG and PNG only); save .svg or .png, or "
                        f"{INSTALL_HINT}")
    return bundled


def bundled_dot() -> str | None:
    """The ``graphviz-pure`` program installed beside this Python (its scripts folder, so
    found in a virtual environment that is not activated), else on the PATH; None without
    it."""
    exe = "graphviz-pure.exe" if os.name == "nt" else "graphviz-pure"
    for folder in dict.fromkeys([sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]):
        path = Path(folder) / exe
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return _which("graphviz-pure")


#: Looks a program up on the PATH (a name of this module, so tests can hide ``dot``).
_which = shutil.which


def run_dot(source: str, fmt: str, args: tuple[str, ...] = ()) -> bytes:
    """Lay out DOT text with graphviz (and its extra ``args``) and return the picture's
    bytes."""
    if fmt not in FORMATS:
        raise DrawError(f"unknown picture format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "dot":
        return source.encode()
    extra = ["-Gdpi=144"] if fmt == "png" else []  # sharp on high-density screens
    proc = subprocess.run([dot_program(fmt), *args, f"-T{fmt}", *extra], input=source.encode(),
                          capture_output=True, check=False)
    if proc.returncode != 0:
        why = proc.stderr.decode(errors="replace").strip()
        raise DrawError(f"graphviz could not draw this picture: {why}")
    return proc.stdout


@dataclass(frozen=True)
class Picture:
    """A picture: a DOT graph laid out by graphviz, or (for charts) finished SVG text."""

    graph: Dot | None = None
    svg_text: str | None = None

    @property
    def source(self) -> str:
        """The DOT text (deterministic); a chart has none."""
        if self.graph is None:
            raise DrawError("a chart is drawn as SVG directly and has no DOT source; save it "
                            "as .svg")
        return self.graph.source()

    def render(self, fmt: str = "svg") -> bytes:
        """The picture in one of ``svg``, ``png``, ``pdf``, ``dot``."""
        if self.svg_text is not None:
            if fmt == "png":  # the chart's shapes pinned in DOT, drawn by the same graphviz
                return run_dot(chart_dot(self.svg_text).source(), "png", PINNED)
            if fmt != "svg":
                raise DrawError(f"a chart is drawn as SVG or PNG, not {fmt}; save it as .svg "
                                "or .png")
            return self.svg_text.encode()
        return run_dot(self.source, fmt)

    def svg(self) -> str:
        return self.render("svg").decode()

    def save(self, path: str | Path) -> Path:
        """Write the picture to a file; the extension picks the format. Nothing is written on
        error."""
        path = Path(path)
        data = self.render(format_of(path))
        try:
            path.write_bytes(data)
        except OSError as e:
            raise DrawError(f"{path}: cannot write: {e.strerror or e}") from None
        return path

    @cached_property
    def _shown(self) -> str | None:
        """The SVG for notebooks, drawn once however many formats ask (None when graphviz is
        missing)."""
        try:
            return self.svg()
        except CausalError:
            return None

    def _repr_svg_(self) -> str | None:
        """Jupyter: the picture inline (nothing, so the text shows, when graphviz is missing)."""
        return self._shown

    def _repr_html_(self) -> str | None:
        svg = self._shown
        return None if svg is None else f'<div class="causaldsl-picture">{svg[svg.find("<svg"):]}</div>'

    def __str__(self) -> str:
        return self.svg_text if self.svg_text is not None else self.source
