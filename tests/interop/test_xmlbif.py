"""XMLBIF files (issue 18, item 1): every network pgmpy ships, written as XMLBIF by pgmpy, reads
as pgmpy's own XMLBIF reader reads it, table by table, and answers do-queries as pgmpy does;
XMLBIF we write reads back the same, by us and by pgmpy; a malformed file is an error at its
line and column, and a DOCTYPE or an entity is refused before anything is expanded."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import causaldsl
from causaldsl import CausalError, CausalModel, FiniteType, ModelBuilder, Table, Variable
from causaldsl.interop.pgmpy import from_pgmpy
from causaldsl.interop.xmlbif import parse_xmlbif, read_xmlbif, xmlbif_text
from causaldsl.syntax.diagnostics import SourceError
from tests.interop.test_bif import (
    EXAMPLES,
    QUERIED,
    SIZES,
    SLOW_FOR_PGMPY,
    assert_do_queries_agree,
    networks,
    pgmpy_network,
)
from tests.interop.test_formats import assert_same, run

pytest.importorskip("pgmpy")

#: the networks whose state names pgmpy's XMLBIF writer makes equal (child's CO2Report has the
#: states "<7.5" and ">=7.5": pgmpy writes both as "_7_5"), so the file it writes holds a
#: variable with a state listed twice, which pgmpy's reader refuses too
MANGLED_BY_PGMPY = {"child"}


def pgmpy_xmlbif(name: str) -> str:
    """The XMLBIF text pgmpy writes for a shipped network."""
    from pgmpy.readwrite import XMLBIFWriter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(XMLBIFWriter(pgmpy_network(name)))


def pgmpy_reads(text: str) -> Any:
    from pgmpy.readwrite import XMLBIFReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return XMLBIFReader(string=text).get_model()


@pytest.mark.parametrize("name", networks(SLOW_FOR_PGMPY))
def test_a_network_pgmpy_writes_reads_as_pgmpy_reads_it(name):
    text = pgmpy_xmlbif(name)
    if name in MANGLED_BY_PGMPY:
        with pytest.raises(SourceError, match=r"x\.xml:\d+:\d+: error: state \S+ of variable "
                                              r"\S+ is listed twice"):
            parse_xmlbif(text, "x.xml")
        with pytest.raises(ValueError, match="Repeated state names"):
            pgmpy_reads(text)
        return
    model = parse_xmlbif(text, name=name)
    net = pgmpy_reads(text)
    assert model.name == name  # pgmpy writes NAME "unknown": the file's name instead
    assert sorted(model.variables) == sorted(net.nodes())
    assert model.observed == tuple(model.variables)
    for cpd in net.get_cpds():
        v = model[cpd.variable]
        assert v.parents == tuple(cpd.variables[1:]), v.name
        for u in (*v.parents, v.name):  # states: names, in the file's order
            assert list(model[u].type.values) == list(cpd.state_names[u]), (v.name, u)
        want = np.moveaxis(cpd.values, 0, -1)  # (*parents, variable)
        want = want / want.sum(axis=-1, keepdims=True)  # bnlearn's rows are off by up to 1e-7
        np.testing.assert_allclose(v.mechanism.array, want, rtol=0, atol=1e-12, err_msg=v.name)
    vs = model.variables.values()
    assert (len(vs), sum(len(v.parents) for v in vs)) == SIZES[name][:2]


@pytest.mark.parametrize("name", [q for q in QUERIED if q != "child"])
def test_seeded_do_queries_on_a_network_pgmpy_wrote_agree_with_pgmpy(name):
    text = pgmpy_xmlbif(name)
    assert_do_queries_agree(parse_xmlbif(text), pgmpy_reads(text), name)


@pytest.mark.parametrize("name", ["asia", "child", "alarm", "hepar2", "win95pts"])
def test_xmlbif_we_write_reads_back_the_same_by_us_and_by_pgmpy(name):
    model = causaldsl.read(EXAMPLES / f"{name}.bif.gz")
    text = xmlbif_text(model)
    assert_same(model, parse_xmlbif(text))
    assert parse_xmlbif(text).name == name
    theirs = from_pgmpy(pgmpy_reads(text))
    for v in model.variables.values():  # child's "<7.5" and ">=7.5" too (escaped)
        w = theirs[v.name]
        assert w.parents == v.parents and list(w.type.values) == list(v.type.values)
        np.testing.assert_array_equal(w.mechanism.array, v.mechanism.array)  # exact numbers


@pytest.mark.parametrize("spec", ["A{x|y}->B{lo|mid|hi}<-C;B->D", "A->B->C;A->C;D->C"])
def test_xmlbif_of_pyagrum_reads_as_pyagrum_reads_it_and_pyagrum_reads_ours(spec, tmp_path):
    """A second writer and reader: pyAgrum's BIFXML (six significant digits, its own layout)."""
    gum = pytest.importorskip("pyagrum")
    gum.initRandom(5)
    gum.saveBN(gum.fastBN(spec), str(tmp_path / "fast.bifxml"))
    model = causaldsl.read(tmp_path / "fast.bifxml")
    theirs = causaldsl.from_pyagrum(gum.loadBN(str(tmp_path / "fast.bifxml")))
    for v in model.variables.values():
        want = aligned(theirs[v.name], v)
        want = want / want.sum(axis=-1, keepdims=True)  # six digits: rows off by up to 1e-6
        np.testing.assert_allclose(v.mechanism.array, want, rtol=0, atol=1e-12, err_msg=v.name)
    causaldsl.write(model, tmp_path / "ours.bifxml")
    again = causaldsl.from_pyagrum(gum.loadBN(str(tmp_path / "ours.bifxml")))
    for v in model.variables.values():
        np.testing.assert_array_equal(aligned(again[v.name], v), v.mechanism.array, v.name)


