"""Hugin .net files (issue 18, item 1, its last part): networks pyAgrum writes as .net read as
pyAgrum reads them, table by table, and answer as pyAgrum's LazyPropagation does; .net we write
reads back the same, by us and by pyAgrum; a malformed file is an error at its place."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import causaldsl
from causaldsl import CausalError
from causaldsl.interop.hugin import hugin_text, parse_hugin
from causaldsl.syntax.diagnostics import SourceError
from tests.interop.test_bif import EXAMPLES
from tests.interop.test_formats import assert_same, run
from tests.interop.test_peers import assert_posteriors_agree
from tests.interop.test_xmlbif import aligned

NETWORKS = ["asia", "sachs", "alarm", "insurance", "win95pts", "hepar2", "hailfinder"]
#: pyAgrum's .net reader parses numbers as single-precision floats (0.2 → 0.19999999701976784):
#: within 2^-24 of each probability (at most 1), so 6e-8 apart
FLOAT32 = 6e-8


def gum() -> Any:
    return pytest.importorskip("pyagrum")


@pytest.mark.parametrize("name", NETWORKS)
def test_a_network_pyagrum_writes_reads_as_pyagrum_reads_it(name, tmp_path):
    g = gum()
    model = causaldsl.read(EXAMPLES / f"{name}.bif.gz")
    bn = causaldsl.to_pyagrum(model)
    g.saveBN(bn, str(tmp_path / f"{name}.net"))
    ours = causaldsl.read(tmp_path / f"{name}.net")
    theirs = causaldsl.from_pyagrum(g.loadBN(str(tmp_path / f"{name}.net")))
    assert ours.name == name  # pyAgrum writes the net's name
    for v in ours.variables.values():
        np.testing.assert_allclose(v.mechanism.array, aligned(theirs[v.name], v), rtol=0,
                                   atol=FLOAT32, err_msg=v.name)
    assert_same(model, ours)  # pyAgrum writes every digit: the network itself, to 1e-12
    assert_posteriors_agree(ours, bn, len(name))  # and pyAgrum's inference on it agrees


@pytest.mark.parametrize("name", NETWORKS)
def test_net_we_write_reads_back_the_same_by_us_and_by_pyagrum(name, tmp_path):
    g = gum()
    model = causaldsl.read(EXAMPLES / f"{name}.bif.gz")
    causaldsl.write(model, tmp_path / "x.net")
    again = causaldsl.read(tmp_path / "x.net")
    assert again.name == name
    assert_same(model, again)
    theirs = causaldsl.from_pyagrum(g.loadBN(str(tmp_path / "x.net")))
    for v in model.variables.values():
        np.testing.assert_allclose(aligned(theirs[v.name], v), v.mechanism.array, rtol=0,
                                   atol=FLOAT32, err_msg=v.name)


def test_child_as_pyagrum_writes_it_is_refused_where_pyagrum_refuses_it(tmp_path):
    """pyAgrum writes states bare: child's ">=7.5" cannot be read back, by it or by us; we write
    states in quotes."""
    g = gum()
    model = causaldsl.read(EXAMPLES / "child.bif.gz")
    g.saveBN(causaldsl.to_pyagrum(model), str(tmp_path / "child.net"))
    with pytest.raises(SourceError, match=r"child\.net:\d+:\d+: error: unexpected '='"):
        causaldsl.read(tmp_path / "child.net")
    with pytest.raises(Exception, match="Syntax error"):
        g.loadBN(str(tmp_path / "child.net"))
    causaldsl.write(model, tmp_path / "ours.net")
    assert 'states = ("<7.5" ">=7.5");' in (tmp_path / "ours.net").read_text()
    assert_same(model, causaldsl.read(tmp_path / "ours.net"))


HUGIN = """% a network in Hugin's own layout
net
{
    node_size = (80 40);
}

discrete node asia
{
    label = "Visit to Asia?";
    position = (400 400);
    states = ("yes" "no");
}

node tub
{
    states = ("yes" "no");
}

potential (asia)
{
    data = ( 0.01 0.99 );
}

