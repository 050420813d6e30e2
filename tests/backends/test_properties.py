"""Property tests over random causal models (with latents) and random string diagrams.

The references are computed here with numpy, independently of the exact backend: the full joint
of *all* variables (observed and latent) by one einsum over every table, with Pearl's truncated
factorisation for interventions (the intervened variable's factor replaced by a point mass).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from causaldsl import (
    CausalError,
    CausalModel,
    Diagram,
    Distribution,
    FiniteType,
    Role,
    Table,
    Variable,
    ZeroProbabilityError,
    cut,
    do,
    intervene,
)
from causaldsl.backends.exact import tensor
from causaldsl.ir.diagram import Box

TOL = 1e-9
MODEL_SETTINGS = settings(max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
DIAGRAM_SETTINGS = settings(max_examples=30, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow])

LABELS: dict[int, list[list[Any]]] = {
    2: [["no", "yes"], [0, 1], [False, True], ["lo", "hi"]],
    3: [["lo", "mid", "hi"], [0, 1, 2], ["a", "b", "c"]],
}


# -- random models and the numpy reference ---------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """A random model together with what the numpy reference needs."""

    model: CausalModel
    order: tuple[str, ...]                  # a topological order of all variables
    parents: dict[str, tuple[str, ...]]
    types: dict[str, FiniteType]
    tables: dict[str, np.ndarray]           # axes (*parents, variable)

    @property
    def observed(self) -> list[str]:
        return [v for v in self.order if self.model.roles[v] is Role.OBSERVED]

    @property
    def roots(self) -> list[str]:
        return [v for v in self.observed if not self.parents[v]]

    def axis(self, v: str) -> int:
        return self.order.index(v)

    def joint(self, do: dict[str, Any] | None = None,
              replace: dict[str, tuple[tuple[str, ...], np.ndarray]] | None = None) -> np.ndarray:
        """The joint of all variables, axes in ``order``: the product of every factor, with the
        factor of each intervened variable replaced by a point mass (truncated factorisation)
        and ``replace`` swapping in other factors (soft interventions)."""
        do, replace = do or {}, replace or {}
        operands: list[Any] = []
        for v in self.order:
            if v in do:
                point = np.zeros(self.types[v].size)
                point[self.types[v].index(do[v])] = 1.0
                operands += [point, [self.axis(v)]]
            elif v in replace:
                ps, arr = replace[v]
                operands += [arr, [*(self.axis(p) for p in ps), self.axis(v)]]
            else:
                operands += [self.tables[v], [*(self.axis(p) for p in self.parents[v]),
                                              self.axis(v)]]
        return np.einsum(*operands, list(range(len(self.order))))

    def marginal(self, joint: np.ndarray, keep: list[str]) -> np.ndarray:
        return np.einsum(joint, list(range(len(self.order))), [self.axis(v) for v in keep])

    def conditional(self, joint: np.ndarray, ys: list[str], evidence: dict[str, Any]
                    ) -> tuple[np.ndarray, float]:
        """(P(ys | evidence) under ``joint``, P(evidence)); the first is nan when P = 0."""
        zs = list(evidence)
        m = self.marginal(joint, [*zs, *ys])
        idx = tuple(self.types[z].index(evidence[z]) for z in zs)
        sub = m[idx]
        pz = float(sub.sum())
        return (sub / pz if pz > 0 else np.full(sub.shape, np.nan)), pz


def random_table(rng: np.random.Generator, shape: tuple[int, ...], sparse: bool) -> np.ndarray:
    """A stochastic table over the last axis; with ``sparse`` some entries are exactly zero
    (at least one positive entry per row)."""
    arr = rng.uniform(0.1, 1.0, size=shape)
    if sparse:
        zero = (rng.random(shape) < 0.25).reshape(-1, shape[-1])
        zero[zero.all(axis=1), 0] = False
        arr = np.where(zero.reshape(shape), 0.0, arr)
    return arr / arr.sum(axis=-1, keepdims=True)


@st.composite
def random_models(draw: Any, min_vars: int = 3, max_vars: int = 7, min_observed: int = 2,
                  sparse: bool | None = None) -> Spec:
    """3–7 variables in a random topological order, in-degree ≤ 3, finite types of size 2–3,
    random positive (or, sometimes, sparse) normalised tables, some variables latent; declared
    to CausalModel.from_variables in a random (not necessarily causal) order."""
    n = draw(st.integers(min_vars, max_vars))
    order = tuple(f"V{i}" for i in draw(st.permutations(range(n))))
    types = {}
    for v in order:
        size = draw(st.integers(2, 3))
        types[v] = FiniteType(draw(st.sampled_from(LABELS[size])), name=draw(
            st.sampled_from([None, f"T{v}"])))
    parents: dict[str, tuple[str, ...]] = {}
    for i, v in enumerate(order):
        k = draw(st.integers(0, min(3, i)))
        parents[v] = tuple(draw(st.lists(st.sampled_from(order[:i]), min_size=k, max_size=k,
                                         unique=True))) if k else ()
    latent = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    while n - sum(latent) < min_observed:
        latent[latent.index(True)] = False
    if sparse is None:
        sparse = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    tables = {v: random_table(rng, (*(types[p].size for p in parents[v]), types[v].size),
                              sparse)
              for v in order}
    declared = draw(st.permutations(order))
    variables = [Variable(v, types[v], Role.LATENT if latent[order.index(v)] else Role.OBSERVED,
                          parents[v], Table(tables[v], len(parents[v])))
                 for v in declared]
    model = CausalModel.from_variables(variables, name="random")
    return Spec(model, order, parents, types, tables)


def lab(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def probs(answer: Distribution | float) -> np.ndarray:
    return np.asarray(answer.probs if isinstance(answer, Distribution) else answer)


def close(got: Any, want: Any) -> None:
    np.testing.assert_allclose(probs(got) if not isinstance(got, np.ndarray) else got, want,
                               atol=TOL, rtol=0)


# -- surgery is Pearl's truncated factorisation --------------------------------------------------

@MODEL_SETTINGS
@given(spec=random_models(), data=st.data())
def test_do_equals_truncated_factorisation(spec, data):
    obs = spec.observed
    x = data.draw(st.sampled_from(obs), label="X")
    y = data.draw(st.sampled_from([v for v in obs if v != x]), label="Y")
    for xv in spec.types[x].values:
        want = spec.marginal(spec.joint(do={x: xv}), [y])
        close(spec.model.query(f"P({y} | do({x} = {lab(xv)}))"), want)
        # the rewrite gives the same model as the query's surgery
        close(do(spec.model, {x: xv}).query(f"P({y})"), want)


@MODEL_SETTINGS
@given(spec=random_models(min_observed=3), data=st.data())
def test_conditional_do_equals_truncated_factorisation(spec, data):
    obs = spec.observed
    x, y, z = data.draw(st.permutations(obs), label="X, Y, Z")[:3]
    text = "P({y} | do({x} = {xv}), {z} = {zv})"
    for xv, zv in itertools.product(spec.types[x].values, spec.types[z].values):
        want, pz = spec.conditional(spec.joint(do={x: xv}), [y], {z: zv})
        q = text.format(x=x, y=y, z=z, xv=lab(xv), zv=lab(zv))
        if pz == 0:
            with pytest.raises(ZeroProbabilityError):
                spec.model.query(q)
            continue
        close(spec.model.query(q), want)


@MODEL_SETTINGS
@given(spec=random_models(min_vars=4, max_vars=6), data=st.data())
def test_do_on_a_latent_variable_by_rewrite(spec, data):
    """A query cannot name a latent variable, but the ``do`` rewrite can cut one."""
    assume(spec.model.latent)
    h = data.draw(st.sampled_from(spec.model.latent), label="H")
    y = data.draw(st.sampled_from(spec.observed), label="Y")
    hv = data.draw(st.sampled_from(spec.types[h].values), label="h")
    close(do(spec.model, {h: hv}).query(f"P({y})"),
          spec.marginal(spec.joint(do={h: hv}), [y]))


@MODEL_SETTINGS
@given(spec=random_models(), data=st.data())
def test_do_on_a_root_equals_conditioning_on_it(spec, data):
    assume(spec.roots)
    r = data.draw(st.sampled_from(spec.roots), label="R")
    y = data.draw(st.sampled_from([v for v in spec.observed if v != r]), label="Y")
    p_r = spec.marginal(spec.joint(), [r])
    for i, rv in enumerate(spec.types[r].values):
        if p_r[i] == 0:
            continue
        seen = spec.model.query(f"P({y} | {r} = {lab(rv)})")
        done = spec.model.query(f"P({y} | do({r} = {lab(rv)}))")
        close(done, probs(seen))


@MODEL_SETTINGS
@given(spec=random_models(), data=st.data())
def test_cut_gives_the_whole_channel(spec, data):
    obs = spec.observed
    x = data.draw(st.sampled_from(obs), label="X")
    y = data.draw(st.sampled_from([v for v in obs if v != x]), label="Y")
    channel = probs(spec.model.query(f"P({y} | do({x}))"))
    assert channel.shape == (spec.types[x].size, spec.types[y].size)
    for i, xv in enumerate(spec.types[x].values):
        close(channel[i], probs(spec.model.query(f"P({y} | do({x} = {lab(xv)}))")))
        close(channel[i], spec.marginal(spec.joint(do={x: xv}), [y]))

    # the cut model's diagram *is* the channel x → (other observed variables)
    chan = cut(spec.model, x)
    assert chan.inputs == (x,)
    assert chan[x].is_input and chan[x].mechanism is None
    outs = list(chan.diagram.outputs)
    assert set(outs) == set(obs) - {x}
    t = tensor(chan.diagram)
    assert t.shape == (spec.types[x].size, *(spec.types[v].size for v in outs))
    for i, xv in enumerate(spec.types[x].values):
        close(t[i], spec.marginal(spec.joint(do={x: xv}), outs))


@MODEL_SETTINGS
@given(spec=random_models(min_observed=3), data=st.data())
def test_query_engine_agrees_with_the_functor(spec, data):
    """One interpretation: ``tensor`` of the (cut) model's whole diagram, marginalised and
    conditioned here by hand, equals the query engine's answers, which prune, drop constant
    groups, hoist, and run in NumPy, from the answer table, and jitted."""
    from causaldsl.backends import exact

    m = spec.model
    observed = list(m.diagram.outputs)
    close(m.query("P(" + ", ".join(observed) + ")"), tensor(m.diagram))
    x, y = data.draw(st.permutations(observed), label="X, Y")[:2]
    zs = data.draw(st.lists(st.sampled_from([v for v in observed if v not in (x, y)]),
                            min_size=1, max_size=3, unique=True), label="Z")
    chan = cut(m, x)
    axes = [x, *chan.diagram.outputs]                       # the channel's: input, outputs
    joint = np.einsum(tensor(chan.diagram), list(range(len(axes))),
                      [axes.index(v) for v in (x, *zs, y)])  # P(Z..., Y | do(X))
    pz = joint.sum(axis=-1)                                 # P(Z... | do(X))
    free = f"P({y} | do({x}), {', '.join(zs)})"
    if np.all(pz > 0):
        close(m.query(free), joint / pz[..., None])
    else:
        with pytest.raises(ZeroProbabilityError):
            m.query(free)
    close(m.query(f"P({y} | do({x}))"), joint.sum(axis=tuple(range(1, len(zs) + 1))))
    saved = exact.SHAPE_TABLE_LIMIT
    try:
        for limit in (saved, 0):                            # steady tier: answer table, then jit
            exact.SHAPE_TABLE_LIMIT = limit
            engine = exact.ExactEngine(m)                   # fresh: its first call is NumPy's
            for at in [*itertools.product(*(range(spec.types[v].size) for v in (x, *zs)))] * 2:
                xv, *zvs = (spec.types[v].values[i] for v, i in zip((x, *zs), at, strict=True))
                q = f"P({y} | do({x} = {lab(xv)}), " + ", ".join(
                    f"{z} = {lab(zv)}" for z, zv in zip(zs, zvs, strict=True)) + ")"
                if pz[at] == 0:
                    with pytest.raises(ZeroProbabilityError):
                        engine.query(q)
                else:
                    close(engine.query(q), joint[at] / pz[at])
    finally:
        exact.SHAPE_TABLE_LIMIT = saved


@MODEL_SETTINGS
@given(spec=random_models(min_vars=3, max_vars=6), data=st.data())
def test_soft_intervention_replaces_the_factor(spec, data):
    obs = spec.observed
    x = data.draw(st.sampled_from(obs), label="X")
    y = data.draw(st.sampled_from([v for v in obs if v != x]), label="Y")
    # new parents: any variables before X in the causal order (so no cycle)
    before = list(spec.order[: spec.order.index(x)])
    ps = tuple(data.draw(st.lists(st.sampled_from(before), max_size=min(2, len(before)),
                                  unique=True), label="given")) if before else ()
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    table = random_table(rng, (*(spec.types[p].size for p in ps), spec.types[x].size), False)
    soft = intervene(spec.model, x, table, given=ps)
    assert soft[x].parents == ps
    close(soft.query(f"P({y})"), spec.marginal(spec.joint(replace={x: (ps, table)}), [y]))


@MODEL_SETTINGS
@given(spec=random_models(min_vars=4, min_observed=4, sparse=False), data=st.data())
def test_mixed_query_shapes(spec, data):
    """P(Y = y, W | do(X), Z = z): a valued and a free outcome, a free intervention and valued
    evidence; the answer has axes (X, W) in that order."""
    x, y, w, z = data.draw(st.permutations(spec.observed), label="X, Y, W, Z")[:4]
    yv = data.draw(st.sampled_from(spec.types[y].values), label="y")
    zv = data.draw(st.sampled_from(spec.types[z].values), label="z")
    got = probs(spec.model.query(f"P({y} = {lab(yv)}, {w} | do({x}), {z} = {lab(zv)})"))
    assert got.shape == (spec.types[x].size, spec.types[w].size)
    for i, xv in enumerate(spec.types[x].values):
        cond, _ = spec.conditional(spec.joint(do={x: xv}), [y, w], {z: zv})
        close(got[i], cond[spec.types[y].index(yv)])
    # outcomes come back in the order the query lists them
    both = probs(spec.model.query(f"P({w}, {y})"))
    close(both, spec.marginal(spec.joint(), [w, y]))


@MODEL_SETTINGS
@given(spec=random_models(min_vars=4, min_observed=4), data=st.data())
def test_bucket_plan_equals_the_staged_contraction(spec, data):
    """The NumPy tier's bucket elimination (``cq.bucket``, the model's order, no search) and
    the staged, searched contraction give the same result and normaliser at every setting of
    the given values, for a free intervention, free evidence and valued ones (a dropped table,
    a wire summed too early or a wrong normaliser would fail here); and the first call, which
    runs the bucket plan, equals the truncated factorisation."""
    from causaldsl.backends.exact import engine_for
    from causaldsl.syntax.query import parse_query

    x, y, w, z = data.draw(st.permutations(spec.observed), label="X, Y, W, Z")[:4]
    text = f"P({y}, {w} | do({x} = {{x}}), {z})"
    shape = data.draw(st.sampled_from([text, f"P({y} | do({x}), {z} = {{z}})",
                                       f"P({y} | {w} = {{w}}, {z} = {{z}})"]), label="shape")
    values = {"x": x, "z": z, "w": w}
    filled = shape.format(**{k: lab(spec.types[v].values[0]) for k, v in values.items()})
    cq = engine_for(spec.model).compile(parse_query(filled))
    assert cq.bucket is not None  # small models: the bucket plan is within its budget
    for combo in itertools.product(*(range(t.size) for t in cq.axes.value_types)):
        idx = np.array(combo, dtype=np.int32)
        got_p, got_z = cq.numpy(idx)
        want_p, want_z = cq.contraction.numpy(idx)
        close(np.asarray(got_p), np.asarray(want_p))
        close(np.asarray(got_z), np.asarray(want_z))
    if shape == f"P({y} | do({x}), {z} = {{z}})":
        zv = spec.types[z].values[0]
        wants = [spec.conditional(spec.joint(do={x: xv}), [y], {z: zv})
                 for xv in spec.types[x].values]
        if all(p_z > 0 for _, p_z in wants):
            got = probs(engine_for(spec.model).query(filled))
            for i, (cond, _) in enumerate(wants):
                close(got[i], cond)


@MODEL_SETTINGS
@given(spec=random_models(min_vars=4, min_observed=4, sparse=False), data=st.data())
def test_picked_outcomes_equal_the_reference(spec, data):
    """Valued outcomes contracted with a one-hot (the path for results too large to hold every
    outcome value; forced here by a result limit of 0) give the same answers: with a free
    intervention, free and valued evidence (so the normaliser is a second contraction with the
    picked outcomes summed out), in batches, and on a repeat (the jitted tier). A normaliser
    taken from the picked joint, or evidence tables dropped as constant, would fail here."""
    x, y, w, z = data.draw(st.permutations(spec.observed), label="X, Y, W, Z")[:4]
    yv = data.draw(st.sampled_from(spec.types[y].values), label="y")
    wv = data.draw(st.sampled_from(spec.types[w].values), label="w")
    zv = data.draw(st.sampled_from(spec.types[z].values), label="z")
    m = spec.model  # new in each example, so nothing of it is compiled yet
    with mock.patch("causaldsl.backends.exact.SHAPE_TABLE_LIMIT", 0):
        for _ in range(2):  # NumPy on the first call, jit on the second
            got = probs(m.query(f"P({y} = {lab(yv)}, {w} | do({x}), {z} = {lab(zv)})"))
            assert got.shape == (spec.types[x].size, spec.types[w].size)
            for i, xv in enumerate(spec.types[x].values):
                cond, _ = spec.conditional(spec.joint(do={x: xv}), [y, w], {z: zv})
                close(got[i], cond[spec.types[y].index(yv)])
        # free evidence, both outcomes valued: P(Y = y, W = w | Z) over Z's values
        joint = spec.marginal(spec.joint(), [z, y, w])
        want = joint[:, spec.types[y].index(yv), spec.types[w].index(wv)] / joint.sum(axis=(1, 2))
        text = f"P({y} = {lab(yv)}, {w} = {lab(wv)} | {z})"
        close(m.query(text), want)
        close(np.asarray(m.query_batch(text, {z: list(spec.types[z].values)})), want)


@MODEL_SETTINGS
@given(spec=random_models(), data=st.data())
def test_expectations_and_linear_combinations(spec, data):
    obs = spec.observed
    x = data.draw(st.sampled_from(obs), label="X")
    y = data.draw(st.sampled_from([v for v in obs if v != x]), label="Y")
    x0, x1 = spec.types[x].values[0], spec.types[x].values[-1]
    y1 = spec.types[y].values[-1]
    p0 = spec.marginal(spec.joint(do={x: x0}), [y])
    p1 = spec.marginal(spec.joint(do={x: x1}), [y])
    ace = spec.model.query(f"P({y} = {lab(y1)} | do({x} = {lab(x1)})) - "
                           f"P({y} = {lab(y1)} | do({x} = {lab(x0)}))")
    assert abs(ace - (p1[-1] - p0[-1])) <= TOL
    scaled = spec.model.query(f"0.5 * P({y} = {lab(y1)} | do({x} = {lab(x1)})) + "
                              f"0.5 * P({y} = {lab(y1)} | do({x} = {lab(x0)}))")
    assert abs(scaled - 0.5 * (p1[-1] + p0[-1])) <= TOL
    nums = spec.types[y].numeric()
    text = f"E[{y} | do({x} = {lab(x1)})]"
    if nums is None:
        with pytest.raises(CausalError, match=r"numeric|number"):
            spec.model.query(text)
    else:
        assert abs(spec.model.query(text) - float(np.dot(p1, nums))) <= TOL


# -- rewrites never mutate their input -----------------------------------------------------------

def snapshot(model: CausalModel) -> dict[str, Any]:
    return {n: (v.type, v.role, v.parents, v.is_input,
                None if v.mechanism is None else np.array(v.mechanism.array, copy=True))
            for n, v in model.variables.items()}


def same_snapshot(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for n in a:
        *meta_a, arr_a = a[n]
        *meta_b, arr_b = b[n]
        if meta_a != meta_b or (arr_a is None) != (arr_b is None):
            return False
        if arr_a is not None and not np.array_equal(arr_a, arr_b):
            return False
    return True


@MODEL_SETTINGS
@given(spec=random_models(), data=st.data())
def test_rewrites_never_mutate_their_input(spec, data):
    m = spec.model
    obs = spec.observed
    x = data.draw(st.sampled_from(obs), label="X")
    y = data.draw(st.sampled_from([v for v in obs if v != x]), label="Y")
    xv = spec.types[x].values[0]
    before = snapshot(m)
    text_before, diagram_before, order_before = str(m), m.diagram, tuple(m.variables)
    q_obs, q_do = f"P({y})", f"P({y} | do({x} = {lab(xv)}))"
    ans_obs, ans_do = probs(m.query(q_obs)).copy(), probs(m.query(q_do)).copy()

    rng = np.random.default_rng(0)
    soft_table = random_table(rng, (spec.types[x].size,), False)
    rewritten = [do(m, {x: xv}), m.do({x: xv}), cut(m, x), m.cut(x),
                 intervene(m, x, soft_table, given=()), m.intervene(x, soft_table, given=())]
    rewritten[4].query(q_obs)  # compiling a rewritten model must not leak back

    assert same_snapshot(before, snapshot(m))
    assert str(m) == text_before and m.diagram == diagram_before
    assert tuple(m.variables) == order_before
    assert m[x].parents == spec.parents[x] and not m[x].is_input
    # (not bit for bit: a query's first answer and its later, cached ones may differ by an ulp)
    np.testing.assert_allclose(probs(m.query(q_obs)), ans_obs, atol=1e-14, rtol=0)
    np.testing.assert_allclose(probs(m.query(q_do)), ans_do, atol=1e-14, rtol=0)
    # and the rewrites did what they say
    assert rewritten[0][x].parents == () and rewritten[2][x].is_input
    assert rewritten[4][x].mechanism == Table(soft_table, 0)


# -- query_batch equals a loop of queries -------------------------------------------------------

@settings(MODEL_SETTINGS, max_examples=20)
@given(spec=random_models(max_vars=5, min_observed=3, sparse=False), data=st.data())
def test_query_batch_equals_looping_query(spec, data):
    m = spec.model
    x, y, z = data.draw(st.permutations(spec.observed), label="X, Y, Z")[:3]
    settings_ = data.draw(st.lists(st.tuples(st.sampled_from(spec.types[x].values),
                                             st.sampled_from(spec.types[z].values)),
                                   min_size=1, max_size=8), label="settings")
    rows = [{x: xv, z: zv} for xv, zv in settings_]
    x0, z0 = settings_[0]
    # batched first, on a fresh model, so that no query of this shape has been compiled yet
    cold = np.asarray(m.query_batch(f"P({y} | do({x}), {z})", rows))
    loop = np.stack([probs(m.query(f"P({y} | do({x} = {lab(xv)}), {z} = {lab(zv)})"))
                     for xv, zv in settings_])
    close(cold, loop)
    for text in (f"P({y} | do({x} = {lab(x0)}), {z} = {lab(z0)})", f"P({y} | do({x}), {z})"):
        batch = m.query_batch(text, rows)
        assert len(batch) == len(rows)
        close(np.asarray(batch), loop)
        for i in range(len(rows)):
            close(batch[i], loop[i])
    columns = {x: [r[x] for r in rows], z: [r[z] for r in rows]}
    close(np.asarray(m.query_batch(f"P({y} | do({x}), {z})", columns)), loop)


@MODEL_SETTINGS
@given(spec=random_models(max_vars=5, sparse=False), data=st.data())
def test_query_batch_over_tables_equals_looping_intervene(spec, data):
    m = spec.model
    obs = spec.observed
    x = data.draw(st.sampled_from(obs), label="X")
    y = data.draw(st.sampled_from([v for v in obs if v != x]), label="Y")
    v = data.draw(st.sampled_from([u for u in spec.order if u != x]), label="V")
    k = data.draw(st.integers(1, 4), label="sets")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    stack = np.stack([random_table(rng, spec.tables[v].shape, False) for _ in range(k)])
    xv = spec.types[x].values[-1]
    text = f"P({y} | do({x} = {lab(xv)}))"
    batch = np.asarray(m.query_batch(text, tables={v: stack}))
    close(batch[0], probs(intervene(m, v, stack[0]).query(text)))
    for i in range(k):
        close(batch[i], spec.marginal(spec.joint(do={x: xv},
                                                 replace={v: (spec.parents[v], stack[i])}), [y]))


# -- models with an unfed input ------------------------------------------------------------------

def test_query_on_a_cut_model_must_feed_its_input():
    """Regression: cut(m, 'S').query('P(C)') once summed over the open input S, returning a
    'distribution' that summed to |S| = 2; and P(S) raised a bare ValueError."""
    from examples.smoking import smoking_model

    chan = cut(smoking_model(), "S")
    for text in ("P(C)", "P(S)", "P(T | C = yes)"):
        with pytest.raises(CausalError, match="input"):
            chan.query(text)
    # fed by do(), it is the interventional channel
    close(chan.query("P(C = yes | do(S = yes))"), 0.49)
    close(chan.query("P(C | do(S))"), [[0.72, 0.28], [0.51, 0.49]])


# -- interpretation is a functor: random boxes and diagrams --------------------------------------

TYPES = [FiniteType(["a0", "a1"]), FiniteType(["b0", "b1", "b2"]), FiniteType(["c0"]),
         FiniteType("Bin", [0, 1])]


def size(types: tuple[FiniteType, ...]) -> int:
    return int(np.prod([t.size for t in types])) if types else 1


def table_matrix(b: Box) -> np.ndarray:
    """A box's own table as a 2-D matrix (numpy only, no tensor())."""
    return b.mechanism.array.reshape(size(b.dom), size(b.cod))


