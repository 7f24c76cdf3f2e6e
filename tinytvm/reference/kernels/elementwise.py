"""ADD and MUL (TFLM ``reference_integer_ops``), with numpy broadcasting."""

from __future__ import annotations

import numpy as np

from ...quantization.fixed_point import (
    clamp,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_smaller_than_one_exp,
    wrap_int32,
)
from . import kernel


@kernel("add")
def add(op, operands, out_shape, out_dtype):
    lhs, rhs = (x.astype(np.int64) for x in operands)
    scaled_lhs = multiply_by_quantized_multiplier_smaller_than_one_exp(
        wrap_int32((lhs - op.lhs_zp) << op.left_shift), op.lhs_multiplier, op.lhs_shift)
    scaled_rhs = multiply_by_quantized_multiplier_smaller_than_one_exp(
        wrap_int32((rhs - op.rhs_zp) << op.left_shift), op.rhs_multiplier, op.rhs_shift)
    raw = multiply_by_quantized_multiplier_smaller_than_one_exp(
        wrap_int32(scaled_lhs + scaled_rhs), op.output_multiplier, op.output_shift)
    result = clamp(raw + op.output_zp, op.act_min, op.act_max).astype(np.int8)
    return np.broadcast_to(result, out_shape).copy()


@kernel("mul")
def mul(op, operands, out_shape, out_dtype):
    lhs, rhs = (x.astype(np.int64) for x in operands)
    product = wrap_int32((lhs - op.lhs_zp) * (rhs - op.rhs_zp))
    raw = multiply_by_quantized_multiplier(product, op.output_multiplier, op.output_shift)
    result = clamp(raw + op.output_zp, op.act_min, op.act_max).astype(np.int8)
    return np.broadcast_to(result, out_shape).copy()
