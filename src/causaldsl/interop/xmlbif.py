"""XMLBIF files (the XML format of pgmpy, Weka and JavaBayes: ``<BIF VERSION="0.3">``), in
and out.

``read_xmlbif(path)`` and ``parse_xmlbif(data)`` give a ``CausalModel`` as the BIF reader does
(every variable observed, its ``OUTCOME`` elements its states in order, a table with axes
(*parents, variable)); ``xmlbif_text(model)`` and ``write_xmlbif(model, path)`` write one. The
XML is read with the standard library's expat, which gives every element its line and column:
each error is located, and the elements become the BIF reader's syntax tree, so the same
checks give the same messages. A file with a DOCTYPE or an entity declaration is refused
before anything in it is expanded (no entity bombs, no external entities)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

import numpy as np

from causaldsl.core.errors import CausalError
from causaldsl.core.types import FiniteType, show_label
from causaldsl.interop.bif import (
    UNNAMED,
    Entry,
    Network,
    NetworkBuilder,
    ProbabilityBlock,
    VariableDecl,
    Word,
    network_stem,
    read_bytes,
    writable,
)
from causaldsl.ir.mechanism import Table
from causaldsl.model.causal_model import CausalModel
from causaldsl.syntax.diagnostics import Diagnostic, SourceError, Span
from causaldsl.syntax.query import show_number

# -- the XML, with where each element starts ---------------------------------------------------


@dataclass
class Element:
    """An XML element: its tag (upper case: XMLBIF files write either), attributes, text,
    children, and where its start tag stands."""

    tag: str
    attrs: dict[str, str]
    span: Span
    parts: list[str] = field(default_factory=list)
    children: list[Element] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts).strip()

    def all(self, *tags: str) -> list[Element]:
        return [c for c in self.children if c.tag in tags]


class _Refused(Exception):
    def __init__(self, span: Span, message: str):
        self.span, self.message = span, message


def parse_xml(data: bytes, file: str, lines: list[str]) -> Element:
    """The root element of XML bytes; a syntax error, a DOCTYPE or an entity declaration is a
    SourceError at its line and column."""
    p = expat.ParserCreate()
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Element] = []
    roots: list[Element] = []

    def here() -> Span:
        return Span(p.CurrentLineNumber, p.CurrentColumnNumber + 1)

    def start(tag: str, attrs: dict[str, str]) -> None:
        el = Element(tag.upper(), attrs, here())
        (stack[-1].children if stack else roots).append(el)
        stack.append(el)

    def end(tag: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack:
            stack[-1].parts.append(text)

    def refuse(what: str, opening: bytes) -> Any:
        def handler(*args: Any) -> None:
            at = data.rfind(opening, 0, p.CurrentByteIndex + len(opening))  # where it opens
            span = here() if at < 0 else Span(data.count(b"\n", 0, at) + 1,
                                               at - data.rfind(b"\n", 0, at))
            raise _Refused(span, f"the file has {what}, which an XMLBIF file needs none of; it "
                                 "is refused, not expanded (entities can hide large or outside "
                                 "content)")
        return handler

    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    p.StartDoctypeDeclHandler = refuse("a DOCTYPE declaration", b"<!DOCTYPE")
    p.EntityDeclHandler = refuse("an entity declaration", b"<!ENTITY")
    p.ExternalEntityRefHandler = refuse("an external entity", b"&")
    try:
        p.Parse(data, True)
    except expat.ExpatError as e:
        span = Span(e.lineno, e.offset + 1)
        raise SourceError([_diag(file, lines, span, f"the file is not well-formed XML: "
                                                    f"{expat.ErrorString(e.code)}")],
                          parsed=False) from None
    except _Refused as e:
        raise SourceError([_diag(file, lines, e.span, e.message)], parsed=False) from None
    return roots[0]


def _diag(file: str, lines: list[str], span: Span, message: str) -> Diagnostic:
    line = lines[span.line - 1].rstrip("\r") if 0 < span.line <= len(lines) else ""
    return Diagnostic(file, span, message, line)


# -- reading ------------------------------------------------------------------------------------


def read_xmlbif(path: str | Path, shown: str | None = None) -> CausalModel:
    """The network in an XMLBIF file (plain or gzipped; only a regular file is read).
    ``shown``: the path that errors name (default: ``path``)."""
    shown = str(path) if shown is None else shown
    return parse_xmlbif(read_bytes(path, shown), shown, name=network_stem(path))


def parse_xmlbif(data: bytes | str, file: str = "<string>", name: str | None = None
                 ) -> CausalModel:
    """The network of XMLBIF text or bytes. The model is named as its ``NETWORK``'s ``NAME``
    is, unless that is ``unknown`` (pgmpy's name for a network without one) or there is none:
    then ``name`` (the file's name), else "bn"."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    text = raw.decode("utf-8", errors="replace")
    lines = text.split("\n")
    root = parse_xml(raw, file, lines)
    reader = _Reader(file, lines)
    network, named = reader.network(root)
    builder = NetworkBuilder(file, text, declare="list its states as <OUTCOME> elements")
    builder.diags.extend(reader.diags)
    builder.broken |= reader.broken  # said already
    title = named if named and named != UNNAMED else name or "bn"
    return builder.model(network, title)


@dataclass
class _Reader:
    """XMLBIF elements as the BIF reader's syntax tree; what the tree cannot carry (a missing
    element, a number that is no number) is an error here."""

    file: str
    lines: list[str]
    diags: list[Diagnostic] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)  # variables whose table an error refused

    def error(self, span: Span, message: str) -> None:
        self.diags.append(_diag(self.file, self.lines, span, message))

    def network(self, root: Element) -> tuple[Network, str | None]:
        if root.tag != "BIF":
            self.error(root.span, f"the root element is <{root.tag}>; an XMLBIF file's is <BIF>")
            self.fail()
        nets = root.all("NETWORK")
        if not nets:
            self.error(root.span, "<BIF> holds no <NETWORK> element")
            self.fail()
        if len(nets) > 1:
            self.error(nets[1].span, f"a second <NETWORK> (the first is at line "
                                     f"{nets[0].span.line}); a file holds one network")
        net = nets[0]
        names = net.all("NAME")
        named = names[0].text if names else None
        variables = tuple(v for el in net.all("VARIABLE") if (v := self.variable(el)) is not None)
        blocks = tuple(b for el in net.all("DEFINITION", "PROBABILITY")
                       if (b := self.definition(el)) is not None)
        return Network(None, variables, blocks), named

    def fail(self) -> None:
        raise SourceError(self.diags)

    def word(self, parent: Element, tag: str, what: str) -> Word | None:
        """The one ``tag`` child of ``parent``, as a name where it stands; None after an
        error."""
        found = parent.all(tag)
        if not found:
            self.error(parent.span, f"<{parent.tag}> has no <{tag}> ({what})")
            return None
        if len(found) > 1:
            self.error(found[1].span, f"<{parent.tag}> has a second <{tag}> ({what})")
            return None
        if not found[0].text.strip():
            self.error(found[0].span, f"<{tag}> is empty ({what})")
            return None
        return Word(found[0].text, found[0].span)

    def variable(self, el: Element) -> VariableDecl | None:
        kind = el.attrs.get("TYPE", el.attrs.get("type", "nature"))
        name = self.word(el, "NAME", "the variable's name")
        if name is None:
            return None
        if kind.lower() != "nature":
            self.error(el.span, f"variable {name.text} is of TYPE \"{kind}\" (an influence "
                                "diagram's); causaldsl reads chance variables, TYPE \"nature\"")
            return None
        states = tuple(Word(o.text, o.span) for o in el.all("OUTCOME"))
        types = ((len(states), el.span, states),) if states else ()
        return VariableDecl(name, types, el.span)

    def definition(self, el: Element) -> ProbabilityBlock | None:
        var = self.word(el, "FOR", "the variable whose table it gives")
        if var is None:
            return None
        parents = tuple(Word(g.text, g.span) for g in el.all("GIVEN"))
        entries = []
        for t in el.all("TABLE"):
            numbers = self.numbers(t, var.text)
            if numbers is None:
                self.broken.add(var.text)
                return ProbabilityBlock(var, parents, (), el.span)
            entries.append(Entry("table", (), numbers, t.span, variable_last=True))
        return ProbabilityBlock(var, parents, tuple(entries), el.span)

    def numbers(self, t: Element, var: str) -> np.ndarray | None:
        words = t.text.replace(",", " ").split()
        bad = next((w for w in words if not _NUMBER.fullmatch(w)), None)
        if bad is not None:  # Python's float() would take "0_5" as 5
            self.error(t.span, f"{bad!r} in the table of {var} is not a number")
            return None
        return np.array([float(w) for w in words], dtype=np.float64)


_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:inf|nan)",
                     re.IGNORECASE)


