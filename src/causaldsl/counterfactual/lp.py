"""The response-function linear program for a treatment X and an outcome Y with finitely many
values each (Balke & Pearl 1997, for any sizes): one cell per pair (X's value, Y's response
function r: values of X → values of Y), |X| · |Y|^|X| cells, and a distribution q over them
with confounding allowed (any joint). Every counterfactual event on X and Y is a set of cells
(``Y[X = x] = y`` is r(x) = y, the factual ``Y = y`` is r(X) = y), so a probability is linear
in q, the observational P(X, Y) and the experimental P(Y | do(X)) are linear constraints, and a
quantity conditioned on an event is linear-fractional, which the Charnes–Cooper substitution
makes linear. Solved by scipy's HiGHS; the bounds are sharp for what the data say (any model
of the data is such a q, and any q is a model). See docs/counterfactuals.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from causaldsl.core.errors import QueryError

#: The most cells (X's value times Y's response function) the program may have.
MAX_CELLS = 2**20


@dataclass(frozen=True)
class Cells:
    """The cells of the program: ``x[i]`` is cell i's value of X and ``resp[i, x']`` its
    response function's value at x'."""

    nx: int
    ny: int

    @property
    def size(self) -> int:
        return self.nx * self.ny ** self.nx

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        nr = self.ny ** self.nx
        # response function r: digit x' of r in base |Y| is r(x')
        resp = (np.arange(nr)[:, None] // self.ny ** np.arange(self.nx)[None, :]) % self.ny
        x = np.repeat(np.arange(self.nx), nr)
        return x, np.tile(resp, (self.nx, 1))


def check_size(nx: int, ny: int, treatment: str = "X", outcome: str = "Y") -> Cells:
    """The cells for |X| = nx and |Y| = ny, or a QueryError that gives the program's size."""
    cells = Cells(nx, ny)
    n = nx * ny ** nx
    if n > MAX_CELLS:
        raise QueryError(
            f"bounds: the linear program over response functions would have |{treatment}| · "
            f"|{outcome}|^|{treatment}| = {nx} · {ny}^{nx} = {n:,} cells ({treatment}'s value "
            f"times {outcome}'s response to {treatment}), above the limit of {MAX_CELLS:,}; "
            f"merge values of {treatment} or {outcome} (coarser categories), or bound a "
            "quantity of a binary contrast")
    return cells


@dataclass(frozen=True)
class Solution:
    """The two ends of the program and, for each, a joint over the cells that attains it."""

    low: float
    high: float
    q_low: np.ndarray
    q_high: np.ndarray


def constraints(cells: Cells, observational: np.ndarray | None,
                experimental: np.ndarray | None) -> tuple[Any, np.ndarray]:
    """Rows ``A q = b``: the cells sum to one; P(X = x, Y = y) for each (x, y) of the
    observational data; P(Y[X = x] = y) for each of the experimental data. Sparse."""
    from scipy import sparse

    x, resp = cells.arrays()
    n = cells.size
    cols = np.arange(n)
    rows = [np.zeros(n, dtype=np.int64)]
    col_list = [cols]
    b = [np.ones(1)]
    r0 = 1
    if observational is not None:  # cell i is in row (x_i, r_i(x_i))
        rows.append(r0 + x * cells.ny + resp[cols, x])
        col_list.append(cols)
        b.append(observational.ravel())
        r0 += cells.nx * cells.ny
    if experimental is not None:  # cell i is in row (x', r_i(x')) for every x'
        for xp in range(cells.nx):
            rows.append(r0 + xp * cells.ny + resp[:, xp])
            col_list.append(cols)
        b.append(experimental.ravel())
        r0 += cells.nx * cells.ny
    r = np.concatenate(rows)
    c = np.concatenate(col_list)
    a = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(r0, n))
    return a, np.concatenate(b)


def solve(what: str, a: Any, b: np.ndarray, num: np.ndarray, den: np.ndarray | None
          ) -> Solution:
    """min and max of ``num · q / den · q`` (``num · q`` without ``den``) over ``q ≥ 0`` with
    ``A q = b``. With a denominator, Charnes–Cooper: z = t q, t = 1 / den · q, so the program
    is over (z, t) ≥ 0 with A z − b t = 0 and den · z = 1. Raises QueryError when the data
    contradict each other or the conditioning event has probability zero in every model of
    them."""
    from scipy import sparse
    from scipy.optimize import linprog

    n = a.shape[1]
    if den is None:
        a_eq, b_eq, c = a, b, num
    else:
        a_eq = sparse.vstack([sparse.hstack([a, sparse.csr_matrix(-b[:, None])]),
                              sparse.csr_matrix(np.append(den, 0.0)[None, :])]).tocsr()
        b_eq = np.append(np.zeros(a.shape[0]), 1.0)
        c = np.append(num, 0.0)
    ends, args = [], []
    for sign in (1, -1):
        res = linprog(sign * c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        if res.status != 0:
            if den is not None and _feasible(a, b):
                raise QueryError(f"{what}: its condition has probability zero in every model "
                                 "of the data, so the quantity is undefined")
            raise QueryError(f"{what}: no model has these distributions (the linear program is "
                             f"{res.message.lower().rstrip('.')}); the observational and "
                             "experimental data contradict each other, e.g. P(x, y) > "
                             "P(Y[x] = y)")
        ends.append(sign * float(res.fun))
        z = np.asarray(res.x)
        args.append(z if den is None else z[:n] / z[n])
    return Solution(ends[0], ends[1], args[0], args[1])


def _feasible(a: Any, b: np.ndarray) -> bool:
    from scipy.optimize import linprog

    return linprog(np.zeros(a.shape[1]), A_eq=a, b_eq=b, bounds=(0, None),
                   method="highs").status == 0


__all__ = ["MAX_CELLS", "Cells", "Solution", "check_size", "constraints", "solve"]
