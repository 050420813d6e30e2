"""Tensors with one named axis per wire, and contractions of them: a node's tensor, a planned
contraction partially evaluated ahead of time (``stage``), and the host's einsum that runs one
step. Shared by the exact engine's pruned contractions and its junction trees."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from causaldsl.backends import jax64
from causaldsl.backends.eliminate import PLAIN_EINSUM
from causaldsl.backends.plan import Plan, plan
from causaldsl.core.errors import MechanismError
from causaldsl.ir.diagram import Node
from causaldsl.ir.mechanism import Table


class Factor(NamedTuple):
    """An operand of a contraction: a tensor with one named axis per wire. ``array`` is None
    for an operand that is given only when the contraction runs (a one-hot of a value, or a
    table that a batch replaces)."""

    wires: tuple[Hashable, ...]
    shape: tuple[int, ...]
    array: np.ndarray | None = None


def node_factor(node: Node, model: str | None = None) -> Factor:
    """A node's tensor: its box's table, one axis per wire (the node's inputs, then its
    outputs). ``model`` names the model whose variable the node defines, for the error when
    it has no table (without it the node is any diagram's box)."""
    mech = node.box.mechanism
    if not isinstance(mech, Table):
        raise no_table_error(node.box.name, mech, model)
    return Factor((*node.inputs, *node.outputs), mech.shape, mech.array)


def no_table_error(name: str, mech: Any, model: str | None) -> MechanismError:
    if model is None:
        return MechanismError(f"box {name} has no table, so it has no exact meaning")
    if mech is None:
        return MechanismError(f"variable {name} of model {model} has no table; exact answers "
                              "need every variable the query depends on to have one")
    return MechanismError(f"variable {name} of model {model} has the mechanism {mech}, which "
                          "has no table; exact answers need finite types and tables (continuous "
                          "models are for the sampling backend)")


def ones_factor(wire: Hashable, size: int) -> Factor:
    """A wire that no other operand reads, left open: constant along its axis."""
    return Factor((wire,), (size,), np.ones(size))


def plan_factors(factors: Sequence[Factor], output: Sequence[Hashable],
                 limit: int | None = None, search: bool = True,
                 order_by: Mapping[Any, int] | None = None) -> Plan:
    """The contraction order of ``factors`` down to the ``output`` wires (``plan.plan``)."""
    return plan([(f.wires, f.shape) for f in factors], output, limit, search, order_by)


@dataclass(frozen=True)
class Staged:
    """A planned contraction, partially evaluated: the ``hoisted`` steps whose operands were
    all known are done; ``run(args, einsum)`` does the rest, given the operands that were not
    known (in order), with ``einsum`` (``jax.numpy.einsum`` unless told otherwise)."""

    run: Callable[..., Any]
    hoisted: int


def stage(p: Plan, operands: Sequence[np.ndarray | None]) -> Staged:
    """Partially evaluate a plan: run now, on the host, every step whose operands are all
    known (``operands`` entries that are not None); keep the rest for ``run``."""
    known: list[Any] = []
    live: list[tuple[bool, int]] = []  # per operand left: (known?, position in known or slots)
    n_args = 0
    for a in operands:
        if a is None:
            live.append((False, n_args))
            n_args += 1
        else:
            known.append(a)
            live.append((True, len(known) - 1))
    later: list[tuple[str, tuple[tuple[bool, int], ...], int]] = []
    n_slots = n_args
    hoisted = 0
    for positions, eq in p.steps:
        ins = tuple(live.pop(i) for i in positions)
        if all(is_known for is_known, _ in ins):  # on the host: no compilation per step
            known.append(numpy_einsum(eq, *(np.asarray(known[k]) for _, k in ins)))
            live.append((True, len(known) - 1))
            hoisted += 1
        else:
            later.append((eq, ins, n_slots))
            live.append((False, n_slots))
            n_slots += 1
    (result,) = live
    used = {k for _, ins, _ in later for is_known, k in ins if is_known}
    if result[0]:
        used.add(result[1])
    kept = {k: known[k] for k in used}  # drop intermediates consumed ahead of time

    def run(args: Sequence[Any], einsum: Callable[..., Any] | None = None) -> Any:
        einsum = einsum or jax64.jnp().einsum
        slots: list[Any] = [*args, *([None] * (n_slots - n_args))]
        for eq, ins, out in later:
            slots[out] = einsum(eq, *(kept[k] if is_known else slots[k] for is_known, k in ins))
        is_known, k = result
        return kept[k] if is_known else slots[k]

    return Staged(run, hoisted)


def numpy_einsum(eq: str, *ops: Any) -> np.ndarray:
    """One step of a plan on the host, without searching for a path again: a plain einsum
    loop over at most PLAIN_EINSUM index combinations, else BLAS (``tensordot``) for a pair,
    which costs a few tens of µs to set up."""
    eq = numpy_letters(eq)
    if len(ops) < 2:
        return np.einsum(eq, *ops)
    dims: dict[str, int] = {}
    for term, op in zip(eq.split("->")[0].split(","), ops, strict=True):
        dims.update(zip(term, np.shape(op), strict=True))
    if math.prod(dims.values()) <= PLAIN_EINSUM:
        return np.einsum(eq, *ops)
    return np.einsum(eq, *ops, optimize=["einsum_path", (0, 1)] if len(ops) == 2 else True)


@functools.lru_cache(maxsize=65536)
def numpy_letters(eq: str) -> str:
    """NumPy's einsum knows only 52 letters; one pairwise step never needs more."""
    import opt_einsum  # here: the bucket tier never runs a staged step

    letters = {c: opt_einsum.get_symbol(i) for i, c in enumerate(dict.fromkeys(
        ch for ch in eq if ch not in ",->"))}
    return "".join(letters.get(ch, ch) for ch in eq)