def aligned(w: Any, v: Any) -> np.ndarray:
    """``w``'s table with its parents in ``v``'s order (pyAgrum keeps its own order)."""
    assert sorted(w.parents) == sorted(v.parents) and w.type.values == v.type.values
    order = [*(w.parents.index(p) for p in v.parents), len(v.parents)]
    return np.transpose(w.mechanism.array, order)


def test_the_table_has_the_variable_innermost():
    """XMLBIF's order, not BIF's: rows per parent state, the variable's states within."""
    text = XML.replace("<TABLE>0.05 0.95 0.01 0.99</TABLE>", "<TABLE>0.05 0.95 0.3 0.7</TABLE>")
    model = parse_xmlbif(text)
    assert model["tub"].mechanism.array.tolist() == [[0.05, 0.95], [0.3, 0.7]]
    assert model.query("P(tub = yes | do(asia = no))") == pytest.approx(0.3, abs=1e-15)


def test_names_and_labels_that_xml_must_escape_round_trip():
    x = FiniteType(["<7.5", ">=7.5", 'q"', "a b"])
    model = CausalModel.from_variables([
        Variable("X<1", x, mechanism=Table([0.25] * 4, 0)),
        Variable("Y", FiniteType([0, 1]), parents=("X<1",),
                 mechanism=Table([[1, 0], [0, 1], [1, 0], [0.5, 0.5]], 1))], "a & b")
    text = xmlbif_text(model)
    assert "<OUTCOME>&lt;7.5</OUTCOME>" in text and "<NAME>a &amp; b</NAME>" in text
    again = parse_xmlbif(text)
    assert again.name == "a & b"
    assert again["X<1"].type.values == model["X<1"].type.values
    assert again["Y"].type.values == ("0", "1")  # names, as in BIF
    np.testing.assert_array_equal(again["Y"].mechanism.array, model["Y"].mechanism.array)


def test_what_xmlbif_cannot_hold_is_refused_by_name():
    b = ModelBuilder("m")
    b.latent("H", ["a", "b"], [0.5, 0.5])
    b.variable("X", ["a", "b"], {"a": [1, 0], "b": [0, 1]}, given="H")
    with pytest.raises(CausalError, match="variable H of model m is latent; XMLBIF holds only "
                                          "observed variables with tables"):
        xmlbif_text(b.build())
    spaced = CausalModel.from_variables([Variable(" X", FiniteType(["a", "b"]),
                                                  mechanism=Table([0.5, 0.5], 0))])
    with pytest.raises(CausalError, match=r"the name ' X' cannot be written in XMLBIF"):
        xmlbif_text(spaced)


