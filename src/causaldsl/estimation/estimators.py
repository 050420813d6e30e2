"""Back-door estimators as stacked estimating equations (M-estimation), in JAX.

A *term* is one mean ``μ = E[f(Y_x) | population]`` under a back-door set Z: the population is
everyone, a covariate stratum (``W = w``: a CATE), or those with treatment level x' (``X = x'``:
the effect on the treated). With the outcome model ``m_x(Z) = E[f(Y) | X = x, Z]`` and the
propensity ``e_x(Z) = P(X = x | Z)``, each estimator solves ``Σ_i w_i (num_i - den_i μ) = 0``:

- ``gformula``: num = h m_x, den = h (standardisation);
- ``ipw``: num = a f, den = a with a = 1{X = x} h̃ / e_x (stabilised: the weights are
  normalised, Hájek's form);
- ``aipw``: num = h m_x + a (f - m_x), den = h (doubly robust);

where h is the population's indicator and h̃ its density ratio (the stratum's indicator, times
``e_x'(Z)`` for the effect on the treated). Nuisance fits and means are one traced function
of the row weights ``w``: ones for the estimate, multinomial counts for each bootstrap
replicate (vmapped). The sandwich variance differentiates the stacked equations with
``jax.jacfwd``; it is the influence-function (robust, HC0) variance.

Censored rows (``Problem.observed``: the outcome missing, for the g-formula only) have no
outcome-model score and a term in every mean: the model is fitted on the rows with an outcome,
and standardisation is over all rows (valid when the outcome is missing at random given the
treatment and the adjustment set)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from causaldsl.backends import jax64
from causaldsl.estimation.glm import Family, gram_rows

METHODS = ("gformula", "ipw", "aipw")


@dataclass(frozen=True)
class Term:
    """``E[f_outcome(Y) | do(X = level)]`` over the rows ``where`` (0/1), and, for the effect on
    the treated, only those with treatment ``treated``. ``at``: the g-formula's prediction at
    one point instead, the outcome model's design row there (a stratum of a continuous
    covariate that, with the other strata, is the adjustment set: ``E[Y | do(X = x), W = w]``
    is then ``m_x(w)``); ``where`` is then every row."""

    outcome: int
    level: int
    where: np.ndarray
    treated: int | None = None
    at: np.ndarray | None = None


@dataclass(frozen=True)
class Problem:
    """What an estimator needs, as arrays: outcome values ``f_j(Y)`` and their families, the
    outcome model's design (observed, and with X set to each level), the treatment as level
    indices (-1 for other values), the propensity design, and the terms."""

    method: str
    outcomes: tuple[np.ndarray, ...]
    families: tuple[Family, ...]
    design: np.ndarray | None
    design_at: tuple[np.ndarray, ...]
    treatment: np.ndarray | None
    levels: int
    prop_design: np.ndarray | None
    terms: tuple[Term, ...]
    #: the rows with an outcome (bool); None when all have one (see the module's docstring)
    observed: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.observed is not None and self.method != "gformula":
            raise ValueError("censored rows: the g-formula only")
        if any(t.at is not None for t in self.terms) and self.method != "gformula":
            raise ValueError("a prediction at a point: the g-formula only")

    @property
    def uses_outcome(self) -> bool:
        return self.method in ("gformula", "aipw")

    @property
    def uses_propensity(self) -> bool:
        return self.method in ("ipw", "aipw")

    @property
    def prop_family(self) -> Family:
        return Family("logistic") if self.levels == 2 else Family("multinomial", self.levels)


@dataclass(frozen=True)
class Fit:
    """The estimate: the terms' means, the stacked parameters and their sandwich covariance,
    the propensities (n, levels) where fitted, and bootstrap replicates of the means."""

    means: np.ndarray
    theta: np.ndarray
    cov: np.ndarray
    propensity: np.ndarray | None
    replicates: np.ndarray | None = None

    def mean_cov(self) -> np.ndarray:
        t = len(self.means)
        return self.cov[-t:, -t:]


class Estimator:
    """One problem compiled: ``point(w)`` (jitted), the sandwich, and the bootstrap."""

    def __init__(self, problem: Problem):
        self.p = problem
        self.arrays = _device_arrays(problem)
        self.sizes = self._sizes()
        self._point = self._jit(self.point)
        self._betas: list[Any] | None = None  # the full data's fits, once fit() has run
        self.refitted = 0  # bootstrap chunks computed again by Newton's method (bootstrap)

    def _jit(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` (a method reading ``self.arrays``) jitted with the data arrays as arguments:
        closed over, they would be constants inside the program, which XLA compiles about twice
        as slowly at 10^5 rows (and hashes, and keeps a copy of)."""
        def run(arrays: dict[str, Any], *args: Any) -> Any:
            saved, self.arrays = self.arrays, arrays  # tracers while fn is traced
            try:
                return fn(*args)
            finally:
                self.arrays = saved

        jitted = jax.jit(run)

        def call(*args: Any) -> Any:
            return jitted(self.arrays, *args)

        call.jitted = jitted  # type: ignore[attr-defined]  # for lowering it (tests)
        return call

    def _sizes(self) -> list[int]:
        p, sizes = self.p, []
        if p.uses_outcome:
            assert p.design is not None
            sizes += [f.n_params(p.design.shape[1]) for f in p.families]
        if p.uses_propensity:
            assert p.prop_design is not None
            sizes.append(p.prop_family.n_params(p.prop_design.shape[1]))
        return sizes

    # -- the estimating equations --------------------------------------------------------------
    def nuisances(self, w: Any, starts: Sequence[Any] | None = None,
                  refit: bool = False) -> tuple[list[Any], Any]:
        """The nuisance fits under row weights ``w``, in the order of ``sizes``, and whether
        they all converged. Newton's method (the logistic families) starts from ``starts``
        where given; ``refit``: a bootstrap replicate's fixed-step ``Family.refit`` from
        ``starts`` (the full data's fits), whose flag may be false, instead of ``fit``."""
        a, p = self.arrays, self.p
        at = list(starts) if starts is not None else [None] * len(self.sizes)
        jobs = []
        if p.uses_outcome:
            wo = w if a["observed"] is None else w * a["observed"]
            jobs += [(fam, a["design"], a["outcomes"][j], wo, at[j], a["design_gram"])
                     for j, fam in enumerate(p.families)]
        if p.uses_propensity:
            jobs.append((p.prop_family, a["prop_design"], a["treatment_fit"], w, at[-1],
                         a["prop_gram"]))
        out, converged = [], jnp.asarray(True)
        for fam, design, y, weights, start, gram in jobs:
            if refit:
                beta, ok = fam.refit(design, y, weights, start, gram)
                converged = converged & ok
            else:
                beta = fam.fit(design, y, weights, start, gram)
            out.append(beta)
        return out, converged

    def _split(self, betas: Sequence[Any]) -> tuple[list[Any], Any]:
        p = self.p
        outs = list(betas[:len(p.families)]) if p.uses_outcome else []
        prop = betas[-1] if p.uses_propensity else None
        return outs, prop

    def propensities(self, gamma: Any) -> Any:
        e = self.p.prop_family.mean(self.arrays["prop_design"], gamma)
        return jnp.stack([1 - e, e], axis=1) if self.p.levels == 2 else e

    def parts(self, betas: Sequence[Any]) -> list[tuple[Any, Any]]:
        """Each term's per-row (num, den)."""
        a, p = self.arrays, self.p
        outs, gamma = self._split(betas)
        e = self.propensities(gamma) if gamma is not None else None
        res = []
        for k, t in enumerate(p.terms):
            h = ht = a["where"][k]
            if t.treated is not None:
                h = h * (a["treatment"] == t.treated).astype(jnp.float64)
                ht = ht * e[:, t.treated] if e is not None else h
            f = a["outcomes"][t.outcome]
            if p.uses_outcome:
                rows = a["at"][k][None, :] if t.at is not None else a["design_at"][t.level]
                m = p.families[t.outcome].mean(rows, outs[t.outcome])
            if p.method == "gformula":
                res.append((h * m, h))
                continue
            assert e is not None
            ipw = (a["treatment"] == t.level).astype(jnp.float64) * ht / e[:, t.level]
            if p.method == "ipw":
                res.append((ipw * f, ipw))
            else:
                res.append((h * m + ipw * (f - m), h))
        return res

    def point(self, w: Any, starts: Sequence[Any] | None = None) -> tuple[Any, list[Any]]:
        """The terms' means and the nuisance fits, under row weights ``w``."""
        betas = self.nuisances(w, starts)[0]
        return self._means(w, betas), betas

    def replicate(self, w: Any, starts: Sequence[Any]) -> tuple[Any, Any]:
        """A bootstrap replicate's means under row weights ``w``, refitted in a fixed number
        of steps from ``starts``, and whether the refits converged."""
        betas, converged = self.nuisances(w, starts, refit=True)
        return self._means(w, betas), converged

    def _means(self, w: Any, betas: Sequence[Any]) -> Any:
        return jnp.stack([(w * num).sum() / (w * den).sum() for num, den in self.parts(betas)])

    def psi(self, theta: Any) -> Any:
        """The stacked estimating functions, per row: (n, len(theta))."""
        a, p = self.arrays, self.p
        betas, i = [], 0
        for s in self.sizes:
            betas.append(theta[i:i + s])
            i += s
        means = theta[i:]
        cols = []
        outs, gamma = self._split(betas)
        for j, beta in enumerate(outs):
            score = p.families[j].score(a["design"], a["outcomes"][j], beta)
            cols.append(score if a["observed"] is None else score * a["observed"][:, None])
        if gamma is not None:
            cols.append(p.prop_family.score(a["prop_design"], a["treatment_fit"], gamma))
        cols += [(num - den * means[k])[:, None] for k, (num, den) in enumerate(self.parts(betas))]
        return jnp.concatenate(cols, axis=1)

    # -- answers ---------------------------------------------------------------------------
    def fit(self) -> Fit:
        n = self.n
        means, betas = self._point(jnp.ones(n))
        self._betas = betas
        theta = jnp.concatenate([*[jnp.ravel(b) for b in betas], means])
        cov = self._jit(self.sandwich)(theta)
        prop = None
        if self.p.uses_propensity:
            prop = np.asarray(self.propensities(betas[-1]))
        return Fit(np.asarray(means), np.asarray(theta), np.asarray(cov), prop)

    def sandwich(self, theta: Any) -> Any:
        """``A⁻¹ B A⁻ᵀ / n`` with A the mean Jacobian of the stacked equations and B the mean
        outer product of their values: the influence-function covariance of ``theta``."""
        rows = self.psi(theta)
        bread = jax.jacfwd(lambda th: self.psi(th).mean(axis=0))(theta)
        inv = jnp.linalg.inv(bread)
        return inv @ (rows.T @ rows / self.n) @ inv.T / self.n

    def bootstrap(self, replicates: int, seed: int, chunk: int = 16,
                  progress: Callable[[int], None] | None = None) -> np.ndarray:
        """The means on ``replicates`` nonparametric bootstrap samples (rows drawn with
        replacement, as multinomial row weights), (replicates, T), in jitted, vmapped chunks.
        Each replicate is refitted from the full data's fit in a fixed number of steps
        (``Family.refit``); a chunk where one has not converged is computed again with
        Newton's method to convergence (``fit``), so the answer is the same either way
        (``self.refitted`` counts those chunks). The resampling counts are drawn on the host
        with NumPy while the previous chunk runs (JAX dispatches it asynchronously): in XLA the
        scatter that counts them cost a fifth of a replicate. Chunks are laid out over the
        devices where there are several."""
        n = self.n
        starts = self._betas if self._betas is not None else self._point(jnp.ones(n))[1]
        # the starts are arguments, not constants: the program then depends on the shapes
        # alone, and JAX's persistent cache serves it to a later call on other data
        fast = self._jit(jax.vmap(self.replicate, in_axes=(0, None)))
        exact = None
        rng = np.random.default_rng(seed)
        offsets = np.arange(chunk)[:, None] * n

        def draw(k: int) -> Any:
            """``chunk`` rows of resampling counts (the first ``k`` used; the rest pad the
            last chunk, so that every chunk has the same shape and one program)."""
            idx = rng.integers(0, n, size=(k, n)) + offsets[:k]
            counts = np.bincount(idx.ravel(), minlength=k * n).reshape(k, n)
            if k < chunk:
                counts = np.concatenate([counts, np.ones((chunk - k, n), dtype=counts.dtype)])
            return jax64.over_devices(jnp.asarray(counts, dtype=jnp.float64), chunk)[0]

        self.refitted = 0
        sizes = [min(chunk, replicates - s) for s in range(0, replicates, chunk)]
        out, done = [], 0
        weights = draw(sizes[0])
        for i, k in enumerate(sizes):
            pending = fast(weights, starts)  # dispatched; the next chunk's counts are drawn
            following = draw(sizes[i + 1]) if i + 1 < len(sizes) else None
            means, converged = (np.asarray(v) for v in pending)
            if not converged[:k].all():
                if exact is None:
                    exact = self._jit(jax.vmap(lambda w, at: self.point(w, at)[0],
                                               in_axes=(0, None)))
                means = np.asarray(exact(weights, starts))
                self.refitted += 1
            out.append(means[:k])
            done += k
            if progress is not None:
                progress(done)
            weights = following
        return np.concatenate(out, axis=0)

    @property
    def n(self) -> int:
        p = self.p
        if p.outcomes:
            return len(p.outcomes[0])
        assert p.treatment is not None  # pragma: no cover
        return len(p.treatment)  # pragma: no cover


