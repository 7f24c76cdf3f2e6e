"""Data-movement operators: values are copied, never requantized."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from ..op import OpRecord


@dataclasses.dataclass(frozen=True)
class Reshape(OpRecord):
    """Reinterpretation with the output type's shape (also SQUEEZE and flattening)."""

    KERNEL: ClassVar[str] = "reshape"

    output_scale: float
    output_zp: int

    def macs(self, in_shapes, out_shape) -> int:
        return 0


@dataclasses.dataclass(frozen=True)
class Transpose(OpRecord):
    KERNEL: ClassVar[str] = "transpose"

    output_scale: float
    output_zp: int
    perm: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Pad(OpRecord):
    """Constant padding; ``padding`` holds (before, after) per dimension, flattened."""

    KERNEL: ClassVar[str] = "pad"

    output_scale: float
    output_zp: int
    padding: tuple[int, ...]
    pad_value: int


@dataclasses.dataclass(frozen=True)
class Concat(OpRecord):
    """Concatenation along ``axis`` of inputs that share the output's quantization."""

    KERNEL: ClassVar[str] = "concat"
    OPERANDS: ClassVar[tuple[str, ...]] = ("inputs*",)

    output_scale: float
    output_zp: int
    axis: int
