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


def test_row_products_give_the_weighted_gram_matrix():
    """Weights times each row's products (a ≤ b) summed over the rows: the upper triangle of
    ``Xᵀ diag(w) X`` (how a bootstrap chunk forms every replicate's Gram matrix at once)."""
    x, _, w = _design()
    pairs = np.asarray(glm.gram_rows_of(jnp.asarray(x)))
    assert pairs.shape == (500, 10)
    a, b = np.triu_indices(4)
    assert np.allclose(w @ pairs, ((x.T * w) @ x)[a, b], rtol=1e-13, atol=1e-10)


@pytest.mark.parametrize("name", ["linear", "logistic"])
def test_fits_from_any_start_agree(name):
    x, y, w = _design()
    fam = glm.Family(name)
    xs, ys, ws = jnp.asarray(x), jnp.asarray(y), jnp.asarray(w)
    plain = np.asarray(fam.fit(xs, ys, ws))
    warm = np.asarray(fam.fit(xs, ys, ws, plain + 0.05))
    assert np.allclose(warm, plain, rtol=1e-12, atol=1e-12)
    if name == "logistic":  # the maximum likelihood: the weighted score is zero
        assert np.abs(x.T @ (w * (y - 1 / (1 + np.exp(-x @ plain))))).max() < 1e-8


@pytest.mark.parametrize("seed", range(4))
def test_the_rank_from_the_qr_factor_is_numpys(seed):
    """``check_design``'s rank (the QR's triangular factor, numpy's default tolerance on the
    design's dimensions) equals ``numpy.linalg.matrix_rank`` of the design, full or with a
    column that repeats another, one that sums two others, and one off by 1e-12 (rank
    deficient at the tolerance); a tolerance taken on the factor's own size (12, not 10^4)
    would call the last one independent."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(10_000, 6))
    cases = [x, np.column_stack([x, x[:, 2]]), np.column_stack([x, x[:, 0] + x[:, 1]]),
             np.column_stack([x, x[:, 3] + 1e-12 * rng.normal(size=10_000)])]
    for d in cases:
        assert glm._rank(d) == np.linalg.matrix_rank(d)
    assert [glm._rank(d) for d in cases] == [6, 6, 6, 6]


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
    fast = causaldsl.estimate(g, q, df, method="aipw", bootstrap=100, seed=5)
    monkeypatch.setattr(glm, "NEWTON_TOL", 0.0)  # every fit takes all NEWTON_STEPS steps
    slow = causaldsl.estimate(g, q, df, method="aipw", bootstrap=100, seed=5)
    assert float(fast) == pytest.approx(float(slow), abs=1e-13)
    assert np.abs(seen[0] - seen[1]).max() < 1e-12
    # the first ran the fixed-step refits (no chunk fell back to Newton's method: 1500 rows
    # take a Newton step and 13 chord steps, which converge here); the second fell back in
    # both of its chunks (64 replicates each at 1500 rows)
    assert refitted == [0, 2]


def test_a_refit_that_has_not_converged_falls_back_to_newton(monkeypatch):
    """One Newton step and no chord step cannot pass the convergence test (the first step
    moves the coefficients by far more than NEWTON_TOL), so every chunk is computed again by
    ``fit``: the same replicates
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
    a = causaldsl.estimate(g, q, {"Z": z, "X": x, "Y": y}, method="ipw", bootstrap=40, seed=1)
    monkeypatch.setattr(glm, "REFIT_CHORDS", {0: 0})
    b = causaldsl.estimate(g, q, {"Z": z, "X": x, "Y": y}, method="ipw", bootstrap=40, seed=1)
    assert [e.refitted for e in built] == [0, 1]  # one chunk of 64 at 1200 rows
    assert a.se == pytest.approx(b.se, rel=1e-10) and a.ci == pytest.approx(b.ci, abs=1e-12)


@pytest.mark.parametrize(("name", "rows"), [("logistic", 2000), ("logistic", 20000),
                                            ("multinomial", 3000)])
