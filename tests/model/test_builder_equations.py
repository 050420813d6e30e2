"""Equations and parameters in the Python builder (issue 15, item 1): a model built in Python is
the model the same .causal text gives, variable for variable, fits to the same numbers, and its
mistakes are refused as a file's are, located in the model's text."""

import numpy as np
import pandas as pd
import pytest

import causaldsl
from causaldsl import CausalTypeError, DuplicateVariableError, ModelBuilder, Real
from causaldsl.lang.writer import model_source
from causaldsl.syntax.diagnostics import SourceError
from tests.bayes.test_parameters import ADJUSTED

#: the regression model of the Bayesian tests, and a latent-confounded pair of tables
TEXT = ADJUSTED.rstrip().removesuffix("}") + """  latent U : Bin ~ [0.3, 0.7]
  W : Bin ~ table(U) { 0: [0.9, 0.1], 1: [0.2, 0.8] }
}
"""


def built():
    m = ModelBuilder("lin")
    Bin = m.type("Bin", [0, 1])
    for p, prior in [("b0", "Normal(0, 10)"), ("bx", "Normal(0, 10)"), ("c", "Normal(0, 10)"),
                     ("s", "HalfNormal(5)"), ("a", "Normal(0, 3)")]:
        m.param(p, prior)
    m.observed("Z", Real, "~ Normal(0, 1)")
    m.observed("X", Bin, "~ Bernoulli(sigmoid(a * Z))")
    m.observed("Y", Real, "~ Normal(b0 + bx * X + c * Z, s)", given=("X", "Z"))
    m.latent("U", Bin, [0.3, 0.7])
    m.observed("W", Bin, given="U", table={0: [0.9, 0.1], 1: [0.2, 0.8]})
    return m.build()


def test_the_built_model_is_the_files_model():
    from_text = causaldsl.parse(TEXT).models["lin"]
    model = built()
    assert model_source(model) == model_source(from_text)
    assert model.parameters.keys() == from_text.parameters.keys()
    assert model["Y"].parents == ("X", "Z")  # an equation's parents: the variables it reads
    assert np.array_equal(model["W"].mechanism.array, [[0.9, 0.1], [0.2, 0.8]])


def test_it_fits_to_the_same_numbers():
    rng = np.random.default_rng(5)
    z = rng.normal(size=400)
    x = (rng.random(400) < 1 / (1 + np.exp(-0.8 * z))).astype(int)
    df = pd.DataFrame({"Z": z, "X": x, "Y": 1 + 2 * x + 0.5 * z + rng.normal(size=400),
                       "W": rng.integers(0, 2, size=400)})
    ours = built().fit(df[["Z", "X", "Y"]], "mle", bootstrap=20, seed=3)
    theirs = causaldsl.parse(TEXT).models["lin"].fit(df[["Z", "X", "Y"]], "mle", bootstrap=20,
                                                     seed=3)
    q = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
    # the same program on the same data with the same seed: the same numbers, bit for bit
    assert ours.query(q).estimate == theirs.query(q).estimate
    assert abs(ours.query(q).estimate - 2) < 0.3  # and near the truth (se about 0.1)


def test_mistakes_are_refused_as_in_a_file():
    m = ModelBuilder("bad")
    m.param("b", "Normal(0, 1)")
    m.observed("Y", Real, "~ Normal(b * Q, 1)")
    with pytest.raises(SourceError, match=r"<builder model bad>:\d+:\d+: error: .*'Q'"):
        m.build()
    m = ModelBuilder("bad")
    m.param("b", "Poisson(3)")
    m.observed("Y", Real, "~ Normal(b, 1)")
    with pytest.raises(SourceError, match="continuous distribution"):
        m.build()
    m = ModelBuilder("bad")
    with pytest.raises(CausalTypeError, match="starts with ~ or :="):
        m.observed("Y", Real, "Normal(0, 1)")
    m.param("b", "Normal(0, 1)")
    with pytest.raises(DuplicateVariableError):
        m.observed("b", Real, "~ Normal(0, 1)")
    with pytest.raises(DuplicateVariableError):
        m.param("b", "Normal(0, 1)")
    with pytest.raises(CausalTypeError, match="written as text"):
        m.param("c", 3.0)
    m.observed("X", Real, "~ Normal(0, 1)")
    m.observed("Y", Real, "~ Normal(b * X, 1)", given=("X", "Z"))
    with pytest.raises(CausalTypeError, match="its equation reads X"):
        m.build()


def test_a_model_without_equations_is_built_as_before():
    m = ModelBuilder("plain")
    m.observed("A", ["no", "yes"], [0.5, 0.5])
    model = m.build()
    assert model.parameters == {} and model["A"].mechanism.array.tolist() == [0.5, 0.5]


def test_an_equation_is_one_expression_and_the_name_is_kept():
    m = ModelBuilder("Dog-Problem")
    m.observed("X", Real, "~ Normal(0, 1)")
    assert m.build().name == "Dog-Problem"  # as a model without equations keeps it
    m.observed("Y", Real, "~ Normal(X, 1)\n  Z : Real ~ Normal(5, 1)")
    with pytest.raises(causaldsl.CausalError, match="one expression on one line"):
        m.build()
    m = ModelBuilder("m")
    m.param("b", "Normal(0, 1) } model other {")
    with pytest.raises(causaldsl.CausalError, match="one expression on one line"):
        m.build()