# -- writing ------------------------------------------------------------------------------------


def xmlbif_text(model: CausalModel) -> str:
    """A model as XMLBIF 0.3 text (pgmpy's layout). Every variable must be observed with a
    finite type and a table; labels are written as names; floats exactly."""
    root = ET.Element("BIF", VERSION="0.3")
    net = ET.SubElement(root, "NETWORK")
    ET.SubElement(net, "NAME").text = _xml_word(model.name)
    variables = list(model.variables.values())
    for v in variables:
        writable(v, model, "XMLBIF")
        assert isinstance(v.type, FiniteType)
        el = ET.SubElement(net, "VARIABLE", TYPE="nature")
        ET.SubElement(el, "NAME").text = _xml_word(v.name)
        for s in v.type.values:
            ET.SubElement(el, "OUTCOME").text = _xml_word(show_label(s))
    for v in variables:
        assert isinstance(v.mechanism, Table)
        el = ET.SubElement(net, "DEFINITION")
        ET.SubElement(el, "FOR").text = _xml_word(v.name)
        for p in v.parents:
            ET.SubElement(el, "GIVEN").text = _xml_word(p)
        flat = v.mechanism.array.reshape(-1)  # (*parents, variable): the variable innermost
        ET.SubElement(el, "TABLE").text = " ".join(show_number(float(x)) for x in flat)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_word(text: str) -> str:
    """A name as XMLBIF holds it: readers strip the space around an element's text, and XML
    cannot hold control characters."""
    if text != text.strip() or _UNWRITABLE.search(text) or "\n" in text or "\r" in text:
        raise CausalError(f"the name {text!r} cannot be written in XMLBIF: it holds a line break "
                          "or a control character, or begins or ends with a space")
    return text


def write_xmlbif(model: CausalModel, path: str | Path) -> None:
    """Write a model as an XMLBIF file."""
    from causaldsl.lang.files import write_regular

    write_regular(path, xmlbif_text(model).encode("utf-8"))

