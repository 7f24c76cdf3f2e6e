"""Non-linear, reduction, resampling and model-boundary operators (TFLM int8 semantics)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from ..op import OpRecord


@dataclasses.dataclass(frozen=True)
class Softmax(OpRecord):
    """TFLM int8 softmax (gemmlowp fixed-point exp), along the last axis."""

    KERNEL: ClassVar[str] = "softmax"

    output_scale: float
    output_zp: int
    input_multiplier: int
    input_left_shift: int
    diff_min: int


@dataclasses.dataclass(frozen=True)
class Logistic(OpRecord):
    """TFLM int8 logistic (gemmlowp fixed-point)."""

    KERNEL: ClassVar[str] = "logistic"

    output_scale: float
    output_zp: int
    input_zp: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int


@dataclasses.dataclass(frozen=True)
class Mean(OpRecord):
    """TFLM int8 MEAN over ``axes``."""

    KERNEL: ClassVar[str] = "mean"

    output_scale: float
    output_zp: int
    axes: tuple[int, ...]
    keepdims: bool
    input_zp: int
    multiplier: int
    shift: int


@dataclasses.dataclass(frozen=True)
class ResizeNearest(OpRecord):
    """RESIZE_NEAREST_NEIGHBOR on NHWC; output size from the output type."""

    KERNEL: ClassVar[str] = "resize_nearest"

    output_scale: float
    output_zp: int
    align_corners: bool
    half_pixel_centers: bool


@dataclasses.dataclass(frozen=True)
class Quantize(OpRecord):
    """float32 -> int8 at the model boundary: round(x / scale) + zp, saturated."""

    KERNEL: ClassVar[str] = "quantize"

    output_scale: float
    output_zp: int


@dataclasses.dataclass(frozen=True)
class Requantize(OpRecord):
    """int8 -> int8 change of scale/zero point (TFLite QUANTIZE with an int8 input)."""

    KERNEL: ClassVar[str] = "requantize"

    output_scale: float
    output_zp: int
    input_zp: int
    multiplier: int
    shift: int


@dataclasses.dataclass(frozen=True)
class Dequantize(OpRecord):
    """int8 -> float32 at the model boundary: scale * (q - zp)."""

    KERNEL: ClassVar[str] = "dequantize"

    output_scale: float  # unused for float outputs; kept so every record has the same header
    output_zp: int
    input_scale: float
    input_zp: int
