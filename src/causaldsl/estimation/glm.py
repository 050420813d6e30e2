"""Nuisance models as generalised linear models in JAX, with row weights: linear (least
squares), logistic and multinomial logistic (Newton's method, a fixed number of steps so that a
fit is one traced function, vmapped over bootstrap weights). Each family gives its mean and its
per-row score, the estimating equation that the sandwich variance stacks (canonical links, so
the score is ``x_i (y_i - mean_i)``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special

from causaldsl.backends import jax64
from causaldsl.core.errors import FitError

jax64.jax()  # float64, and compiled programs kept across processes

#: Newton steps for the logistic families, at most: from zero, a well-posed fit converges in
#: under 10; 30 leaves margin, and a fit whose score is not then ~0 is reported (separation).
NEWTON_STEPS = 30
#: Newton's method stops early once a step moves no coefficient by more than this (relative to
#: the coefficient, or absolute below 1): convergence is quadratic (each step's size about the
#: square of the last's, times a constant near 1), so what such a step leaves is ~1e-16, at
#: rounding. A bootstrap replicate started from the full data's fit stops after 3 or 4 steps
#: instead of 30 (on 10^5 rows, replicates equal to the 30-step ones within 1e-15).
NEWTON_TOL = 1e-8
#: Chord steps of a bootstrap replicate's refit (``Family.refit_batch``) by the number of rows:
#: after one Newton step from the full data's fit, each chord step costs a gradient and reuses
#: that step's information matrix (the full fit's, under the replicate's weights). A replicate's
#: coefficients are ~1/√n from the full fit's, so the larger the data the faster the chord
#: converges: measured on 16 resamples of an 11-coefficient logistic model, the largest step
#: fell below 1e-9 after 4 chord steps at 10^5 rows, 5 at 2·10^4, 6 at 10^4, 7 at 5000, 9 at
#: 2000 and 12 at 1000 (each step ~100× smaller than the last at 10^5 rows, ~6× at 1000); the
#: counts below leave a step's margin, and small data pay little for extra steps. A replicate
#: that has not converged (smaller or harder data) is refitted to convergence by ``fit``
#: (``Estimator.bootstrap``), so these counts change the time, never the answer.
REFIT_CHORDS = {50_000: 4, 20_000: 5, 10_000: 6, 5_000: 8, 2_000: 10, 1_000: 13, 0: 16}
#: A refit's step this small (relative) is rounding: 64 float64 epsilons.
ROUNDING = 64 * float(np.finfo(np.float64).eps)


def over_rows(cols: Any, w: Any) -> Any:
    """``cols`` (c, n) times ``w`` (n, B), as (B, c). The barrier keeps XLA from laying the
    product's output out transposed to suit the ``.T``, which made it run at half speed."""
    return jax.lax.optimization_barrier(cols @ w).T


def weighted_gram(design: Any, v: Any) -> Any:
    """``Xᵀ diag(v) X``."""
    return (design.T * v) @ design


def gram_rows_of(design: Any) -> Any:
    """Each row's products ``x_ia x_ib`` (a ≤ b), (n, p(p+1)/2): weights (n, B) times these,
    summed over the rows, are B weighted Gram matrices' upper triangles in one product."""
    a, b = np.triu_indices(design.shape[1])
    return design[:, a] * design[:, b]


def _information(family: Family, p: int, upper: Any) -> Any:
    """Information matrices (B, q, q) from their sums of ``step_rows``' upper-triangle
    columns (B, ...): the design's pairs (a ≤ b), and for the multinomial, within each pair,
    the classes' pairs (c ≤ d); the coefficient (a, c) is at a(k-1) + c, as in ``mean``."""
    batch = upper.shape[0]
    a, b = np.triu_indices(p)
    if family.name != "multinomial":
        m = jnp.zeros((batch, p, p)).at[:, a, b].set(upper).at[:, b, a].set(upper)
        return m
    k1 = family.k - 1
    c, d = np.triu_indices(k1)
    v = upper.reshape(batch, len(a), len(c))
    ia, ib = np.repeat(a, len(c)), np.repeat(b, len(c))
    ic, id_ = np.tile(c, len(a)), np.tile(d, len(a))
    flat = v.reshape(batch, -1)
    q = p * k1
    m = jnp.zeros((batch, q, q))
    for r, s_, t, u in ((ia, ic, ib, id_), (ib, ic, ia, id_), (ia, id_, ib, ic), (ib, id_, ia, ic)):
        m = m.at[:, r * k1 + s_, t * k1 + u].set(flat)
    return m


def _moved(delta: Any, beta: Any) -> Any:
    """The largest step of each replicate's coefficients, relative (absolute below 1)."""
    return jnp.max(jnp.abs(delta) / jnp.maximum(1.0, jnp.abs(beta)), axis=-1)


