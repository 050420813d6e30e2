"""The diagram IR: boxes, and diagrams in named-wire SSA form (Fritz–Liang hypergraphs).

A diagram has typed input wires, a topologically ordered tuple of nodes (a box applied to wires,
producing wires) and output wires. Copying is using a wire twice; discarding is not using it.
All values are immutable: combinators build new diagrams. Equality is structural on a normal form
that forgets wire names and the order of independent nodes, so the category laws hold as ``==``.
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from causaldsl.core.drawable import Drawable
from causaldsl.core.errors import CausalTypeError, CompositionError, count
from causaldsl.core.types import Type, product_str
from causaldsl.ir.mechanism import ExprMechanism, Table, UnknownTable

Mechanism = Table | ExprMechanism | UnknownTable


@dataclass(frozen=True)
class Box:
    """A generator ``dom → cod`` with a name and, optionally, a mechanism giving its meaning."""

    name: str
    dom: tuple[Type, ...]
    cod: tuple[Type, ...]
    mechanism: Mechanism | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dom", tuple(self.dom))
        object.__setattr__(self, "cod", tuple(self.cod))
        if self.mechanism is not None and not isinstance(self.mechanism, (Table, ExprMechanism,
                                                                           UnknownTable)):
            try:
                object.__setattr__(self, "mechanism", Table(self.mechanism, len(self.dom)))
            except (TypeError, ValueError) as e:
                raise CausalTypeError(f"the mechanism of box {self.name} must be a table "
                                      f"(an array of shape dom + cod): {e}") from None
        if isinstance(self.mechanism, Table | UnknownTable):
            self.mechanism.check(self.dom, self.cod, f"box {self.name}")

    def __str__(self) -> str:
        return f"{self.name} : {product_str(self.dom)} → {product_str(self.cod)}"

    @property
    def diagram(self) -> Diagram:
        """This box alone, as a diagram."""
        ins = tuple(f"x{i}" for i in range(len(self.dom)))
        outs = tuple(f"y{i}" for i in range(len(self.cod)))
        return Diagram(ins, self.dom, (Node(self, ins, outs),), outs)

    def __rshift__(self, other: Diagram | Box) -> Diagram:
        return self.diagram >> other

    def __rrshift__(self, other: Diagram | Box) -> Diagram:
        return as_diagram(other) >> self.diagram

    def __matmul__(self, other: Diagram | Box) -> Diagram:
        return self.diagram @ other

    def __rmatmul__(self, other: Diagram | Box) -> Diagram:
        return as_diagram(other) @ self.diagram

    def __call__(self, *wires: WireRef) -> Any:
        """Apply the box to wires inside :func:`program`; returns its output wire(s)."""
        builder = _active_program.get()
        if builder is None:
            raise CausalTypeError(f"box {self.name} was applied to wires outside a program; "
                                  "use it inside a function decorated with @program(...)")
        return builder.apply(self, wires)


@dataclass(frozen=True)
class Node:
    """One application of a box: the wires it reads and the wires it defines."""

    box: Box
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Diagram(Drawable):
    """A string diagram ``dom → cod`` in SSA form over named wires."""

    inputs: tuple[str, ...]
    input_types: tuple[Type, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in ("inputs", "input_types", "nodes", "outputs"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if len(self.inputs) != len(self.input_types):
            raise CausalTypeError("a diagram needs one type per input wire")
        defined: dict[str, Type] = {}
        for w, t in zip(self.inputs, self.input_types, strict=True):
            if w in defined:
                raise CausalTypeError(f"input wire {w!r} is listed twice")
            defined[w] = t
        for node in self.nodes:
            if len(node.inputs) != len(node.box.dom) or len(node.outputs) != len(node.box.cod):
                raise CausalTypeError(f"box {node.box} is applied to {len(node.inputs)} wires "
                                      f"and defines {len(node.outputs)}")
            for i, (w, t) in enumerate(zip(node.inputs, node.box.dom, strict=True)):
                if w not in defined:
                    raise CausalTypeError(f"box {node.box.name} reads wire {w!r} before it is "
                                          "defined")
                if defined[w] != t:
                    raise CausalTypeError(f"input {i + 1} of box {node.box.name} has type {t}, "
                                          f"but wire {w!r} has type {defined[w]}")
            for w, t in zip(node.outputs, node.box.cod, strict=True):
                if w in defined:
                    raise CausalTypeError(f"wire {w!r} is defined twice (SSA form)")
                defined[w] = t
        for w in self.outputs:
            if w not in defined:
                raise CausalTypeError(f"output wire {w!r} is never defined")
        object.__setattr__(self, "_types", defined)

    # -- types ---------------------------------------------------------------------------
    @property
    def wire_types(self) -> Mapping[str, Type]:
        return self._types  # type: ignore[attr-defined]

    @property
    def dom(self) -> tuple[Type, ...]:
        return self.input_types

    @property
    def cod(self) -> tuple[Type, ...]:
        return tuple(self.wire_types[w] for w in self.outputs)

    def __str__(self) -> str:
        lines = [f"diagram ({', '.join(f'{w} : {t}' for w, t in zip(self.inputs, self.dom, strict=True))})"
                 f" -> {product_str(self.cod)} {{"]
        for n in self.nodes:
            lhs = ", ".join(n.outputs)
            lines.append(f"  {lhs + ' = ' if lhs else ''}{n.box.name}({', '.join(n.inputs)})")
        lines.append(f"  return {', '.join(self.outputs)}")
        lines.append("}")
        return "\n".join(lines)

    __repr__ = __str__

    # -- constructors ------------------------------------------------------------------
    @staticmethod
    def id(*types: Type) -> Diagram:
        """The identity on a product of types."""
        ws = tuple(f"x{i}" for i in range(len(types)))
        return Diagram(ws, types, (), ws)

    @staticmethod
    def copy(t: Type, n: int = 2) -> Diagram:
        """Copy a wire of type ``t`` into ``n`` (``n = 0`` discards)."""
        return Diagram(("x",), (t,), (), ("x",) * n)

    @staticmethod
    def discard(*types: Type) -> Diagram:
        ws = tuple(f"x{i}" for i in range(len(types)))
        return Diagram(ws, types, (), ())

    @staticmethod
    def swap(a: Type, b: Type) -> Diagram:
        return Diagram(("x", "y"), (a, b), (), ("y", "x"))

    # -- combinators -------------------------------------------------------------------
    def __rshift__(self, other: Diagram | Box) -> Diagram:
        """Sequential composition ``self ; other``: outputs of self feed inputs of other."""
        other = as_diagram(other)
        if len(self.outputs) != len(other.inputs):
            raise CompositionError(
                f"cannot compose {product_str(self.cod)} with {product_str(other.dom)}: the first "
                f"has {count(len(self.outputs), 'output wire')}, the second "
                f"{count(len(other.inputs), 'input')}")
        for i, (a, b) in enumerate(zip(self.cod, other.dom, strict=True)):
            if a != b:
                raise CompositionError(
                    f"cannot compose: output wire {i + 1} ({self.outputs[i]!r}) has type {a}, "
                    f"but input wire {i + 1} ({other.inputs[i]!r}) of the next diagram expects {b}")
        taken = set(self.wire_types)
        rename = dict(zip(other.inputs, self.outputs, strict=True))
        rename.update(_fresh_names([w for w in other.wire_types if w not in rename], taken))
        nodes = self.nodes + tuple(_rename_node(n, rename) for n in other.nodes)
        return Diagram(self.inputs, self.input_types, nodes,
                       tuple(rename[w] for w in other.outputs))

    def __matmul__(self, other: Diagram | Box) -> Diagram:
        """Parallel composition (tensor) ``self ⊗ other``."""
        other = as_diagram(other)
        rename = _fresh_names(list(other.wire_types), set(self.wire_types))
        return Diagram(self.inputs + tuple(rename[w] for w in other.inputs),
                       self.input_types + other.input_types,
                       self.nodes + tuple(_rename_node(n, rename) for n in other.nodes),
                       self.outputs + tuple(rename[w] for w in other.outputs))

    def then(self, *others: Diagram | Box) -> Diagram:
        """``self >> others[0] >> others[1] …``, the same diagram, in time linear in its size."""
        chain = Chain(self)
        for o in others:
            chain.add(o)
        return chain.diagram()

    # -- structure ---------------------------------------------------------------------
    def producers(self) -> dict[str, Node]:
        return {w: n for n in self.nodes for w in n.outputs}

    @cached_property
    def normal_form(self) -> tuple[Any, ...]:
        """A canonical value: equal for diagrams equal up to wire names and interchange."""
        return _normal_form(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Diagram) and self.normal_form == other.normal_form

    def __hash__(self) -> int:
        return hash(self.normal_form)

    def renamed(self, mapping: Mapping[str, str]) -> Diagram:
        """The same diagram with some wires renamed (others keep their names)."""
        r = {w: mapping.get(w, w) for w in self.wire_types}
        if len(set(r.values())) != len(r):
            raise CausalTypeError("renaming would give two wires the same name")
        return Diagram(tuple(r[w] for w in self.inputs), self.input_types,
                       tuple(_rename_node(n, r) for n in self.nodes),
                       tuple(r[w] for w in self.outputs))


def as_diagram(x: Diagram | Box) -> Diagram:
    if isinstance(x, Box):
        return x.diagram
    if isinstance(x, Diagram):
        return x
    raise CausalTypeError(f"expected a diagram or a box, got {type(x).__name__}")


# -- the program form ------------------------------------------------------------------------

@dataclass(frozen=True)
class WireRef:
    """A wire inside a program under construction."""

    name: str
    type: Type
    owner: int


class _ProgramBuilder:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.types: dict[str, Type] = {}
        self.counter = itertools.count()

    def new(self, t: Type, hint: str) -> WireRef:
        name = hint
        while name in self.types:
            name = f"{hint}_{next(self.counter)}"
        self.types[name] = t
        return WireRef(name, t, id(self))

    def apply(self, box: Box, wires: Sequence[WireRef]) -> Any:
        if len(wires) != len(box.dom):
            raise CompositionError(f"box {box} takes {count(len(box.dom), 'wire')}, was given "
                                   f"{len(wires)}")
        for i, (w, t) in enumerate(zip(wires, box.dom, strict=True)):
            if not isinstance(w, WireRef) or w.owner != id(self):
                raise CompositionError(f"argument {i + 1} of box {box.name} is not a wire of "
                                       "this program")
            if w.type != t:
                raise CompositionError(f"argument {i + 1} of box {box.name} is wire {w.name!r} "
                                       f"of type {w.type}, but the box expects {t}")
        outs = [self.new(t, box.name if len(box.cod) == 1 else f"{box.name}{k}")
                for k, t in enumerate(box.cod)]
        self.nodes.append(Node(box, tuple(w.name for w in wires), tuple(o.name for o in outs)))
        if len(outs) == 1:
            return outs[0]
        return tuple(outs)


_active_program: contextvars.ContextVar[_ProgramBuilder | None] = contextvars.ContextVar(
    "active_program", default=None)


def program(*input_types: Type) -> Callable[[Callable[..., Any]], Diagram]:
    """Build a diagram from a Python function over wires (copy = reuse, discard = non-use).

    >>> @program(YesNo)
    ... def net(x):
    ...     return f(x), g(x)
    """

    def build(fn: Callable[..., Any]) -> Diagram:
        builder = _ProgramBuilder()
        names = fn.__code__.co_varnames[: len(input_types)]
        ins = [builder.new(t, n) for t, n in zip(input_types, names, strict=False)]
        token = _active_program.set(builder)
        try:
            result = fn(*ins)
        finally:
            _active_program.reset(token)
        outs = () if result is None else (result,) if isinstance(result, WireRef) else tuple(result)
        for o in outs:
            if not isinstance(o, WireRef) or o.owner != id(builder):
                raise CompositionError("a program must return wires of its own")
        return Diagram(tuple(w.name for w in ins), tuple(input_types), tuple(builder.nodes),
                       tuple(o.name for o in outs))

    return build


class Chain:
    """``d0 ; d1 ; d2 …`` (or ``d0 ⊗ d1 ⊗ …`` with ``tensor``) built one step at a time: each
    step is checked as ``>>`` (``@``) checks it and names wires as it does, so the result is
    the diagram the binary operators give, but the whole is checked once at the end, not at
    every step (a chain of thousands of boxes takes time linear in its length)."""

    def __init__(self, first: Diagram | Box, tensor: bool = False):
        d = as_diagram(first)
        self.tensor = tensor
        self.inputs, self.input_types = list(d.inputs), list(d.input_types)
        self.nodes = list(d.nodes)
        self.outputs = tuple(d.outputs)
        self.types: dict[str, Type] = dict(d.wire_types)  # every wire so far: the names taken
        self.tried: dict[str, int] = {}  # a name → the k below which name_k are all taken

    def add(self, other: Diagram | Box) -> None:
        other = as_diagram(other)
        if self.tensor:
            rename = self._fresh(list(other.wire_types), other)
            self.inputs += [rename[w] for w in other.inputs]
            self.input_types += other.input_types
            self.outputs += tuple(rename[w] for w in other.outputs)
        else:
            cod = tuple(self.types[w] for w in self.outputs)
            if len(self.outputs) != len(other.inputs):
                raise CompositionError(
                    f"cannot compose {product_str(cod)} with {product_str(other.dom)}: the first "
                    f"has {count(len(self.outputs), 'output wire')}, the second "
                    f"{count(len(other.inputs), 'input')}")
            for i, (a, b) in enumerate(zip(cod, other.dom, strict=True)):
                if a != b:
                    raise CompositionError(
                        f"cannot compose: output wire {i + 1} ({self.outputs[i]!r}) has type {a}, "
                        f"but input wire {i + 1} ({other.inputs[i]!r}) of the next diagram "
                        f"expects {b}")
            rename = dict(zip(other.inputs, self.outputs, strict=True))
            rename.update(self._fresh([w for w in other.wire_types if w not in rename], other))
            self.outputs = tuple(rename[w] for w in other.outputs)
        self.nodes.extend(_rename_node(n, rename) for n in other.nodes)

    def _fresh(self, names: list[str], other: Diagram) -> dict[str, str]:
        """New names for ``other``'s wires, as :func:`_fresh_names` gives them, without
        copying the names taken or trying again the suffixes known to be taken."""
        out: dict[str, str] = {}
        for w in names:
            new = w
            if new in self.types:
                k = self.tried.get(w, 1)
                new = f"{w}_{k}"
                while new in self.types:
                    k += 1
                    new = f"{w}_{k}"
                self.tried[w] = k + 1
            self.types[new] = other.wire_types[w]
            out[w] = new
        return out

    def diagram(self) -> Diagram:
        return Diagram(tuple(self.inputs), tuple(self.input_types), tuple(self.nodes),
                       self.outputs)


# -- helpers -----------------------------------------------------------------------------------

def _rename_node(n: Node, r: Mapping[str, str]) -> Node:
    return Node(n.box, tuple(r[w] for w in n.inputs), tuple(r[w] for w in n.outputs))


def _fresh_names(names: Iterable[str], taken: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    used = set(taken)
    for w in names:
        new = w
        k = 1
        while new in used:
            new = f"{w}_{k}"
            k += 1
        used.add(new)
        out[w] = new
    return out


def _normal_form(d: Diagram) -> tuple[Any, ...]:
    """Order nodes canonically (post-order DFS from the outputs, then dead parts by their
    structure) and name wires by position, so the result forgets names and interchange."""
    producer = {w: (i, k) for i, n in enumerate(d.nodes) for k, w in enumerate(n.outputs)}
    # structural hash of every wire, used to order parts not reachable from the outputs
    term: dict[str, int] = {w: hash(("in", i)) for i, w in enumerate(d.inputs)}
    node_key: list[int] = []
    for n in d.nodes:
        key = hash((n.box, tuple(term[w] for w in n.inputs)))
        node_key.append(key)
        for k, w in enumerate(n.outputs):
            term[w] = hash((key, k))
    order: list[int] = []
    seen: set[int] = set()

    def visit(root: int) -> None:
        stack: list[tuple[int, int]] = [(root, 0)]
        seen.add(root)
        while stack:
            i, pos = stack.pop()
            ins = d.nodes[i].inputs
            while pos < len(ins):
                p = producer.get(ins[pos])
                pos += 1
                if p is not None and p[0] not in seen:
                    stack.append((i, pos))
                    seen.add(p[0])
                    stack.append((p[0], 0))
                    break
            else:
                order.append(i)

    for w in d.outputs:
        p = producer.get(w)
        if p is not None and p[0] not in seen:
            visit(p[0])
    consumers: dict[int, set[int]] = {i: set() for i in range(len(d.nodes))}
    for j, n in enumerate(d.nodes):
        for w in n.inputs:
            if w in producer:
                consumers[producer[w][0]].add(j)
    while len(seen) < len(d.nodes):
        sinks = [i for i in range(len(d.nodes)) if i not in seen and consumers[i] <= seen]
        visit(min(sinks, key=lambda i: (node_key[i], i)))
    name: dict[str, str] = {w: f"i{k}" for k, w in enumerate(d.inputs)}
    c = itertools.count()
    nodes = []
    for i in order:
        n = d.nodes[i]
        nodes.append((n.box, tuple(name[w] for w in n.inputs)))
        for w in n.outputs:
            name[w] = f"w{next(c)}"
    return (d.input_types, tuple(nodes), tuple(name[w] for w in d.outputs))
