"""networkx graphs in and out (issue 18, item 1): ``to_networkx`` then ``from_networkx`` gives the
same graph (hypothesis over random ADMGs; every example model's structure, roles and types);
bidirected edges travel as hidden nodes, the convention ``ADMG(nx_graph)`` reads; what is no
graph of ours is refused, saying why."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings

import causaldsl
from causaldsl import CausalTypeError, CycleError, FiniteType, Opaque, Role
from causaldsl.graph import ADMG
from causaldsl.interop.dagitty import as_graph_model
from tests.interop.test_dagitty import admgs

EXAMPLES = Path(causaldsl.__file__).parents[2] / "examples"


def structure(model: causaldsl.CausalModel) -> list[tuple[str, object, Role, tuple[str, ...]]]:
    return [(v.name, v.type, v.role, v.parents) for v in model.variables.values()]


@settings(max_examples=150, deadline=None)
@given(admgs())
def test_every_admg_goes_out_and_back(g):
    out = causaldsl.to_networkx(g)
    assert isinstance(out, nx.DiGraph) and set(g.nodes) <= set(out)
    back = causaldsl.from_networkx(out)
    assert back.admg() == g
    assert set(back.latent) == {n for n in back.variables if n not in g.nodes}
    assert len(back.latent) == len(g.bidirected)  # each ("↔", A, B) node a latent U_A_B
    assert ADMG(causaldsl.to_networkx(back)) == g
    assert causaldsl.from_networkx(causaldsl.to_networkx(back)) == back
    model = as_graph_model(g)
    assert causaldsl.from_networkx(causaldsl.to_networkx(model)) == model


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.causal")), ids=lambda p: p.stem)
def test_every_example_models_structure_goes_out_and_back(path):
    for model in causaldsl.load(path).models.values():
        g = causaldsl.to_networkx(model)
        back = causaldsl.from_networkx(g)
        assert back.name == model.name
        assert structure(back) == structure(model)  # types and roles kept, mechanisms left
        assert all(v.mechanism is None for v in back.variables.values())
        assert back.admg() == model.admg()


def test_a_cut_model_keeps_its_inputs():
    smoking = causaldsl.load(EXAMPLES / "smoking.causal").model
    back = causaldsl.from_networkx(causaldsl.to_networkx(smoking.cut("S")))
    assert back["S"].is_input and back["T"].parents == ("S",)


def test_a_digraph_built_by_hand():
    g = nx.DiGraph(name="hand")
    g.add_node("H", role="latent")
    g.add_node("X", type=FiniteType(["a", "b"]))
    g.add_edges_from([("H", "X"), ("H", "Y"), ("X", "Y")])
    m = causaldsl.from_networkx(g)
    assert m.name == "hand" and causaldsl.from_networkx(g, "other").name == "other"
    assert structure(m) == [("H", Opaque, Role.LATENT, ()),
                            ("X", FiniteType(["a", "b"]), Role.OBSERVED, ("H",)),
                            ("Y", Opaque, Role.OBSERVED, ("H", "X"))]
    assert m.admg() == ADMG(["X", "Y"], [("X", "Y")], [("X", "Y")])


def test_what_is_no_graph_of_ours_is_refused():
    def refused(g: object, kind: type[Exception] = CausalTypeError) -> str:
        with pytest.raises(kind) as e:
            causaldsl.from_networkx(g)
        return str(e.value)

    assert "got a MultiDiGraph" in refused(nx.MultiDiGraph([("a", "b")]))
    assert "got a Graph" in refused(nx.Graph([("a", "b")]))
    assert "got list [('a', 'b')]" in refused([("a", "b")])
    assert refused(nx.DiGraph([("a", "b"), ("b", "a")]), CycleError).startswith(
        "graph graph has a cycle: a → b → a")
    assert "node int 1 of the networkx graph is no name" in refused(nx.DiGraph([(1, "b")]))
    g = nx.DiGraph([("a", "b")])
    g.nodes["a"]["role"] = "hidden"
    assert "has role 'hidden'; a role is 'observed'" in refused(g)
    g = nx.DiGraph([("a", "b")])
    g.nodes["a"]["type"] = "binary"
    assert "node 'a' of the networkx graph has type str 'binary'; a type is" in refused(g)
    with pytest.raises(CausalTypeError, match="to_networkx takes a CausalModel or an ADMG"):
        causaldsl.to_networkx("g")
