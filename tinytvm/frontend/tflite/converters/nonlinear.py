"""SOFTMAX, LOGISTIC, MEAN, RESIZE_NEAREST_NEIGHBOR, QUANTIZE and DEQUANTIZE (TFLM int8 semantics)."""

from __future__ import annotations

import math

import numpy as np

from ....errors import QuantizationError, UnsupportedOperatorError
from ....ir.ops import Dequantize, Logistic, Mean, Quantize, Requantize, ResizeNearest, Softmax
from ....quantization.nonlinear_params import (
    MEAN_MAX_RANK,
    PROBABILITY_SCALE,
    PROBABILITY_ZERO_POINT,
    logistic_params,
    mean_params,
    requantize_params,
    resolve_axes,
    softmax_params,
)
from . import converts


def _params(op, derive, *args):
    """Run a parameter derivation, reporting an impossible configuration against the operator."""
    try:
        return derive(*args)
    except ValueError as error:
        raise UnsupportedOperatorError(op.name, op.index, str(error)) from None


def _require_same_shape(op, data, out):
    if data.shape != out.shape:
        raise UnsupportedOperatorError(op.name, op.index, f"input shape {data.shape} and output shape "
                                       f"{out.shape} must be equal")


def _require_probability_output(op, out):
    """TFLM's int8 softmax/logistic write probabilities as q/256 + 0.5: scale 1/256, zero point -128."""
    if out.zero_point != PROBABILITY_ZERO_POINT or float(np.float32(out.scale)) != PROBABILITY_SCALE:
        raise UnsupportedOperatorError(
            op.name, op.index, f"output '{out.name}' has scale {out.scale} and zero point {out.zero_point}; "
            "TFLite Micro's int8 kernel produces scale 1/256 (0.00390625) with zero point -128 only "
            "(re-quantize the model with the standard int8 converter)")


@converts("SOFTMAX")
def convert_softmax(ctx, op):
    data, out = ctx.int8_input_output(op)
    _require_same_shape(op, data, out)
    if len(data.shape) < 1:
        raise UnsupportedOperatorError(op.name, op.index, "softmax needs an input of rank 1 or more")
    _require_probability_output(op, out)
    if op.options is None:
        raise UnsupportedOperatorError(op.name, op.index, "SoftmaxOptions (beta) are missing")
    params = _params(op, softmax_params, op.options.Beta(), data.scale)
    record = Softmax(output_scale=out.scale, output_zp=out.zero_point, **params)
    ctx.emit(record, [ctx.value(data)], out)


@converts("LOGISTIC")
def convert_logistic(ctx, op):
    data, out = ctx.int8_input_output(op)
    _require_same_shape(op, data, out)
    # TFLM only checks the zero point and silently assumes scale 1/256; we insist on both.
    _require_probability_output(op, out)
    params = _params(op, logistic_params, data.scale, data.zero_point)
    record = Logistic(output_scale=out.scale, output_zp=out.zero_point, **params)
    ctx.emit(record, [ctx.value(data)], out)


@converts("MEAN")
def convert_mean(ctx, op):
    data, out = ctx.int8_input_output(op)
    axis_tensor = ctx.input(op, 1)
    axis_data = ctx.require_constant(op, axis_tensor, "axis")
    if axis_tensor.dtype != np.dtype("int32"):
        raise UnsupportedOperatorError(op.name, op.index, f"axis tensor '{axis_tensor.name}' is "
                                       f"{axis_tensor.type_name}; TFLite Micro requires INT32 axes")
    rank = len(data.shape)
    if not 1 <= rank <= MEAN_MAX_RANK:
        raise UnsupportedOperatorError(op.name, op.index, f"input of rank {rank}: TFLite Micro's MEAN supports "
                                       f"ranks 1 to {MEAN_MAX_RANK}")
    if 0 in data.shape:
        raise UnsupportedOperatorError(op.name, op.index, f"input shape {data.shape} has no elements")
    axes = _params(op, resolve_axes, axis_data.reshape(-1).tolist(), rank)
    keepdims = bool(op.options.KeepDims()) if op.options is not None else False
    if keepdims:
        expected = tuple(1 if i in axes else d for i, d in enumerate(data.shape))
    else:
        expected = tuple(d for i, d in enumerate(data.shape) if i not in axes)
    if math.prod(out.shape) != math.prod(expected):
        raise UnsupportedOperatorError(op.name, op.index, f"reducing {data.shape} over axes {axes} "
                                       f"(keep_dims={keepdims}) gives {expected}, not {out.shape}")
    count = math.prod(data.shape[a] for a in axes)
    # TFLM's int8 MEAN always requantizes (QuantizedMeanOrSum), even with equal in/out quantization.
    multiplier, shift = _params(op, mean_params, data.scale, out.scale, count)
    record = Mean(output_scale=out.scale, output_zp=out.zero_point, axes=axes, keepdims=keepdims,
                  input_zp=data.zero_point, multiplier=multiplier, shift=shift)
    ctx.emit(record, [ctx.value(data)], out)