def swap_matrix(a: FiniteType, b: FiniteType) -> np.ndarray:
    out = np.zeros((a.size * b.size, b.size * a.size))
    for u, v in itertools.product(range(a.size), range(b.size)):
        out[u * b.size + v, v * a.size + u] = 1.0
    return out


def matrix(d: Diagram | Box) -> np.ndarray:
    """tensor(d) as a 2-D stochastic matrix: dom rows × cod columns."""
    d = d.diagram if isinstance(d, Box) else d
    return tensor(d).reshape(size(d.dom), size(d.cod))


type_lists = st.lists(st.sampled_from(TYPES), min_size=0, max_size=2).map(tuple)
nonempty_type_lists = st.lists(st.sampled_from(TYPES), min_size=1, max_size=2).map(tuple)


@st.composite
def boxes(draw: Any, dom: tuple[FiniteType, ...] | None = None,
          cod: tuple[FiniteType, ...] | None = None) -> Box:
    dom = draw(type_lists) if dom is None else dom
    cod = draw(nonempty_type_lists) if cod is None else cod
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    arr = rng.uniform(0.05, 1.0, size=(size(dom), size(cod)))
    arr /= arr.sum(axis=1, keepdims=True)
    shape = (*(t.size for t in dom), *(t.size for t in cod))
    name = draw(st.sampled_from(["f", "g", "h", "k"]))
    return Box(name, dom, cod, Table(arr.reshape(shape), len(dom)))


