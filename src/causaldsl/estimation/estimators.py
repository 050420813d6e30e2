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
of the row weights ``w``: ones for the estimate; for a batch of bootstrap replicates, their
multinomial counts side by side (n, B), each refitted from the full data's fit by one matrix
product and a few chord steps (``Estimator.replicates``). The sandwich variance is the
influence-function (robust, HC0) variance; its bread has the scores' blocks in closed form
and the means' rows by reverse-mode differentiation (``Estimator._jacobian``).

Censored rows (``Problem.observed``: the outcome missing, for the g-formula only) have no
outcome-model score and a term in every mean: the model is fitted on the rows with an outcome,
and standardisation is over all rows (valid when the outcome is missing at random given the
treatment and the adjustment set)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from causaldsl.backends import jax64
from causaldsl.estimation import glm
from causaldsl.estimation.glm import Family, over_rows

METHODS = ("gformula", "ipw", "aipw")
#: Entries of a bootstrap chunk's weights (n, chunk), roughly: 2**22 (32 MiB); a chunk holds
#: a few arrays of that shape, and at 10^5 rows 32 replicates a chunk ran faster than 16 or 64.
CHUNK_ENTRIES = 2 ** 22
#: The most entries of ``Estimator.step_rows`` held for a whole bootstrap (``Estimator.held``,
#: which also holds the means' fixed columns and the designs, transposed): 2**25 (256 MiB;
#: 10^5 rows of the AIPW benchmark's 193 columns take 154 MiB). Above it every chunk makes them
#: again, the rows ROW_BLOCK at a time, which costs a chunk a few percent more.
ROWS_ENTRIES = 2 ** 25
ROW_BLOCK = 2 ** 16
#: Rows of a block of the sandwich's sums (``Estimator.sandwich``): its per-row arrays (the
#: stacked equations, and the means' reverse passes) span one block, not all the rows.
SANDWICH_ROWS = 2 ** 16


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
        self._point = self._jit("point", lambda e: e.point)
        self._betas: list[Any] | None = None  # the full data's fits, once fit() has run
        self.refitted = 0  # bootstrap chunks computed again by Newton's method (bootstrap)

    def _jit(self, name: str, build: Callable[[Estimator], Callable[..., Any]],
             *static: Any) -> Callable[..., Any]:
        """The program ``build(e)`` (a function of ``e``'s methods, which read ``e.arrays``)
        jitted with the data arrays as arguments, and called with this estimator's. Closed
        over, the arrays would be constants inside the program, which XLA compiles about twice
        as slowly at 10^5 rows. The jitted function is shared by every estimator of the same
        structure (``_structure``: a stand-in without data, ``_skeleton``, is traced), so that
        a second estimate in a process, on other data of the same shapes, compiles nothing."""
        key = (_structure(self.p, self.sizes), name, static)
        jitted = _PROGRAMS.pop(key, None)  # put back last: the least recently used goes first
        if jitted is None:
            stand_in = Estimator.__new__(Estimator)
            stand_in.p, stand_in.sizes, stand_in.arrays = _skeleton(self.p), self.sizes, {}
            fn = build(stand_in)

            def run(arrays: dict[str, Any], *args: Any) -> Any:
                stand_in.arrays = arrays  # tracers while fn is traced
                try:
                    return fn(*args)
                finally:
                    stand_in.arrays = {}

            jitted = jax.jit(run)
            while len(_PROGRAMS) >= PROGRAMS_KEPT:
                _PROGRAMS.pop(next(iter(_PROGRAMS)))
        _PROGRAMS[key] = jitted

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
    def _jobs(self, w: Any) -> list[tuple[Family, Any, Any, Any]]:
        """The nuisance fits to make, in the order of ``sizes``: (family, design, response,
        weights), the outcome models' weights zero on censored rows. ``w``: the row
        weights, (n,), or (n, B) for a batch of replicates."""
        a, p = self.arrays, self.p
        jobs = []
        if p.uses_outcome:
            obs = a["observed"]
            wo = w if obs is None else w * (obs if w.ndim == 1 else obs[:, None])
            jobs += [(fam, a["design"], a["outcomes"][j], wo) for j, fam in enumerate(p.families)]
        if p.uses_propensity:
            jobs.append((p.prop_family, a["prop_design"], a["treatment_fit"], w))
        return jobs

    def nuisances(self, w: Any, starts: Sequence[Any] | None = None) -> list[Any]:
        """The nuisance fits under row weights ``w``, in the order of ``sizes``. Newton's method
        (the logistic families) starts from ``starts`` where given."""
        at = list(starts) if starts is not None else [None] * len(self.sizes)
        return [fam.fit(design, y, weights, start)
                for (fam, design, y, weights), start in zip(self._jobs(w), at, strict=True)]

    def _split(self, betas: Sequence[Any]) -> tuple[list[Any], Any]:
        p = self.p
        outs = list(betas[:len(p.families)]) if p.uses_outcome else []
        prop = betas[-1] if p.uses_propensity else None
        return outs, prop

    def propensities(self, gamma: Any) -> np.ndarray:
        """(n, levels), on the host (``Family.mean``'s ``host``)."""
        return np.stack(self._levels(np.asarray(gamma), host=True), axis=1)

    def _levels(self, gamma: Any, host: bool = False) -> list[Any]:
        """Each level's propensity, (n,); ``host``: from the problem's arrays, in NumPy."""
        fam = self.p.prop_family
        x = self.p.prop_design if host else self.arrays["prop_design"]
        e = fam.mean(x, gamma, host)
        if self.p.levels == 2:
            return [1 - e, e]
        return [e[:, level] for level in range(self.p.levels)]

    def parts(self, betas: Sequence[Any]) -> list[tuple[Any, Any]]:
        """Each term's per-row (num, den), (n,)."""
        a, p = self.arrays, self.p
        outs, gamma = self._split(betas)
        e = self._levels(gamma) if gamma is not None else None
        res = []
        for k, t in enumerate(p.terms):
            h = ht = a["where"][k]
            if t.treated is not None:
                h = self._population(k)
                ht = ht * e[t.treated] if e is not None else h
            f = a["outcomes"][t.outcome]
            if p.uses_outcome:
                rows = a["at"][k][None, :] if t.at is not None else a["design_at"][t.level]
                fam, beta = p.families[t.outcome], outs[t.outcome]
                m = fam.mean(rows, beta)
            if p.method == "gformula":
                res.append((h * m, h))
                continue
            assert e is not None
            ipw = (a["treatment"] == t.level).astype(jnp.float64) * ht / e[t.level]
            if p.method == "ipw":
                res.append((ipw * f, ipw))
            else:
                res.append((h * m + ipw * (f - m), h))
        return res

    def point(self, w: Any, starts: Sequence[Any] | None = None) -> tuple[Any, list[Any]]:
        """The terms' means and the nuisance fits, under row weights ``w``."""
        betas = self.nuisances(w, starts)
        return self._means(w, betas), betas

    def step_rows(self, starts: Sequence[Any], lo: int = 0, hi: int | None = None) -> Any:
        """Every nuisance fit's ``Family.step_rows`` at ``starts`` side by side, then the
        ``mean_columns``, transposed (columns, rows), for the rows ``lo:hi`` (all by default):
        a batch of replicates' weights (n, B) times these, summed over the rows, is each
        replicate's first step of every fit and the linear parts of its means
        (``replicates``)."""
        blocks = []
        for (fam, design, y, weights), start in zip(self._jobs(jnp.ones(self.n)), starts,
                                                   strict=True):
            blocks.append(fam.step_rows(design[lo:hi], y[lo:hi], start)
                          * weights[lo:hi, None])
        blocks.append(self.mean_columns()[lo:hi])
        return jnp.concatenate(blocks, axis=1).T  # (columns, rows): a faster product in XLA

    def n_step_rows(self) -> int:
        """The number of ``step_rows`` columns."""
        p, fams = self.p, []
        if p.uses_outcome:
            assert p.design is not None
            fams += [(fam, p.design.shape[1]) for fam in p.families]
        if p.uses_propensity:
            assert p.prop_design is not None
            fams.append((p.prop_family, p.prop_design.shape[1]))
        return sum(fam.n_step_rows(cols) for fam, cols in fams) + self._mean_layout()[1]

    def _population(self, k: int) -> Any:
        """Term ``k``'s population indicator h, (n,): its stratum, and for the effect on the
        treated, the rows with the treated level."""
        a, t = self.arrays, self.p.terms[k]
        h = a["where"][k]
        if t.treated is not None:
            h = h * (a["treatment"] == t.treated).astype(jnp.float64)
        return h

    def _level_rows(self, k: int) -> Any:
        """Term ``k``'s rows at its level in its stratum, ``a h`` (n,): those its weighted
        (IPW, AIPW) part reads."""
        a = self.arrays
        return (a["treatment"] == self.p.terms[k].level).astype(jnp.float64) * a["where"][k]

    def _linear_outcome(self, k: int) -> bool:
        """Whether term ``k``'s outcome part is linear in the rows' weights: a linear outcome
        model's mean over the rows (not at a point), ``Σ w h m = (Σ w h x)·β``."""
        p, t = self.p, self.p.terms[k]
        return p.uses_outcome and p.families[t.outcome].name == "linear" and t.at is None

    def _mean_layout(self) -> tuple[list[tuple[int | None, int | None]], int]:
        """Where each term's sums are among ``mean_columns``: (h's column or None, the first of
        h x's columns or None), and the number of columns."""
        p, layout, c = self.p, [], 0
        for k in range(len(p.terms)):
            den = out = None
            if p.uses_outcome:
                den, c = c, c + 1
                if self._linear_outcome(k):
                    assert p.design is not None
                    out, c = c, c + p.design.shape[1]
            layout.append((den, out))
        return layout, c

    def mean_columns(self) -> Any:
        """Per-row columns (n, c) whose sums under a batch's weights are the means' parts
        linear in the weights (``_means_batch``), as ``_mean_layout`` places them: each term's
        population indicator h (the g-formula's and AIPW's denominator) and, for a linear
        outcome model, h times the design at the term's level."""
        a, cols = self.arrays, [jnp.zeros((self.n, 0))]
        for k, (den, out) in enumerate(self._mean_layout()[0]):
            h = self._population(k)
            if den is not None:
                cols.append(h[:, None])
            if out is not None:
                cols.append(h[:, None] * a["design_at"][self.p.terms[k].level])
        return jnp.concatenate(cols, axis=1)

    def held(self, starts: Sequence[Any]) -> dict[str, Any]:
        """What every bootstrap chunk reads, made once (``replicates``): ``step_rows(starts)``,
        the ``factor_columns``, and each fit's design transposed (columns, rows), the layout in
        which XLA's products over the rows run fastest (2-3× a transposed view's)."""
        return {"rows": self.step_rows(starts), "fixed": self.factor_columns(),
                "designs": [design.T.copy() for _, design, *_ in self._jobs(jnp.ones(self.n))]}

    def replicates(self, counts: Any, held: dict[str, Any] | None,
                   starts: Sequence[Any]) -> tuple[Any, Any]:
        """A batch of bootstrap replicates: their means (B, T) under row weights ``counts``
        (B, n), any numeric type, used as ``w`` (n, B) in float64, refitted from ``starts`` by
        ``Family.refit_batch`` from one matrix product with ``held["rows"]``
        (``held(starts)``), and whether every refit converged, (B,). ``held`` None: made
        here, the rows ROW_BLOCK at a time, so that they need not be held whole."""
        # made once: fused into the products that read it, the conversion made them 2× slower
        w = jax.lax.optimization_barrier(counts.T.astype(jnp.float64))
        if held is not None:
            sums = over_rows(held["rows"], w)  # (B, columns)
            fixed, designs = held["fixed"], held["designs"]
        else:
            sums = sum(over_rows(self.step_rows(starts, lo, lo + ROW_BLOCK), w[lo:lo + ROW_BLOCK])
                       for lo in range(0, self.n, ROW_BLOCK))
            fixed = self.factor_columns()
            designs = [design.T for _, design, *_ in self._jobs(w)]
        betas, converged, i = [], jnp.ones(w.shape[1], dtype=bool), 0
        for (fam, design, y, weights), start, dt in zip(self._jobs(w), starts, designs,
                                                        strict=True):
            c = fam.n_step_rows(design.shape[1])
            beta, ok = fam.refit_batch(design, y, weights, start, sums[:, i:i + c],
                                       design_t=dt)
            betas.append(beta)
            converged, i = converged & ok, i + c
        return self._means_batch(w, betas, sums[:, i:], fixed), converged

    def _factor_layout(self) -> tuple[list[Any], list[tuple[Any, int, int] | None]]:
        """The propensity factors the terms use (``_factor_key``), in order, and where each
        term's columns are among its factor's ``factor_columns``: (key, first, count)."""
        p, keys, count = self.p, [], {}
        layout: list[tuple[Any, int, int] | None] = []
        for k, t in enumerate(p.terms):
            if not p.uses_propensity:
                layout.append(None)
                continue
            key = self._factor_key(t)
            if key not in count:
                keys.append(key)
                count[key] = 0
            c = 1 + (p.method == "ipw")
            if self._linear_outcome(k):
                assert p.design is not None
                c += p.design.shape[1]
            layout.append((key, count[key], c))
            count[key] += c
        return keys, layout

    def factor_columns(self) -> list[Any]:
        """For each propensity factor (``_factor_layout``'s keys), the fixed columns (c, n)
        that the weights times that factor multiply in ``_means_batch``: for each term using
        it, with ``a h`` the rows at its level in its stratum, ``a h f``, then ``a h`` (IPW's
        denominator) or, for a linear outcome model, ``a h x`` (x its design at the level)."""
        a, p = self.arrays, self.p
        keys, layout = self._factor_layout()
        blocks: dict[Any, list[Any]] = {key: [] for key in keys}
        for k, t in enumerate(p.terms):
            at = layout[k]
            if at is None:
                continue
            c = self._level_rows(k)
            cols = [(c * a["outcomes"][t.outcome])[None, :]]
            if p.method == "ipw":
                cols.append(c[None, :])
            if self._linear_outcome(k):
                cols.append(c[None, :] * a["design_at"][t.level].T)
            blocks[at[0]].extend(cols)
        return [jnp.concatenate(blocks[key], axis=0) for key in keys]

    def _means_batch(self, w: Any, betas: Sequence[Any], linear: Any,
                     fixed: Sequence[Any]) -> Any:
        """A batch's means (B, T) under weights ``w`` (n, B) and coefficients (B, q), with
        ``linear`` (B, c) the sums of ``mean_columns`` under ``w`` and ``fixed`` the
        ``factor_columns``. The same means as ``_means`` (``parts``) with the fewest passes
        over (n, B) arrays: the parts linear in the weights come from ``linear``; the weighted
        terms ``a (f - m) h̃ / e_x`` are the weights times the propensity's factor
        (``_factors``, (n, B)) times fixed columns, one matrix product for each factor, and a
        linear outcome model's predictions enter as those sums times β. Only a nonlinear
        outcome model's predictions are made row by row."""
        a, p = self.arrays, self.p
        outs, gamma = self._split(betas)
        den_out = self._mean_layout()[0]
        keys, layout = self._factor_layout()
        factors = self._factors(w, gamma, keys) if gamma is not None else {}
        sums = {key: over_rows(cols, factors[key]) for key, cols in zip(keys, fixed, strict=True)}
        res = []
        for k, t in enumerate(p.terms):
            den_col, out_col = den_out[k]
            if p.uses_outcome:
                fam, beta = p.families[t.outcome], outs[t.outcome]
                m = None
                if out_col is not None:
                    outcome = (linear[:, out_col:out_col + beta.shape[1]] * beta).sum(axis=1)
                elif t.at is not None:
                    m = fam.mean_batch(a["at"][k][None, :], beta)[0]  # the same for every row
                    outcome = m * linear[:, den_col]
                else:
                    m = fam.mean_batch(a["design_at"][t.level], beta)  # (n, B)
                    outcome = (w * self._population(k)[:, None] * m).sum(axis=0)
                den = linear[:, den_col]
            if p.method == "gformula":
                res.append(outcome / den)
                continue
            place = layout[k]
            assert place is not None
            key, first, count = place
            s = sums[key][:, first:first + count]
            if p.method == "ipw":
                res.append(s[:, 0] / s[:, 1])
                continue
            weighted = s[:, 0]  # Σ u a h f
            if m is None:  # minus Σ u a h x·β
                weighted = weighted - (s[:, 1:] * beta).sum(axis=1)
            else:
                c = self._level_rows(k)
                weighted = weighted - (factors[key] * (c[:, None] * m)).sum(axis=0)
            res.append((outcome + weighted) / den)
        return jnp.stack(res, axis=-1)

    def _factor_key(self, t: Term) -> Any:
        """Which of ``_factors`` weighs term ``t``'s rows (those at its level)."""
        if self.p.levels == 2:  # merged over the levels: a row has one level
            return "w" if t.treated == t.level else ("inverse" if t.treated is None else "ratio")
        return (t.level, t.treated)

    def _factors(self, w: Any, gamma: Any, keys: Sequence[Any]) -> dict[Any, Any]:
        """The weights (n, B) times each propensity factor the terms use, ``1 / e_x`` or, for
        the effect on the treated, ``e_x' / e_x``, keyed by ``_factor_key``. For two levels a
        row's factor depends on its own level only (the terms weigh only rows at their level),
        so those of both levels are one array: ``1 / e_x = 1 + exp(σ η)`` and ``e_x' / e_x
        = exp(σ η)``, with η the linear predictor and σ = 1 - 2x (+1 for x = 0, -1 for 1)."""
        a, p = self.arrays, self.p
        if p.levels == 2:
            x = a["treatment"]
            sign = jnp.where(x == 1, -1.0, jnp.where(x == 0, 1.0, 0.0))
            odds = jnp.exp(sign[:, None] * (a["prop_design"] @ gamma.T))  # (n, B)
            table = {"w": lambda: w, "inverse": lambda: w * (1 + odds),
                     "ratio": lambda: w * odds}
            return {key: table[key]() for key in keys}
        e = p.prop_family.mean_batch(a["prop_design"], gamma)  # (n, k, B)
        return {(lvl, tr): w / e[:, lvl] if tr is None else w * e[:, tr] / e[:, lvl]
                for lvl, tr in keys}

    def _means(self, w: Any, betas: Sequence[Any]) -> Any:
        """The terms' means, (T,)."""
        return jnp.stack([(w * num).sum() / (w * den).sum() for num, den in self.parts(betas)])

    def _unstack(self, theta: Any) -> tuple[list[Any], Any]:
        """The nuisance fits (in the order of ``sizes``) and the means stacked in ``theta``."""
        betas, i = [], 0
        for s in self.sizes:
            betas.append(theta[i:i + s])
            i += s
        return betas, theta[i:]

    def psi(self, theta: Any) -> Any:
        """The stacked estimating functions, per row: (n, len(theta))."""
        a, p = self.arrays, self.p
        betas, means = self._unstack(theta)
        cols = []
        outs, gamma = self._split(betas)
        for j, beta in enumerate(outs):
            score = p.families[j].score(a["design"], a["outcomes"][j], beta)
            cols.append(score if a["observed"] is None else score * a["observed"][:, None])
        if gamma is not None:
            cols.append(p.prop_family.score(a["prop_design"], a["treatment_fit"], gamma))
        return jnp.concatenate([*cols, self._mean_rows(betas, means)], axis=1)

    def _mean_rows(self, betas: Sequence[Any], means: Any) -> Any:
        """The means' estimating functions ``num - den μ``, per row: (n, T)."""
        return jnp.stack([num - den * means[k] for k, (num, den) in enumerate(self.parts(betas))],
                         axis=1)

    def _jacobian(self, theta: Any, keep: Any) -> Any:
        """The stacked equations' Jacobian summed over the rows weighted by ``keep`` (n,):
        the nuisance scores' blocks in closed form (minus each family's weighted information:
        canonical links; a score depends on its own model's parameters only), the means' rows
        by reverse-mode differentiation, one pass a mean. Forward mode over every parameter
        cost 25 passes of the whole system at 10^5 rows (0.7 s)."""
        betas, _ = self._unstack(theta)
        q = theta.shape[0]
        jac = jnp.zeros((q, q))
        i = 0
        for (fam, design, _, weights), beta in zip(self._jobs(keep), betas, strict=True):
            s = beta.shape[0]
            jac = jac.at[i:i + s, i:i + s].set(-fam.information(design, weights, beta))
            i += s

        def total(th: Any) -> Any:
            b, m = self._unstack(th)
            return (self._mean_rows(b, m) * keep[:, None]).sum(axis=0)

        return jac.at[i:].set(jax.jacrev(total)(theta))

    # -- answers ---------------------------------------------------------------------------
    def fit(self) -> Fit:
        """The estimate. What runs outside the jitted programs runs in NumPy: each JAX
        operation called outside one is compiled as a program of its own."""
        n = self.n
        means, betas = self._point(np.ones(n))
        self._betas = betas
        theta = np.concatenate([*[np.ravel(np.asarray(b)) for b in betas], np.asarray(means)])
        cov = self.sandwich(theta)
        prop = None
        if self.p.uses_propensity:
            prop = self.propensities(betas[-1])
        return Fit(np.asarray(means), theta, cov, prop)

    def sandwich(self, theta: Any) -> Any:
        """``A⁻¹ B A⁻ᵀ / n`` with A the mean Jacobian of the stacked equations and B the mean
        outer product of their values: the influence-function covariance of ``theta``. Both
        are sums over the rows, taken SANDWICH_ROWS rows at a time (one jitted program for
        every block), so that the Jacobian's tangents, one per parameter for each row in
        the block, never span all the rows."""
        n = self.n
        size = min(n, SANDWICH_ROWS)
        block = self._jit("sandwich", lambda e: lambda th, lo: e._sandwich_block(th, lo, size),
                          size)
        bread = meat = np.zeros((len(theta), len(theta)))
        for lo in range(0, n, size):
            b, m = block(theta, lo)
            bread, meat = bread + np.asarray(b), meat + np.asarray(m)
        try:
            inv = np.linalg.inv(bread / n)
        except np.linalg.LinAlgError:  # a fit that does not exist: reported by its check
            return np.full_like(bread, np.nan)
        return inv @ (meat / n) @ inv.T / n

    def _sandwich_block(self, theta: Any, lo: Any, size: int) -> tuple[Any, Any]:
        """The stacked equations' Jacobian and outer products summed over rows ``lo`` to
        ``lo + size``: the last block starts earlier so that it has ``size`` rows too, and
        its rows before ``lo`` (counted by the block before) are left out."""
        full, n = self.arrays, self.n
        start = jnp.minimum(lo, n - size)
        keep = ((start + jnp.arange(size)) >= lo).astype(jnp.float64)

        def rows(name: str, v: Any) -> Any:
            if v is None or name == "at":  # ``at``: a point's design row, not one per row
                return v
            return jax.tree_util.tree_map(
                lambda x: jax.lax.dynamic_slice_in_dim(x, start, size, axis=0), v)

        self.arrays = {k: rows(k, v) for k, v in full.items()}
        try:
            values = self.psi(theta) * keep[:, None]
            jac = self._jacobian(theta, keep)
        finally:
            self.arrays = full
        return jac, values.T @ values

    def bootstrap(self, replicates: int, seed: int, chunk: int | None = None,
                  progress: Callable[[int], None] | None = None) -> np.ndarray:
        """The means on ``replicates`` nonparametric bootstrap samples (rows drawn with
        replacement, as multinomial row weights), (replicates, T), in jitted chunks batched in
        a trailing axis (weights (n, chunk); ``chunk`` by default the power of two that keeps
        such an array near CHUNK_ENTRIES, from 4 to 64). Each replicate is refitted from the full data's
        fit by ``replicates``; a chunk where one has not converged is computed again with
        Newton's method to convergence (``fit``, vmapped), so the answer is the same either way
        (``self.refitted`` counts those chunks). The resampling counts are drawn on the host
        with NumPy while the previous chunk runs (JAX dispatches it asynchronously). Chunks
        are laid out over the devices where there are several."""
        n = self.n
        if chunk is None:
            chunk = int(np.clip(2 ** int(np.log2(max(1, CHUNK_ENTRIES // n))), 4, 64))
        starts = self._betas if self._betas is not None else self._point(np.ones(n))[1]
        # the starts are arguments, not constants: the program then depends on the shapes
        # alone, and JAX's persistent cache serves it to a later call on other data
        hold = n * self.n_step_rows() <= ROWS_ENTRIES
        held = self._jit("held", lambda e: e.held)(starts) if hold else None
        fast = self._jit("replicates", lambda e: e.replicates)
        exact = None
        rng = np.random.default_rng(seed)

        def draw(k: int) -> Any:
            """Resampling counts (``chunk``, n), the first ``k`` rows used; the rest pad the
            last chunk, so that every chunk has the same shape and one program. Counted
            replicate by replicate (each count fits in the cache), twice as fast as one count
            over the chunk. No count exceeds n, so they are sent in the smallest unsigned
            type that holds n (a quarter to an eighth of float64's bytes) and made float64,
            rows last, in the program (``replicates``): transposing and copying float64
            counts on the host cost about as much as drawing them."""
            counts = np.ones((chunk, n), dtype=np.min_scalar_type(n))
            for j in range(k):
                counts[j] = np.bincount(rng.integers(0, n, size=n), minlength=n)
            return jax64.over_devices(counts, chunk)[0]

        self.refitted = 0
        sizes = [min(chunk, replicates - s) for s in range(0, replicates, chunk)]
        out, done = [], 0
        weights = draw(sizes[0])
        for i, k in enumerate(sizes):
            pending = fast(weights, held, starts)  # dispatched; the next chunk's counts drawn
            following = draw(sizes[i + 1]) if i + 1 < len(sizes) else None
            means, converged = (np.asarray(v) for v in pending)
            if not converged[:k].all():
                if exact is None:
                    exact = self._jit("exact", lambda e: jax.vmap(
                        lambda c, at: e.point(c.astype(jnp.float64), at)[0], in_axes=(0, None)))
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
        """The rows, from the arrays (tracers' shapes while a program is traced)."""
        a = self.arrays
        return int(a["outcomes"][0].shape[0]) if a["outcomes"] else int(a["treatment"].shape[0])


#: Jitted programs shared by the estimators of one structure (``Estimator._jit``), the least
#: recently used dropped beyond PROGRAMS_KEPT; each holds a stand-in without data, not the data
#: (and JAX keeps a compiled program per shape it has seen).
_PROGRAMS: dict[tuple[Any, ...], Callable[..., Any]] = {}
PROGRAMS_KEPT = 64


def _structure(p: Problem, sizes: list[int]) -> tuple[Any, ...]:
    """What a traced program depends on besides its arguments' shapes: the method, the
    families, the levels, the terms' static parts, which arrays exist and the parameters'
    sizes, and the module constants that tracing reads (tests change them)."""
    def cols(a: np.ndarray | None) -> int | None:
        return None if a is None else a.shape[1]

    return (p.method, p.families, p.levels, len(p.outcomes), len(p.design_at),
            tuple((t.outcome, t.level, t.treated, t.at is None) for t in p.terms),
            p.observed is None, p.treatment is None, cols(p.design), cols(p.prop_design),
            tuple(sizes), ROW_BLOCK, glm.NEWTON_TOL, glm.NEWTON_STEPS, glm.ROUNDING,
            tuple(sorted(glm.REFIT_CHORDS.items())))


def _skeleton(p: Problem) -> Problem:
    """``p`` with every per-row array emptied (copies: no view keeps the data alive)."""
    def empty(a: Any) -> Any:
        return None if a is None else np.array(a[:0])

    return replace(p, outcomes=tuple(empty(o) for o in p.outcomes), design=empty(p.design),
                   design_at=tuple(empty(d) for d in p.design_at),
                   treatment=empty(p.treatment), prop_design=empty(p.prop_design),
                   terms=tuple(replace(t, where=empty(t.where)) for t in p.terms),
                   observed=empty(p.observed))


def _device_arrays(p: Problem) -> dict[str, Any]:
    """The problem's arrays on the device, each converted in NumPy and put there as it is
    (``jnp.asarray`` compiles a program for each conversion)."""
    def put(x: Any, dtype: Any = None) -> Any:
        return jax.device_put(np.asarray(x, dtype=dtype))

    a: dict[str, Any] = {
        "outcomes": [put(f, np.float64) for f in p.outcomes],
        # by the terms' positions (keys that differ between processes, such as ids, would
        # name the program's arguments differently and miss JAX's persistent cache)
        "where": [put(t.where, np.float64) for t in p.terms],
        "at": [None if t.at is None else put(t.at, np.float64) for t in p.terms],
        "observed": None if p.observed is None else put(p.observed, np.float64),
    }
    if p.design is not None:
        a["design"] = put(p.design)
        a["design_at"] = [put(d) for d in p.design_at]
    if p.treatment is not None:
        a["treatment"] = put(p.treatment)
        # the propensity model's response: the level (0/1 for two levels), rows at other
        # values excluded by construction (Problem.treatment covers every row with a level)
        a["treatment_fit"] = put(p.treatment, np.float64) if p.levels == 2 \
            else put(p.treatment)
    if p.prop_design is not None:
        a["prop_design"] = put(p.prop_design)
    return a
