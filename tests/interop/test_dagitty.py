"""dagitty's graph text (issue 18, item 1): graphs as dagitty's documentation writes them read with
the edges they state; every ADMG written reads back as itself (hypothesis), with its marks; a
pdag, mag or pag, their edges and malformed text are each an error at its place; a dagitty file
is a graph to causaldsl.read, causal convert, causal identify and import."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import causaldsl
from causaldsl import Role
from causaldsl.graph import ADMG
from causaldsl.interop.dagitty import (
    DagittyGraph,
    as_graph_model,
    dagitty_text,
    parse_dagitty,
    read_dagitty,
)
from causaldsl.lang.writer import model_source
from causaldsl.syntax.diagnostics import SourceError
from tests.interop.test_formats import run

EXAMPLES = Path(causaldsl.__file__).parents[2] / "examples"


def edges(text: str) -> tuple[set[tuple[str, str]], set[frozenset[str]]]:
    g = parse_dagitty(text).admg()
    return set(g.directed), set(g.bidirected)


def bi(*pairs: str) -> set[frozenset[str]]:
    return {frozenset(p.split("-")) for p in pairs}


# -- dagitty's documentation --------------------------------------------------------------------


def test_the_adjustment_sets_example_of_the_dagitty_r_package():
    """``g1`` of ``?adjustmentSets``: chains, ``<-``, and a chain of bidirected edges."""
    text = """dag {
    W1 -> Z1 -> X -> Y
    Z1 <- V -> Z2
    W2 -> Z2 -> Y
    X <-> W1 <-> W2 <-> Y
}"""
    assert edges(text) == (
        {("W1", "Z1"), ("Z1", "X"), ("X", "Y"), ("V", "Z1"), ("V", "Z2"), ("W2", "Z2"),
         ("Z2", "Y")}, bi("X-W1", "W1-W2", "W2-Y"))
    g = parse_dagitty(text)
    assert set(g.model.latent) == {"U_X_W1", "U_W1_W2", "U_W2_Y"}
    assert g.model["W1"].parents == ("U_X_W1", "U_W1_W2")  # a hidden common cause per pair


def test_a_graph_as_dagitty_net_exports_it():
    """dagitty.net's export: a bounding box, positions, exposure and outcome, an edge with a
    position of its own (a curved edge)."""
    text = """dag {
bb="-3.2,-3.1,3.2,3.1"
A [pos="-2.2,-1.5"]
B [pos="1.4,-1.5"]
D [outcome,pos="1.4,1.6"]
E [exposure,pos="-2.2,1.6"]
Z [pos="-0.4,-0.4"]
A -> E
A -> Z [pos="-0.8,-1.0"]
B -> D
B -> Z
E -> D
Z -> D
Z -> E
}
"""
    g = parse_dagitty(text, name="mbias")
    assert g.exposure == ("E",) and g.outcome == ("D",)
    assert edges(text) == ({("A", "E"), ("A", "Z"), ("B", "D"), ("B", "Z"), ("E", "D"),
                            ("Z", "D"), ("Z", "E")}, set())
    assert g.model.observed == ("A", "B", "Z", "E", "D")  # a graph: nodes in causal order
    assert str(g.model.identify("P(D | do(E))").estimand) == str(
        causaldsl.parse("graph g { A -> E\n A -> Z\n B -> D\n B -> Z\n E -> D\n Z -> D\n"
                        " Z -> E }").models["g"].identify("P(D | do(E))").estimand)


def test_latent_nodes_groups_and_separators():
    """``u [latent]`` is a hidden variable (not a bidirected edge); ``{A B}`` a group of ends;
    ``;``, ``,``, newlines or nothing between statements; comments."""
    text = "dag { x -> y ; x <- u -> y ; u [latent] }"
    g = parse_dagitty(text)
    assert g.model["u"].role is Role.LATENT and g.model.observed == ("x", "y")
    assert g.admg() == ADMG(["x", "y"], [("x", "y")], [("x", "y")])
    assert edges("dag{a->{b c}<-d,e [exposure] e->a}") == (
        {("a", "b"), ("a", "c"), ("d", "b"), ("d", "c"), ("e", "a")}, set())
    assert edges("dag {\n// a comment\n/* and\nanother */ a -> b }") == ({("a", "b")}, set())
    assert edges('dag { "my var" -> Y.2 -> 3 }') == ({("my var", "Y.2"), ("Y.2", "3")}, set())
    assert parse_dagitty("dag { }").model.variables == {}


def test_a_pair_joined_twice_has_one_hidden_cause_named_apart_from_the_nodes():
    g = parse_dagitty("dag { A <-> B; B <-> A; U_A_B -> A }")
    assert set(g.model.latent) == {"U_A_B_1"}
    assert g.model["A"].parents == ("U_A_B", "U_A_B_1")  # hidden causes last, as in .causal
    assert g.admg() == ADMG(["A", "B", "U_A_B"], [("U_A_B", "A")], [("A", "B")])


def test_marks():
    g = parse_dagitty("dag { x [exposure] y [outcome] z [adjusted] s [selected] w [latent, "
                      "exposure] x [exposure] x -> y }")
    assert (g.exposure, g.outcome, g.adjusted, g.selected) == (("x", "w"), ("y",), ("z",), ("s",))
    assert g.marks() == {"x": ("exposure",), "w": ("exposure",), "y": ("outcome",),
                         "z": ("adjusted",), "s": ("selected",)}


# -- errors -------------------------------------------------------------------------------------

MALFORMED = [
    # (text, the first line of the error)
    ("pdag { a -- b }", "x.dagitty:1:1: error: this is a pdag, a partially directed graph (its -- "
     "edges have no direction); causaldsl reads dagitty's dag { … } graphs"),
    ("mag { a <-> b }", "x.dagitty:1:1: error: this is a mag, a maximal ancestral graph;"),
    ("pag { a @-> b }", "x.dagitty:1:1: error: this is a pag, a partial ancestral graph;"),
    ("digraph { a -> b }", "x.dagitty:1:1: error: this is a digraph; causaldsl reads"),
    ("dag { a -> b\n  b -- c }", "x.dagitty:2:5: error: b -- c is an edge of a pdag; a dag's "
     "edges are ->, <- and <-> (a hidden common cause)"),
    ("dag { a @-> b }", "x.dagitty:1:9: error: a @-> b is an edge of a pag"),
    ("dag { a -> b -> c -> a }", "x.dagitty:1:12: error: model dag has a cycle: b → c → a → b"),
    ("dag { a -> a }", "x.dagitty:1:12: error: a -> a joins a to itself, a cycle of length one"),
    ("dag { a <-> a }", "x.dagitty:1:13: error: a <-> a joins a to itself: a bidirected edge is "
     "a hidden common cause of two different nodes"),
    ("dag { a [latnet] }", "x.dagitty:1:10: error: 'latnet' is not an attribute of a node; a "
     "node may be exposure, outcome, adjusted, selected, latent, and have a pos and a label; "
     "did you mean 'latent'?"),
    ('dag { a [exposure="yes"] }', "x.dagitty:1:19: error: exposure takes no value: write "
     "[exposure]"),
    ("dag { a -> }", "x.dagitty:1:12: error: unexpected '}'; expected '{', a \"quoted\" value, "
     "a name"),
    ("dag { a -> b", "x.dagitty:1:13: error: unexpected end of file;"),
    ("dag a -> b", "x.dagitty:1:5: error: unexpected 'a'; expected '{'"),
    ('dag { "a\nb" -> c }', "x.dagitty:1:7: error: unexpected character '\"'"),
]


@pytest.mark.parametrize(("text", "first"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_text_is_an_error_at_its_place(text, first):
    with pytest.raises(SourceError) as e:
        parse_dagitty(text, "x.dagitty")
    lines = str(e.value).splitlines()
    assert lines[0].startswith(first), lines[0]
    line = int(first.split(":")[1])
    assert lines[1] == f" {line} | {text.splitlines()[line - 1]}"


def test_every_error_is_reported_together():
    with pytest.raises(SourceError) as e:
        parse_dagitty("dag { a -- b\n c [x]\n d -> d }", "x.dagitty")
    assert [str(d.span) for d in e.value.diagnostics] == ["1:9", "2:5", "3:7"]


# -- writing: round trips -----------------------------------------------------------------------

NAMES = st.sampled_from(["X", "Y", "Z", "W1", "a.b", "3", "é", "U_X_Y", "my var", "x-y", 'q"',
                         "dag", "latent"])


@st.composite
def admgs(draw: st.DrawFn, names: st.SearchStrategy[str] = NAMES) -> ADMG:
    """A random ADMG: directed edges from earlier to later nodes of a random order, and
    bidirected edges between any two."""
    nodes = draw(st.lists(names, min_size=1, max_size=7, unique=True))
    pairs = [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:]]
    directed = [p for p in pairs if draw(st.booleans())]
    bidirected = [p for p in pairs if draw(st.integers(0, 3)) == 0]
    return ADMG(nodes, directed, bidirected, name="g")


@settings(max_examples=150, deadline=None)
@given(admgs())
def test_every_admg_written_reads_back_as_itself(g):
    text = dagitty_text(g)
    assert parse_dagitty(text).admg() == g
    assert parse_dagitty(dagitty_text(as_graph_model(g))).admg() == g  # through its model
    assert as_graph_model(g).admg() == g


@settings(max_examples=100, deadline=None)
@given(admgs(st.sampled_from(["X", "Y", "Z", "W", "M", "U_X_Y", "U_Y_X", "T'"])),
       st.data())
def test_marks_and_latents_read_back(g, data):
    model = as_graph_model(g)
    marks = {m: tuple(data.draw(st.lists(st.sampled_from(g.nodes), unique=True), label=m))
             for m in ("exposure", "outcome", "adjusted", "selected")}
    d = DagittyGraph(model, **marks)
    again = parse_dagitty(dagitty_text(d), name="g")
    assert again.admg() == g
    assert {m: set(getattr(again, m)) for m in marks} == {m: set(v) for m, v in marks.items()}
    assert again.model == model  # the same hidden causes, named alike, in the same order
    causal = causaldsl.parse(model_source(model)).models["g"]  # and as a .causal graph block
    assert causal == model and list(causal.variables) == list(model.variables)


def test_a_model_is_written_as_its_graph():
    smoking = causaldsl.load(EXAMPLES / "smoking.causal").model
    text = dagitty_text(smoking)
    assert text == "dag {\nH [latent]\nS\nT\nC\nH -> S\nS -> T\nT -> C\nH -> C\n}\n"
    again = parse_dagitty(text, name="smoking").model
    assert again.admg() == smoking.admg()
    for v in smoking.variables.values():
        assert (again[v.name].role, again[v.name].parents) == (v.role, v.parents)
    napkin = causaldsl.load(EXAMPLES / "napkin.causal").models["napkin"]
    assert dagitty_text(napkin) == ("dag {\nW\nZ\nX\nY\nW -> Z\nZ -> X\nX -> Y\nW <-> X\n"
                                    "W <-> Y\n}\n")
    assert parse_dagitty(dagitty_text(napkin), name="napkin").model == napkin


# -- files and the command line -----------------------------------------------------------------


def test_read_write_by_extension(tmp_path):
    (tmp_path / "g.dagitty").write_text("dag { X [exposure]\n Y [outcome]\n X -> Y <- Z -> X\n"
                                        " X <-> Y }\n")
    g = causaldsl.read(tmp_path / "g.dagitty")
    assert g.name == "g" and g.admg() == ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"),
                                                                ("X", "Y")], [("X", "Y")])
    d = read_dagitty(tmp_path / "g.dagitty")
    assert d.exposure == ("X",) and d.outcome == ("Y",) and d.model == g
    for obj in (g, d, g.admg()):
        causaldsl.write(obj, tmp_path / "out.dagitty")
        assert causaldsl.read(tmp_path / "out.dagitty").admg() == g.admg()
    causaldsl.write(d, tmp_path / "out.dagitty")
    assert read_dagitty(tmp_path / "out.dagitty").outcome == ("Y",)
    causaldsl.write(g, tmp_path / "g.causal")
    assert causaldsl.read(tmp_path / "g.causal") == g
    causaldsl.write(g.admg(), tmp_path / "a.causal")  # an ADMG, as the graph it is
    assert causaldsl.read(tmp_path / "a.causal").admg() == g.admg()
    causaldsl.write(causaldsl.load(EXAMPLES / "smoking.causal").model, tmp_path / "s.dagitty")
    assert causaldsl.read(tmp_path / "s.dagitty").latent == ("H",)
    with pytest.raises(causaldsl.CausalError, match=r"variable Z of model g has no table \(its "
                                                    r"type is \?\); BIF holds only tables"):
        causaldsl.write(g, tmp_path / "g.bif")


def test_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "napkin.dagitty").write_text(
        "dag {\n  W -> Z -> X -> Y\n  W <-> X\n  W <-> Y\n  X [exposure]\n  Y [outcome]\n}\n")
    assert run(capsys, "check", "napkin.dagitty") == (0, "napkin.dagitty: ok (1 graph)\n", "")
    code, out, _ = run(capsys, "identify", "napkin.dagitty", "P(Y | do(X))")
    assert code == 0 and "(Σ_w P(w) P(x,y|w,z)) / (Σ_w P(w) P(x|w,z))" in out
    assert run(capsys, "convert", "napkin.dagitty", "-o", "n.causal") == (0, "wrote n.causal\n", "")
    assert run(capsys, "identify", "n.causal", "P(Y | do(X))")[1] == out
    assert run(capsys, "convert", "n.causal", "-o", "n.dagitty") == (0, "wrote n.dagitty\n", "")
    assert causaldsl.read("n.dagitty").admg() == causaldsl.read("napkin.dagitty").admg()
    (tmp_path / "bad.dagitty").write_text("pdag {\n  a -- b\n}\n")
    code, out, err = run(capsys, "convert", "bad.dagitty", "-o", "x.causal")
    assert (code, out) == (1, "") and err.startswith("bad.dagitty:1:1: error: this is a pdag")
    code, _, err = run(capsys, "fmt", "bad.dagitty")
    assert code == 1 and err.startswith("bad.dagitty: a dagitty file; causal fmt formats")
    (tmp_path / "m.causal").write_text('import "napkin.dagitty"\nidentify P(Y | do(X)) in napkin\n')
    code, out, err = run(capsys, "run", "m.causal")
    assert code == 0, err
