"""ADD and MUL (int8, numpy broadcasting)."""

from __future__ import annotations

import numpy as np

from ....errors import UnsupportedOperatorError
from ....ir.ops import Add, Mul
from ....quantization.params import add_params, mul_multiplier
from . import converts

MAX_BROADCAST_RANK = 6


def _binary_operands(ctx, op):
    lhs, rhs, out = ctx.input(op, 0), ctx.input(op, 1), ctx.output(op)
    for tensor, role in ((lhs, "first input"), (rhs, "second input"), (out, "output")):
        ctx.require_int8(op, tensor, role)
    try:
        shape = np.broadcast_shapes(lhs.shape, rhs.shape)
    except ValueError:
        raise UnsupportedOperatorError(op.name, op.index, f"shapes {lhs.shape} and {rhs.shape} do not broadcast") from None
    if tuple(shape) != out.shape or len(shape) > MAX_BROADCAST_RANK:
        raise UnsupportedOperatorError(op.name, op.index, f"broadcast shape {tuple(shape)} does not match the "
                                       f"output {out.shape} (or exceeds rank {MAX_BROADCAST_RANK})")
    activation = op.options.FusedActivationFunction() if op.options is not None else 0
    act_min, act_max = ctx.activation(op, activation, out)
    return lhs, rhs, out, act_min, act_max


@converts("ADD")
def convert_add(ctx, op):
    lhs, rhs, out, act_min, act_max = _binary_operands(ctx, op)
    params = add_params(lhs.scale, rhs.scale, out.scale)
    if params["output_shift"] > 0:
        # TFLM's QuantizeMultiplierSmallerThanOneExp: TFLITE_CHECK_LT(multiplier, 1) -> abort in Prepare.
        real = 2.0 * max(float(lhs.scale), float(rhs.scale)) / ((1 << params["left_shift"]) * float(out.scale))
        raise UnsupportedOperatorError(
            op.name, op.index, f"output scale {out.scale} is too small for input scales {lhs.scale} and "
            f"{rhs.scale}: the output multiplier 2 * max(input scales) / (2^{params['left_shift']} * output scale) "
            f"= {real:.6g} must be below 1 (TFLite Micro aborts on this model)")
    record = Add(output_scale=out.scale, output_zp=out.zero_point, lhs_zp=lhs.zero_point, rhs_zp=rhs.zero_point,
                 act_min=act_min, act_max=act_max, **params)
    ctx.emit(record, [ctx.value(lhs), ctx.value(rhs)], out)


@converts("MUL")
def convert_mul(ctx, op):
    lhs, rhs, out, act_min, act_max = _binary_operands(ctx, op)
    multiplier, shift = mul_multiplier(lhs.scale, rhs.scale, out.scale)
    record = Mul(output_scale=out.scale, output_zp=out.zero_point, lhs_zp=lhs.zero_point, rhs_zp=rhs.zero_point,
                 output_multiplier=multiplier, output_shift=shift, act_min=act_min, act_max=act_max)
    ctx.emit(record, [ctx.value(lhs), ctx.value(rhs)], out)
