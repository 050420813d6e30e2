"""Expression syntax trees: the nodes a `:=` or `~` right-hand side parses to, shared by the
language, the IR's expression semantics and the backends. Each node carries its Span.

A tree may be as deep as its source is long (``1 + 1 + … + 1`` is a chain of a thousand
``Binary`` nodes), so nothing here recurses on the depth of a tree: :func:`fold` walks one with
a stack of its own, and a Record compares, hashes and prints the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from causaldsl.syntax.diagnostics import Span


class Record:
    """An immutable syntax node: fields from the class annotations, equality and hashing by
    value. (Like a frozen dataclass, without generating code per class: start-up matters.)"""

    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls) -> None:
        ann = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - own fields only, no import
        cls._fields = tuple(ann)
        cls._defaults = {k: cls.__dict__[k] for k in ann if k in cls.__dict__}

    def __init__(self, *args: Any, **kw: Any):
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} fields")
        values = dict(zip(fields, args, strict=False))
        for k, v in kw.items():
            if k not in fields or k in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated field {k!r}")
            values[k] = v
        for k in fields:
            if k not in values:
                if k not in self._defaults:
                    raise TypeError(f"{type(self).__name__}: missing field {k!r}")
                values[k] = self._defaults[k]
        object.__setattr__(self, "_values", tuple(values[k] for k in fields))
        self.__dict__.update(values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed (the node itself is immutable)."""
        return type(self)(**{**dict(zip(self._fields, self._values, strict=True)),  # type: ignore[attr-defined]
                             **changes})

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        pairs: list[tuple[Any, Any]] = [(self, other)]
        while pairs:  # a stack of pairs still to compare, not recursion: trees can be deep
            a, b = pairs.pop()
            if a is b:
                continue
            if isinstance(a, Record):
                if type(b) is not type(a):
                    return False
                pairs.extend(zip(a._values, b._values, strict=True))  # type: ignore[attr-defined]
            elif type(a) is tuple and type(b) is tuple:  # a plain tuple of nodes
                if len(a) != len(b):
                    return False
                pairs.extend(zip(a, b, strict=True))
            elif isinstance(b, Record) or a != b:
                return False
        return True

    def __hash__(self) -> int:
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            # the nodes below first, deepest first, so that no hash recurses more than a level
            for node in reversed(list(_records(self))):
                if "_hash" not in node.__dict__:
                    node.__dict__["_hash"] = hash((type(node).__name__, node._values))  # type: ignore[attr-defined]
            cached = self.__dict__["_hash"]
        return cached

    def __repr__(self) -> str:
        out: list[str] = []
        todo: list[Any] = [_Node(self)]
        while todo:  # pieces of text, and values still to print
            x = todo.pop()
            if isinstance(x, str):
                out.append(x)
                continue
            v = x.value
            if isinstance(v, Record):
                pieces: list[Any] = [f"{type(v).__name__}("]
                for i, (k, y) in enumerate(zip(v._fields, v._values, strict=True)):  # type: ignore[attr-defined]
                    pieces += [", " if i else "", f"{k}=", _Node(y)]
                pieces.append(")")
            elif type(v) is tuple:  # a plain tuple (a subclass prints its own way)
                pieces = ["("]
                for i, y in enumerate(v):
                    pieces += [", " if i else "", _Node(y)]
                pieces.append(",)" if len(v) == 1 else ")")
            else:
                pieces = [repr(v)]
            todo.extend(reversed(pieces))
        return "".join(out)


class _Node:
    """A value still to print (told apart from the text already printed)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


def _records(root: Record) -> Iterator[Record]:
    """The Records in a tree, each before the ones below it (through plain tuples too)."""
    todo: list[Any] = [root]
    while todo:
        x = todo.pop()
        if isinstance(x, Record):
            yield x
            todo.extend(x._values)  # type: ignore[attr-defined]
        elif type(x) is tuple:
            todo.extend(x)


class Num(Record):
    value: float
    span: Span


class BoolLit(Record):
    value: bool
    span: Span


class Var(Record):
    name: str
    span: Span


class Call(Record):
    func: str
    args: tuple[Any, ...]
    span: Span


class ListLit(Record):
    items: tuple[Any, ...]
    span: Span


class Unary(Record):
    op: str  # "-" or "not"
    arg: Any
    span: Span


class Binary(Record):
    op: str  # + - * / ^ and or == != < <= > >=
    left: Any
    right: Any
    span: Span


class IfElse(Record):
    cond: Any
    then: Any
    other: Any
    span: Span


Expr = Num | BoolLit | Var | Call | ListLit | Unary | Binary | IfElse


class DistCall(Record):
    name: str
    args: tuple[Any, ...]
    span: Span


# -- walking a tree without recursion ----------------------------------------------------------


def children(e: Any) -> tuple[Any, ...]:
    """The subexpressions of an expression node, in the order they are written."""
    if isinstance(e, Call | DistCall):
        return tuple(e.args)
    if isinstance(e, ListLit):
        return tuple(e.items)
    if isinstance(e, Unary):
        return (e.arg,)
    if isinstance(e, Binary):
        return (e.left, e.right)
    if isinstance(e, IfElse):
        return (e.cond, e.then, e.other)
    return ()


def fold(root: Any, leave: Callable[[Any, list[Any]], Any], *,
         kids: Callable[[Any], tuple[Any, ...]] = children,
         enter: Callable[[Any], None] | None = None,
         after: Callable[[Any, int, Any], None] | None = None) -> Any:
    """The value of a tree, computed bottom-up with a stack of its own (any depth):
    ``leave(node, values)`` gives a node's value from the values of its ``kids`` (in order).
    ``enter(node)`` is called as a node is reached, before its kids; ``after(node, i, value)``
    as the value of its kid ``i`` is known, before the next kid is walked, so a check can stop
    the walk where a recursive walker would."""
    if enter is not None:
        enter(root)
    first = kids(root)
    if not first:
        return leave(root, [])
    stack: list[tuple[Any, tuple[Any, ...], list[Any]]] = [(root, first, [])]
    while True:
        node, below, values = stack[-1]
        if len(values) < len(below):
            child = below[len(values)]
            if enter is not None:
                enter(child)
            grand = kids(child)
            if grand:
                stack.append((child, grand, []))
                continue
            value = leave(child, [])
        else:
            stack.pop()
            value = leave(node, values)
            if not stack:
                return value
            node, below, values = stack[-1]
        if after is not None:
            after(node, len(values), value)
        values.append(value)


def walk(root: Any, kids: Callable[[Any], tuple[Any, ...]] = children) -> Iterator[Any]:
    """Every node of a tree, each before its kids and the kids in order (any depth)."""
    todo = [root]
    while todo:
        x = todo.pop()
        yield x
        todo.extend(reversed(kids(x)))
