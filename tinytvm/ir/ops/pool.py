"""2-D pooling over NHWC int8 tensors. Input and output share scale and zero point."""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, Sequence

from ..op import OpRecord


@dataclasses.dataclass(frozen=True)
class AvgPool2D(OpRecord):
    """Average over the valid (non-padding) part of each window, rounded half away from zero."""

    KERNEL: ClassVar[str] = "avg_pool2d"

    output_scale: float
    output_zp: int
    pool: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    act_min: int
    act_max: int

    def macs(self, in_shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...]) -> int:
        return math.prod(out_shape) * self.pool[0] * self.pool[1]


@dataclasses.dataclass(frozen=True)
class MaxPool2D(OpRecord):
    """Maximum over each window (padding never wins)."""

    KERNEL: ClassVar[str] = "max_pool2d"

    output_scale: float
    output_zp: int
    pool: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    act_min: int
    act_max: int

    def macs(self, in_shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...]) -> int:
        return math.prod(out_shape) * self.pool[0] * self.pool[1]
