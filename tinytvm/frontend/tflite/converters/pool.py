"""AVERAGE_POOL_2D and MAX_POOL_2D."""

from __future__ import annotations

from ....errors import UnsupportedOperatorError
from ....ir.ops import AvgPool2D, MaxPool2D
from . import converts
from .conv import spatial_padding

#: TFLM's PoolingPrepare: |double(input scale) - double(output scale)| <= 1e-6, equal zero points.
POOL_SCALE_TOLERANCE = 1.0e-6


def _require_pool_quantization(op, data, out):
    """TFLM pools without requantizing; it accepts scales within 1e-6 (absolute) and equal zero points."""
    if abs(float(data.scale) - float(out.scale)) > POOL_SCALE_TOLERANCE or data.zero_point != out.zero_point:
        raise UnsupportedOperatorError(
            op.name, op.index, f"input '{data.name}' (scale {data.scale}, zero point {data.zero_point}) and "
            f"output '{out.name}' (scale {out.scale}, zero point {out.zero_point}) must share quantization: "
            f"TFLite Micro pools without requantizing and accepts a scale difference of at most "
            f"{POOL_SCALE_TOLERANCE:g} and equal zero points")


@converts("AVERAGE_POOL_2D", "MAX_POOL_2D")
def convert_pool(ctx, op):
    data, out = ctx.int8_input_output(op)
    _require_pool_quantization(op, data, out)
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
