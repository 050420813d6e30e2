"""``causal draw`` and the REPL's ``:draw``: pick what to draw in a program, write the file;
and the pictures ``causal estimate`` writes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from causaldsl.core.errors import CausalError, DrawError
from causaldsl.draw import draw
from causaldsl.draw.estimates import forest_plot, overlap_plot
from causaldsl.draw.render import Picture
from causaldsl.model.causal_model import did_you_mean
from causaldsl.syntax.query import parse_settings


def picture_of(prog: Any, file: str, name: str | None, do: str | None = None,
               cut: str | None = None, graph: bool = False, latent: bool = False,
               lr: bool = False) -> tuple[Picture, str]:
    """The picture of ``name`` (default: the last model) in a program, and that name."""
    direction = "LR" if lr else "TB"
    if name is None:
        if not prog.models:
            if prog.diagrams:
                name = list(prog.diagrams)[-1]
            else:
                raise CausalError(f"{file}: defines no model, graph or diagram to draw")
        else:
            name = prog.target()
    values = parse_settings(do, "--do") if do else None
    cuts = [c.strip() for c in cut.split(",") if c.strip()] if cut is not None else []
    if cut is not None and not cuts:
        raise DrawError(f"--cut {cut!r}: expected variable names separated by commas, "
                        'e.g. --cut "S"')
    if graph and (values or cuts):
        raise DrawError("--graph draws the causal graph, while --do and --cut draw surgery on "
                        "the string diagram; give one or the other")
    if name in prog.models:
        model = prog.models[name]
        for v in values or {}:
            if v in model and model[v].type.size is None:
                raise DrawError(f"--do {v}=...: {v} : {model[v].type} in {name} has no finite "
                                f"list of values to set it to; --cut {v} draws the same "
                                f"surgery with {v} as an input")
        if values or cuts:
            return draw(model, do=values, cut=cuts, direction=direction), name
        if name in prog.graphs or graph:
            target = model if latent else model.admg()
            return draw(target, graph=True, latent="show" if latent else "project",
                        direction=direction), name
        return draw(model, direction=direction), name
    for table in (prog.diagrams, prog.boxes):
        if name in table:
            if values or cuts:
                raise DrawError(f"{name} is a diagram; --do and --cut apply to models")
            return draw(table[name], direction=direction, title=f"diagram {name}"), name
    known = [*prog.models, *prog.diagrams, *prog.boxes]
    raise CausalError(f"{file}: no model, graph, diagram or box named {name!r}"
                      f"{did_you_mean(name, known)}")


def draw_command(prog: Any, file: str, name: str | None, output: str | None, do: str | None,
                 cut: str | None, graph: bool = False, latent: bool = False, lr: bool = False
                 ) -> str | None:
    """Draw and write; returns the path written (None when DOT went to standard output)."""
    picture, name = picture_of(prog, file, name, do, cut, graph, latent, lr)
    if output == "-":
        sys.stdout.write(picture.source)
        return None
    return str(picture.save(output or f"{name}.svg"))


_FLAGS = {"--graph": "graph", "--latent": "latent", "--lr": "lr"}
_OPTIONS = {"--do": "do", "--cut": "cut", "-o": "output", "--output": "output"}


def repl_draw(prog: Any, current: str | None, arg: str) -> Path:
    """The REPL's ``:draw`` of a model, graph or diagram (the REPL draws a query's answer
    itself, with :func:`save_chart`: pictures take results, they compute none)."""
    import shlex

    text = arg.strip()
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise DrawError(f":draw {text}: {e}") from None
    opts: dict[str, Any] = {}
    name = None
    it = iter(words)
    for w in it:
        if w in _FLAGS:
            opts[_FLAGS[w]] = True
        elif w in _OPTIONS:
            value = next(it, None)
            if value is None:
                raise DrawError(f"{w} needs a value")
            opts[_OPTIONS[w]] = value
        elif w.startswith("-") or name is not None:
            raise DrawError(f"unexpected {w!r}; :help shows how to use :draw")
        else:
            name = w
    output = opts.pop("output", None)
    picture, name = picture_of(prog, "<repl>", name or current, **opts)
    path = Path(output or f"{name}.svg").resolve()
    picture.save(path)
    return path


def save_chart(result: Any, title: str, output: str) -> Path:
    """Draw an answer as a chart to ``output`` (default answer.svg); the path written."""
    path = Path(output.strip() or "answer.svg").resolve()
    draw(result, title=title).save(path)
    return path


def check_chart_path(output: str, flag: str) -> None:
    """Before any work: ``output`` names a file a chart can be saved to (SVG or PNG)."""
    ext = Path(output).suffix.lower()
    if ext not in (".svg", ".png"):
        raise DrawError(f"{flag} {output}: the forest and overlap plots are drawn as SVG or "
                        f"PNG, so name a .svg or .png file (not "
                        f"{repr(ext) if ext else 'no extension'})")


def estimate_pictures(result: Any, forest: str | None, overlap: str | None) -> list[Path]:
    """``causal estimate -o`` and ``--overlap``: the forest plot and the overlap plot of an
    estimate, written where asked; both are drawn before either is written, so an estimate
    without an overlap to draw writes nothing. The paths written."""
    pictures = []
    if forest:
        pictures.append((forest_plot(result), forest))
    if overlap:
        pictures.append((overlap_plot(result), overlap))
    return [picture.save(path) for picture, path in pictures]
