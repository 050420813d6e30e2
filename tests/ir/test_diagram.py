"""Small hand-checked tests of the diagram IR: errors, the program form, types."""

from __future__ import annotations

import numpy as np
import pytest

from causaldsl import (
    Bool,
    Box,
    CausalTypeError,
    CompositionError,
    Diagram,
    FiniteType,
    Node,
    program,
)
from causaldsl.backends.exact import tensor
from examples.smoking import YesNo, smoking_model

Tri = FiniteType(["a", "b", "c"])


# -- composition errors name the wire and the types ----------------------------------------------

def test_composition_error_names_the_mismatched_wire_and_both_types():
    f = Box("f", (), (YesNo,))
    g = Box("g", (Tri,), (YesNo,))
    with pytest.raises(CompositionError) as err:
        f >> g
    msg = str(err.value)
    assert "wire 1" in msg and "'y0'" in msg  # the output wire of f, by position and name
    assert "YesNo" in msg and "{a, b, c}" in msg


def test_composition_error_points_at_the_second_wire():
    with pytest.raises(CompositionError) as err:
        Diagram.id(YesNo, Tri) >> Diagram.id(YesNo, YesNo)
    msg = str(err.value)
    assert "wire 2" in msg and "'x1'" in msg
    assert "{a, b, c}" in msg and "YesNo" in msg
    assert "wire 1" not in msg  # the first wire matches


def test_composition_error_on_wire_counts_names_both_products():
    f = Box("f", (), (YesNo, YesNo))
    g = Box("g", (YesNo,), (Tri,))
    with pytest.raises(CompositionError) as err:
        f >> g
    msg = str(err.value)
    assert "YesNo ⊗ YesNo" in msg and "2 output wires" in msg and "1 input" in msg


def test_program_errors_name_the_argument_wire_and_types():
    g = Box("g", (Tri,), (YesNo,))
    with pytest.raises(CompositionError) as err:
        @program(YesNo)
        def bad(x):
            return g(x)
    msg = str(err.value)
    assert "argument 1" in msg and "box g" in msg and "'x'" in msg
    assert "YesNo" in msg and "{a, b, c}" in msg

    with pytest.raises(CompositionError, match=r"takes 1 wires?, was given 2"):
        @program(Tri, Tri)
        def too_many(x, y):
            return g(x, y)


def test_a_box_applied_outside_a_program_is_refused():
    g = Box("g", (Tri,), (YesNo,))
    with pytest.raises(CausalTypeError, match="outside a program"):
        g("x")


def test_a_program_must_return_its_own_wires():
    g = Box("g", (Tri,), (YesNo,))
    leaked = []

    @program(Tri)
    def first(x):
        leaked.append(x)
        return g(x)

    with pytest.raises(CompositionError, match="wires of its own"):
        @program(Tri)
        def second(x):
            return leaked[0]


# -- the program form builds the same diagram as the algebraic form ------------------------------

@pytest.fixture(scope="module")
def boxes():
    model = smoking_model()
    return {n.box.name: n.box for n in model.diagram.nodes}, model


def test_program_form_equals_algebraic_form_for_smoking(boxes):
    b, _ = boxes
    h, s, t, c = b["H"], b["S"], b["T"], b["C"]
    algebraic = h >> Diagram.copy(YesNo) >> ((s >> t) @ Diagram.id(YesNo)) >> c

    @program()
    def net():
        hh = h()
        return c(t(s(hh)), hh)

    assert algebraic.dom == net.dom == ()
    assert algebraic.cod == net.cod == (YesNo,)
    assert algebraic == net
    assert hash(algebraic) == hash(net)
    np.testing.assert_allclose(tensor(algebraic), tensor(net), atol=1e-12)


def test_program_form_equals_the_models_diagram(boxes):
    b, model = boxes

    @program()
    def net():
        h = b["H"]()
        s = b["S"](h)
        t = b["T"](s)
        return s, t, b["C"](t, h)

    assert net == model.diagram

    @program()
    def reordered():  # independent nodes in another order, other wire names
        hidden = b["H"]()
        smoke = b["S"](hidden)
        tar = b["T"](smoke)
        cancer = b["C"](tar, hidden)
        return smoke, tar, cancer

    assert reordered == model.diagram

    @program()
    def outputs_swapped():
        h = b["H"]()
        s = b["S"](h)
        t = b["T"](s)
        return t, s, b["C"](t, h)

    assert outputs_swapped != model.diagram


def test_tensor_of_the_smoking_diagram_is_the_observational_marginal(boxes):
    b, model = boxes
    h, s, t, c = b["H"], b["S"], b["T"], b["C"]
    d = h >> Diagram.copy(YesNo) >> ((s >> t) @ Diagram.id(YesNo)) >> c
    np.testing.assert_allclose(tensor(d), np.asarray(model.query("P(C)")), atol=1e-12)