def test_refit_batch_converges_to_newtons_fit(name, rows):
    """The fixed-step refits of 8 resamples (weights side by side, (n, 8)), from the full
    data's fit, say they converged (REFIT_CHORDS: 10 chord steps at 2000 rows, 5 at 20000)
    and equal Newton's method run to convergence within what that flag promises: the last
    step at most NEWTON_TOL (coefficients here are below 1) and the chord's rate at most 1/2,
    so at most 1e-8 is left. A chord step that used the wrong information matrix (a dropped
    block, a class pair put in the wrong place) or sign would not converge, a wrong gradient
    would converge elsewhere, and a flag that ignored the last step would pass unconverged
    fits (one chord step)."""
    rng = np.random.default_rng(6)
    x = np.column_stack([np.ones(rows), rng.normal(size=(rows, 6)),
                         rng.random((rows, 4)) < 0.4]).astype(float)
    if name == "logistic":
        fam = glm.Family("logistic")
        y = (rng.random(rows) < 1 / (1 + np.exp(-(x @ (rng.normal(size=11) * 0.3))))
             ).astype(float)
    else:
        fam = glm.Family("multinomial", 3)
        eta = np.column_stack([np.zeros(rows), x @ (rng.normal(size=(11, 2)) * 0.3)])
        p = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
        y = (rng.random(rows)[:, None] > p.cumsum(axis=1)).sum(axis=1)
    xs, ys = jnp.asarray(x), jnp.asarray(y)
    start = fam.fit(xs, ys, jnp.ones(rows))
    ws = np.stack([np.bincount(rng.integers(0, rows, rows), minlength=rows)
                   for _ in range(8)]).astype(float)
    newton = np.asarray(jax.vmap(lambda w: fam.fit(xs, ys, w, start))(jnp.asarray(ws)))
    wt = jnp.asarray(ws.T)
    sums = (fam.step_rows(xs, ys, start).T @ wt).T
    refit, ok = fam.refit_batch(xs, ys, wt, start, sums)
    assert bool(np.all(ok))
    assert np.abs(newton).max() < 1
    assert np.abs(np.asarray(refit) - newton).max() < glm.NEWTON_TOL
    _, ok_short = fam.refit_batch(xs, ys, wt, start, sums, chords=1)
    assert not np.any(ok_short)  # too few steps: flagged, so bootstrap refits them


def test_step_rows_sum_to_the_information_and_gradient():
    """Summed under weights, ``step_rows`` give the weighted Fisher information and gradient
    at the start (``Family.information``, ``Family.gradient``), for the three families: the
    first step of every replicate's refit is Newton's."""
    x, y, w = _design(n=400, p=3)
    rng = np.random.default_rng(1)
    xs, ws = jnp.asarray(x), jnp.asarray(w)
    for fam, yy, beta in (
            (glm.Family("linear"), rng.normal(size=400), np.zeros(3)),
            (glm.Family("logistic"), y, rng.normal(size=3) * 0.3),
            (glm.Family("multinomial", 4), rng.integers(0, 4, 400), rng.normal(size=9) * 0.3)):
        ys, bs = jnp.asarray(yy), jnp.asarray(beta)
        rows = fam.step_rows(xs, ys, bs)
        assert rows.shape[1] == fam.n_step_rows(3)
        sums = (rows.T @ ws[:, None]).T
        q = fam.n_params(3)
        info = np.asarray(glm._information(fam, 3, sums[:, :-q]))[0]
        grad = np.asarray(sums[0, -q:])
        if fam.name == "linear":  # the normal equations: XᵀWX and XᵀWy
            assert np.allclose(info, (x.T * w) @ x, rtol=1e-12)
            assert np.allclose(grad, x.T @ (w * yy), rtol=1e-12)
            continue
        assert np.allclose(info, np.asarray(fam.information(xs, ws, bs)), rtol=1e-12,
                           atol=1e-9)
        assert np.allclose(grad, np.asarray(fam.gradient(xs, ys, ws, bs)), rtol=1e-12,
                           atol=1e-9)
        batch = np.asarray(fam.gradient_batch(xs, ys, ws[:, None], bs[None, :]))[0]
        assert np.allclose(batch, grad, rtol=1e-12, atol=1e-9)


def test_programs_depend_on_shapes_not_on_the_data():
    """Two data sets of the same shape lower to the same programs (the point estimate's and a
    bootstrap chunk's), so JAX's persistent cache serves the second from the first: data
    closed over as constants, or argument names that differ between problems (ids), would
    make them differ (the comparison keeps the programs' debug names: JAX's cache key does)."""
    programs, alive = [], []  # both estimators alive, as in two processes: ids differ
    for seed in (1, 2):
        estimators._PROGRAMS.clear()  # each traces its own, as in a new process
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
        chunk = est._jit("replicates", lambda e: e.replicates)
        held = est._jit("held", lambda e: e.held)
        programs.append([lowered.as_text(debug_info=True) for lowered in (
            est._point.jitted.lower(est.arrays, jnp.ones(n)),
            held.jitted.lower(est.arrays, est._betas),
            chunk.jitted.lower(est.arrays, jnp.ones((32, n)), held(est._betas), est._betas))])
    assert programs[0] == programs[1]