potential ( tub | asia )
{
    data = (( 0.05 0.95 )\t%  asia=yes
\t    ( 0.01 0.99 ));\t%  asia=no
}
"""


def test_hugins_own_layout():
    model = parse_hugin(HUGIN, name="asia2")
    assert model.name == "asia2" and model["tub"].parents == ("asia",)
    assert model["tub"].mechanism.array.tolist() == [[0.05, 0.95], [0.01, 0.99]]
    assert model.query("P(tub = yes | do(asia = no))") == pytest.approx(0.01, abs=1e-15)
    assert_same(model, parse_hugin(hugin_text(model)))


MALFORMED = [
    # (what, replace this, by this, the first line of the error)
    ("a decision node", "discrete node asia", "decision node asia",
     "x.net:7:1: error: node asia is a decision node (an influence diagram's); causaldsl reads "
     "discrete chance nodes"),
    ("a continuous node", "discrete node asia", "continuous node asia",
     "x.net:7:1: error: node asia is a continuous (Gaussian) node"),
    ("a clique's potential", "potential ( tub | asia )", "potential ( tub asia )",
     "x.net:24:1: error: a potential of 2 nodes (tub asia) is a clique's"),
    ("a number that is no number", "( 0.01 0.99 ))", "( 0.01 0.9x9 ))",
     "x.net:27:13: error: '0.9x9' in the data of tub is not a number"),
    ("too few numbers", "( 0.01 0.99 ))", "( 0.01 ))",
     "x.net:26:5: error: the table of tub has 3 numbers, but it needs 4: 2 states for each of 2 "
     "rows of its parents"),
    ("a row that does not sum to one", "( 0.01 0.99 ))", "( 0.01 0.9 ))",
     "x.net:26:5: error: row no of variable tub (given asia) sums to 0.91, not 1"),
    ("a parent not declared", "tub | asia", "tub | asai",
     "x.net:24:19: error: 'asai' is not a declared variable; did you mean 'asia'?"),
    ("a node without states", '    states = ("yes" "no");\n}\n\npotential (asia)',
     "}\n\npotential (asia)", 'x.net:14:6: error: variable tub has no type; list its states: '
     'states = ("yes" "no");'),
    ("a missing ';'", "data = ( 0.01 0.99 );", "data = ( 0.01 0.99 )",
     "x.net:22:1: error: unexpected '}'; expected ';'"),
]


@pytest.mark.parametrize(("what", "old", "new", "first"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_file_is_an_error_at_its_place(what, old, new, first):
    assert old in HUGIN
    text = HUGIN.replace(old, new, 1)
    with pytest.raises(SourceError) as e:
        parse_hugin(text, "x.net")
    said = [str(d) for d in e.value.diagnostics]
    (found,) = [d for d in said if d.startswith(first)]
    line = int(first.split(":")[1])
    assert found.splitlines()[1] == f" {line} | {text.splitlines()[line - 1]}"


def test_lists_nested_past_recursion_are_an_error_not_a_crash():
    text = HUGIN.replace("data = ( 0.01 0.99 );", "data = " + "(" * 5000 + ")" * 5000 + ";")
    with pytest.raises(SourceError, match=r"x\.net:1:1: error: the file nests lists thousands deep"):
        parse_hugin(text, "x.net")


def test_what_a_net_file_cannot_hold_is_refused():
    b = causaldsl.ModelBuilder("m")
    b.latent("H", ["a", "b"], [0.5, 0.5])
    with pytest.raises(CausalError, match=r"variable H of model m is latent; a \.net file holds"):
        hugin_text(b.build())


def test_convert_by_extension(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "asia2.net").write_text(HUGIN)
    assert run(capsys, "convert", "asia2.net", "-o", "a.bif") == (0, "wrote a.bif\n", "")
    assert_same(parse_hugin(HUGIN, name="asia2"), causaldsl.read(tmp_path / "a.bif"))
    assert run(capsys, "convert", "a.bif", "-o", "b.net") == (0, "wrote b.net\n", "")
    code, out, _ = run(capsys, "query", "b.net", "P(tub = yes | do(asia = no))")
    assert code == 0 and "0.01" in out
    (tmp_path / "bad.net").write_text(HUGIN.replace("tub | asia", "tub | asai"))
    code, out, err = run(capsys, "convert", "bad.net", "-o", "x.causal")
    assert (code, out) == (1, "") and err.startswith("bad.net:24:19: error: 'asai' is not")
