"""ADMG built from what users hand it: names and pairs, or a networkx graph read by one
documented convention (its edges directed, its nodes with role "latent" or "exogenous"
projected out, bidirected edges as ``bidirected=``). Anything else is a CausalError saying what
was given and what is taken, never a graph that silently lost its edges."""

from __future__ import annotations

import networkx as nx
import pytest

from causaldsl import Bool, CausalModel, CausalTypeError, Role, Variable
from causaldsl.core.errors import CausalError, CycleError, UnknownVariableError
from causaldsl.model.graph import ADMG, is_networkx_graph


def test_a_networkx_digraph_keeps_its_edges():
    g = ADMG(nx.DiGraph([("Z", "X"), ("Z", "Y"), ("X", "Y")]))
    assert g == ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])
    assert g.nodes == ("Z", "X", "Y") and not g.bidirected
    assert str(g) == "graph: Z → X; Z → Y; X → Y"


def test_a_digraph_without_edges_keeps_its_nodes_and_name():
    d = nx.DiGraph(name="lonely")
    d.add_nodes_from(["A", "B"])
    g = ADMG(d)
    assert g.nodes == ("A", "B") and not g.directed and g.name == "lonely"
    assert ADMG(d, name="mine").name == "mine"


def test_bidirected_edges_beside_a_digraph_as_pairs_or_an_nx_graph():
    want = ADMG(["S", "T", "C"], [("S", "T"), ("T", "C")], [("S", "C")])
    d = nx.DiGraph([("S", "T"), ("T", "C")])
    assert ADMG(d, bidirected=[("C", "S")]) == want
    assert ADMG(d, bidirected=nx.Graph([("S", "C")])) == want
    assert ADMG(["S", "T", "C"], d, nx.Graph([("S", "C")])) == want  # edges of both graphs


def test_latent_nodes_of_a_digraph_are_projected_out():
    """A node with role "latent" (or "exogenous") is a hidden variable: its children share a
    bidirected edge, and a path through it is a directed edge (latent projection)."""
    d = nx.DiGraph([("H", "S"), ("H", "C"), ("S", "M"), ("M", "T"), ("T", "C")])
    d.nodes["H"]["role"] = "latent"
    d.nodes["M"]["role"] = "exogenous"
    assert ADMG(d) == ADMG(["S", "T", "C"], [("S", "T"), ("T", "C")], [("S", "C")])


def test_the_bidirected_convention_round_trips():
    """to_networkx() writes each A ↔ B as a hidden node with role "latent", which ADMG reads
    back; model.graph() marks roles the same way, so it reads as the model's graph view."""
    bow = ADMG(["X", "M", "Y"], [("X", "M"), ("M", "Y"), ("X", "Y")], [("X", "Y"), ("M", "Y")],
               name="bow")
    back = ADMG(bow.to_networkx())
    assert back == bow and back.name == "bow" and back.nodes == bow.nodes
    yes = Bool
    m = CausalModel.from_variables([
        Variable("H", yes, Role.LATENT), Variable("S", yes, parents=("H",)),
        Variable("T", yes, parents=("S",)), Variable("C", yes, parents=("T", "H"))], "smoking")
    assert ADMG(m.graph()) == m.admg() and ADMG(m.graph()).name == "smoking"


@pytest.mark.parametrize("graph, match", [
    (nx.MultiDiGraph([("A", "B"), ("A", "B")]), "got a MultiDiGraph: an ADMG cannot hold its "
                                                 r"parallel edges: convert it with nx\.DiGraph"),
    (nx.Graph([("A", "B")]), "got a Graph: an undirected graph has no edge directions"),
    (nx.MultiGraph([("A", "B")]), "got a MultiGraph"),
])
def test_other_networkx_graphs_are_refused(graph, match):
    with pytest.raises(CausalTypeError, match=match):
        ADMG(graph)


def test_a_cyclic_digraph_is_a_cycle_error_with_the_convention():
    with pytest.raises(CycleError, match=r"has a cycle: A → B → A \(every edge of a networkx "
                                         r"DiGraph is directed: give a bidirected edge") as e:
        ADMG(nx.DiGraph([("A", "B"), ("B", "A")]))
    assert e.value.cycle == ["A", "B"]
    hidden = nx.DiGraph([("H1", "H2"), ("H2", "H1"), ("H1", "A")])  # a cycle among hidden nodes
    hidden.nodes["H1"]["role"] = hidden.nodes["H2"]["role"] = "latent"
    with pytest.raises(CycleError, match="H1 → H2 → H1"):
        ADMG(hidden)


def test_a_digraph_with_unreadable_nodes_or_roles_is_refused():
    with pytest.raises(CausalTypeError, match=r"node int 1 of the networkx graph is no name: "
                                              r"the observed nodes of an ADMG are names \(str\)"):
        ADMG(nx.DiGraph([(1, 2)]))
    d = nx.DiGraph([("H", "A")])
    d.nodes["H"]["role"] = "hidden"
    with pytest.raises(CausalTypeError, match="node 'H' of the networkx graph has role 'hidden'; "
                                              "a role is 'observed'"):
        ADMG(d)
    with pytest.raises(CausalTypeError, match="takes the directed edges of graph from the "
                                              "DiGraph; pass them there, not also as directed="):
        ADMG(nx.DiGraph([("A", "B")]), [("A", "B")])