def test_step_rows_made_by_blocks_give_the_same_replicates(monkeypatch):
    """Above ROWS_ENTRIES the rows' Newton terms are made again in each chunk, ROW_BLOCK rows
    at a time (here 128 of 1100, so the last block is short): the same replicates as when they
    are held whole. A block dropped, counted twice or cut short would change them."""
    rng = np.random.default_rng(8)
    n = 1100
    z = rng.normal(size=n)
    x = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x + z)))).astype(int)
    g = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])
    q = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
    seen = []
    real = estimators.Estimator.bootstrap

    def spy(self, *a, **k):
        seen.append(real(self, *a, **k))
        return seen[-1]

    monkeypatch.setattr(estimators.Estimator, "bootstrap", spy)
    causaldsl.estimate(g, q, {"Z": z, "X": x, "Y": y}, method="aipw", bootstrap=30, seed=3)
    monkeypatch.setattr(estimators, "ROWS_ENTRIES", 0)
    monkeypatch.setattr(estimators, "ROW_BLOCK", 128)
    causaldsl.estimate(g, q, {"Z": z, "X": x, "Y": y}, method="aipw", bootstrap=30, seed=3)
    assert seen[0].shape == (30, 2)
    assert np.abs(seen[0] - seen[1]).max() < 1e-12


@pytest.mark.parametrize("method", ["ipw", "aipw", "gformula"])
def test_the_sandwich_summed_by_blocks_equals_the_whole(monkeypatch, method):
    """The sandwich's sums taken 64 rows at a time (1000 rows: the last block overlaps the one
    before, and its repeated rows must be left out) give the covariance of one block of all
    the rows: a row counted twice or dropped would move the standard errors by ~0.1%, far
    above the 1e-12 allowed for summing in another order."""
    rng = np.random.default_rng(9)
    n = 1000
    z = rng.normal(size=n)
    x = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    y = 1 + x + z + rng.normal(size=n)
    g = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])
    q = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"
    data = {"Z": z, "X": x, "Y": y}
    whole = causaldsl.estimate(g, q, data, method=method)
    monkeypatch.setattr(estimators, "SANDWICH_ROWS", 64)
    blocks = causaldsl.estimate(g, q, data, method=method)
    assert float(blocks) == float(whole)
    assert blocks.se == pytest.approx(whole.se, rel=1e-12)


@pytest.mark.parametrize(("method", "query", "binary"), [
    ("aipw", "E[Y | do(X = b)] - E[Y | do(X = a)]", False),
    ("ipw", "E[Y | do(X = c), W = b] - E[Y | do(X = a), W = b]", True),
    ("aipw", "E[Y[X = c] | X = b] - E[Y[X = a] | X = b]", True),
])
def test_a_batch_of_replicates_equals_newtons_refits(monkeypatch, method, query, binary):
    """Three treatment levels (a multinomial propensity), a contrast, a CATE (a stratum's
    indicator in every term) and the effect on the treated (a density ratio ``e_b / e_x``),
    with a linear or a logistic outcome: the trailing-batch replicates equal those of
    Newton's method to convergence (NEWTON_TOL 0 makes every chunk fall back to it) within
    1e-9, far below a bootstrap se (~0.1 here). A stratum, level or density ratio mislaid in
    the batch layout, or a class block of the multinomial information misplaced, would move
    them by far more."""
    from .datasets import G, multilevel

    df = multilevel(n=600, k=3, binary_outcome=binary)
    seen, refitted = [], []
    real = estimators.Estimator.bootstrap

    def spy(self, *a, **k):
        seen.append(real(self, *a, **k))
        refitted.append(self.refitted)
        return seen[-1]

    monkeypatch.setattr(estimators.Estimator, "bootstrap", spy)
    causaldsl.estimate(G, query, df, method=method, bootstrap=20, seed=4)
    monkeypatch.setattr(glm, "NEWTON_TOL", 0.0)
    causaldsl.estimate(G, query, df, method=method, bootstrap=20, seed=4)
    assert refitted == [0, 1]
    assert np.abs(seen[0] - seen[1]).max() < 1e-9


