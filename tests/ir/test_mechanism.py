"""Tables (issue 17): a row whose sum is within TOLERANCE (1e-6) of one is divided by its sum
when the table is made, so every table holds rows that sum to one up to rounding; a row further
off is a TableError naming it."""

from __future__ import annotations

import numpy as np
import pytest

from causaldsl import FiniteType, Table, TableError
from causaldsl.ir.mechanism import TOLERANCE, renormalised

YesNo = FiniteType("YesNo", ["no", "yes"])


def test_rows_within_the_tolerance_are_renormalised():
    t = Table([[0.5, 0.5 + 1e-7], [0.3, 0.7], [0.25, 0.75 - 9e-7]], 1)
    sums = t.array.sum(axis=-1)
    assert np.allclose(sums, 1.0, atol=1e-15, rtol=0)
    assert t.array[0, 1] == pytest.approx((0.5 + 1e-7) / (1 + 1e-7), abs=1e-15)
    assert list(t.array[1]) == [0.3, 0.7]  # a row that sums to one is left as it is
    t.check([FiniteType(["a", "b", "c"])], [YesNo], "variable X")


def test_a_root_table_and_a_table_of_two_parents():
    assert Table([0.2, 0.8 + 5e-7], 0).array.sum() == pytest.approx(1.0, abs=1e-15)
    arr = np.full((2, 3, 2), 0.5)
    arr[1, 2] = [0.5, 0.5 + 0.999e-6]  # just within the tolerance
    t = Table(arr, 2)
    assert np.allclose(t.array.sum(axis=-1), 1.0, atol=1e-15, rtol=0)


def test_rows_beyond_the_tolerance_are_left_for_check_to_refuse():
    t = Table([[0.5, 0.5 + 2e-6], [0.5, 0.5]], 1)
    assert t.array[0, 1] == 0.5 + 2e-6
    with pytest.raises(TableError, match=r"row no of variable X \(given S\) sums to 1.000002, "
                                         r"not 1 \(off by \+2e-06\)"):
        t.check([YesNo], [YesNo], "variable X (given S)")


def test_what_renormalised_leaves_alone():
    nan = np.array([[np.nan, 1.0], [0.5, 0.5]])
    assert renormalised(nan, 1) is nan
    effect = np.ones((2, 2))  # no output axes: no rows
    assert renormalised(effect, 2) is effect
    assert renormalised(np.zeros((2, 0)), 1).shape == (2, 0)
    assert TOLERANCE == 1e-6


def test_a_model_built_in_python_or_in_the_language_holds_renormalised_rows():
    from causaldsl import ModelBuilder, parse

    b = ModelBuilder("m")
    b.observed("A", YesNo, [0.5, 0.5 + 1e-7])
    b.observed("B", YesNo, given="A", table={"no": [0.2, 0.8], "yes": [0.4, 0.6 - 1e-7]})
    built = b.build()
    written = parse("type YesNo = {no, yes}\nmodel m {\n  A : YesNo ~ [0.5, 0.5000001]\n"
                    "  B : YesNo ~ table(A) { no: [0.2, 0.8], yes: [0.4, 0.5999999] }\n}\n"
                    ).models["m"]
    for m in (built, written):
        for v in ("A", "B"):
            sums = m[v].mechanism.array.sum(axis=-1)
            assert np.allclose(sums, 1.0, atol=1e-15, rtol=0), (v, sums)
        total = float(np.asarray(m.query("P(A, B)")).sum())
        assert abs(total - 1.0) < 1e-15
    assert built.query("P(B = yes | A = yes)") == pytest.approx((0.6 - 1e-7) / (1 - 1e-7),
                                                                 abs=1e-15)
    assert built.intervene("B", [0.5, 0.5 + 1e-7], given=()).query("P(B = no)") == \
        pytest.approx(0.5 / (1 + 1e-7), abs=1e-15)


def test_a_row_that_sums_to_one_up_to_rounding_is_left_as_written():
    """``[0.48, 0.42, 0.1]`` sums to 1.0000000000000002 in floats: dividing it by its sum would
    change every number written (0.48000000000000004) and again at each reading, so a table
    read, written exactly and read again would drift. It is left as it is (issue 18)."""
    rows = [[0.48, 0.42, 0.1], [0.7, 0.21, 0.09], [0.1, 0.2, 0.7]]
    assert [sum(r) for r in rows] != [1.0, 1.0, 1.0]
    t = Table(rows, 1)
    assert t.array.tolist() == rows
    again = Table([[0.5, 0.5 + 1e-9]], 1)  # off by more than rounding: divided by its sum
    assert Table(again.array, 1).array.tolist() == again.array.tolist()  # once, not again