@st.composite
def chains(draw: Any, n: int) -> list[Box]:
    """n composable boxes."""
    types = [draw(type_lists)] + [draw(nonempty_type_lists) for _ in range(n)]
    return [draw(boxes(types[i], types[i + 1])) for i in range(n)]


@DIAGRAM_SETTINGS
@given(fg=chains(2))
def test_tensor_of_composite_is_matrix_product(fg):
    f, g = fg
    np.testing.assert_allclose(matrix(f), table_matrix(f), atol=TOL, rtol=0)
    np.testing.assert_allclose(matrix(f >> g), table_matrix(f) @ table_matrix(g), atol=TOL,
                               rtol=0)


@DIAGRAM_SETTINGS
@given(f=boxes(), g=boxes())
def test_tensor_of_parallel_is_kronecker_product(f, g):
    np.testing.assert_allclose(matrix(f @ g), np.kron(table_matrix(f), table_matrix(g)),
                               atol=TOL, rtol=0)


@DIAGRAM_SETTINGS
@given(fgh=chains(3))
def test_composition_is_associative(fgh):
    f, g, h = fgh
    left, right = (f >> g) >> h, f >> (g >> h)
    assert left == right
    assert hash(left) == hash(right)
    np.testing.assert_allclose(matrix(right), table_matrix(f) @ table_matrix(g) @ table_matrix(h),
                               atol=TOL, rtol=0)


