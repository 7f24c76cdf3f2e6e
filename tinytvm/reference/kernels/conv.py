"""Convolution, depthwise convolution and fully connected (TFLM ``*PerChannel`` semantics)."""

from __future__ import annotations

import numpy as np

from ...quantization.fixed_point import clamp, multiply_by_quantized_multiplier, wrap_int32
from . import kernel


def requantize_channels(acc, bias, multiplier, shift, output_zp, act_min, act_max) -> np.ndarray:
    """acc (+bias) -> int8, channel = last axis."""
    total = wrap_int32(acc + bias.astype(np.int64))
    scaled = multiply_by_quantized_multiplier(total, multiplier.astype(np.int64), shift.astype(np.int64))
    return clamp(scaled + output_zp, act_min, act_max).astype(np.int8)


def _padded(data, input_zp, padding, extra_bottom_right=(0, 0)):
    """Input with zero point removed and zero padding, so padded taps contribute nothing (as TFLM skips them)."""
    top, left, bottom, right = padding
    centred = data.astype(np.float64) - input_zp
    return np.pad(centred, ((0, 0), (top, bottom + extra_bottom_right[0]),
                            (left, right + extra_bottom_right[1]), (0, 0)))


def _window(padded, kh, kw, stride, dilation, out_h, out_w):
    y0, x0 = kh * dilation[0], kw * dilation[1]
    return padded[:, y0:y0 + stride[0] * (out_h - 1) + 1:stride[0], x0:x0 + stride[1] * (out_w - 1) + 1:stride[1], :]


@kernel("conv2d")
def conv2d(op, operands, out_shape, out_dtype):
    data, weight, bias, multiplier, shift = operands
    _, out_h, out_w, _ = out_shape
    padded = _padded(data, op.input_zp, op.padding, _overhang(data.shape, weight.shape[1:3], op, out_h, out_w))
    # Exact in float64: every partial sum is an integer far below 2**53.
    acc = np.zeros(out_shape, dtype=np.float64)
    weight_f = weight.astype(np.float64)
    for kh in range(weight.shape[1]):
        for kw in range(weight.shape[2]):
            window = _window(padded, kh, kw, op.stride, op.dilation, out_h, out_w)
            acc += window @ weight_f[:, kh, kw, :].T
    return requantize_channels(acc.astype(np.int64), bias, multiplier, shift, op.output_zp, op.act_min, op.act_max)


@kernel("depthwise_conv2d")
def depthwise_conv2d(op, operands, out_shape, out_dtype):
    data, weight, bias, multiplier, shift = operands
    _, out_h, out_w, _ = out_shape
    padded = _padded(data, op.input_zp, op.padding, _overhang(data.shape, weight.shape[1:3], op, out_h, out_w))
    padded = np.repeat(padded, op.depth_multiplier, axis=3)  # output channel c reads input c // M
    acc = np.zeros(out_shape, dtype=np.float64)
    for kh in range(weight.shape[1]):
        for kw in range(weight.shape[2]):
            acc += _window(padded, kh, kw, op.stride, op.dilation, out_h, out_w) * weight[0, kh, kw, :]
    return requantize_channels(acc.astype(np.int64), bias, multiplier, shift, op.output_zp, op.act_min, op.act_max)


def _overhang(in_shape, kernel_hw, op, out_h, out_w):
    """Extra zero rows/cols needed when a VALID/explicit window runs past the declared padding."""
    extra = []
    for axis, (size, k, out) in enumerate(zip(in_shape[1:3], kernel_hw, (out_h, out_w))):
        needed = (out - 1) * op.stride[axis] + (k - 1) * op.dilation[axis] + 1
        available = size + op.padding[axis] + op.padding[axis + 2]
        extra.append(max(0, needed - available))
    return tuple(extra)


@kernel("fully_connected")
def fully_connected(op, operands, out_shape, out_dtype):
    data, weight, bias, multiplier, shift = operands
    acc = (data.astype(np.float64) - op.input_zp) @ weight.astype(np.float64).T
    return requantize_channels(acc.astype(np.int64), bias, multiplier, shift, op.output_zp, op.act_min, op.act_max)
