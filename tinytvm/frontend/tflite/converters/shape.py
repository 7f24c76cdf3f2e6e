"""RESHAPE, SQUEEZE, TRANSPOSE, PAD, PADV2 and CONCATENATION: data movement without requantization.

TFLite Micro's int8 kernels for these operators copy bytes. RESHAPE, SQUEEZE, TRANSPOSE, PAD
and PADV2 do not compare the input's and the output's quantization at all: a model whose output
quantization differs is accepted and the output simply reinterprets the input's integers (PAD
fills with the *output* zero point, PADV2 with its constant value, whose quantization must equal
the output's). CONCATENATION requires every input to share the output's scale and zero point.
tinytvm accepts and rejects exactly the same models, so that it matches the oracle bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from ....errors import UnsupportedOperatorError
from ....ir.ops import Concat, Pad, Reshape, Transpose
from . import converts

#: TFLM limits (transpose_common.cc, pad_common.cc, concatenation.cc).
TRANSPOSE_MAX_RANK = 5
PAD_MAX_RANK = 5
CONCAT_MAX_INPUTS = 10


def _same_quantized(ctx, op, data, out):
    ctx.require_int8(op, data, "input")
    ctx.require_int8(op, out, "output")
    ctx.require_same_quantization(op, data, out)


@converts("RESHAPE", "SQUEEZE")
def convert_reshape(ctx, op):
    data, out = ctx.int8_input_output(op)
    if math.prod(data.shape) != math.prod(out.shape):
        raise UnsupportedOperatorError(op.name, op.index, f"cannot reshape {data.shape} into {out.shape}")
    ctx.emit(Reshape(output_scale=out.scale, output_zp=out.zero_point), [ctx.value(data)], out)


@converts("TRANSPOSE")
def convert_transpose(ctx, op):
    data, out = ctx.int8_input_output(op)
    rank = len(data.shape)
    if not 1 <= rank <= TRANSPOSE_MAX_RANK:
        raise UnsupportedOperatorError(op.name, op.index, f"input of rank {rank}: TFLite Micro's TRANSPOSE "
                                       f"supports ranks 1 to {TRANSPOSE_MAX_RANK}")
    perm = tuple(int(p) for p in ctx.require_constant(op, ctx.input(op, 1), "permutation").reshape(-1))
    if any(not 0 <= p < rank for p in perm):
        raise UnsupportedOperatorError(op.name, op.index, f"permutation {perm} has entries outside [0, {rank}) "
                                       "(TFLite Micro rejects negative or out-of-range permutation entries)")
    if sorted(perm) != list(range(rank)) or tuple(data.shape[p] for p in perm) != out.shape:
        raise UnsupportedOperatorError(op.name, op.index, f"permutation {perm} does not map {data.shape} to {out.shape}")
    ctx.emit(Transpose(output_scale=out.scale, output_zp=out.zero_point, perm=perm), [ctx.value(data)], out)


def _padv2_value(ctx, op, out) -> int:
    """PADV2's constant value, which TFLM requires to be quantized exactly like the output."""
    value_tensor = ctx.input(op, 2)
    value = ctx.require_constant(op, value_tensor, "constant value")
    if value_tensor.dtype != np.dtype("int8") or value.size != 1:
        raise UnsupportedOperatorError(op.name, op.index, f"constant value '{value_tensor.name}' must be one INT8 "
                                       f"value, got {value_tensor.type_name} of shape {value.shape}")
    q = value_tensor.quantization
    scale = float(np.float32(q.scale[0])) if q is not None and q.scale else 0.0
    zero_point = q.zero_point[0] if q is not None and q.zero_point else 0
    if (scale, zero_point) != (float(np.float32(out.scale)), out.zero_point):
        raise UnsupportedOperatorError(
            op.name, op.index, f"constant value '{value_tensor.name}' (scale {scale}, zero point {zero_point}) "
            f"and output '{out.name}' (scale {out.scale}, zero point {out.zero_point}) must share quantization "
            "(TFLite Micro rejects this model too)")
    return int(value.reshape(-1)[0])


@converts("PAD", "PADV2")
def convert_pad(ctx, op):
    data, out = ctx.int8_input_output(op)
    rank = len(data.shape)
    if rank > PAD_MAX_RANK:
        raise UnsupportedOperatorError(op.name, op.index, f"input of rank {rank}: TFLite Micro's {op.name} "
                                       f"supports ranks up to {PAD_MAX_RANK}")
    paddings = ctx.require_constant(op, ctx.input(op, 1), "paddings").astype(np.int64)
    if paddings.shape != (rank, 2) or (paddings < 0).any():
        raise UnsupportedOperatorError(op.name, op.index, f"paddings of shape {paddings.shape} must be "
                                       f"non-negative ({rank}, 2)")
    padded = tuple(int(d + p[0] + p[1]) for d, p in zip(data.shape, paddings))
    if padded != out.shape:
        raise UnsupportedOperatorError(op.name, op.index, f"padding {data.shape} gives {padded}, not {out.shape}")
    pad_value = out.zero_point  # TFLM pads with the output's zero point
    if op.name == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        pad_value = _padv2_value(ctx, op, out)
    record = Pad(output_scale=out.scale, output_zp=out.zero_point,
                 padding=tuple(int(v) for v in paddings.reshape(-1)), pad_value=pad_value)
    ctx.emit(record, [ctx.value(data)], out)


@converts("CONCATENATION")
def convert_concat(ctx, op):
    out = ctx.output(op)
    if len(op.inputs) > CONCAT_MAX_INPUTS:
        raise UnsupportedOperatorError(op.name, op.index, f"{len(op.inputs)} inputs: TFLite Micro's "
                                       f"CONCATENATION takes at most {CONCAT_MAX_INPUTS}")
    inputs = [ctx.input(op, i) for i in range(len(op.inputs))]
    for tensor in inputs:
        _same_quantized(ctx, op, tensor, out)
    options = op.options
    if options is not None and options.FusedActivationFunction() != 0:
        raise UnsupportedOperatorError(op.name, op.index, "a fused activation on CONCATENATION is not supported")
    rank = len(out.shape)
    axis = options.Axis() if options is not None else 0
    if not -rank <= axis < rank:
        raise UnsupportedOperatorError(op.name, op.index, f"axis {axis} is out of range for rank {rank}")
    axis %= rank
    others = [tuple(d for i, d in enumerate(t.shape) if i != axis) for t in (*inputs, out)]
    if any(len(t.shape) != rank for t in inputs) or len(set(others)) != 1 \
            or sum(t.shape[axis] for t in inputs) != out.shape[axis]:
        raise UnsupportedOperatorError(op.name, op.index, f"inputs do not concatenate to {out.shape} on axis {axis}")
    record = Concat(output_scale=out.scale, output_zp=out.zero_point, axis=axis)
    ctx.emit(record, [ctx.value(t) for t in inputs], out)