@DIAGRAM_SETTINGS
@given(f=boxes())
def test_identity_laws(f):
    d = f.diagram
    assert Diagram.id(*f.dom) >> f == d
    assert f >> Diagram.id(*f.cod) == d
    assert Diagram.id() @ d == d and d @ Diagram.id() == d
    np.testing.assert_allclose(matrix(Diagram.id(*f.dom)), np.eye(size(f.dom)), atol=0)


@DIAGRAM_SETTINGS
@given(fh=chains(2), gk=chains(2))
def test_interchange_law_on_chains(fh, gk):
    (f, h), (g, k) = fh, gk
    left, right = (f @ g) >> (h @ k), (f >> h) @ (g >> k)
    assert left == right
    want = np.kron(table_matrix(f) @ table_matrix(h), table_matrix(g) @ table_matrix(k))
    np.testing.assert_allclose(matrix(left), want, atol=TOL, rtol=0)


@DIAGRAM_SETTINGS
@given(t=st.sampled_from(TYPES), n=st.integers(0, 3))
def test_copy_is_the_diagonal(t, n):
    c = tensor(Diagram.copy(t, n))
    assert c.shape == (t.size,) * (n + 1)
    want = np.zeros(c.shape)
    for i in range(t.size):
        want[(i,) * (n + 1)] = 1.0
    np.testing.assert_array_equal(c, want)


