"""Integer parameters of quantized operators, derived exactly as TFLite Micro's Prepare does.

Frontends call these with the float scales of a layer's tensors; the results are what
goes into the integer-only operator records. The order and width of each float
operation (float32 vs double) matters for bit-exactness and follows TFLM's source.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .fixed_point import quantize_multiplier, round_half_away

INT8_MIN, INT8_MAX = -128, 127
ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def f32(value: float) -> np.float32:
    return np.float32(value)


def per_channel_multipliers(
    input_scale: float, weight_scales: Sequence[float], output_scale: float, channels: int
) -> tuple[np.ndarray, np.ndarray]:
    """``PopulateConvolutionQuantizationParams``: double(in) * double(w[c]) / double(out)."""
    scales = list(weight_scales) if len(weight_scales) > 1 else [weight_scales[0]] * channels
    multipliers, shifts = [], []
    for weight_scale in scales:
        real = float(f32(input_scale)) * float(f32(weight_scale)) / float(f32(output_scale))
        multiplier, shift = quantize_multiplier(real)
        multipliers.append(multiplier)
        shifts.append(shift)
    return np.array(multipliers, dtype=np.int32), np.array(shifts, dtype=np.int32)


def per_tensor_fc_multiplier(input_scale: float, weight_scale: float, output_scale: float) -> tuple[int, int]:
    """TFLM FULLY_CONNECTED with one weight scale: double(in) * double(w) / double(out).

    (TFLite's older ``GetQuantizedConvolutionMultipler`` multiplied in float32 first; the
    TFLM this project matches computes in double, verified against the oracle.)
    """
    real = float(f32(input_scale)) * float(f32(weight_scale)) / float(f32(output_scale))
    return quantize_multiplier(real)


def add_params(lhs_scale: float, rhs_scale: float, output_scale: float, left_shift: int = 20) -> dict:
    """TFLM ``PrepareAdd`` for int8: rescale both inputs to twice the larger input scale."""
    twice_max = 2.0 * float(max(f32(lhs_scale), f32(rhs_scale)))
    lhs_multiplier, lhs_shift = quantize_multiplier(float(f32(lhs_scale)) / twice_max)
    rhs_multiplier, rhs_shift = quantize_multiplier(float(f32(rhs_scale)) / twice_max)
    output_multiplier, output_shift = quantize_multiplier(twice_max / ((1 << left_shift) * float(f32(output_scale))))
    return dict(left_shift=left_shift, lhs_multiplier=lhs_multiplier, lhs_shift=lhs_shift,
                rhs_multiplier=rhs_multiplier, rhs_shift=rhs_shift,
                output_multiplier=output_multiplier, output_shift=output_shift)


def mul_multiplier(lhs_scale: float, rhs_scale: float, output_scale: float) -> tuple[int, int]:
    """TFLM MUL: double(in1) * double(in2) / double(out)."""
    return quantize_multiplier(float(f32(lhs_scale)) * float(f32(rhs_scale)) / float(f32(output_scale)))


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """``CalculateActivationRangeQuantized`` for int8 outputs (float32 division, std::round)."""
    def quantize(value: float) -> int:
        return zero_point + int(round_half_away(float(f32(value) / f32(scale))))

    if activation == "NONE":
        return INT8_MIN, INT8_MAX
    if activation == "RELU":
        return max(INT8_MIN, quantize(0.0)), INT8_MAX
    if activation == "RELU6":
        return max(INT8_MIN, quantize(0.0)), min(INT8_MAX, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(INT8_MIN, quantize(-1.0)), min(INT8_MAX, quantize(1.0))
    raise ValueError(f"unsupported fused activation {activation}; supported: {', '.join(ACTIVATIONS)}")


def same_padding(in_size: int, kernel: int, stride: int, dilation: int, out_size: int) -> tuple[int, int]:
    """TFLite SAME padding (``ComputePaddingWithOffset``): the odd pixel goes after."""
    effective = (kernel - 1) * dilation + 1
    total = max(0, (out_size - 1) * stride + effective - in_size)
    return total // 2, total - total // 2


def conv_output_size(in_size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    effective = (kernel - 1) * dilation + 1
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size - effective + stride) // stride
