"""Binary element-wise operators with numpy-style broadcasting (TFLM int8 semantics)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from ..op import OpRecord


@dataclasses.dataclass(frozen=True)
class Add(OpRecord):
    """TFLM int8 ADD: both inputs are shifted left by ``left_shift``, rescaled to a common
    scale, summed, and the sum is requantized to the output."""

    KERNEL: ClassVar[str] = "add"
    OPERANDS: ClassVar[tuple[str, ...]] = ("lhs", "rhs")

    output_scale: float
    output_zp: int
    lhs_zp: int
    rhs_zp: int
    left_shift: int
    lhs_multiplier: int
    lhs_shift: int
    rhs_multiplier: int
    rhs_shift: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int
    #: Output overwrites the first operand (set by the InPlaceElementwise pass).
    in_place: bool = False


@dataclasses.dataclass(frozen=True)
class Mul(OpRecord):
    """TFLM int8 MUL: ``(lhs - lhs_zp) * (rhs - rhs_zp)`` requantized to the output."""

    KERNEL: ClassVar[str] = "mul"
    OPERANDS: ClassVar[tuple[str, ...]] = ("lhs", "rhs")

    output_scale: float
    output_zp: int
    lhs_zp: int
    rhs_zp: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int
    #: Output overwrites the first operand (set by the InPlaceElementwise pass).
    in_place: bool = False