@pytest.mark.parametrize("args, match", [
    ((None,), r"the nodes of graph are names \(str\), .* or a networkx DiGraph .*; got None"),
    ((5,), "got int 5"),
    (([1, 2],), "a node of graph is int 1"),
    ((["A", "B"], "AB"), "the directed edges of graph are pairs of node names.*; got str 'AB'"),
    ((["A", "B"], None), "directed edges .*; got None"),
    ((["A", "B"], [("A",)]), r"got an edge tuple \('A',\)"),
    ((["A", "B"], [("A", "B", "C")]), "got an edge tuple"),
    ((["A", "B"], [frozenset("AB")]), "got an edge frozenset"),  # no direction
    ((["A", "B"], [("A", 2)]), "whose end int 2 is no name"),
    ((["A", "B"], nx.Graph([("A", "B")])), "got an undirected Graph, whose edges have no "
                                           "direction"),
    ((["A", "B"], [], "AB"), "the bidirected edges of graph are pairs .*; got str 'AB'"),
    ((["A", "B"], [], [["A", ["B"]]]), r"whose end list \['B'\] is no name"),
])
def test_wrong_arguments_are_clear_errors(args, match):
    with pytest.raises(CausalTypeError, match=match):
        ADMG(*args)


def test_wrong_arguments_keep_their_older_errors():
    with pytest.raises(UnknownVariableError, match="two distinct nodes, got A ↔ A"):
        ADMG("AB", [("A", "B")], [("A", "A")])
    with pytest.raises(UnknownVariableError, match="'Q' is not a node"):
        ADMG("AB", [("A", "Q")])
    with pytest.raises(CausalTypeError, match="the name of a graph is a str, got int 3"):
        ADMG("AB", name=3)  # type: ignore[arg-type]
    assert issubclass(CausalTypeError, CausalError)


def test_is_networkx_graph():
    assert is_networkx_graph(nx.DiGraph()) and is_networkx_graph(nx.MultiGraph())
    assert not is_networkx_graph(ADMG("AB")) and not is_networkx_graph([("A", "B")])


# -- separation: one reachability pass against networkx's d-separation, pair by pair -------------

import itertools  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from causaldsl.analysis.adjustment import find_frontdoor_set, frontdoor_admissible  # noqa: E402


@st.composite
def admgs(draw: st.DrawFn, most: int = 7) -> ADMG:
    n = draw(st.integers(2, most))
    names = [f"V{i}" for i in range(n)]
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    directed = [p for p in pairs if draw(st.booleans())]
    bidirected = [p for p in pairs if draw(st.integers(0, 3)) == 0]
    return ADMG(names, directed, bidirected)


@settings(max_examples=200, deadline=None)
@given(admgs(), st.data())
def test_d_connected_and_d_separated_are_networkxs_separation(g, data):
    """Both read one reachability pass of our own; networkx's ``is_d_separator`` on the same
    DAG (a hidden node per bidirected edge) is the oracle, pair by pair and for sets. A wrong
    rule for colliders (open when not conditioned on, or closed when only a descendant is),
    for hidden nodes, or a set answered by its first member would disagree on some case."""
    import networkx as nx

    dag = g.to_networkx()
    x = data.draw(st.sets(st.sampled_from(g.nodes), min_size=1, max_size=2))
    z = data.draw(st.sets(st.sampled_from(g.nodes), max_size=3)) - x
    got = g.d_connected(x, z)
    for v in g.nodes:
        if v in z:
            assert v not in got
        elif v in x:
            assert v in got
        else:
            separated = nx.is_d_separator(dag, set(x), {v}, set(z))
            assert (v in got) == (not separated), (v, x, z)
            assert g.d_separated(x, {v}, z) == separated, (v, x, z)
    ys = data.draw(st.sets(st.sampled_from(g.nodes), min_size=1, max_size=3)) - x - z
    if ys:
        assert g.d_separated(x, ys, z) == nx.is_d_separator(dag, set(x), ys, set(z)), \
            (x, ys, z)


@settings(max_examples=150, deadline=None)
@given(admgs(most=6))
def test_the_frontdoor_search_finds_a_set_when_one_exists(g):
    """Brute force over every set of other nodes: the search's answer is admissible, and it
    answers None only where no set is."""
    import itertools

    x, y = g.nodes[0], g.nodes[-1]
    rest = [v for v in g.nodes if v not in (x, y)]
    exists = any(frontdoor_admissible(g, x, y, set(c)) for k in range(1, len(rest) + 1)
                 for c in itertools.combinations(rest, k))
    found = find_frontdoor_set(g, x, y)
    assert (found is not None) == exists
    if found is not None:
        assert frontdoor_admissible(g, x, y, found)
        assert not any(frontdoor_admissible(g, x, y, found - {v}) for v in found if len(found) > 1)


def test_front_door_search_on_a_3000_node_chain_is_linear_enough():
    """A long chain with a confounded first edge: every node is confounded with the treatment,
    so no front-door set; found in one pass each (was one graph per node: minutes)."""
    n = 3000
    names = [f"V{i}" for i in range(n)]
    g = ADMG(names, list(itertools.pairwise(names)), [("V0", "V1")])
    assert find_frontdoor_set(g, "V0", names[-1]) is None
