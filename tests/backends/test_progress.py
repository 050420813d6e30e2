"""Progress on long sampling: the chunks' sums pool to what one pass gives (an oracle in NumPy
on the same numbers), a sampled query and a batch draw a bar on standard error with
``progress=True``, nothing without it, and the answers stay sound (tolerances from
tests/backends/montecarlo.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import causaldsl
from causaldsl.backends import jax64
from causaldsl.backends.chunks import chunk_sums, chunking, pooled
from tests.backends.montecarlo import bernoulli_sd, check, check_cells

jnp = jax64.jnp()  # float64, as the samplers run

MIXED = """
type YesNo = {no, yes}
model mixed {
  S : YesNo ~ [0.5, 0.5]
  Y : Real ~ Normal(if S == yes then 2 else 0, 1)
  B : Bool := Y > 1
}
"""


def mixed() -> causaldsl.CausalModel:
    return list(causaldsl.parse(MIXED).models.values())[-1]


def one_pass(x: np.ndarray, logw: np.ndarray, weighted: bool) -> tuple[np.ndarray, ...]:
    """The estimate, error and ESS of all samples at once, as the unchunked sampler has them."""
    if not weighted:
        n = len(x)
        return x.mean(0), x.std(0, ddof=1) / np.sqrt(n), float(n)
    w = np.exp(logw - logw.max())
    w = w / w.sum()
    est = w @ x
    return est, np.sqrt((w ** 2) @ (x - est) ** 2), 1.0 / (w ** 2).sum()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=6), st.booleans(),
       st.integers(0, 2**31 - 1))
def test_pooled_chunks_equal_one_pass_over_all_samples(sizes, weighted, seed):
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    x = rng.normal(3.0, 2.0, size=(n, 2)) + 1e6  # a far mean: catches uncentred sums
    logw = rng.normal(0, 5, size=n) - rng.uniform(0, 50) if weighted else np.zeros(n)
    if weighted:
        logw[rng.random(n) < 0.2] = -np.inf  # samples with weight 0, maybe a chunk of them
        logw[0] = 0.0
    if not weighted and n < 2:
        return
    parts, start = [], 0
    for k in sizes:
        parts.append(chunk_sums(np, x[start:start + k], logw[start:start + k]))
        start += k
    est, se, ess, seen = pooled(parts, weighted)
    want = one_pass(x, logw, weighted)
    assert seen
    np.testing.assert_allclose(est, want[0], rtol=1e-12)
    # the spread about a mean near 1e6 is known to about 1e-10 absolute (rounding)
    np.testing.assert_allclose(se, want[1], rtol=1e-9, atol=1e-8)
    assert ess == pytest.approx(want[2], rel=1e-9)


def test_pooled_chunks_without_any_weight_are_unseen():
    part = [np.asarray(v) for v in chunk_sums(jnp, jnp.ones((3, 1)), jnp.full(3, -np.inf))]
    assert np.isfinite(part[2]).all()  # no 0 / 0
    assert pooled([part, part], True)[3] is False


def test_chunking_covers_the_samples_in_equal_chunks():
    assert chunking(10) == (1, 10)
    assert chunking(5_000_000) == (50, 100_000)
    k, size = chunking(123_457)
    assert k == 12 and k * size >= 123_457 and (k - 1) * size < 123_457


def test_a_sampled_query_draws_a_bar_only_when_asked(capfd):
    m = mixed()
    quiet = m.query("P(S = yes | B = true)", samples=30_000, seed=2)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    loud = m.query("P(S = yes | B = true)", samples=30_000, seed=2, progress=True)
    out, err = capfd.readouterr()
    assert out == ""
    assert "P(S = yes | B = true)" in err and "30000/30000" in err and "sample" in err
    # P(B | S = yes) = Φ(1), P(B | S = no) = 1 - Φ(1): P(S = yes | B) = Φ(1)
    truth = 0.8413447460685429
    for est in (quiet, loud):
        check(est, truth, float(bernoulli_sd(truth)))
    assert loud.details["samples"] == 30_000 and float(loud) != float(quiet)


def test_a_forward_query_with_a_bar_is_sound(capfd):
    est = mixed().query("E[Y | do(S = yes)]", method="forward", samples=40_000, seed=3,
                        progress=True)
    assert "40000/40000" in capfd.readouterr().err
    check(est, 2.0, 1.0)


def test_a_batch_draws_a_bar_and_gives_the_same_answers(capfd):
    m = mixed()
    ys = np.linspace(-1, 3, 3)
    quiet = m.query_batch("P(S = yes | Y)", {"Y": ys}, samples=2000, seed=1)
    assert capfd.readouterr() == ("", "")
    loud = m.query_batch("P(S = yes | Y)", {"Y": ys}, samples=2000, seed=1, progress=True)
    out, err = capfd.readouterr()
    assert out == "" and "3/3" in err and "setting" in err
    np.testing.assert_array_equal(np.asarray(loud), np.asarray(quiet))
    np.testing.assert_array_equal(loud.se, quiet.se)
    truth = 1 / (1 + np.exp(2 - 2 * ys))
    check_cells(loud, truth, loud.se, bernoulli_sd(truth), m=1000, lower=0.0)


def test_progress_on_an_exact_model_is_accepted_and_silent(capfd):
    m = next(iter(causaldsl.parse("""
type Season = {dry, rainy}
model tables {
  X1 : Season ~ [0.6, 0.4]
  X2 : Bool ~ table(X1) { dry: [0.4, 0.6], rainy: [0.9, 0.1] }
}
""").models.values()))
    # nothing long to show: the exact answer, no bar (it used to refuse the option)
    assert float(m.query("P(X2 = true)", progress=True)) == pytest.approx(0.6 * 0.6 + 0.4 * 0.1)
    assert capfd.readouterr() == ("", "")