# -- errors -------------------------------------------------------------------------------------

XML = """<?xml version="1.0"?>
<BIF VERSION="0.3">
<NETWORK>
<NAME>unknown</NAME>
<VARIABLE TYPE="nature">
  <NAME>asia</NAME>
  <OUTCOME>yes</OUTCOME>
  <OUTCOME>no</OUTCOME>
</VARIABLE>
<VARIABLE TYPE="nature">
  <NAME>tub</NAME>
  <OUTCOME>yes</OUTCOME>
  <OUTCOME>no</OUTCOME>
</VARIABLE>
<DEFINITION>
  <FOR>asia</FOR>
  <TABLE>0.01 0.99</TABLE>
</DEFINITION>
<DEFINITION>
  <FOR>tub</FOR>
  <GIVEN>asia</GIVEN>
  <TABLE>0.05 0.95 0.01 0.99</TABLE>
</DEFINITION>
</NETWORK>
</BIF>
"""

MALFORMED = [
    # (what, replace this, by this, the first line of the error)
    ("a tag not closed", "<OUTCOME>no</OUTCOME>\n</VARIABLE>\n<VARIABLE",
     "<OUTCOME>no</OUTCOM>\n</VARIABLE>\n<VARIABLE",
     "x.xml:8:16: error: the file is not well-formed XML: mismatched tag"),
    ("a DOCTYPE with an entity bomb", '<?xml version="1.0"?>\n',
     '<?xml version="1.0"?>\n<!DOCTYPE b [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n',
     "x.xml:2:1: error: the file has a DOCTYPE declaration, which an XMLBIF file needs none of; "
     "it is refused, not expanded (entities can hide large or outside content)"),
    ("an external entity", '<?xml version="1.0"?>\n',
     '<?xml version="1.0"?>\n<!DOCTYPE b [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n',
     "x.xml:2:1: error: the file has a DOCTYPE declaration"),
    ("an entity not declared", "<NAME>unknown</NAME>", "<NAME>&e;</NAME>",
     "x.xml:4:7: error: the file is not well-formed XML: undefined entity"),
    ("a variable without a name", "  <NAME>tub</NAME>\n", "",
     "x.xml:10:1: error: <VARIABLE> has no <NAME> (the variable's name)"),
    ("a variable without states", "  <OUTCOME>yes</OUTCOME>\n  <OUTCOME>no</OUTCOME>\n</VARIABLE>"
     "\n<DEFINITION>", "</VARIABLE>\n<DEFINITION>",
     "x.xml:11:3: error: variable tub has no type; list its states as <OUTCOME> elements"),
    ("a decision variable", '<VARIABLE TYPE="nature">\n  <NAME>tub', '<VARIABLE TYPE="decision">\n'
     "  <NAME>tub", 'x.xml:10:1: error: variable tub is of TYPE "decision" (an influence '
     'diagram\'s); causaldsl reads chance variables, TYPE "nature"'),
    ("a definition for no variable", "<FOR>tub</FOR>", "<FOR>tubb</FOR>",
     "x.xml:20:3: error: 'tubb' is not a declared variable; did you mean 'tub'?"),
    ("a definition without FOR", "  <FOR>tub</FOR>\n", "",
     "x.xml:19:1: error: <DEFINITION> has no <FOR> (the variable whose table it gives)"),
    ("a parent not declared", "<GIVEN>asia</GIVEN>", "<GIVEN>asai</GIVEN>",
     "x.xml:21:3: error: 'asai' is not a declared variable; did you mean 'asia'?"),
    ("a number that is no number", "0.05 0.95 0.01", "0.05 0.9x5 0.01",
     "x.xml:22:3: error: '0.9x5' in the table of tub is not a number"),
    ("a table of three numbers", "<TABLE>0.05 0.95 0.01 0.99</TABLE>", "<TABLE>0.05 0.95 0.01</TABLE>",
     "x.xml:22:3: error: the table of tub has 3 numbers, but it needs 4: 2 states for each of 2 "
     "rows of its parents"),
    ("a row that does not sum to one", "0.05 0.95 0.01 0.99", "0.05 0.95 0.01 0.9",
     "x.xml:22:3: error: row no of variable tub (given asia) sums to 0.91, not 1 (off by -0.09)"),
    ("a state listed twice", "<OUTCOME>no</OUTCOME>\n</VARIABLE>\n<VARIABLE",
     "<OUTCOME>yes</OUTCOME>\n</VARIABLE>\n<VARIABLE",
     "x.xml:8:3: error: state yes of variable asia is listed twice"),
    ("a second network", "</NETWORK>\n", "</NETWORK>\n<NETWORK></NETWORK>\n",
     "x.xml:25:1: error: a second <NETWORK> (the first is at line 3); a file holds one network"),
]


