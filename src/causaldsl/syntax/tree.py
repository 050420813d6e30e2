"""Expression syntax trees: the nodes a `:=` or `~` right-hand side parses to, shared by the
language, the IR's expression semantics and the backends. Each node carries its Span."""

from __future__ import annotations

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

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values == self._values  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values))  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in zip(self._fields, self._values,  # type: ignore[attr-defined]
                                                       strict=True))
        return f"{type(self).__name__}({inner})"


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
