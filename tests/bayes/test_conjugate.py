"""Fitting unknown tables: the conjugate posterior against its closed form (the Dirichlet
arithmetic written out), NUTS and SVI against it within Monte Carlo error, maximum likelihood
against the counts, and each posterior draw of a query against the model answered with that
draw's tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from causaldsl.core.errors import DataError, FitError, QueryError
from causaldsl.ir.mechanism import Table
from causaldsl.model.builder import ModelBuilder
from causaldsl.model.causal_model import Variable

YN = ["no", "yes"]


def frame(counts: dict[tuple[str, ...], int], names: tuple[str, ...]) -> pd.DataFrame:
    """A DataFrame with each row (a tuple of labels) repeated its count."""
    rows = [r for r, k in counts.items() for _ in range(k)]
    return pd.DataFrame(rows, columns=list(names))


def xy_model(prior_y: float = 2.0):
    b = ModelBuilder("xy")
    b.observed("X", YN, unknown=True)               # Dirichlet(1)
    b.observed("Y", YN, given="X", unknown=prior_y)  # Dirichlet(2) on each row
    return b.build()


# X: 3 no, 7 yes; Y given X = no: 2 no, 1 yes; Y given X = yes: 2 no, 5 yes.
SMALL = {("no", "no"): 2, ("no", "yes"): 1, ("yes", "no"): 2, ("yes", "yes"): 5}


def test_conjugate_posterior_is_prior_plus_counts():
    # X ~ Dirichlet(1 + 3, 1 + 7) = (4, 8); Y | X = no ~ Dirichlet(2 + 2, 2 + 1) = (4, 3);
    # Y | X = yes ~ Dirichlet(2 + 2, 2 + 5) = (4, 7). A dropped prior, counts of the wrong
    # family or rows swapped with columns each change one of these numbers.
    fitted = xy_model().fit(frame(SMALL, ("X", "Y")), draws=10)
    assert fitted.method == "exact"
    np.testing.assert_array_equal(fitted.concentration["X"], [4, 8])
    np.testing.assert_array_equal(fitted.concentration["Y"], [[4, 3], [4, 7]])
    np.testing.assert_allclose(fitted.tables["Y"], [[4 / 7, 3 / 7], [4 / 11, 7 / 11]])


def test_conjugate_query_means_and_intervals():
    fitted = xy_model().fit(frame(SMALL, ("X", "Y")), draws=20000, seed=1)
    # P(Y = yes | X = yes) = θ, θ ~ Beta(7, 4): mean 7/11, variance 7·4 / (11²·12) = 0.019284,
    # sd 0.13887; with 20,000 independent draws the mean's se is 0.00098: 5 se = 0.0049.
    post = fitted.query("P(Y = yes | X = yes)")
    assert abs(post.mean - 7 / 11) < 0.0049
    assert abs(post.sd - 0.13887) < 0.005  # se of an sd from 20,000 draws ≈ 0.0007
    lo, hi = post.interval
    exact = stats.beta(7, 4).ppf([0.025, 0.975])
    # a 2.5% quantile's se is sqrt(.025·.975/20000) / density there (about 0.7): 0.0016
    assert abs(lo - exact[0]) < 0.01 and abs(hi - exact[1]) < 0.01
    # P(Y = yes) = Σx θx θ(yes|x), independent factors: 4/12 · 3/7 + 8/12 · 7/11 = 0.567100
    total = fitted.query("P(Y = yes)")
    assert abs(total.mean - (4 / 12 * 3 / 7 + 8 / 12 * 7 / 11)) < 0.005
    # no confounding: do(X = yes) is conditioning on it, draw by draw
    np.testing.assert_allclose(fitted.query("P(Y = yes | do(X = yes))").draws, post.draws)
    assert post.identified


def test_each_draw_is_the_model_with_that_draws_tables():
    """The batch over draws puts each draw's table where it belongs: a swapped parent axis
    or a shifted draw index would break the match."""
    b = ModelBuilder("three")
    b.observed("A", ["a0", "a1", "a2"], unknown=True)
    b.observed("B", YN, given="A", unknown=True)
    b.observed("C", YN, given=["A", "B"], unknown=0.5)
    model = b.build()
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"A": rng.choice(["a0", "a1", "a2"], 60), "B": rng.choice(YN, 60),
                       "C": rng.choice(YN, 60)})
    fitted = model.fit(df, draws=5, seed=2)
    post = fitted.query("P(C = yes | do(B = yes), A = a2)")
    table = fitted.query("P(C | A)")
    for i in range(5):
        one = fitted.estimated_model.replace([
            Variable(v, var.type, var.role, var.parents, Table(fitted.draws[v][i],
                                                                len(var.parents)))
            for v, var in ((v, model.variables[v]) for v in model.unknown)])
        assert post.draws[i] == pytest.approx(one.query("P(C = yes | do(B = yes), A = a2)"),
                                              abs=1e-12)
        np.testing.assert_allclose(table.draws[i], np.asarray(one.query("P(C | A)").probs),
                                   atol=1e-12)


def test_nuts_agrees_with_the_conjugate_posterior():
    # n = 100: X 30 no / 70 yes; Y | no: 20 no, 10 yes; Y | yes: 20 no, 50 yes.
    # P(Y = yes | X = yes) ~ Beta(2 + 50, 2 + 20) = Beta(52, 22): mean 52/74 = 0.702703,
    # sd sqrt(52·22 / (74²·75)) = 0.052780.
    counts = {("no", "no"): 20, ("no", "yes"): 10, ("yes", "no"): 20, ("yes", "yes"): 50}
    fitted = xy_model().fit(frame(counts, ("X", "Y")), "nuts", draws=2000, warmup=500, seed=4)
    post = fitted.query("P(Y = yes | X = yes)")
    assert post.ess is not None and post.ess >= 400
    # the mean within 5 Monte Carlo standard errors (sd / sqrt(ESS)); the sd within 5 of its
    # own relative se, 1 / sqrt(2 ESS)
    assert abs(post.mean - 52 / 74) < 5 * 0.052780 / np.sqrt(post.ess)
    assert abs(post.sd / 0.052780 - 1) < 5 / np.sqrt(2 * post.ess)
    assert fitted.diagnostics.r_hat is not None and fitted.diagnostics.r_hat < 1.01
    assert not fitted.diagnostics.warnings


def test_svi_is_near_the_conjugate_posterior():
    counts = {("no", "no"): 20, ("no", "yes"): 10, ("yes", "no"): 20, ("yes", "yes"): 50}
    fitted = xy_model().fit(frame(counts, ("X", "Y")), "svi", draws=4000, steps=3000, seed=5)
    post = fitted.query("P(Y = yes | X = yes)")
    # a Gaussian guide on the logit scale is not the Beta posterior: within half its sd
    assert abs(post.mean - 52 / 74) < 0.5 * 0.052780
    assert 0.6 < post.sd / 0.052780 < 1.5


def test_mle_is_the_frequencies_with_a_bootstrap():
    counts = {("no", "no"): 20, ("no", "yes"): 10, ("yes", "no"): 20, ("yes", "yes"): 50}
    fitted = xy_model().fit(frame(counts, ("X", "Y")), "mle", bootstrap=400, seed=6)
    np.testing.assert_allclose(fitted.tables["Y"], [[20 / 30, 10 / 30], [20 / 70, 50 / 70]])
    post = fitted.query("P(Y = yes | X = yes)")
    assert post.estimate == pytest.approx(50 / 70)
    assert post.kind == "bootstrap"
    # the binomial se sqrt(p(1-p)/70) = 0.05400; a bootstrap sd from 400 replicates is within
    # about 4% of it (1/sqrt(800)), and the number of X = yes rows varies: 25% covers both
    assert abs(post.sd / 0.05400 - 1) < 0.25


def test_mle_refuses_a_row_the_data_never_show():
    counts = {("yes", "no"): 5, ("yes", "yes"): 5}
    with pytest.raises(FitError, match="X = no"):
        xy_model().fit(frame(counts, ("X", "Y")), "mle")


def test_errors():
    model = xy_model()
    df = frame(SMALL, ("X", "Y"))
    with pytest.raises(QueryError, match=r"unknown tables .*X, Y.*fit"):
        model.query("P(Y)")
    with pytest.raises(FitError, match="unknown fitting method 'bayes'"):
        model.fit(df, "bayes")
    with pytest.raises(DataError, match="no column named after an observed variable"):
        model.fit(pd.DataFrame({"Z": ["no"]}))
    with pytest.raises(DataError):
        model.fit(pd.DataFrame({"X": ["no", "maybe"], "Y": ["no", "yes"]}))
    b = ModelBuilder("known")
    b.observed("X", YN, [0.5, 0.5])
    with pytest.raises(FitError, match="nothing to learn"):
        b.build().fit(df)
    with pytest.raises(QueryError, match="level"):
        model.fit(df, draws=10).query("P(Y)", level=95)


def test_bad_priors():
    from causaldsl.core.errors import CausalTypeError, TableError

    for prior, message in ((0, "positive"), (-1, "positive"), ([1, 2, 3], "3 parameters"),
                           (float("nan"), "positive")):
        b = ModelBuilder("bad")
        b.observed("X", YN, unknown=prior)
        with pytest.raises(TableError, match=message):
            b.build()
    b = ModelBuilder("both")
    with pytest.raises(CausalTypeError, match="has a table and is unknown"):
        b.observed("X", YN, [0.5, 0.5], unknown=True)


def test_mle_bootstrap_draws_a_bar_and_nuts_announces_its_compilation(capfd):
    counts = {("no", "no"): 20, ("no", "yes"): 10, ("yes", "no"): 20, ("yes", "yes"): 50}
    df = frame(counts, ("X", "Y"))
    quiet = xy_model().fit(df, "mle", bootstrap=30, seed=6)
    assert capfd.readouterr() == ("", "")
    loud = xy_model().fit(df, "mle", bootstrap=30, seed=6, progress=True)
    err = capfd.readouterr().err
    assert "bootstrap" in err and "30/30" in err
    assert loud.query("P(Y = yes | X = yes)").mean == quiet.query("P(Y = yes | X = yes)").mean
    xy_model().fit(df, "nuts", draws=20, warmup=20, chains=1, seed=1, progress=True)
    err = capfd.readouterr().err
    # NumPyro's own bar follows (not asserted: under pytest-xdist tqdm may draw none)
    assert err.startswith("compiling the sampler (NUTS)…\n")


def test_a_posterior_shows_in_a_notebook_as_its_summary_table():
    fitted = xy_model().fit(frame(SMALL, ("X", "Y")), draws=200, seed=1)
    post = fitted.query("P(Y = yes | X = yes)")
    html = post._repr_html_()
    frame_ = post.to_pandas()
    heads = [h.strip() for h in __import__("re").findall(r"<th>(.*?)</th>", html)]
    assert heads == list(frame_.columns)
    assert f"<td>{float(frame_['estimate'][0]):.6g}</td>" in html
    assert "<p><b>P(Y = yes | X = yes)</b></p>" in html and "posterior mean of 200 draws" in html
    table = fitted.query("P(Y | X)")._repr_html_()
    assert table.count("<tr>") == 4  # a row per cell of the table (the heading has a style)
