"""Softmax, logistic, mean, nearest resize and boundary (de)quantization, bit-exact with TFLM.

The gemmlowp fixed-point math (``fixedpoint.h``) TFLM's int8 softmax and logistic use is
reproduced here on int64 numpy arrays that always hold int32 values: additions wrap like the
C++ ``int32_t`` arithmetic, multiplications are ``SaturatingRoundingDoublingHighMul``, and the
power-of-two rescalings saturate or round exactly as gemmlowp's templates do.
"""

from __future__ import annotations

import numpy as np

from ...errors import TinyTVMError
from ...quantization.fixed_point import (
    INT32_MAX,
    INT32_MIN,
    clamp,
    multiply_by_quantized_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)
from ...quantization.nonlinear_params import (
    SOFTMAX_ACCUMULATION_INTEGER_BITS,
    SOFTMAX_SCALED_DIFF_INTEGER_BITS,
    LOGISTIC_INPUT_INTEGER_BITS,
    nearest_neighbor_indices,
)
from . import kernel

# -- gemmlowp fixed point on int32 values held in int64 arrays --------------------------------
_srdhm = saturating_rounding_doubling_high_mul
_rdbpot = rounding_divide_by_pot


def _add(a, b) -> np.ndarray:
    return wrap_int32(np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64))


def _sub(a, b) -> np.ndarray:
    return wrap_int32(np.asarray(a, dtype=np.int64) - np.asarray(b, dtype=np.int64))


def _saturating_shift_left(x, exponent: int) -> np.ndarray:
    """``SaturatingRoundingMultiplyByPOT<exponent>`` for exponent > 0 (gemmlowp's thresholds)."""
    x = np.asarray(x, dtype=np.int64)
    threshold = (1 << (31 - exponent)) - 1
    shifted = wrap_int32(x * (1 << exponent))
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, shifted)).astype(np.int64)


