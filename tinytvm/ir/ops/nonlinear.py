"""Non-linear, reduction, resampling and model-boundary operators (TFLM int8 semantics).

Every record carries the integer parameters TFLite Micro's ``Prepare`` derives (see
:mod:`tinytvm.quantization.nonlinear_params`), so a kernel needs nothing but the record
and its operands to reproduce TFLM's output bit for bit.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, Sequence

from ..op import OpRecord


@dataclasses.dataclass(frozen=True)
class Softmax(OpRecord):
    """TFLM int8 -> int8 softmax along the last axis (``reference_ops::Softmax``, gemmlowp fixed point).

    Per row: ``diff = x - max(row)``; entries with ``diff < diff_min`` give -128; the others
    are rescaled to Q5.26 by ``SRDHM(diff * 2^input_left_shift, input_multiplier)``, exponentiated
    with ``exp_on_negative_values``, summed in Q12.19, and divided via ``GetReciprocal``.
    The output is always scale 1/256, zero point -128.
    """

    KERNEL: ClassVar[str] = "softmax"

    output_scale: float
    output_zp: int
    input_multiplier: int
    input_left_shift: int
    diff_min: int

    def macs(self, in_shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...]) -> int:
        return 2 * math.prod(out_shape)  # exp evaluated twice per element, as TFLM does


@dataclasses.dataclass(frozen=True)
class Logistic(OpRecord):
    """TFLM int8 logistic (``reference_integer_ops::Logistic``, gemmlowp fixed point).

    ``d = x - input_zp``; ``d <= -radius`` -> -128, ``d >= radius`` -> 127, otherwise
    ``logistic(Q4.27(MultiplyByQuantizedMultiplier(d, input_multiplier, input_left_shift)))``
    rounded to Q0.8 and offset by -128. The output is always scale 1/256, zero point -128.
    """

    KERNEL: ClassVar[str] = "logistic"

    output_scale: float
    output_zp: int
    input_zp: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int


@dataclasses.dataclass(frozen=True)
class Mean(OpRecord):
    """TFLM int8 MEAN over ``axes`` (resolved: non-negative, de-duplicated), ``QuantizedMeanOrSum``.

    ``out = clamp(MultiplyByQuantizedMultiplier(wrap32(sum - input_zp * n), multiplier, shift)
    + output_zp)`` where the int32 ``sum`` runs over the ``n`` reduced elements and
    ``multiplier``/``shift`` already include the 1/n factor (TFLM folds it in at Eval time,
    see :func:`tinytvm.quantization.nonlinear_params.mean_params`). TFLM takes this branch for
    every int8 MEAN, also when input and output share quantization. ``keepdims`` only affects
    the output shape.
    """

    KERNEL: ClassVar[str] = "mean"

    output_scale: float
    output_zp: int
    axes: tuple[int, ...]
    keepdims: bool
    input_zp: int
    multiplier: int
    shift: int

    def macs(self, in_shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...]) -> int:
        return math.prod(in_shapes[0]) if in_shapes else 0


@dataclasses.dataclass(frozen=True)
class ResizeNearest(OpRecord):
    """RESIZE_NEAREST_NEIGHBOR on NHWC (TFLM ``GetNearestNeighbor``, float32 index arithmetic).

    The output size comes from the output type; input and output share quantization (values
    are copied).
    """

    KERNEL: ClassVar[str] = "resize_nearest"

    output_scale: float
    output_zp: int
    align_corners: bool
    half_pixel_centers: bool


@dataclasses.dataclass(frozen=True)
class Quantize(OpRecord):
    """float32 -> int8 at the model boundary (TFLM ``AffineQuantize``).

    ``q = clamp((int32)roundf(x / (float)output_scale) + output_zp, -128, 127)``, with the
    float32 division, half-away-from-zero rounding and x86's float->int32 conversion
    (NaN and out-of-range values become INT32_MIN).
    """

    KERNEL: ClassVar[str] = "quantize"

    output_scale: float
    output_zp: int


@dataclasses.dataclass(frozen=True)
class Requantize(OpRecord):
    """int8 -> int8 change of scale/zero point (TFLite QUANTIZE with an int8 input; TFLM ``Requantize``).

    ``q = clamp(MultiplyByQuantizedMultiplier(x - input_zp, multiplier, shift) + output_zp)``
    with ``(multiplier, shift) = QuantizeMultiplier(double(in_scale) / double(out_scale))``.
    """

    KERNEL: ClassVar[str] = "requantize"

    output_scale: float
    output_zp: int
    input_zp: int
    multiplier: int
    shift: int


@dataclasses.dataclass(frozen=True)
class Dequantize(OpRecord):
    """int8 -> float32 at the model boundary: ``(float)(double(input_scale) * (q - input_zp))``."""

    KERNEL: ClassVar[str] = "dequantize"

    output_scale: float  # unused for float outputs; kept so every record has the same header
    output_zp: int
    input_scale: float
    input_zp: int