@dataclass(frozen=True)
class Family:
    """A GLM family: ``linear``, ``logistic`` (y in {0, 1}) or ``multinomial`` with ``k``
    classes (y a class index; class 0 is the reference)."""

    name: str
    k: int = 2

    def n_params(self, p: int) -> int:
        return p * (self.k - 1) if self.name == "multinomial" else p

    def mean(self, design: Any, beta: Any, host: bool = False) -> Any:
        """E[y | x]: (n,), or (n, k) class probabilities for the multinomial. ``host``: in
        NumPy, for arrays on the host outside any program (JAX would compile each operation
        as a program of its own, some 10 ms apiece in a new process)."""
        xp, sigmoid, softmax = (np, scipy.special.expit, scipy.special.softmax) if host else \
            (jnp, jax.nn.sigmoid, jax.nn.softmax)
        if self.name == "linear":
            return design @ beta
        if self.name == "logistic":
            return sigmoid(design @ beta)
        eta = design @ beta.reshape(design.shape[1], self.k - 1)
        eta = xp.concatenate([xp.zeros((design.shape[0], 1)), eta], axis=1)
        return softmax(eta, axis=1)

    def score(self, design: Any, y: Any, beta: Any, host: bool = False) -> Any:
        """Per-row scores (n, n_params): their weighted sum is zero at the fit. ``host``: as
        for ``mean``."""
        mu = self.mean(design, beta, host)
        if self.name == "multinomial":
            onehot = (y[:, None] == np.arange(self.k)) if host else jax.nn.one_hot(y, self.k)
            resid = onehot[:, 1:] - mu[:, 1:]
            return (design[:, :, None] * resid[:, None, :]).reshape(design.shape[0], -1)
        return design * (y - mu)[:, None]

    def fit(self, design: Any, y: Any, w: Any, start: Any = None) -> Any:
        """The weighted fit (traceable: jit and vmap over ``w`` apply). Newton's method for the
        logistic families starts from ``start`` (default zero) and stops at NEWTON_TOL or after
        NEWTON_STEPS steps; the log-likelihood is concave, so where its maximum exists the
        start changes how many steps it takes, not where it ends."""
        if self.name == "linear":
            return jnp.linalg.solve(weighted_gram(design, w), design.T @ (w * y))

        def step(state: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
            i, beta, _ = state
            delta = jnp.linalg.solve(self.information(design, w, beta),
                                     self.gradient(design, y, w, beta))
            beta = beta + delta
            return i + 1, beta, jnp.max(jnp.abs(delta) / jnp.maximum(1.0, jnp.abs(beta)))

        def more(state: tuple[Any, Any, Any]) -> Any:
            i, _, moved = state
            return (i < NEWTON_STEPS) & (moved > NEWTON_TOL)  # a NaN stops it too

        beta0 = jnp.zeros(self.n_params(design.shape[1])) if start is None else \
            jnp.asarray(start, dtype=jnp.float64)
        state = (jnp.asarray(0, dtype=jnp.int32), beta0, jnp.asarray(jnp.inf, dtype=jnp.float64))
        return jax.lax.while_loop(more, step, state)[1]

    # -- bootstrap replicates, batched in a trailing axis: weights (n, B), coefficients (B, q) --
    def step_rows(self, design: Any, y: Any, start: Any) -> Any:
        """Per row, the terms whose weighted sums give a Newton step's system at ``start``:
        the information's upper triangle then the gradient, (n, columns); linear: the normal
        equations' (``start`` unused). Summed under every replicate's weights at once, these
        are one matrix product (``refit_batch``)."""
        pairs = gram_rows_of(design)
        if self.name == "linear":
            return jnp.concatenate([pairs, design * y[:, None]], axis=1)
        mu = self.mean(design, start)
        if self.name == "logistic":
            return jnp.concatenate([pairs * (mu * (1 - mu))[:, None],
                                    design * (y - mu)[:, None]], axis=1)
        p = mu[:, 1:]
        a, b = np.triu_indices(self.k - 1)
        inner = jnp.where(a == b, p[:, a], 0.0) - p[:, a] * p[:, b]  # (n, classes' pairs)
        info = (pairs[:, :, None] * inner[:, None, :]).reshape(design.shape[0], -1)
        return jnp.concatenate([info, self.score(design, y, start)], axis=1)

    def n_step_rows(self, p: int) -> int:
        """The number of ``step_rows`` columns for a design of ``p`` columns."""
        q = self.n_params(p)
        pairs = p * (p + 1) // 2
        return pairs * (self.k - 1) * self.k // 2 + q if self.name == "multinomial" \
            else pairs + q

    def refit_batch(self, design: Any, y: Any, w: Any, start: Any, sums: Any,
                    chords: int | None = None, design_t: Any = None) -> tuple[Any, Any]:
        """Every replicate's fit from ``sums`` (B, columns), its weights ``w`` (n, B) times
        ``step_rows(design, y, start)`` summed over the rows, and whether it converged, (B,):
        linear, the exact solution; otherwise one Newton step from ``start`` (the full data's
        fit) and ``chords`` chord steps (REFIT_CHORDS's by the number of rows) reusing its
        information matrix's Cholesky factor, each a gradient in the trailing-batch layout.
        Converged: the last step moved no coefficient by more than NEWTON_TOL (relative) and
        at most half as far as the one before, so that (the chord's convergence being linear,
        at rate ≤ 1/2) what is left is below the last step, or by no more than ROUNDING (steps
        at rounding's level go up and down). Unrolled, a fixed count: the
        replicates run as one batch of matrix products. ``design_t``: the design transposed,
        if the caller holds it so (``gradient_batch``)."""
        pdim = design.shape[1]
        q = self.n_params(pdim)
        info, grad = _information(self, pdim, sums[:, :-q]), sums[:, -q:]
        factor = jnp.linalg.cholesky(info)  # positive definite: a weighted Gram matrix

        def solve(g: Any) -> Any:  # two triangular solves (cho_solve traced ~10× slower)
            half = jax.lax.linalg.triangular_solve(factor, g[..., None], left_side=True,
                                                   lower=True)
            return jax.lax.linalg.triangular_solve(factor, half, left_side=True, lower=True,
                                                   transpose_a=True)[..., 0]

        if self.name == "linear":
            beta = solve(grad)
            return beta, jnp.ones(beta.shape[0], dtype=bool)
        if chords is None:
            chords = next(v for rows, v in sorted(REFIT_CHORDS.items(), reverse=True)
                          if design.shape[0] >= rows)
        delta = solve(grad)
        beta = jnp.asarray(start, dtype=jnp.float64)[None, :] + delta
        last = _moved(delta, beta)
        prev = jnp.full_like(last, jnp.inf)
        for _ in range(chords):  # unrolled: a few steps
            delta = solve(self.gradient_batch(design, y, w, beta, design_t))
            beta = beta + delta
            last, prev = _moved(delta, beta), last
        return beta, (last <= NEWTON_TOL) & ((last <= prev / 2) | (last <= ROUNDING))

    def mean_batch(self, design: Any, beta: Any) -> Any:
        """``mean`` for coefficients (B, q): (n, B), or (n, k, B) for the multinomial."""
        if self.name == "linear":
            return design @ beta.T
        if self.name == "logistic":
            return jax.nn.sigmoid(design @ beta.T)
        eta = jnp.einsum("np,bpk->nkb", design, beta.reshape(-1, design.shape[1], self.k - 1))
        eta = jnp.concatenate([jnp.zeros((design.shape[0], 1, beta.shape[0])), eta], axis=1)
        return jax.nn.softmax(eta, axis=1)

    def gradient_batch(self, design: Any, y: Any, w: Any, beta: Any,
                       design_t: Any = None) -> Any:
        """``gradient`` under weights (n, B) at coefficients (B, q): (B, q). The rows stay on
        the leading axis throughout: transposing an (n, B) array costs XLA more than the
        products. ``design_t``: the design transposed (p, n), held so by the caller: XLA's
        product over the rows runs 2-3× faster from it than from a transposed view."""
        mu = self.mean_batch(design, beta)
        if self.name != "multinomial":
            dt = design.T if design_t is None else design_t
            return over_rows(dt, w * (y[:, None] - mu))
        resid = jax.nn.one_hot(y, self.k)[:, 1:, None] - mu[:, 1:]  # (n, k-1, B)
        return jnp.einsum("np,nkb->bpk", design, w[:, None, :] * resid).reshape(beta.shape[0], -1)

    def gradient(self, design: Any, y: Any, w: Any, beta: Any) -> Any:
        """The weighted score's sum (the log-likelihood's gradient), (n_params,)."""
        if self.name == "multinomial":
            return (w[:, None] * self.score(design, y, beta)).sum(axis=0)
        return design.T @ (w * (y - self.mean(design, beta)))

    def information(self, design: Any, w: Any, beta: Any) -> Any:
        """The weighted Fisher information (minus the score's Jacobian)."""
        if self.name == "linear":
            return weighted_gram(design, w)
        mu = self.mean(design, beta)
        if self.name == "logistic":
            return weighted_gram(design, w * mu * (1 - mu))
        p = mu[:, 1:]  # (n, k-1)
        inner = (jnp.eye(self.k - 1)[None] * p[:, :, None]) - p[:, :, None] * p[:, None, :]
        xw = design * w[:, None]
        blocks = jnp.einsum("ni,nab,nj->iajb", xw, inner, design)
        q = design.shape[1] * (self.k - 1)
        return blocks.reshape(q, q)


def family_for(y: np.ndarray) -> Family:
    """Logistic for a 0/1 outcome, linear otherwise."""
    return Family("logistic") if np.isin(y, (0.0, 1.0)).all() else Family("linear")


def check_design(design: np.ndarray, what: str, names: list[str]) -> None:
    """A design whose columns are collinear cannot be fitted: say which column is redundant."""
    if _rank(design) < design.shape[1]:
        for j in range(1, design.shape[1] + 1):
            if _rank(design[:, :j]) < j:
                raise FitError(f"the {what} model's columns are collinear: {names[j - 1]} is a "
                               "combination of the columns before it (a covariate constant in "
                               "the data, or a level no row has); drop it or write the model")
        raise FitError(f"the {what} model's columns are collinear")  # pragma: no cover


def _rank(design: np.ndarray) -> int:
    """``numpy.linalg.matrix_rank`` of a tall design, with its default tolerance (the largest
    singular value × max(n, p) × epsilon), from the triangular factor of its QR decomposition,
    which has the same singular values: an SVD of 10^5 × 12 took 0.1 s, the QR 0.01 s."""
    n, p = design.shape
    if n <= p:
        return int(np.linalg.matrix_rank(design))
    r = np.linalg.qr(design, mode="r")
    sv = np.linalg.svd(r, compute_uv=False)
    return int((sv > sv.max(initial=0.0) * max(n, p) * np.finfo(np.float64).eps).sum())


def check_gram(gram: np.ndarray, n: int, what: str, names: list[str]) -> None:
    """``check_design`` from the design's Gram matrix ``XᵀX`` and its rows ``n`` (data read in
    chunks): an eigenvalue of ``XᵀX`` at most the largest times max(n, p) times the float64
    epsilon counts as zero. That is ``matrix_rank``'s tolerance on X's squared singular values,
    since an eigenvalue of ``XᵀX`` is only known to about epsilon times the largest, so a
    design whose columns are within about 1e-5 of collinear is refused here and not in
    memory. The Gram is first scaled to a unit diagonal (``equilibrated``): a change of a
    column's units changes no rank, and unscaled, a column in units of 1e-7 or a timestamp's
    1e9 would put eigenvalues below the tolerance by its units alone."""
    scaled = equilibrated(gram)

    def rank(j: int) -> int:
        lam = np.linalg.eigvalsh(scaled[:j, :j])
        return int((lam > lam.max() * max(n, j) * np.finfo(np.float64).eps).sum())

    p = gram.shape[1]
    if rank(p) < p:
        for j in range(1, p + 1):
            if rank(j) < j:
                raise FitError(f"the {what} model's columns are collinear: {names[j - 1]} is a "
                               "combination of the columns before it (a covariate constant in "
                               "the data, or a level no row has); drop it or write the model")
        raise FitError(f"the {what} model's columns are collinear")  # pragma: no cover


def equilibrated(gram: np.ndarray) -> np.ndarray:
    """``XᵀX`` for X's columns scaled to unit length, ``D⁻¹ XᵀX D⁻¹`` with D the columns'
    norms (a column of zeros left as it is)."""
    d = np.sqrt(np.diag(gram))
    d = np.where(d > 0, d, 1.0)
    return gram / np.outer(d, d)


def check_fit(family: Family, design: np.ndarray, y: np.ndarray, beta: np.ndarray,
              what: str) -> None:
    """A logistic fit that has not converged, or whose fitted probabilities reach 0 or 1, is
    separation: the maximum-likelihood estimate does not exist."""
    if family.name == "linear":
        if not np.isfinite(beta).all():
            raise FitError(f"the {what} model could not be fitted (a singular design)")
        return
    mu = family.mean(design, beta, host=True)
    score = family.score(design, y, beta, host=True)
    scale = max(1.0, float(np.abs(design).max()))
    extreme = (mu < 1e-9) | (mu > 1 - 1e-9)
    if not np.isfinite(beta).all() or np.abs(score.sum(axis=0)).max() > 1e-6 * len(y) * scale \
            or extreme.any():
        rows = int(extreme.any(axis=-1).sum()) if extreme.ndim > 1 else int(extreme.sum())
        raise FitError(f"the {what} model separates the data perfectly (or nearly: {rows} rows "
                       "have fitted probability 0 or 1), so its maximum-likelihood fit does not "
                       "exist; merge sparse levels, drop the covariate that separates, or "
                       "use fewer covariates")