def test_equality_forgets_wire_names_and_the_order_of_independent_nodes():
    f = Box("f", (YesNo,), (Tri,))
    g = Box("g", (YesNo,), (YesNo,))
    one = Diagram(("x",), (YesNo,), (Node(f, ("x",), ("a",)), Node(g, ("x",), ("b",))),
                  ("a", "b"))
    two = Diagram(("in",), (YesNo,), (Node(g, ("in",), ("q",)), Node(f, ("in",), ("p",))),
                  ("p", "q"))
    assert one == two and hash(one) == hash(two)
    assert one.renamed({"x": "z", "a": "w"}) == one
    swapped = Diagram(("x",), (YesNo,), (Node(f, ("x",), ("a",)), Node(g, ("x",), ("b",))),
                      ("b", "a"))
    assert swapped != one


def test_copy_is_not_two_identities():
    assert Diagram.copy(YesNo) != Diagram.id(YesNo, YesNo)
    assert Diagram.copy(YesNo, 1) == Diagram.id(YesNo)
    assert Diagram.copy(YesNo, 0) == Diagram.discard(YesNo)


# -- finite types ----------------------------------------------------------------------------------

def test_finite_type_prints_its_values_or_its_name():
    assert str(FiniteType(["no", "yes"])) == "{no, yes}"
    assert str(FiniteType("YesNo", ["no", "yes"])) == "YesNo"
    assert str(FiniteType(["no", "yes"], name="YesNo")) == "YesNo"
    assert repr(FiniteType("YesNo", ["no", "yes"])) == "YesNo = {no, yes}"
    assert FiniteType("YesNo", ["no", "yes"]).definition() == "type YesNo = {no, yes}"
    assert str(FiniteType([0, 1, 2])) == "{0, 1, 2}"
    assert str(FiniteType([False, True])) == "{false, true}"
    assert str(Bool) == "Bool"


def test_finite_type_equality_is_structural():
    a = FiniteType("A", ["x", "y"])
    b = FiniteType("B", ["x", "y"])
    assert a == b and hash(a) == hash(b)
    assert a == FiniteType(["x", "y"])
    assert a != FiniteType(["y", "x"])  # the order of values matters
    assert a != FiniteType(["x", "y", "z"])
    assert FiniteType(["0", "1"]) != FiniteType([0, 1])  # labels, not their printed forms


def test_types_equal_up_to_name_compose():
    Answer = FiniteType("Answer", ["no", "yes"])
    f = Box("f", (), (YesNo,))
    g = Box("g", (Answer,), (Tri,))
    d = f >> g
    assert d.dom == () and d.cod == (Tri,)


def test_integer_and_boolean_types_differ():
    assert FiniteType([0, 1]) != Bool


def test_box_prints_its_signature():
    assert str(Box("h", (), (YesNo,))) == "h : I → YesNo"
    assert str(Box("c", (YesNo, Tri), (YesNo,))) == "c : YesNo ⊗ {a, b, c} → YesNo"


# -- chains of compositions: one pass, the same diagram as the binary operators ----------------

def test_a_chain_is_the_diagram_the_operators_give_wire_names_and_all():
    import itertools

    from causaldsl.ir.diagram import Chain

    a = Box("a", (YesNo,), (YesNo,))
    b = Box("b", (YesNo, YesNo), (YesNo,))
    c = Box("c", (), (YesNo,))
    x1 = Box("x_1", (YesNo,), (YesNo, YesNo))
    parts = [a, Diagram.copy(YesNo) >> b, x1 >> b, Diagram.id(YesNo), (a @ c) >> b, a >> x1 >> b]
    for first, *rest in itertools.permutations(parts, 4):
        by_ops = first.diagram if isinstance(first, Box) else first
        chain = Chain(first)
        for p in rest:
            by_ops = by_ops >> p
            chain.add(p)
        assert str(chain.diagram()) == str(by_ops)  # the same nodes and wire names
    for first, *rest in itertools.permutations([a, c, x1, b, Diagram.swap(YesNo, Tri)], 4):
        by_ops = first.diagram if isinstance(first, Box) else first
        chain = Chain(first, tensor=True)
        for p in rest:
            by_ops = by_ops @ p
            chain.add(p)
        assert str(chain.diagram()) == str(by_ops)
    assert str(a.diagram.then(a, x1, b)) == str(a >> a >> x1 >> b)


def test_a_long_chain_is_composed_in_linear_time_with_the_operators_errors():
    import time

    from causaldsl.ir.diagram import Chain

    a = Box("a", (YesNo,), (YesNo,))
    start = time.perf_counter()
    d = a.diagram.then(*[a] * 20000)
    assert len(d.nodes) == 20001 and d.dom == d.cod == (YesNo,)
    assert time.perf_counter() - start < 20  # quadratic (checked per step) took minutes
    chain = Chain(a)
    chain.add(a)
    with pytest.raises(CompositionError) as err:
        chain.add(Box("g", (Tri,), (YesNo,)))
    with pytest.raises(CompositionError) as by_ops:
        a >> a >> Box("g", (Tri,), (YesNo,))
    assert str(err.value) == str(by_ops.value)
