"""Integer parameters of the non-linear, reduction, resampling and boundary operators.

Each function reproduces the ``Prepare`` step of the TFLite Micro kernel named in its
docstring (double vs float32 arithmetic, rounding and clamping included), so that the
records built from these values drive kernels that are bit-exact with TFLM. Invalid
configurations, for which TFLM would refuse the model or abort, raise ``ValueError``
with a readable reason; the converters turn it into an ``UnsupportedOperatorError``.
"""

from __future__ import annotations

import math

import numpy as np

from .fixed_point import quantize_multiplier, round_half_away

#: gemmlowp input format of TFLM's int8 softmax: Q5.26 (``kScaledDiffIntegerBits``).
SOFTMAX_SCALED_DIFF_INTEGER_BITS = 5
#: gemmlowp accumulator format of the sum of exponentials: Q12.19.
SOFTMAX_ACCUMULATION_INTEGER_BITS = 12
#: gemmlowp input format of TFLM's int8 logistic: Q4.27.
LOGISTIC_INPUT_INTEGER_BITS = 4
#: TFLM's reduce kernels keep the input iterator in ``int temp_index[5]``.
MEAN_MAX_RANK = 5
#: int8 softmax/logistic outputs: scale 1/256, zero point -128 (the range [0, 1)).
PROBABILITY_SCALE = float(np.float32(1.0 / 256.0))
PROBABILITY_ZERO_POINT = -128


def f32(value: float) -> float:
    """The value as the float32 a TFLite tensor stores, widened to a Python float."""
    return float(np.float32(value))


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """``CalculateInputRadius``: floor((2^ib - 1) * 2^(tsb - ib) / 2^left_shift) in double."""
    if not 0 <= input_left_shift <= 62:
        raise ValueError(f"input left shift {input_left_shift} is outside [0, 62]")
    numerator = float((1 << input_integer_bits) - 1) * float(1 << (total_signed_bits - input_integer_bits))
    return int(math.floor(numerator / float(1 << input_left_shift)))


def softmax_params(beta: float, input_scale: float) -> dict:
    """TFLM ``CalculateSoftmaxParams`` for int8 -> int8 (``PreprocessSoftmaxScaling``, double rounding).

    real = min(double(beta) * double(input_scale) * 2^26, 2^31 - 1); the multiplier and
    left shift come from ``QuantizeMultiplierGreaterThanOne`` (TFLM aborts unless real > 1);
    ``diff_min = -CalculateInputRadius(5, left_shift)``.
    """
    beta, input_scale = f32(beta), f32(input_scale)
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a positive finite number, got {beta}")
    real = min(beta * input_scale * float(1 << (31 - SOFTMAX_SCALED_DIFF_INTEGER_BITS)), float((1 << 31) - 1))
    if not real > 1.0:
        raise ValueError(f"beta ({beta}) x input scale ({input_scale}) = {beta * input_scale:.3g} is at or below "
                         "2^-26; TFLM's softmax needs a scaled input multiplier greater than one")
    multiplier, left_shift = quantize_multiplier(real)
    diff_min = -calculate_input_radius(SOFTMAX_SCALED_DIFF_INTEGER_BITS, left_shift)
    return dict(input_multiplier=int(multiplier), input_left_shift=int(left_shift), diff_min=int(diff_min))


def logistic_params(input_scale: float, input_zp: int) -> dict:
    """TFLM ``CalculateArithmeticOpDataLogistic`` for int8.

    real = double(input_scale) * 2^27; (q, shift) = frexp(real); multiplier = round(q * 2^31)
    (no renormalisation, unlike ``QuantizeMultiplier``); radius = CalculateInputRadius(4, shift, 31).
    """
    input_scale = f32(input_scale)
    real = input_scale * float(1 << (31 - LOGISTIC_INPUT_INTEGER_BITS))
    fraction, left_shift = math.frexp(real)
    if left_shift < 0:
        raise ValueError(f"input scale {input_scale:.3g} is below 2^-28; TFLM's logistic would shift by a "
                         "negative amount")
    multiplier = int(round_half_away(fraction * float(1 << 31)))
    multiplier = (multiplier + (1 << 31)) % (1 << 32) - (1 << 31)  # static_cast<int32_t>
    radius = calculate_input_radius(LOGISTIC_INPUT_INTEGER_BITS, left_shift, 31)
    return dict(input_zp=int(input_zp), input_range_radius=int(radius), input_multiplier=int(multiplier),
                input_left_shift=int(left_shift))


def requantize_params(input_scale: float, output_scale: float) -> tuple[int, int]:
    """TFLM QUANTIZE int8 -> int8 (and MEAN's Prepare): QuantizeMultiplier(double(in) / double(out))."""
    multiplier, shift = quantize_multiplier(f32(input_scale) / f32(output_scale))
    return int(multiplier), int(shift)


def mean_params(input_scale: float, output_scale: float, num_elements: int) -> tuple[int, int]:
    """The multiplier/shift TFLM's ``QuantizedMeanOrSum`` applies to a sum of ``num_elements`` values.

    Prepare: QuantizeMultiplier(double(in) / double(out)). Eval folds 1/num_elements in:
    shift = min(floor(log2(n)), 32, 31 + shift); multiplier = (multiplier << shift) / n
    (integer division); shift -= that amount.
    """
    if num_elements <= 0:
        raise ValueError("MEAN over an empty axis is not supported")
    multiplier, shift = requantize_params(input_scale, output_scale)
    extra = min(num_elements.bit_length() - 1, 32, 31 + shift)
    multiplier = (multiplier << extra) // num_elements
    multiplier = (multiplier + (1 << 31)) % (1 << 32) - (1 << 31)  # static_cast<int32_t>
    return int(multiplier), int(shift - extra)


def resolve_axes(axes, rank: int) -> tuple[int, ...]:
    """TFLM ``ResolveAxis``: negative axes wrap once, duplicates are dropped, order is kept."""
    resolved: list[int] = []
    for axis in axes:
        axis = int(axis)
        current = axis + rank if axis < 0 else axis
        if not 0 <= current < rank:
            raise ValueError(f"axis {axis} is out of range for a rank-{rank} input")
        if current not in resolved:
            resolved.append(current)
    return tuple(resolved)


def nearest_neighbor_indices(input_size: int, output_size: int, align_corners: bool,
                             half_pixel_centers: bool) -> np.ndarray:
    """TFLM ``GetNearestNeighbor`` for every output coordinate, in its float32 arithmetic.

    scale = (align_corners and out > 1) ? (in - 1) / float(out - 1) : in / float(out);
    index = align_corners ? round_half_away((i + offset) * scale) : floor((i + offset) * scale),
    then min(index, in - 1) and, with half-pixel centres, max(0, index).
    """
    if align_corners and output_size > 1:
        scale = np.float32(input_size - 1) / np.float32(output_size - 1)
    else:
        scale = np.float32(input_size) / np.float32(output_size)
    offset = np.float32(0.5 if half_pixel_centers else 0.0)
    position = (np.arange(output_size, dtype=np.float32) + offset) * np.float32(scale)
    position = position.astype(np.float64)  # exact widening; rounding below is exact in float64
    if align_corners:
        magnitude = np.abs(position)
        whole = np.floor(magnitude)
        rounded = np.copysign(whole + (magnitude - whole >= 0.5), position)
    else:
        rounded = np.floor(position)
    index = np.minimum(rounded.astype(np.int64), input_size - 1)
    if half_pixel_centers:
        index = np.maximum(index, 0)
    return index
