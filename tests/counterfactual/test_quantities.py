"""Named counterfactual quantities against their textbook formulas, evaluated independently from
the tables with NumPy (Pearl's mediation formula, back-door ETT), and the canonical
response-function model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import causaldsl
from causaldsl import Bool, ModelBuilder, NotDeterminedError, QueryError
from causaldsl import counterfactual as cf
from tests.counterfactual.test_counterfactual import tables_only


def mediation(pc, px, pm, py):
    """C → X, C → M, C → Y, X → M, X → Y, M → Y; every variable Bool; tables are arrays
    indexed by parents (in the order given) and then the variable."""
    b = ModelBuilder("mediation")
    b.observed("C", Bool, pc)
    b.observed("X", Bool, px, given="C")
    b.observed("M", Bool, pm, given=("C", "X"))
    b.observed("Y", Bool, py, given=("C", "X", "M"))
    return b.build()


def random_tables(rng):
    return (rng.dirichlet([1, 1]), rng.dirichlet([1, 1], size=2),
            rng.dirichlet([1, 1], size=(2, 2)), rng.dirichlet([1, 1], size=(2, 2, 2)))


def textbook(pc, px, pm, py):
    """ETT, NDE, NIE and CDE(m = 1) for x1 = 1, x0 = 0 by the formulas, from the arrays."""
    ey = py[..., 1]                                    # E[Y | c, x, m], indexed [c, x, m]
    nde = sum(pc[c] * sum((ey[c, 1, m] - ey[c, 0, m]) * pm[c, 0, m] for m in (0, 1))
              for c in (0, 1))
    nie = sum(pc[c] * sum(ey[c, 0, m] * (pm[c, 1, m] - pm[c, 0, m]) for m in (0, 1))
              for c in (0, 1))
    eyx = np.einsum("cxm,cxm->cx", ey, pm)             # E[Y | c, x]
    pc_x1 = pc * px[:, 1] / (pc * px[:, 1]).sum()      # P(c | x1)
    ett = sum((eyx[c, 1] - eyx[c, 0]) * pc_x1[c] for c in (0, 1))
    cde = sum(pc[c] * (ey[c, 1, 1] - ey[c, 0, 1]) for c in (0, 1))
    return ett, nde, nie, cde


def test_mediation_by_hand():
    pc = np.array([0.5, 0.5])
    px = np.array([[0.8, 0.2], [0.4, 0.6]])
    pm = np.array([[[0.9, 0.1], [0.3, 0.7]], [[0.6, 0.4], [0.2, 0.8]]])
    py = np.array([[[[0.9, 0.1], [0.5, 0.5]], [[0.7, 0.3], [0.2, 0.8]]],
                   [[[0.8, 0.2], [0.4, 0.6]], [[0.6, 0.4], [0.1, 0.9]]]])
    m = mediation(pc, px, pm, py)
    # NDE = Σ_c P(c) Σ_m (E[Y|1,m,c] − E[Y|0,m,c]) P(m|0,c)
    #   c=0: (0.3-0.1)*0.9 + (0.8-0.5)*0.1 = 0.21;  c=1: (0.4-0.2)*0.6 + (0.9-0.6)*0.4 = 0.24
    #   NDE = 0.5 * 0.21 + 0.5 * 0.24 = 0.225
    nde = cf.nde(m, "X", "Y", "M")
    assert nde.value == pytest.approx(0.225)
    # NIE = Σ_c P(c) Σ_m E[Y|0,m,c] (P(m|1,c) − P(m|0,c))
    #   c=0: 0.1*(0.3-0.9) + 0.5*(0.7-0.1) = 0.24;  c=1: 0.2*(0.2-0.6) + 0.6*(0.8-0.4) = 0.16
    #   NIE = 0.5 * 0.24 + 0.5 * 0.16 = 0.2
    assert cf.nie(m, "X", "Y", "M").value == pytest.approx(0.2)
    assert "mediation formula" in nde.formula and "independent noise" in nde.assumption
    assert nde.definition == "E[Y[X = true, M = M[X = false]]] - E[Y[X = false]]"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_named_quantities_equal_textbook_formulas(seed):
    tables = random_tables(np.random.default_rng(seed))
    m = mediation(*tables)
    ett, nde, nie, cde = textbook(*tables)
    assert cf.ett(m, "X", "Y").value == pytest.approx(ett, abs=1e-9)
    assert cf.nde(m, "X", "Y", "M").value == pytest.approx(nde, abs=1e-9)
    assert cf.nie(m, "X", "Y", "M").value == pytest.approx(nie, abs=1e-9)
    assert cf.cde(m, "X", "Y", "M", True).value == pytest.approx(cde, abs=1e-9)
    # the same with probabilities of Y = true instead of expectations (Y is Bool: equal)
    assert cf.ett(m, "X", "Y", outcome_value=True).value == pytest.approx(ett, abs=1e-9)


def test_recanting_witness_makes_nde_undetermined():
    # X → W → M, W → Y: W would be read under X = x1 (for Y) and X = x0 (for M)
    b = ModelBuilder("witness")
    b.observed("X", Bool, [0.5, 0.5])
    b.observed("W", Bool, [[0.7, 0.3], [0.2, 0.8]], given="X")
    b.observed("M", Bool, [[[0.9, 0.1], [0.5, 0.5]], [[0.6, 0.4], [0.3, 0.7]]], given=("X", "W"))
    b.observed("Y", Bool, np.full((2, 2, 2, 2), 0.5), given=("X", "W", "M"))
    with pytest.raises(NotDeterminedError, match="W has a probability table"):
        cf.nde(b.build(), "X", "Y", "M")


def test_explicit_noise_answers_say_so():
    m = causaldsl.load("examples/firing_squad.causal").model
    pn = cf.pn(m, "A", "D")
    # PN = P(D[A = false] = false | A, D) = P(not U | A, D); A = U or W; so A implies D.
    # P(A) = 0.7 + 0.3 * 0.1 = 0.73; P(not U, A) = 0.3 * 0.1 = 0.03: PN = 0.03 / 0.73
    assert pn.value == pytest.approx(0.03 / 0.73)
    assert "structural equations" in pn.assumption and float(pn) == pn.value
    assert str(pn).startswith("PN = 0.0410959\n  definition: P(D[A = false] = false | A = true")


def test_pn_on_tables_explains_and_offers_two_ways():
    with pytest.raises(NotDeterminedError) as e:
        cf.pn(tables_only(), "X", "Y")
    msg = str(e.value)
    assert "not determined" in msg and "with_response_functions" in msg and "bounds_from" in msg


def test_canonical_response_functions():
    t = tables_only()
    r = t.with_response_functions()
    assert r.exogenous == ("R_Y",) and r["Y"].parents == ("X", "R_Y")
    # rows answer independently: P(type) = P(Y = f(no) | no) P(Y = f(yes) | yes)
    assert r["R_Y"].type.values == ("false/false", "false/true", "true/false", "true/true")
    assert np.allclose(r["R_Y"].mechanism.array, [0.8 * 0.3, 0.8 * 0.7, 0.2 * 0.3, 0.2 * 0.7])
    # the tables are unchanged
    assert r.query("P(Y | do(X))").allclose(t.query("P(Y | do(X))"))
    # X has no parents, so PN = P(Y[X = false] = false | X, Y) = P(Y = false | X = false) = 0.8
    pn = cf.pn(r, "X", "Y")
    assert pn.value == pytest.approx(0.8) and "canonical response-function" in pn.assumption
    # PNS = P(Y[1] = 1, Y[0] = 0) = 0.7 * 0.8
    assert cf.pns(r, "X", "Y").value == pytest.approx(0.56)
    assert cf.pn(t.with_response_functions(), "X", "Y").value in cf.bounds_from(t, "PN", "X", "Y")


def test_levels_and_values_are_checked():
    m = tables_only()
    with pytest.raises(QueryError, match="'maybe' is not a value of X"):
        cf.ett(m, "X", "Y", treated="maybe")
    with pytest.raises(QueryError, match="same value"):
        cf.ett(m, "X", "Y", treated=True, control=True)
    with pytest.raises(causaldsl.UnknownVariableError):
        cf.ett(m, "Xx", "Y")


def test_one_level_given_on_a_binary_treatment_makes_the_other_the_other_value():
    m = mediation(*random_tables(np.random.default_rng(3))).with_response_functions()
    for f, extra in ((cf.ett, ()), (cf.nde, ("M",)), (cf.nie, ("M",)), (cf.cde, ("M", True)),
                     (cf.pn, ()), (cf.ps, ()), (cf.pns, ())):
        default = f(m, "X", "Y", *extra)
        flipped = f(m, "X", "Y", *extra, treated=False, control=True)
        assert default.value != pytest.approx(flipped.value)
        assert f(m, "X", "Y", *extra, treated=True).value == pytest.approx(default.value)
        assert f(m, "X", "Y", *extra, control=False).value == pytest.approx(default.value)
        assert f(m, "X", "Y", *extra, treated=False).value == pytest.approx(flipped.value)
        assert f(m, "X", "Y", *extra, control=True).value == pytest.approx(flipped.value)
    ett = cf.ett(tables_only(), "X", "Y", treated=False)
    assert ett.definition == "E[Y[X = false] | X = false] - E[Y[X = true] | X = false]"
    with pytest.raises(QueryError, match="'maybe' is not a value of X"):
        cf.ett(tables_only(), "X", "Y", control="maybe")


def test_ett_formula_names_the_set_it_adjusts_for():
    """The formula's set is the one the graph allows: X's observed parents ({C} in the
    mediation model), a minimal back-door set when a parent is hidden (H → X, H → W → Y:
    {W}), nothing without a back-door path, and a plain statement without any set."""
    rng = np.random.default_rng(3)
    ett = cf.ett(mediation(*random_tables(rng)), "X", "Y")
    assert "Σ_c (E[Y | X = true, c] − E[Y | X = false, c]) P(c | X = true), over {C}: the " \
           "observed parents of X" in ett.formula
    b = ModelBuilder("hidden_parent")
    b.latent("H", Bool, [0.5, 0.5])
    b.observed("W", Bool, given="H", table=[[0.9, 0.1], [0.2, 0.8]])
    b.observed("X", Bool, given="H", table=[[0.7, 0.3], [0.4, 0.6]])
    b.observed("Y", Bool, given=("X", "W"), table=[[[0.9, 0.1], [0.5, 0.5]],
                                                    [[0.6, 0.4], [0.2, 0.8]]])
    ett = cf.ett(b.build(), "X", "Y")
    assert "P(w | X = true), over {W}: a minimal back-door set" in ett.formula
    b = ModelBuilder("bow")
    b.latent("H", Bool, [0.5, 0.5])
    b.observed("X", Bool, given="H", table=[[0.7, 0.3], [0.4, 0.6]])
    b.observed("Y", Bool, given=("X", "H"), table=[[[0.9, 0.1], [0.5, 0.5]],
                                                    [[0.6, 0.4], [0.2, 0.8]]])
    ett = cf.ett(b.build(), "X", "Y")
    assert ett.formula.startswith("no set of observed variables blocks the back-door paths")
    assert "parents" not in ett.formula


def test_natural_effects_refuse_no_mediators():
    m = mediation(*random_tables(np.random.default_rng(0)))
    for f in (cf.nde, cf.nie):
        with pytest.raises(QueryError, match="needs at least one mediator between X and Y"):
            f(m, "X", "Y", ())
    with pytest.raises(QueryError, match="needs at least one mediator"):
        cf.cde(m, "X", "Y", (), ())


def test_too_many_response_functions_are_refused_with_the_count():
    """Y with 17 parent rows of two positive values each has 2^17 response functions."""
    b = ModelBuilder("wide")
    b.observed("X", causaldsl.FiniteType(list(range(17))), np.full(17, 1 / 17))
    b.observed("Y", Bool, given="X", table=np.full((17, 2), 0.5))
    with pytest.raises(QueryError, match=r"Y would need 131,072 response functions, above the "
                                         r"limit of 65,536"):
        b.build().with_response_functions()


def test_natural_effects_formula_comes_from_the_graph():
    """The mediation formula's covariates are the ones the graph needs ({C} here); with a
    hidden common cause of M and Y there is none, and the formula says why, while the value
    still comes from the model's tables (each read in one world)."""
    m = mediation(*random_tables(np.random.default_rng(2)))
    assert "Σ_{m,c} P(c) P(m|c,x=false) P(y|c,x=true,m)" in cf.nde(m, "X", "Y", "M").formula
    b = ModelBuilder("confounded_mediator")
    b.latent("H", Bool, [0.4, 0.6])
    b.observed("X", Bool, [0.5, 0.5])
    b.observed("M", Bool, given=("X", "H"), table=[[[0.9, 0.1], [0.3, 0.7]],
                                                    [[0.6, 0.4], [0.2, 0.8]]])
    b.observed("Y", Bool, given=("X", "M", "H"), table=np.full((2, 2, 2, 2), 0.5))
    nie = cf.nie(b.build(), "X", "Y", "M")
    assert nie.formula.startswith("no mediation formula over the observed variables")
    assert "ID* line 8" in nie.formula and nie.value == pytest.approx(0.0)
