"""Graphs and queries as the user writes them: the names, edges and roles a graph block can
hold, and the queries ``identify`` is given. Each bad input gets its own clear message (located
in a file), and each good one the right answer: the identified estimand, evaluated on the
observational distribution of a true model, equals surgery on that model (the oracle of
test_identify.py, whose helpers these tests reuse)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from causaldsl import Bool, CausalModel, Role, Variable
from causaldsl.analysis.hedge import hedge_witnesses
from causaldsl.analysis.identify import identify
from causaldsl.app.answer import answer
from causaldsl.app.cli import main
from causaldsl.core.errors import MechanismError, NotIdentifiable, QueryError, UnknownVariableError
from causaldsl.lang.loader import parse
from causaldsl.model.graph import ADMG
from tests.analysis.test_identify import TOL, G, model_for
from tests.lang.test_language import located

ROOT = Path(__file__).resolve().parents[2]


def agrees_with_surgery(graph_model, truth: ADMG, query: str, seeds: range = range(3)) -> None:
    """The estimand identified on ``graph_model`` (a graph block), evaluated on random models
    whose graph is ``truth``, equals surgery on them."""
    ident = identify(graph_model, query)
    for seed in seeds:
        m = model_for(truth, seed)
        got, want = ident.evaluate(m), m.query(query)
        assert np.allclose(np.asarray(got), np.asarray(want), atol=TOL, rtol=0), (
            f"{query} (seed {seed}): {ident} gives\n{got}\nbut surgery gives\n{want}")


# -- the latent of A <-> B is never a node the user named ---------------------------------------

def test_a_node_named_like_a_bidirected_latent_stays_the_users_own():
    """``U_X_Z -> Y`` after ``X <-> Z`` once joined the user's node to the hidden cause of X and
    Z (making X ↔ Y and Z ↔ Y, so "not identifiable"); it is a node of its own, and adjusting
    for Z is right."""
    prog = parse("graph g {\n  X <-> Z\n  Z -> Y\n  X -> Y\n  U_X_Z -> Y\n}\n")
    g = prog.models["g"]
    truth = G("Z>Y X>Y U_X_Z>Y", "X-Z")
    assert g.admg() == truth
    assert g.roles["U_X_Z"] is Role.OBSERVED and g.latent == ("U_X_Z_1",)
    assert str(identify(g, "P(Y | do(X))").estimand) == "Σ_z P(y|x,z) P(z)"
    agrees_with_surgery(g, truth, "P(Y | do(X))")
    agrees_with_surgery(g, truth, "P(Y | do(X), U_X_Z)")


def test_a_declared_node_named_like_a_bidirected_latent_is_not_the_confounder():
    """``U_A_Y : Bool`` declared after ``A <-> Y`` once made the hidden cause observed, so the
    bow graph was 'identified' by adjusting for it; the effect is not identifiable, and two
    models over the graph agree on the observations yet differ on the effect."""
    prog = parse("graph g {\n  A <-> Y\n  U_A_Y : Bool\n  A -> Y\n}\n")
    g = prog.models["g"]
    assert g.admg() == G("A>Y", "A-Y", nodes="U_A_Y")
    try:
        identify(g, "P(Y | do(A))")
    except NotIdentifiable as e:
        assert e.f == {"A", "Y"} and e.f_prime == {"Y"}
    else:
        raise AssertionError("the bow graph's effect was identified")


def test_hedge_witnesses_name_their_latents_apart_from_the_nodes():
    g = G("U_X_Y>X X>Y", "X-Y")
    m1, m2 = hedge_witnesses(g, "Y", "X")
    assert m1.admg() == g == m2.admg()
    assert m1.roles["U_X_Y"] is Role.OBSERVED and m1.latent == ("U_X_Y_1",)
    joint = "P(U_X_Y, X, Y)"
    assert m1.query(joint).allclose(m2.query(joint))
    assert not m1.query("P(Y | do(X))").allclose(m2.query("P(Y | do(X))"))


def test_a_pair_joined_twice_has_one_hidden_cause():
    g = parse("graph g {\n  A <-> B\n  B <-> A\n  A -> B\n}\n").models["g"]
    assert g.latent == ("U_A_B",) and g.admg() == G("A>B", "A-B")


# -- malformed graphs: a clear error at file:line:col -----------------------------------------

def test_a_bidirected_self_loop_is_a_located_error(tmp_path, capsys):
    located(tmp_path, capsys, "graph g {\n  A -> B\n  A <-> A\n}\n", 3, 9,
            "A <-> A joins A to itself")
    with pytest.raises(UnknownVariableError, match="two distinct nodes, got A ↔ A"):
        ADMG("AB", [("A", "B")], [("A", "A")])
    with pytest.raises(UnknownVariableError, match="two distinct nodes, got A"):
        ADMG("AB", [], [frozenset("A")])


def test_an_exogenous_node_with_causes_is_a_located_error(tmp_path, capsys):
    """Exogenous means explicit noise, with no causes (docs/language.md): an edge into one is
    an error wherever the role is declared, in a graph as in a model."""
    located(tmp_path, capsys, "graph g {\n  A -> U -> B\n  exogenous U : Bool\n}\n", 2, 8,
            "exogenous node U cannot have causes, but A -> U makes A a cause of it")
    located(tmp_path, capsys, "graph g {\n  exogenous U : Bool\n  A -> B\n  A -> U\n}\n", 4, 8,
            "exogenous node U cannot have causes")
    located(tmp_path, capsys, "graph g {\n  exogenous U : Bool\n  B <-> U\n}\n", 3, 9,
            "exogenous node U cannot have causes, but B <-> U gives it a hidden cause")
    located(tmp_path, capsys, "model m {\n  A : Bool ~ Bernoulli(0.5)\n"
            "  exogenous U : Bool ~ Bernoulli(if A then 0.3 else 0.6)\n}\n", 3, 3,
            "exogenous variable U cannot depend on A")
    with pytest.raises(MechanismError, match=r"exogenous variable U cannot have parents \(A\)"):
        CausalModel.from_variables([Variable("A", Bool), Variable("B", Bool, parents=("U",)),
                                    Variable("U", Bool, Role.EXOGENOUS, ("A",))])


def test_exogenous_noise_in_a_graph_is_projected_out():
    """Noise private to Z adds no edge; noise shared by X and Y is a hidden common cause."""
    g = parse("graph g {\n  exogenous N : Bool\n  N -> Z -> X -> Y\n  Z -> Y\n}\n").models["g"]
    truth = G("Z>X Z>Y X>Y")
    assert g.admg() == truth
    agrees_with_surgery(g, truth, "P(Y | do(X))")
    bow = parse("graph g {\n  exogenous N : Bool\n  N -> X -> Y\n  N -> Y\n}\n").models["g"]
    assert bow.admg() == G("X>Y", "X-Y")


# -- identify on a model with continuous variables ------------------------------------------------

CONTINUOUS = """model lin {
  latent H : Real ~ Normal(0, 1)
  Z : Real ~ Normal(H, 1)
  X : Real ~ Normal(Z + H, 1)
  Y : Real ~ Normal(2 * X + Z, 1)
}
"""


def test_identify_prints_the_formula_of_a_continuous_model(tmp_path, capsys):
    """Identification depends only on the graph: a model with Real variables gets its formula
    (it printed only 'not finite' before), and says why there is no value. The formula is the
    one that surgery confirms on finite models with the same graph."""
    f = tmp_path / "lin.causal"
    f.write_text(CONTINUOUS + "identify P(Y | do(X)) in lin\n")
    assert main(["identify", str(f), "P(Y | do(X))"]) == 0
    out = capsys.readouterr().out
    assert "= Σ_z P(y|x,z) P(z)    (by backdoor)" in out
    assert "no value: H, Z, X and Y are continuous in model lin" in out
    assert "causal query" in out
    assert main(["identify", str(f), "P(Y | do(X), Z)", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["identifiable"] and got["estimand"] == "P(y|z,x)" and "answer" not in got
    assert got["note"].startswith("no value: H, Z, X and Y are continuous")
    assert main(["run", str(f)]) == 0
    assert "Σ_z P(y|x,z) P(z)" in capsys.readouterr().out
    lin = parse(CONTINUOUS).models["lin"]
    truth = G("Z>X Z>Y X>Y", "Z-X")
    assert lin.admg() == truth
    agrees_with_surgery(lin, truth, "P(Y | do(X))")
    agrees_with_surgery(lin, truth, "P(Y | do(X), Z)")


def test_identify_on_a_continuous_model_does_not_import_jax(tmp_path):
    f = tmp_path / "lin.causal"
    f.write_text(CONTINUOUS)
    code = ("import sys\nfrom causaldsl.app.cli import main\n"
            f"assert main(['identify', {str(f)!r}, 'P(Y | do(X))']) == 0\n"
            "assert 'jax' not in sys.modules, 'identify imported jax'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True)


# -- queries identify refuses, each with its own message -----------------------------------------

TYPED = """type YesNo = {no, yes}
graph g {
  S : YesNo
  T : YesNo
  C : YesNo
  S -> T -> C
  S <-> C
}
"""


def test_a_value_outside_the_type_is_refused_before_identifying(tmp_path, capsys):
    """``do(S = maybe)`` on a typed graph without data printed a formula with s=maybe."""
    f = tmp_path / "g.causal"
    f.write_text(TYPED)
    assert main(["identify", str(f), "P(C | do(S = maybe))"]) == 1
    err = capsys.readouterr().err
    assert "'maybe' is not a value of S : YesNo; its values are {no, yes}" in err
    assert main(["identify", str(f), "P(C = yes | do(S = no))"]) == 0
    assert "Σ_t P(t|s=no) Σ_s' P(s') P(c=yes|s',t)" in capsys.readouterr().out
    m = model_for(G("S>T T>C", "S-C"), 0)
    with pytest.raises(QueryError, match="3 is not a value of C"):
        identify(m, "P(C = 3 | do(S))")
    with pytest.raises(QueryError, match="Y is continuous, so its value must be a number"):
        identify(parse(CONTINUOUS).models["lin"], "P(Y = yes | do(X))")
    ident = identify(m, "P(C = c1 | do(S = s0))")
    assert ident.evaluate(m) == pytest.approx(m.query("P(C = c1 | do(S = s0))"), abs=TOL)


def test_an_identify_statement_may_give_values_to_nodes_without_types(tmp_path, capsys):
    """Identification only writes a value into the formula, so `identify` on a graph without
    types takes it (a `query` needs the values, and says which declaration is missing); it
    said 'C has type ?; exact queries need finite types' for both."""
    bare = "graph g {\n  S -> T -> C\n  S <-> C\n}\n"
    f = tmp_path / "g.causal"
    f.write_text(bare + "identify P(C = c1 | do(S = s0)) in g\n")
    assert main(["run", str(f)]) == 0
    assert "= Σ_t P(t|s=s0) Σ_s' P(s') P(c=c1|s',t)    (by frontdoor)" in capsys.readouterr().out
    agrees_with_surgery(parse(bare).models["g"], G("S>T T>C", "S-C"), "P(C = c1 | do(S = s0))")
    located(tmp_path, capsys, bare + "query P(C = yes | do(S = yes)) in g\n", 5, 1,
            "C = yes needs the values of C, which has no type in g; declare one, e.g. "
            "`C : YesNo`")


def test_observed_data_that_lacks_a_variable_of_the_formula(tmp_path, capsys):
    """The front-door formula needs T: data over S and C alone said 'P(t|s): T is not an
    observed variable of the distribution'; now it names the formula, the data and the joint
    to observe. Data over all three give surgery's answer on the model they came from."""
    truth = G("S>T T>C", "S-C")
    m = model_for(truth, 4)
    typed = ("type S = {s0, s1}\ntype T = {t0, t1}\ntype C = {c0, c1}\n"
             "graph g {\n  S : S\n  T : T\n  C : C\n  S -> T -> C\n  S <-> C\n}\n")

    def flat(query: str) -> str:
        return ", ".join(repr(float(x)) for x in np.asarray(m.query(query)).ravel())

    f = tmp_path / "g.causal"
    f.write_text(typed + f"observed P(S, C) in g = [{flat('P(S, C)')}]\n"
                 "query P(C | do(S = s1)) in g\n")
    assert main(["run", str(f)]) == 1
    assert (f"{f}:12:1: error: P(C | do(S = s1)) = Σ_t P(t|s=s1) Σ_s' P(s') P(c|s',t) needs T, "
            "which the observed data P(S, C) in g does not include; observe P(S, T, C)"
            ) in capsys.readouterr().err
    f.write_text(typed + f"observed P(S, T, C) in g = [{flat('P(S, T, C)')}]\n"
                 "query P(C | do(S = s1)) in g\n")
    prog = parse(f.read_text())
    got, method = answer(prog, "P(C | do(S = s1))", "g")
    assert method == "frontdoor" and got.allclose(m.query("P(C | do(S = s1))"), atol=1e-9)


def test_a_summed_variable_that_the_query_names_is_primed():
    """S -> T -> C, S <-> C: under do(S, T), C depends on T alone (and on its hidden cause with
    S), so P(C | do(S), do(T)) = P(C | do(T)) = Σ_s' P(s') P(c|s',t), the back-door sum over S.
    The sum's variable was printed s, the name of the intervened S."""
    from causaldsl.analysis.identify import identify

    g = parse("graph g {\n  S -> T -> C\n  S <-> C\n}\n").models["g"]
    ident = identify(g, "P(C | do(S), do(T))")
    assert str(ident) == "P(C | do(S, T)) = Σ_s' P(s') P(c|s',t)"
    assert ident.latex() == "\\sum_{s'} P(s') P(c \\mid s', t)"
    assert str(ident.estimand) == "Σ_s P(s) P(c|s,t)"  # the estimand alone knows no query