def _rounding_half_sum(a, b) -> np.ndarray:
    total = np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)
    nudged = total + np.where(total >= 0, 1, -1)
    return wrap_int32(np.where(nudged >= 0, nudged // 2, -((-nudged) // 2)))  # C division truncates


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a: np.ndarray) -> np.ndarray:
    constant_term, one_third = 1895147668, 715827883
    x = _add(a, 1 << 28)
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    x4_over_4 = _rdbpot(x4, 2)
    poly = _rdbpot(_add(_srdhm(_add(x4_over_4, x3), one_third), x2), 1)
    return _add(constant_term, _srdhm(constant_term, _add(x, poly)))


def exp_on_negative_values(a, integer_bits: int) -> np.ndarray:
    """gemmlowp ``exp_on_negative_values`` for a Q``integer_bits`` input; the result is Q0.31."""
    a = np.asarray(a, dtype=np.int64)
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_one_quarter = _sub(a & (one_quarter - 1), one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(
        _saturating_shift_left(a_mod_quarter_minus_one_quarter, integer_bits) if integer_bits else
        a_mod_quarter_minus_one_quarter)
    remainder = _sub(a_mod_quarter_minus_one_quarter, a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = np.int64(1) << (fractional_bits + exponent)
            result = np.where((remainder & bit) != 0, _srdhm(result, multiplier), result)
    if integer_bits > 5:
        result = np.where(a < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a == 0, INT32_MAX, result).astype(np.int64)


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """gemmlowp ``one_over_one_plus_x_for_x_in_0_1`` (Newton-Raphson, Q0.31 in and out)."""
    half_denominator = _rounding_half_sum(a, INT32_MAX)
    x = _add(1515870810, _srdhm(half_denominator, -1010580540))  # 48/17 - 32/17 * d, in Q2.29
    for _ in range(3):
        one_minus_half_denominator_times_x = _sub(1 << 29, _srdhm(half_denominator, x))
        x = _add(x, _saturating_shift_left(_srdhm(x, one_minus_half_denominator_times_x), 2))
    return _saturating_shift_left(x, 1)


def logistic_fixed_point(a, integer_bits: int) -> np.ndarray:
    """gemmlowp ``logistic`` for a Q``integer_bits`` input; the result is Q0.31."""
    a = np.asarray(a, dtype=np.int64)
    positive = a > 0
    magnitude = np.where(positive, a, wrap_int32(-a))
    if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(wrap_int32(-magnitude), integer_bits))
    if_negative = _sub(INT32_MAX, if_positive)
    return np.where(a == 0, 1 << 30, np.where(positive, if_positive, if_negative)).astype(np.int64)


def _bit_length(x: np.ndarray) -> np.ndarray:
    """Bit length of non-negative int64 values below 2^32."""
    x = np.asarray(x, dtype=np.int64).copy()
    length = np.zeros(x.shape, dtype=np.int64)
    for step in (16, 8, 4, 2, 1):
        big = x >= (np.int64(1) << step)
        length += np.where(big, step, 0)
        x = np.where(big, x >> step, x)
    return length + (x > 0)


# -- kernels --------------------------------------------------------------------------------------
@kernel("softmax")
def softmax(op, operands, out_shape, out_dtype):
    data = operands[0]
    depth = data.shape[-1] if data.ndim else 1
    rows = data.reshape(-1, depth).astype(np.int64)
    diff = rows - rows.max(axis=1, keepdims=True)
    valid = diff >= op.diff_min
    scaled = _srdhm(wrap_int32(diff * wrap_int32(np.int64(1) << op.input_left_shift)), op.input_multiplier)
    exp = exp_on_negative_values(scaled, SOFTMAX_SCALED_DIFF_INTEGER_BITS)
    # Rescale<12> from Q0.31: a rounding right shift by 12; the sum wraps like int32.
    accumulated = _rdbpot(exp, SOFTMAX_ACCUMULATION_INTEGER_BITS)
    sum_of_exps = wrap_int32(np.where(valid, accumulated, 0).sum(axis=1))
    # GetReciprocal(sum, 12): normalise to [1, 2) and invert with one_over_one_plus_x.
    unsigned_sum = sum_of_exps % (1 << 32)
    headroom_plus_one = 32 - _bit_length(unsigned_sum)
    num_bits_over_unit = SOFTMAX_ACCUMULATION_INTEGER_BITS - headroom_plus_one
    shifted_sum_minus_one = wrap_int32(((unsigned_sum << headroom_plus_one) % (1 << 32)) - (1 << 31))
    shifted_scale = one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one)
    exponent = num_bits_over_unit + 31 - 8
    if ((exponent < 0) | (exponent > 31)).any():
        raise TinyTVMError(
            "softmax: a row's sum of exponentials reaches 512 (in the Q12.19 accumulator); TFLite Micro "
            "aborts here (TFLITE_CHECK(exponent <= 31) in reference_ops::Softmax), so there is no "
            "reference output. This needs 512 or more entries of a row close to its maximum.")
    unsaturated = _rdbpot(_srdhm(shifted_scale[:, None], exp), exponent[:, None])
    output = np.where(valid, clamp(unsaturated - 128, -128, 127), -128)
    return output.astype(np.int8).reshape(out_shape)


@kernel("logistic")
def logistic(op, operands, out_shape, out_dtype):
    centred = operands[0].astype(np.int64) - op.input_zp
    q4 = multiply_by_quantized_multiplier(centred, op.input_multiplier, op.input_left_shift)
    q0 = logistic_fixed_point(q4, LOGISTIC_INPUT_INTEGER_BITS)
    q8 = clamp(_rdbpot(q0, 31 - 8) - 128, -128, 127)
    output = np.where(centred <= -op.input_range_radius, -128,
                      np.where(centred >= op.input_range_radius, 127, q8))
    return output.astype(np.int8).reshape(out_shape)


@kernel("mean")
def mean(op, operands, out_shape, out_dtype):
    data = operands[0]
    axes = tuple(int(a) for a in op.axes)
    count = int(np.prod([data.shape[a] for a in axes], dtype=np.int64)) if axes else 1
    total = wrap_int32(data.astype(np.int64).sum(axis=axes))
    centred = wrap_int32(total - np.int64(op.input_zp) * count)
    output = clamp(multiply_by_quantized_multiplier(centred, op.multiplier, op.shift) + op.output_zp, -128, 127)
    return np.asarray(output).astype(np.int8).reshape(out_shape)


@kernel("resize_nearest")
def resize_nearest(op, operands, out_shape, out_dtype):
    data = operands[0]
    align, half = bool(op.align_corners), bool(op.half_pixel_centers)
    rows = nearest_neighbor_indices(data.shape[1], out_shape[1], align, half)
    cols = nearest_neighbor_indices(data.shape[2], out_shape[2], align, half)
    return np.ascontiguousarray(data[:, rows][:, :, cols]).astype(out_dtype)


@kernel("quantize")
def quantize(op, operands, out_shape, out_dtype):
    values = operands[0].astype(np.float32)
    with np.errstate(all="ignore"):
        quotient = (values / np.float32(op.output_scale)).astype(np.float64)  # float32 division, as TFLM
        magnitude = np.abs(quotient)
        whole = np.floor(magnitude)
        rounded = np.copysign(whole + (magnitude - whole >= 0.5), quotient)  # roundf: half away from zero
        # static_cast<int32_t> on x86: NaN and out-of-range values give INT32_MIN ("integer indefinite").
        in_range = np.isfinite(rounded) & (rounded >= -2.0**31) & (rounded < 2.0**31)
        as_int = np.where(in_range, np.where(in_range, rounded, 0).astype(np.int64), INT32_MIN)
    output = clamp(wrap_int32(as_int + op.output_zp), -128, 127)
    return output.astype(np.int8).reshape(out_shape)


@kernel("requantize")
def requantize(op, operands, out_shape, out_dtype):
    centred = operands[0].astype(np.int64) - op.input_zp
    output = multiply_by_quantized_multiplier(centred, op.multiplier, op.shift) + op.output_zp
    return clamp(output, -128, 127).astype(np.int8).reshape(out_shape)


@kernel("dequantize")
def dequantize(op, operands, out_shape, out_dtype):
    centred = operands[0].astype(np.int64) - op.input_zp
    return (np.float64(np.float32(op.input_scale)) * centred).astype(np.float32).reshape(out_shape)