@DIAGRAM_SETTINGS
@given(t=st.sampled_from(TYPES))
def test_copy_then_discard_is_identity(t):
    ident = Diagram.id(t)
    keep_first = Diagram.copy(t) >> (Diagram.id(t) @ Diagram.discard(t))
    keep_second = Diagram.copy(t) >> (Diagram.discard(t) @ Diagram.id(t))
    assert keep_first == ident and keep_second == ident
    np.testing.assert_array_equal(matrix(keep_first), np.eye(t.size))
    np.testing.assert_array_equal(matrix(keep_second), np.eye(t.size))
    # copy is commutative and associative
    assert Diagram.copy(t) >> Diagram.swap(t, t) == Diagram.copy(t)
    assert (Diagram.copy(t) >> (Diagram.copy(t) @ Diagram.id(t))
            == Diagram.copy(t) >> (Diagram.id(t) @ Diagram.copy(t)) == Diagram.copy(t, 3))


one_wire = st.sampled_from(TYPES).map(lambda t: (t,))


@DIAGRAM_SETTINGS
@given(a=st.sampled_from(TYPES), b=st.sampled_from(TYPES))
def test_swap_is_an_involutive_permutation(a, b):
    assert Diagram.swap(a, b) >> Diagram.swap(b, a) == Diagram.id(a, b)
    s = tensor(Diagram.swap(a, b))
    for i, j in itertools.product(range(a.size), range(b.size)):
        want = np.zeros((b.size, a.size))
        want[j, i] = 1.0
        np.testing.assert_array_equal(s[i, j], want)