@pytest.mark.parametrize(("method", "multi", "binary"), [
    ("aipw", False, False), ("aipw", True, True), ("ipw", True, False), ("gformula", False, True),
])
def test_the_jacobian_in_closed_form_equals_forward_differentiation(method, multi, binary):
    """The sandwich's bread: the scores' blocks in closed form (minus each family's
    information) and the means' rows by reverse mode equal ``jax.jacfwd`` of the whole stacked
    system (how it was computed before) to 1e-10 relative, for linear and logistic outcomes, a
    logistic and a multinomial propensity. A sign, a block put at the wrong offset, or a
    mean's dependence on another model's parameters dropped would differ at order 1."""
    from .datasets import ATE, hetero, multilevel
    from .test_batch_means import built_estimator

    df = multilevel(n=400, k=3, binary_outcome=binary) if multi else hetero(400, seed=3)
    if binary and not multi:
        df = df.assign(Y=(df["Y"] > df["Y"].median()).astype(int))
    q = "E[Y | do(X = c)] - E[Y | do(X = a)]" if multi else ATE
    est = built_estimator(method, q, df, {})
    theta = jnp.asarray(np.concatenate([*[np.ravel(b) for b in est._betas],
                                        np.asarray(est._point(jnp.ones(est.n))[0])]))
    ones = jnp.ones(est.n)
    closed = np.asarray(est._jacobian(theta, ones))
    forward = np.asarray(jax.jacfwd(lambda th: est.psi(th).sum(axis=0))(theta))
    assert closed.shape == forward.shape and closed.shape[0] > 5
    assert np.abs(closed - forward).max() <= 1e-10 * np.abs(forward).max()


def test_a_second_estimate_of_the_same_structure_traces_nothing(monkeypatch):
    """Two estimates of one structure on different data of the same shapes share the
    compiled programs: the second traces none of them (JAX keys its cache on the function,
    and each estimator used to jit its own). Another method is another structure."""
    traced = []
    real = estimators.Estimator._split  # read by every program's trace, and only there

    def spy(self, *a, **k):
        traced.append(1)
        return real(self, *a, **k)

    monkeypatch.setattr(estimators.Estimator, "_split", spy)
    g = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])
    q = "E[Y | do(X = 1)] - E[Y | do(X = 0)]"

    def data(seed, n):
        rng = np.random.default_rng(seed)
        z = rng.normal(size=n)
        x = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
        return {"Z": z, "X": x, "Y": 1 + x + z + rng.normal(size=n)}

    a = causaldsl.estimate(g, q, data(1, 300), method="aipw", bootstrap=10, seed=1)
    first = len(traced)
    b = causaldsl.estimate(g, q, data(2, 300), method="aipw", bootstrap=10, seed=1)
    assert first > 0 and len(traced) == first and float(a) != float(b)
    causaldsl.estimate(g, q, data(2, 300), method="ipw")
    assert len(traced) > first


@pytest.mark.parametrize("name", ["linear", "logistic", "multinomial"])
def test_the_host_mean_and_score_are_jaxs(name):
    """``Family.mean`` and ``score`` with ``host=True`` (NumPy and SciPy: the separation check
    and the answer's propensities, outside any compiled program) equal JAX's to 1e-14, the
    multinomial's reference class and one-hot columns included; a level dropped, a class
    shifted or a sign flipped would differ at order 1."""
    rng = np.random.default_rng(11)
    x = np.column_stack([np.ones(50), rng.normal(size=(50, 3))])
    fam = glm.Family(name, 3) if name == "multinomial" else glm.Family(name)
    beta = rng.normal(size=fam.n_params(4))
    y = rng.integers(0, 3, 50) if name == "multinomial" else rng.integers(0, 2, 50).astype(float)
    for f in (fam.mean, lambda *a, **k: fam.score(a[0], y, a[1], **k)):
        host = f(x, beta, host=True)
        assert isinstance(host, np.ndarray)
        device = np.asarray(f(jnp.asarray(x), jnp.asarray(beta)))
        assert host.shape == device.shape
        assert np.abs(host - device).max() < 1e-14 * max(1.0, np.abs(device).max())


def test_an_estimate_compiles_only_its_own_programs(caplog):
    """The estimate and its bootstrap compile their jitted programs (``jit(run)``) and nothing
    else: a JAX operation called outside them (a ``jnp`` conversion, the sandwich's sums and
    inverse, the propensities, the separation check) is compiled as a program of its own, some
    10 ms apiece in a new process. 211 rows, a size no other test uses, so that JAX's
    in-process caches of such small programs cannot hide one."""
    import logging

    rng = np.random.default_rng(12)
    n = 211
    z = rng.normal(size=n)
    x = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    y = 1 + x + z + rng.normal(size=n)
    g = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])
    with caplog.at_level(logging.DEBUG, logger="jax._src.dispatch"):
        causaldsl.estimate(g, "E[Y | do(X = 1)] - E[Y | do(X = 0)]", {"Z": z, "X": x, "Y": y},
                           method="aipw", bootstrap=8, seed=1)
    compiled = [r.getMessage().split(" in ")[0] for r in caplog.records
                if r.getMessage().startswith("Finished XLA compilation")]
    assert compiled and set(compiled) == {"Finished XLA compilation of jit(run)"}
