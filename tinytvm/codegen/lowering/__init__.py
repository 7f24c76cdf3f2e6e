"""Lowering of integer operators to calls into the src_cpp kernel library.

A lowering turns one :class:`~tinytvm.ir.graph.Layer` into a :class:`LoweredLayer`: the
C function, its parameter struct (as data), the constant arrays it reads and the scratch
bytes it needs. Pointers are bound later, once the arena is planned, through
:class:`Slot` placeholders in the argument list.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from ...errors import UnsupportedOperatorError
from ...ir.graph import Layer
from ..c_syntax import CArray, CStruct, Expr


@dataclasses.dataclass(frozen=True)
class Slot:
    """An argument bound after planning: an activation input, the output, scratch, or a constant."""

    kind: str  # "input" | "inputs" (all activation operands, as an array) | "output" | "scratch" | "const" | "value"
    index: int = 0
    name: str = ""


@dataclasses.dataclass(frozen=True)
class LoweredLayer:
    function: str
    header: str
    source_family: str  # src_cpp/kernels/<family>*.c are needed
    params_type: str | None
    params: CStruct | None
    arguments: tuple[Slot, ...]
    constants: tuple[CArray, ...]
    scratch_bytes: int
    #: The kernel's own ``size_t f(const params*)``; host test builds check the planned size with it.
    scratch_function: str | None = None

    @property
    def constant_bytes(self) -> int:
        return sum(array.nbytes for array in self.constants)


def call_arguments(lowered: LoweredLayer, pointer: Callable[[Slot, int], Expr | None]) -> list[Expr]:
    """The kernel call's arguments after the params pointer. ``pointer(slot, position)`` binds the
    activation, output and scratch slots (and may override any other by returning an expression);
    constant arrays and literal values bind themselves."""
    constants = {array.name.rsplit("_", 1)[-1]: array for array in lowered.constants}
    arguments = []
    for position, slot in enumerate(lowered.arguments):
        bound = pointer(slot, position)
        if bound is None and slot.kind == "const":
            bound = Expr(constants[slot.name].name)
        elif bound is None and slot.kind == "value":
            bound = Expr(slot.name)
        elif bound is None:
            raise ValueError(f"argument slot {slot} of {lowered.function} is not bound")
        arguments.append(bound)
    return arguments


Lowering = Callable[[Layer, str, dict], LoweredLayer]
LOWERINGS: dict[str, Lowering] = {}


def lowers(*kernels: str):
    def register(function: Lowering) -> Lowering:
        for kernel in kernels:
            LOWERINGS[kernel] = function
        return function
    return register


def lower_layer(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    """Lower ``layer``; constant arrays are named ``<prefix>_<operand>``; ``tuning`` sets kernel knobs."""
    _load_all()
    lowering = LOWERINGS.get(layer.kernel)
    if lowering is None:
        raise UnsupportedOperatorError(layer.kernel, None, "no C kernel lowering for this operator",
                                       supported=list(LOWERINGS))
    return lowering(layer, prefix, tuning or {})


def _load_all() -> None:
    from . import conv, dense, elementwise, nonlinear, pool, shape  # noqa: F401  (registers lowerings)