@DIAGRAM_SETTINGS
@given(f=one_wire.flatmap(lambda d: one_wire.flatmap(lambda c: boxes(d, c))),
       g=one_wire.flatmap(lambda d: one_wire.flatmap(lambda c: boxes(d, c))))
def test_swap_is_natural(f, g):
    left = (f @ g) >> Diagram.swap(f.cod[0], g.cod[0])
    right = Diagram.swap(f.dom[0], g.dom[0]) >> (g @ f)
    assert left == right
    got = matrix(left)
    np.testing.assert_allclose(got, np.kron(table_matrix(f), table_matrix(g))
                               @ swap_matrix(f.cod[0], g.cod[0]), atol=TOL, rtol=0)
    np.testing.assert_allclose(got, swap_matrix(f.dom[0], g.dom[0])
                               @ np.kron(table_matrix(g), table_matrix(f)), atol=TOL, rtol=0)


# Random composite diagrams, checked against layer-by-layer matrices built in numpy.

@st.composite
def layered_diagrams(draw: Any, dom: tuple[FiniteType, ...] | None = None
                     ) -> tuple[Diagram, np.ndarray]:
    """A random diagram built layer by layer (boxes, copies, discards, swaps, each tensored
    with identities), with its stochastic matrix computed layer by layer in numpy."""
    wires = list(draw(type_lists) if dom is None else dom)
    diagram = Diagram.id(*wires)
    reference = np.eye(size(tuple(wires)))
    for _ in range(draw(st.integers(1, 5))):
        ops = ["box"] + (["copy", "discard"] if wires else []) + (["swap"] if len(wires) > 1
                                                                 else [])
        if len(wires) >= 3:
            ops = [o for o in ops if o != "copy"]
        op = draw(st.sampled_from(ops))
        i = draw(st.integers(0, len(wires)))
        if op == "box":
            j = draw(st.integers(i, min(len(wires), i + 2)))
            room = 3 - (len(wires) - (j - i))  # at most three wires at any time
            if room < 1:
                continue
            cod = tuple(draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=room)))
            box = draw(boxes(tuple(wires[i:j]), cod))
            mid, mid_m, new = box.diagram, table_matrix(box), list(box.cod)
        elif op == "copy":
            i = min(i, len(wires) - 1)
            j = i + 1
            t = wires[i]
            mid, new = Diagram.copy(t), [t, t]
            mid_m = np.zeros((t.size, t.size * t.size))
            for v in range(t.size):
                mid_m[v, v * t.size + v] = 1.0
        elif op == "discard":
            i = min(i, len(wires) - 1)
            j = i + 1
            mid, new, mid_m = Diagram.discard(wires[i]), [], np.ones((wires[i].size, 1))
        else:
            i = min(i, len(wires) - 2)
            j = i + 2
            a, b = wires[i], wires[i + 1]
            mid, new, mid_m = Diagram.swap(a, b), [b, a], swap_matrix(a, b)
        pre, post = tuple(wires[:i]), tuple(wires[j:])
        layer = Diagram.id(*pre) @ mid @ Diagram.id(*post)
        diagram = diagram >> layer
        reference = reference @ np.kron(np.kron(np.eye(size(pre)), mid_m), np.eye(size(post)))
        wires = [*pre, *new, *post]
    return diagram, reference


@DIAGRAM_SETTINGS
@given(dr=layered_diagrams())
def test_tensor_is_a_functor_on_random_diagrams(dr):
    d, reference = dr
    np.testing.assert_allclose(matrix(d), reference, atol=TOL, rtol=0)
    # stochastic: rows sum to one
    np.testing.assert_allclose(matrix(d).sum(axis=1), 1.0, atol=TOL)


@DIAGRAM_SETTINGS
@given(d1=layered_diagrams(), d2=layered_diagrams(), data=st.data())
def test_tensor_of_composed_random_diagrams(d1, d2, data):
    (a, ra), (b, rb) = d1, d2
    np.testing.assert_allclose(matrix(a @ b), np.kron(ra, rb), atol=TOL, rtol=0)
    c, rc = data.draw(layered_diagrams(dom=a.cod), label="continuation")
    np.testing.assert_allclose(matrix(a >> c), ra @ rc, atol=TOL, rtol=0)