@pytest.mark.parametrize(("what", "old", "new", "first"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_file_is_an_error_at_its_place(what, old, new, first):
    assert old in XML
    text = XML.replace(old, new, 1)
    with pytest.raises(SourceError) as e:
        parse_xmlbif(text, "x.xml")
    said = [str(d) for d in e.value.diagnostics]  # a block left without its variable: said too
    (found,) = [d for d in said if d.startswith(first)]
    line = int(first.split(":")[1])
    assert found.splitlines()[1] == f" {line} | {text.splitlines()[line - 1]}"


def test_another_root_element():
    text = XML.replace("<BIF VERSION=\"0.3\">", "<XBIF>").replace("</BIF>", "</XBIF>")
    with pytest.raises(SourceError, match=r"x\.xml:2:1: error: the root element is <XBIF>; an "
                                          r"XMLBIF file's is <BIF>"):
        parse_xmlbif(text, "x.xml")


def test_a_billion_laughs_is_refused_before_it_is_expanded():
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    text = f'<?xml version="1.0"?>\n<!DOCTYPE b [<!ENTITY l0 "lol">{lol}]>\n<BIF>&l9;</BIF>\n'
    with pytest.raises(SourceError, match=r"x\.xml:2:1: error: the file has a DOCTYPE"):
        parse_xmlbif(text, "x.xml")


def test_read_write_and_convert_by_extension(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = causaldsl.read(EXAMPLES / "alarm.bif.gz")
    for name in ("alarm.xmlbif", "alarm.xml", "ALARM.XML"):
        causaldsl.write(model, tmp_path / name)
        assert_same(model, causaldsl.read(tmp_path / name))
        assert_same(model, read_xmlbif(tmp_path / name))
    assert run(capsys, "convert", "alarm.xml", "-o", "a.causal") == (0, "wrote a.causal\n", "")
    assert run(capsys, "convert", "a.causal", "-o", "b.xmlbif") == (0, "wrote b.xmlbif\n", "")
    assert (tmp_path / "b.xmlbif").read_text() == (tmp_path / "alarm.xml").read_text()
    code, out, _ = run(capsys, "query", "alarm.xmlbif", "P(BP | do(CO = HIGH))")
    assert code == 0 and "HIGH    0.567533" in out
    (tmp_path / "bad.xml").write_text(XML.replace("<GIVEN>asia", "<GIVEN>asai"))
    code, out, err = run(capsys, "convert", "bad.xml", "-o", "x.causal")
    assert (code, out) == (1, "") and err.startswith("bad.xml:21:3: error: 'asai' is not a declared")
    code, out, err = run(capsys, "fmt", "bad.xml")
    assert code == 1 and err.startswith("bad.xml: an XMLBIF file; causal fmt formats .causal")
    (tmp_path / "m.causal").write_text('import "alarm.xml"\nquery P(BP | do(CO = HIGH))\n')
    code, out, _ = run(capsys, "run", "m.causal")
    assert code == 0 and "0.567533" in out
