"""One entry for network files: ``causaldsl.read(path)`` and ``causaldsl.write(model, path)``
pick the format by the file's extension: ``.causal`` (the language), ``.bif`` and ``.bif.gz``
(BIF, ``interop.bif``). Reading goes through the loader, which reads either (``pick`` chooses
the model); ``write`` is here. ``causal convert IN -o OUT`` is the two in a row."""

from __future__ import annotations

import os
from pathlib import Path

from causaldsl.core.errors import CausalError, CausalTypeError, shown
from causaldsl.interop.bif import write_bif
from causaldsl.lang.elaborate import Program
from causaldsl.lang.loader import is_network
from causaldsl.lang.writer import write_causal
from causaldsl.model.causal_model import CausalModel

#: The extensions ``write`` knows, and their formats.
EXTENSIONS = {".causal": "causal", ".bif": "bif", ".bif.gz": "bif"}


def format_of(path: str | os.PathLike[str]) -> str:
    """The format a path's extension names: "causal" or "bif"."""
    name = os.fsdecode(os.fspath(path))
    if is_network(name):
        return "bif"
    if name.lower().endswith(".causal"):
        return "causal"
    raise CausalError(f"{name}: the extension names no format causaldsl writes; use "
                      + ", ".join(EXTENSIONS))


def pick(prog: Program, name: str | None, file: str, how: str = "read(path, model=NAME)"
         ) -> CausalModel:
    """The model of a program that ``read`` gives: the one named, else the only one (``how``:
    how to name one, for the message where there are several)."""
    if name is not None:
        return prog.models[prog.target(name)]
    if len(prog.models) == 1:
        return next(iter(prog.models.values()))
    if not prog.models:
        raise CausalError(f"{file} defines no model")
    raise CausalError(f"{file} defines {len(prog.models)} models ({', '.join(prog.models)}); "
                      f"name the one to read: {how}")


def write(model: CausalModel, path: str | Path) -> None:
    """Write a model in the format its path's extension names (a file made or replaced)."""
    if not isinstance(model, CausalModel):
        raise CausalTypeError(f"write takes a CausalModel, got {shown(model)}")
    if format_of(path) == "bif":
        write_bif(model, path)
    else:
        write_causal(model, path)
