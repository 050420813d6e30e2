"""Named quantities from a graph and data: each term identified by ID* (the natural effects
unnested into a conjunction first), evaluated on the data; the values equal the textbook
formulas written out in tests/counterfactual/test_quantities.py and the multi-world answer on
the model behind the data; what is not identifiable is refused with its reason."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causaldsl import Bool, ModelBuilder, QueryError
from causaldsl import counterfactual as cf
from causaldsl.errors import NotIdentifiable
from causaldsl.graph import ADMG
from tests.counterfactual.test_quantities import mediation, random_tables, textbook


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_from_the_graph_equal_the_textbook_formulas(seed):
    tables = random_tables(np.random.default_rng(seed))
    m = mediation(*tables)
    g = m.admg()   # C → X, C → M, C → Y, X → M, X → Y, M → Y: no tables
    ett, nde, nie, cde = textbook(*tables)
    kw = {"treated": True, "control": False, "data": m}
    assert cf.ett(g, "X", "Y", **kw).value == pytest.approx(ett, abs=1e-9)
    assert cf.nde(g, "X", "Y", "M", **kw).value == pytest.approx(nde, abs=1e-9)
    assert cf.nie(g, "X", "Y", "M", **kw).value == pytest.approx(nie, abs=1e-9)
    assert cf.cde(g, "X", "Y", "M", True, **kw).value == pytest.approx(cde, abs=1e-9)
    # a probability of the outcome instead of its mean: the same numbers for a Bool
    assert cf.ett(g, "X", "Y", outcome_value=True, **kw).value == pytest.approx(ett, abs=1e-9)


def test_formulas_are_the_mediation_formula():
    m = mediation(*random_tables(np.random.default_rng(1)))
    nde = cf.nde(m.admg(), "X", "Y", "M", treated=True, control=False, data=m)
    assert ("P(Y[X = true, M = M[X = false]]) = Σ_{m,c} P(c) P(m|c,x=false) P(y|c,x=true,m)"
            in nde.formula)
    assert "the graph" in nde.assumption
    # the model itself, with data= its own observational distribution: the same route
    assert cf.nde(m, "X", "Y", "M", data=m).formula == nde.formula


def frontdoor_model(rng):
    """S → T → C with a hidden H → S, H → C; random tables."""
    b = ModelBuilder("frontdoor")
    b.latent("H", Bool, rng.dirichlet([1, 1]))
    b.observed("S", Bool, given="H", table=rng.dirichlet([1, 1], size=2))
    b.observed("T", Bool, given="S", table=rng.dirichlet([1, 1], size=2))
    b.observed("C", Bool, given=("T", "H"), table=rng.dirichlet([1, 1], size=(2, 2)))
    return b.build()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_ett_without_a_back_door_set(seed):
    """The effect of S on C among the treated in the front-door graph: no back-door set, yet
    ID* identifies it (Shpitser & Pearl 2009); its value on the observational distribution is
    the model's multi-world answer (every table is read in one world)."""
    m = frontdoor_model(np.random.default_rng(seed))
    truth = cf.ett(m, "S", "C").value
    assert "no set of observed variables blocks" in cf.ett(m, "S", "C").formula
    got = cf.ett(m.admg(), "S", "C", treated=True, control=False, data=m)
    assert got.value == pytest.approx(truth, abs=1e-9)


def test_what_the_graph_does_not_identify_is_refused_with_its_reason():
    xy = ADMG(["X", "Y"], [("X", "Y")])
    data = np.array([[0.3, 0.2], [0.1, 0.4]])
    for f in (cf.pn, cf.ps, cf.pns):
        # the copies of Y share Y's noise: Y at two values in one district
        with pytest.raises(NotIdentifiable, match="sharp bounds from the data") as e:
            f(xy, "X", "Y", data=data)
        assert e.value.reason == "conflict"
    bow = ADMG(["X", "Y"], [("X", "Y")], [("X", "Y")])
    with pytest.raises(NotIdentifiable) as e:
        cf.ett(bow, "X", "Y", data=data)
    assert e.value.reason == "conflict" and str(e.value).startswith("ETT: ")
    # a recanting witness: W is read under X = 1 (for Y) and under X = 0 (for M)
    witness = ADMG(["X", "W", "M", "Y"], [("X", "W"), ("W", "M"), ("W", "Y"), ("X", "Y"),
                                          ("M", "Y")])
    with pytest.raises(NotIdentifiable) as e:
        cf.nde(witness, "X", "Y", "M", data=data)
    assert e.value.reason == "conflict" and "W" in str(e.value)
    # a hidden common cause of M and Y: P(Y[X = 1, M = m], M[X = 0] = m) is not identifiable
    confounded = ADMG(["X", "M", "Y"], [("X", "M"), ("M", "Y"), ("X", "Y")], [("M", "Y")])
    with pytest.raises(NotIdentifiable) as e:
        cf.nie(confounded, "X", "Y", "M", data=data)
    assert e.value.reason == "conflict"


def test_a_graph_needs_data():
    with pytest.raises(QueryError, match="a graph has no tables: give the observational data"):
        cf.ett(ADMG(["X", "Y"], [("X", "Y")]), "X", "Y")
