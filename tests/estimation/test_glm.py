"""The nuisance GLMs' shortcuts change no answer: Gram matrices from row products, Newton's
method stopped at convergence and started from another fit, the data as jit arguments."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import causaldsl
from causaldsl.estimation import estimators, glm
from causaldsl.model.graph import ADMG


def _design(n: int = 500, p: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ rng.normal(size=p) * 0.5)))).astype(float)
    w = rng.multinomial(n, np.ones(n) / n).astype(float)
    return x, y, w


def test_gram_rows_give_the_weighted_gram_matrix():
    x, _, w = _design()
    gram = glm.gram_rows(x)
    assert gram is not None and gram.shape == (500, 10)
    direct = (x.T * w) @ x
    assert np.allclose(glm.weighted_gram(jnp.asarray(x), jnp.asarray(w), jnp.asarray(gram)),
                       direct, rtol=1e-13, atol=1e-10)


def test_gram_rows_are_skipped_above_the_budget(monkeypatch):
    monkeypatch.setattr(glm, "GRAM_ENTRIES", 100)
    assert glm.gram_rows(np.ones((500, 4))) is None


@pytest.mark.parametrize("name", ["linear", "logistic"])
def test_fits_with_and_without_row_products_and_from_any_start_agree(name):
    x, y, w = _design()
    fam = glm.Family(name)
    xs, ys, ws = jnp.asarray(x), jnp.asarray(y), jnp.asarray(w)
    plain = np.asarray(fam.fit(xs, ys, ws))
    fast = np.asarray(fam.fit(xs, ys, ws, None, jnp.asarray(glm.gram_rows(x))))
    warm = np.asarray(fam.fit(xs, ys, ws, plain + 0.05))
    assert np.allclose(fast, plain, rtol=1e-12, atol=1e-12)
    assert np.allclose(warm, plain, rtol=1e-12, atol=1e-12)
    if name == "logistic":  # the maximum likelihood: the weighted score is zero
        assert np.abs(x.T @ (w * (y - 1 / (1 + np.exp(-x @ plain))))).max() < 1e-8


def test_bootstrap_stopped_at_convergence_equals_thirty_newton_steps(monkeypatch):
    rng = np.random.default_rng(2)
    n = 1500
    z = rng.normal(size=n)
    x = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x + z)))).astype(int)  # a logistic outcome too
    df = {"Z": z, "X": x, "Y": y}
    g = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])
    q = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
    seen, refitted = [], []
    real = estimators.Estimator.bootstrap

    def spy(self, *a, **k):
        out = real(self, *a, **k)
        seen.append(out)
        refitted.append(self.refitted)
        return out

    monkeypatch.setattr(estimators.Estimator, "bootstrap", spy)
    fast = causaldsl.estimate(g, q, df, method="aipw", bootstrap=40, seed=5)
    monkeypatch.setattr(glm, "NEWTON_TOL", 0.0)  # every fit takes all NEWTON_STEPS steps
    slow = causaldsl.estimate(g, q, df, method="aipw", bootstrap=40, seed=5)
    assert float(fast) == pytest.approx(float(slow), abs=1e-13)
    assert np.abs(seen[0] - seen[1]).max() < 1e-12
    # the first ran the fixed-step refits (no chunk fell back to Newton's method: 1500 rows
    # take (3, 1) steps, which converge here); the second fell back in all of its 3 chunks
    assert refitted == [0, 3]


def test_a_refit_that_has_not_converged_falls_back_to_newton(monkeypatch):
    """One Newton step and no chord step cannot pass the convergence test (the step before
    the first is infinite), so every chunk is computed again by ``fit``: the same replicates
    as the fixed-step refits that converge. A refit that returned unconverged coefficients,
    or a fallback that drew other resamples, would differ by far more than 1e-12."""
    rng = np.random.default_rng(4)
    n = 1200
    z = rng.normal(size=n)
    x = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    y = 1 + x + z + rng.normal(size=n)
    g = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])
    q = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
    built = []
    init = estimators.Estimator.__init__

    def keep(self, problem):  # type: ignore[no-untyped-def]
        init(self, problem)
        built.append(self)

    monkeypatch.setattr(estimators.Estimator, "__init__", keep)
    a = causaldsl.estimate(g, q, {"Z": z, "X": x, "Y": y}, method="ipw", bootstrap=20, seed=1)
    monkeypatch.setattr(glm, "REFIT_STEPS", {0: (1, 0)})
    b = causaldsl.estimate(g, q, {"Z": z, "X": x, "Y": y}, method="ipw", bootstrap=20, seed=1)
    assert [e.refitted for e in built] == [0, 2]
    assert a.se == pytest.approx(b.se, rel=1e-10) and a.ci == pytest.approx(b.ci, abs=1e-12)


@pytest.mark.parametrize("rows", [2000, 20000])
def test_refit_converges_to_newtons_fit(rows):
    """The fixed-step refits of 8 resamples, from the full data's fit, equal Newton's method
    run to convergence within 1e-11, and say they converged (REFIT_STEPS: (3, 1) below 10^4
    rows, (2, 2) above); a chord step that used the wrong information matrix or sign would
    not converge, and a flag that ignored the last step would pass unconverged fits."""
    rng = np.random.default_rng(6)
    x = np.column_stack([np.ones(rows), rng.normal(size=(rows, 6)),
                         rng.random((rows, 4)) < 0.4]).astype(float)
    y = (rng.random(rows) < 1 / (1 + np.exp(-(x @ (rng.normal(size=11) * 0.3))))).astype(float)
    fam, xs, ys = glm.Family("logistic"), jnp.asarray(x), jnp.asarray(y)
    start = fam.fit(xs, ys, jnp.ones(rows))
    ws = jnp.asarray(np.stack([np.bincount(rng.integers(0, rows, rows), minlength=rows)
                               for _ in range(8)]).astype(float))
    newton = np.asarray(jax.vmap(lambda w: fam.fit(xs, ys, w, start))(ws))
    refit, ok = jax.vmap(lambda w: fam.refit(xs, ys, w, start))(ws)
    assert bool(np.all(ok))
    assert np.abs(np.asarray(refit) - newton).max() < 1e-11
    _, ok_short = jax.vmap(lambda w: fam.refit(xs, ys, w, start, None, (1, 1)))(ws)
    assert not np.any(ok_short)  # too few steps: flagged, so bootstrap refits them


def test_programs_depend_on_shapes_not_on_the_data():
    """Two data sets of the same shape lower to the same programs (the point estimate's and a
    bootstrap chunk's), so JAX's persistent cache serves the second from the first: data
    closed over as constants, or argument names that differ between problems (ids), would
    make them differ (the comparison keeps the programs' debug names: JAX's cache key does)."""
    programs, alive = [], []  # both estimators alive, as in two processes: ids differ
    for seed in (1, 2):
        rng = np.random.default_rng(seed)
        n = 300
        z = rng.normal(size=n)
        x = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
        y = 1 + x + z + rng.normal(size=n)
        built = []
        init = estimators.Estimator.__init__

        def keep(self, problem, built=built, init=init):  # type: ignore[no-untyped-def]
            init(self, problem)
            built.append(self)

        estimators.Estimator.__init__ = keep  # type: ignore[method-assign]
        try:
            causaldsl.estimate(ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")]),
                               "E[Y | do(X = 1)] - E[Y | do(X = 0)]", {"Z": z, "X": x, "Y": y},
                               method="aipw")
        finally:
            estimators.Estimator.__init__ = init  # type: ignore[method-assign]
        est = built[-1]
        alive.append(est)
        chunk = est._jit(jax.vmap(est.replicate, in_axes=(0, None)))
        programs.append([lowered.as_text(debug_info=True) for lowered in (
            est._point.jitted.lower(est.arrays, jnp.ones(n)),
            chunk.jitted.lower(est.arrays, jnp.ones((16, n)), est._betas))])
    assert programs[0] == programs[1]
