"""RESHAPE, SQUEEZE, TRANSPOSE, PAD, PADV2 and CONCATENATION: data movement without requantization."""

from __future__ import annotations

import math

import numpy as np

from ....errors import UnsupportedOperatorError
from ....ir.ops import Concat, Pad, Reshape, Transpose
from . import converts


def _same_quantized(ctx, op, data, out):
    ctx.require_int8(op, data, "input")
    ctx.require_int8(op, out, "output")
    ctx.require_same_quantization(op, data, out)


@converts("RESHAPE", "SQUEEZE")
def convert_reshape(ctx, op):
    data, out = ctx.input(op, 0), ctx.output(op)
    _same_quantized(ctx, op, data, out)
    if math.prod(data.shape) != math.prod(out.shape):
        raise UnsupportedOperatorError(op.name, op.index, f"cannot reshape {data.shape} into {out.shape}")
    ctx.emit(Reshape(output_scale=out.scale, output_zp=out.zero_point), [ctx.value(data)], out)


@converts("TRANSPOSE")
def convert_transpose(ctx, op):
    data, out = ctx.input(op, 0), ctx.output(op)
    _same_quantized(ctx, op, data, out)
    perm = tuple(int(p) % max(len(data.shape), 1)
                 for p in ctx.require_constant(op, ctx.input(op, 1), "permutation").reshape(-1))
    if sorted(perm) != list(range(len(data.shape))) or tuple(data.shape[p] for p in perm) != out.shape:
        raise UnsupportedOperatorError(op.name, op.index, f"permutation {perm} does not map {data.shape} to {out.shape}")
    ctx.emit(Transpose(output_scale=out.scale, output_zp=out.zero_point, perm=perm), [ctx.value(data)], out)


@converts("PAD", "PADV2")
def convert_pad(ctx, op):
    data, out = ctx.input(op, 0), ctx.output(op)
    _same_quantized(ctx, op, data, out)
    paddings = ctx.require_constant(op, ctx.input(op, 1), "paddings").astype(np.int64)
    if paddings.shape != (len(data.shape), 2) or (paddings < 0).any():
        raise UnsupportedOperatorError(op.name, op.index, f"paddings of shape {paddings.shape} must be "
                                       f"non-negative ({len(data.shape)}, 2)")
    padded = tuple(int(d + p[0] + p[1]) for d, p in zip(data.shape, paddings))
    if padded != out.shape:
        raise UnsupportedOperatorError(op.name, op.index, f"padding {data.shape} gives {padded}, not {out.shape}")
    pad_value = out.zero_point
    if op.name == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        value_tensor = ctx.input(op, 2)
        pad_value = int(ctx.require_constant(op, value_tensor, "constant value").reshape(-1)[0])
    record = Pad(output_scale=out.scale, output_zp=out.zero_point,
                 padding=tuple(int(v) for v in paddings.reshape(-1)), pad_value=pad_value)
    ctx.emit(record, [ctx.value(data)], out)


@converts("CONCATENATION")
def convert_concat(ctx, op):
    out = ctx.output(op)
    inputs = [ctx.input(op, i) for i in range(len(op.inputs))]
    for tensor in inputs:
        _same_quantized(ctx, op, tensor, out)
    options = op.options
    if options is not None and options.FusedActivationFunction() != 0:
        raise UnsupportedOperatorError(op.name, op.index, "a fused activation on CONCATENATION is not supported")
    rank = len(out.shape)
    axis = (options.Axis() if options is not None else 0) % max(rank, 1)
    if sum(t.shape[axis] for t in inputs) != out.shape[axis]:
        raise UnsupportedOperatorError(op.name, op.index, f"inputs do not concatenate to {out.shape} on axis {axis}")
    record = Concat(output_scale=out.scale, output_zp=out.zero_point, axis=axis)
    ctx.emit(record, [ctx.value(t) for t in inputs], out)