@converts("RESIZE_NEAREST_NEIGHBOR")
def convert_resize_nearest(ctx, op):
    data, out = ctx.int8_input_output(op)
    size_tensor = ctx.input(op, 1)
    ctx.require_same_quantization(op, data, out)
    if len(data.shape) != 4:
        raise UnsupportedOperatorError(op.name, op.index, f"input of shape {data.shape}: an NHWC (4-D) input "
                                       "is required")
    size = ctx.require_constant(op, size_tensor, "size")
    if size_tensor.dtype != np.dtype("int32") or size.shape != (2,):
        raise UnsupportedOperatorError(op.name, op.index, f"size tensor '{size_tensor.name}' must be INT32 of "
                                       f"shape (2,), got {size_tensor.type_name} {size.shape}")
    height, width = (int(v) for v in size)
    expected = (data.shape[0], height, width, data.shape[3])
    if height < 1 or width < 1 or out.shape != expected:
        raise UnsupportedOperatorError(op.name, op.index, f"size ({height}, {width}) gives output {expected}, "
                                       f"but the output tensor is {out.shape}")
    options = op.options
    record = ResizeNearest(output_scale=out.scale, output_zp=out.zero_point,
                           align_corners=bool(options.AlignCorners()) if options is not None else False,
                           half_pixel_centers=bool(options.HalfPixelCenters()) if options is not None else False)
    ctx.emit(record, [ctx.value(data)], out)


@converts("QUANTIZE")
def convert_quantize(ctx, op):
    data, out = ctx.input(op, 0), ctx.output(op)
    ctx.require_int8(op, out, "output")
    _require_same_shape(op, data, out)
    if data.dtype == np.dtype("float32"):
        if data.index not in ctx.graph.inputs:
            raise QuantizationError(
                f"operator #{op.index} (QUANTIZE) reads FLOAT32 tensor #{data.index} '{data.name}', which is not a "
                "model input: float tensors may only appear at the model boundary (QUANTIZE right after a float "
                "input); this model computes in float in the middle of the graph")
        record = Quantize(output_scale=out.scale, output_zp=out.zero_point)
    elif data.dtype == np.dtype("int8"):
        ctx.require_int8(op, data, "input")
        multiplier, shift = requantize_params(data.scale, out.scale)
        record = Requantize(output_scale=out.scale, output_zp=out.zero_point, input_zp=data.zero_point,
                            multiplier=multiplier, shift=shift)
    else:
        raise UnsupportedOperatorError(op.name, op.index, f"input '{data.name}' is {data.type_name}; QUANTIZE "
                                       "is supported from FLOAT32 (model input) or INT8 to INT8")
    ctx.emit(record, [ctx.value(data)], out)


@converts("DEQUANTIZE")
def convert_dequantize(ctx, op):
    data, out = ctx.input(op, 0), ctx.output(op)
    ctx.require_int8(op, data, "input")
    _require_same_shape(op, data, out)
    if out.dtype != np.dtype("float32"):
        raise UnsupportedOperatorError(op.name, op.index, f"output '{out.name}' is {out.type_name}; DEQUANTIZE "
                                       "is supported from INT8 to FLOAT32 only")
    if out.index not in ctx.graph.outputs:
        raise QuantizationError(
            f"operator #{op.index} (DEQUANTIZE) writes FLOAT32 tensor #{out.index} '{out.name}', which is not a "
            "model output: float tensors may only appear at the model boundary (DEQUANTIZE right before a float "
            "output); this model computes in float in the middle of the graph")
    record = Dequantize(output_scale=out.scale, output_zp=out.zero_point, input_scale=data.scale,
                        input_zp=data.zero_point)
    ctx.emit(record, [ctx.value(data)], out)
