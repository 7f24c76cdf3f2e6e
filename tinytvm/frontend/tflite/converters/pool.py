"""AVERAGE_POOL_2D and MAX_POOL_2D."""

from __future__ import annotations

from ....errors import UnsupportedOperatorError
from ....ir.ops import AvgPool2D, MaxPool2D
from . import converts
from .conv import spatial_padding


@converts("AVERAGE_POOL_2D", "MAX_POOL_2D")
def convert_pool(ctx, op):
    data, out = ctx.input(op, 0), ctx.output(op)
    ctx.require_int8(op, data, "input")
    ctx.require_int8(op, out, "output")
    ctx.require_same_quantization(op, data, out)
    if len(data.shape) != 4:
        raise UnsupportedOperatorError(op.name, op.index, "pooling needs a 4-D NHWC input")
    options = op.options
    pool = (options.FilterHeight(), options.FilterWidth())
    stride = (options.StrideH(), options.StrideW())
    padding = spatial_padding(op, options, data.shape, pool, stride, (1, 1), out.shape)
    act_min, act_max = ctx.activation(op, options.FusedActivationFunction(), out)
    kind = AvgPool2D if op.name == "AVERAGE_POOL_2D" else MaxPool2D
    record = kind(output_scale=out.scale, output_zp=out.zero_point, pool=pool, stride=stride, padding=padding,
                  act_min=act_min, act_max=act_max)
    ctx.emit(record, [ctx.value(data)], out)
