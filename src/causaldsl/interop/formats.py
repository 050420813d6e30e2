"""One entry for network files: ``causaldsl.read(path)`` and ``causaldsl.write(obj, path)``
pick the format by the file's extension (``FORMATS``): ``.causal`` (the language), ``.bif`` and
``.bif.gz`` (BIF, ``interop.bif``), ``.xmlbif``, ``.bifxml`` (pyAgrum's) and ``.xml`` (XMLBIF,
``interop.xmlbif``), ``.net`` (Hugin's, ``interop.hugin``),
``.dagitty`` (dagitty's graph text, ``interop.dagitty``). Reading goes through the loader,
which reads every one of them (``read_network``, behind its hook; ``pick`` chooses the model);
``write`` is here. ``causal convert IN -o OUT`` is the two in a row."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from causaldsl.core.errors import CausalError, CausalTypeError, shown
from causaldsl.interop.bif import read_bif, write_bif
from causaldsl.lang.elaborate import Program
from causaldsl.lang.writer import write_causal
from causaldsl.model.causal_model import CausalModel
from causaldsl.model.graph import ADMG

#: Each extension a file may end with, and its format (a name may end with several: the first
#: that fits wins, so ``.bif.gz`` comes before ``.bif``).
FORMATS: tuple[tuple[str, str], ...] = (
    (".bif.gz", "bif"), (".bif", "bif"), (".xmlbif", "xmlbif"), (".bifxml", "xmlbif"),
    (".xml", "xmlbif"), (".net", "hugin"),
    (".dagitty", "dagitty"), (".causal", "causal"))

#: How each format is named in messages.
TITLES = {"bif": "a BIF file", "xmlbif": "an XMLBIF file", "hugin": "a Hugin .net file",
          "dagitty": "a dagitty file",
          "causal": "a .causal file"}


def format_of(path: str | os.PathLike[str]) -> str:
    """The format a path's extension names: "causal", "bif", "xmlbif", "hugin" or
    "dagitty"."""
    name = os.fsdecode(os.fspath(path))
    for ext, fmt in FORMATS:
        if name.lower().endswith(ext):
            return fmt
    raise CausalError(f"{name}: the extension names no format causaldsl writes; use "
                      + ", ".join(ext for ext, _ in FORMATS))


def read_network(path: str | Path, shown: str) -> CausalModel:
    """The model (or graph) in a network file of another format than .causal, by its
    extension; errors name ``shown``."""
    fmt = format_of(path)
    if fmt == "xmlbif":
        from causaldsl.interop.xmlbif import read_xmlbif

        return read_xmlbif(path, shown)
    if fmt == "hugin":
        from causaldsl.interop.hugin import read_hugin

        return read_hugin(path, shown)
    if fmt == "dagitty":
        from causaldsl.interop.dagitty import read_dagitty

        return read_dagitty(path, shown).model
    return read_bif(path, shown)


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


def write(obj: Any, path: str | Path) -> None:
    """Write a model (or a graph: an ``ADMG``, a dagitty read) in the format its path's
    extension names (a file made or replaced)."""
    from causaldsl.interop.dagitty import DagittyGraph, as_graph_model, write_dagitty

    fmt = format_of(path)
    if fmt == "dagitty" and isinstance(obj, CausalModel | ADMG | DagittyGraph):
        write_dagitty(obj, path)
        return
    if isinstance(obj, DagittyGraph):
        obj = obj.model
    elif isinstance(obj, ADMG):
        obj = as_graph_model(obj)
    if not isinstance(obj, CausalModel):
        raise CausalTypeError(f"write takes a CausalModel (or a graph: an ADMG), got "
                              f"{shown(obj)}")
    if fmt == "bif":
        write_bif(obj, path)
    elif fmt == "xmlbif":
        from causaldsl.interop.xmlbif import write_xmlbif

        write_xmlbif(obj, path)
    elif fmt == "hugin":
        from causaldsl.interop.hugin import write_hugin

        write_hugin(obj, path)
    else:
        write_causal(obj, path)