def _device_arrays(p: Problem) -> dict[str, Any]:
    a: dict[str, Any] = {
        "outcomes": [jnp.asarray(f, dtype=jnp.float64) for f in p.outcomes],
        # by the terms' positions (keys that differ between processes, such as ids, would
        # name the program's arguments differently and miss JAX's persistent cache)
        "where": [jnp.asarray(t.where, dtype=jnp.float64) for t in p.terms],
        "at": [None if t.at is None else jnp.asarray(t.at, dtype=jnp.float64) for t in p.terms],
        "observed": None if p.observed is None else jnp.asarray(p.observed, dtype=jnp.float64),
    }
    a["design_gram"] = a["prop_gram"] = None
    if p.design is not None:
        a["design"] = jnp.asarray(p.design)
        if p.uses_outcome:
            gram = gram_rows(p.design)
            a["design_gram"] = None if gram is None else jnp.asarray(gram)
        a["design_at"] = [jnp.asarray(d) for d in p.design_at]
    if p.treatment is not None:
        a["treatment"] = jnp.asarray(p.treatment)
        # the propensity model's response: the level (0/1 for two levels), rows at other
        # values excluded by construction (Problem.treatment covers every row with a level)
        a["treatment_fit"] = jnp.asarray(p.treatment, dtype=jnp.float64) if p.levels == 2 \
            else jnp.asarray(p.treatment)
    if p.prop_design is not None:
        a["prop_design"] = jnp.asarray(p.prop_design)
        if p.uses_propensity and p.prop_family.name == "logistic":
            gram = gram_rows(p.prop_design)
            a["prop_gram"] = None if gram is None else jnp.asarray(gram)
    return a
