"""Queries on large models that were refused or ran for minutes (issue 17, items 4 and 10).

A point query on every variable of a 400-variable chain was refused as needing 2.6 × 10^120
entries, although its answer is a product of 400 numbers; a 40-variable, 10-state network ran
for minutes. Given values now slice the tables before planning, so a given wire leaves the
contraction, and outcomes with values are picked the same way when holding every value would
be too large. Each answer is checked against arithmetic done here, and the command line runs in
its own process under a 4 GiB address-space cap and a time limit."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from causaldsl import CausalModel, FiniteType, QueryError, Table, Variable
from tests.capped import causal

N = 400
STAY = {"a": {"a": 0.9, "b": 0.1}, "b": {"a": 0.2, "b": 0.8}}  # P(next | previous)
VALUES = ["b" if i % 3 == 0 else "a" for i in range(N)]  # X0 = b, X1 = a, X2 = a, X3 = b, …


def chain_file(tmp_path: Path) -> Path:
    lines = ["type B = {a, b}", "model chain {", "  X0 : B ~ [0.5, 0.5]"]
    lines += [f"  X{i} : B ~ table(X{i - 1}) {{ a: [0.9, 0.1], b: [0.2, 0.8] }}"
              for i in range(1, N)]
    f = tmp_path / "chain.causal"
    f.write_text("\n".join([*lines, "}", ""]), encoding="utf-8")
    return f


def answer(out: subprocess.CompletedProcess[str]) -> float:
    assert out.returncode == 0, out.stderr[-3000:]
    return float(out.stdout.strip().splitlines()[-1].removeprefix("= "))


def test_a_point_query_on_400_variables_is_a_product_of_400_numbers(tmp_path: Path) -> None:
    f = chain_file(tmp_path)
    # P(X0 = b) · Π P(X_i = v_i | X_{i-1} = v_{i-1}) = 0.5 · (a product of 399 transitions)
    want = 0.5 * math.prod(STAY[VALUES[i - 1]][VALUES[i]] for i in range(1, N))
    assert 1e-240 < want < 1e-220  # small but a normal float64: nothing underflows
    q = "P(" + ", ".join(f"X{i} = {v}" for i, v in enumerate(VALUES)) + ")"
    assert answer(causal("query", str(f), q, cwd=tmp_path)) == pytest.approx(want, rel=1e-5)


def test_with_evidence_the_normaliser_sums_the_picked_outcomes(tmp_path: Path) -> None:
    """P(X1 = v1, …, X399 = v399 | X0 = a): the evidence's probability is 1/2, so a normaliser
    taken from the picked joint (or evidence dropped as a constant) is off by 2 or by 10^231."""
    f = chain_file(tmp_path)
    values = ["a", *VALUES[1:]]
    want = math.prod(STAY[values[i - 1]][values[i]] for i in range(1, N))
    q = "P(" + ", ".join(f"X{i} = {v}" for i, v in enumerate(values) if i) + " | X0 = a)"
    assert answer(causal("query", str(f), q, cwd=tmp_path)) == pytest.approx(want, rel=1e-5)


def test_asking_for_the_whole_joint_is_refused_with_its_size(tmp_path: Path) -> None:
    f = chain_file(tmp_path)
    q = "P(" + ", ".join(f"X{i}" for i in range(N)) + ")"
    out = causal("query", str(f), q, cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr[-3000:]
    assert "about 2.6 × 10^120 entries, above the limit of 268,435,456" in out.stderr


D = FiniteType("D", [f"d{i}" for i in range(10)])


def dense_network(parents_each: int, seed: int = 0) -> tuple[CausalModel, dict[str, np.ndarray],
                                                             dict[str, tuple[str, ...]]]:
    """40 variables of 10 values, each with ``parents_each`` parents drawn from all earlier ones."""
    rng = np.random.default_rng(seed)
    tables, parents, vs = {}, {}, []
    for i in range(40):
        ps = tuple(f"X{j}" for j in sorted(rng.choice(i, min(i, parents_each), replace=False)))
        t = rng.dirichlet(np.ones(10), size=(10,) * len(ps))
        tables[f"X{i}"], parents[f"X{i}"] = t, ps
        vs.append(Variable(f"X{i}", D, parents=ps, mechanism=Table(t, len(ps))))
    return CausalModel.from_variables(vs, "dense"), tables, parents


@pytest.mark.parametrize("parents_each", [2, 4])
def test_a_point_query_on_a_dense_40_variable_network(within, parents_each: int) -> None:
    m, tables, parents = dense_network(parents_each)
    value = {f"X{i}": i % 10 for i in range(40)}
    # the product of one entry of each table, read here at the query's values
    want = math.prod(float(tables[v][(*(value[p] for p in parents[v]), value[v])])
                     for v in tables)
    q = "P(" + ", ".join(f"{v} = d{k}" for v, k in value.items()) + ")"
    with within(30):  # it was minutes
        assert m.query(q) == pytest.approx(want, rel=1e-9)
        # and given the first half, the second half: the same product without the first half
        given = ", ".join(f"X{i} = d{value[f'X{i}']}" for i in range(20))
        rest = ", ".join(f"X{i} = d{value[f'X{i}']}" for i in range(20, 40))
        first = math.prod(float(tables[v][(*(value[p] for p in parents[v]), value[v])])
                          for v in (f"X{i}" for i in range(20)))
        assert m.query(f"P({rest} | {given})") == pytest.approx(want / first, rel=1e-9)


def test_a_dense_query_too_large_to_answer_is_refused_fast(within) -> None:
    m, _, _ = dense_network(4)
    with within(30), pytest.raises(QueryError, match=r"above the limit of 268,435,456"):
        m.query("P(X39, X38, X37, X36, X35, X34, X33, X32, X31 | X0 = d1)")


def dense_file(tmp_path: Path, parents_each: int) -> tuple[Path, float, str]:
    """The dense network written as a ``.causal`` file, with a point query on all 40 variables
    and its answer by arithmetic here (one entry of each table)."""
    _, tables, parents = dense_network(parents_each)
    lines = ["type D = {" + ", ".join(D.values) + "}", "model dense {"]
    for v, t in tables.items():
        ps = parents[v]
        if not ps:
            lines.append(f"  {v} : D ~ [{', '.join(map(repr, t.tolist()))}]")
            continue
        rows = [f"    ({', '.join(f'd{i}' for i in key)}): [{', '.join(map(repr, t[key].tolist()))}]"
                for key in np.ndindex(*t.shape[:-1])]
        lines += [f"  {v} : D ~ table({', '.join(ps)}) {{", ",\n".join(rows), "  }"]
    f = tmp_path / "dense.causal"
    f.write_text("\n".join([*lines, "}", ""]), encoding="utf-8")
    value = {v: (3 * i) % 10 for i, v in enumerate(tables)}
    want = math.prod(float(tables[v][(*(value[p] for p in parents[v]), value[v])])
                     for v in tables)
    return f, want, "P(" + ", ".join(f"{v} = d{k}" for v, k in value.items()) + ")"


def test_the_command_answers_a_point_query_on_the_dense_network(tmp_path: Path) -> None:
    f, want, q = dense_file(tmp_path, 2)
    assert answer(causal("query", str(f), q, cwd=tmp_path)) == pytest.approx(want, rel=1e-5)
    out = causal("query", str(f), "P(X39, X38, X37, X36, X35, X34, X33, X32, X31)", cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr[-3000:]
    assert "1,000,000,000 entries, above the limit of 268,435,456" in out.stderr
