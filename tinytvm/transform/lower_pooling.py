"""LowerPooling: NHWC pooling and spatial means of quantized values become tinytvm ops.

Assumes: int8 QDQ form in NHWC (after ConvertQDQToInt8 and ConvertLayoutNHWC);
per-tensor activation quantization.

Guarantees:

* ``max_pool2d(dequantize(q))`` -> ``dequantize(tinytvm.max_pool2d(q))`` (exact: max
  commutes with the monotonic dequantization);
* ``avg_pool2d(dequantize(q))`` (``count_include_pad`` false, or no padding) and
  ``adaptive_avg_pool2d(dequantize(q))`` with a 1x1 output -> ``dequantize(tinytvm.avg_pool2d(q))``
  with the input's scale and zero point (TFLite's AVERAGE_POOL_2D: shared quantization,
  integer average rounded half away from zero);
* ``quantize(mean(dequantize(q)))`` -> ``tinytvm.mean(q)`` with the quantize's output
  parameters, and a ``mean(dequantize(q))`` that is not quantized ->
  ``dequantize(tinytvm.mean(q))`` keeping the input's parameters (TFLite's MEAN).

Pools with dilation, NCHW layout, or other options are left unchanged.
"""

from __future__ import annotations

import math

import tvm
from tvm import relax

from ..ir.ops import AvgPool2D, MaxPool2D, Mean
from ..quantization.nonlinear_params import mean_params, resolve_axes
from ..errors import UnsupportedOperatorError
from . import _common as C


def _pool_record(call, params: C.QParams, in_shape):
    name = C.op_name(call)
    attrs = call.attrs
    common = dict(output_scale=params.scale, output_zp=params.zero_point, act_min=C.INT8_MIN, act_max=C.INT8_MAX)
    if name == "relax.nn.adaptive_avg_pool2d":
        if str(attrs.layout) != "NHWC":
            return None
        out = C.shape_of(call)
        if out is None or out[1:3] != (1, 1):
            return None
        return AvgPool2D(pool=(in_shape[1], in_shape[2]), stride=(1, 1), padding=(0, 0, 0, 0), **common)
    if str(attrs.layout) != "NHWC" or any(int(d) != 1 for d in attrs.dilation):
        return None
    padding = tuple(C.int_list(attrs.padding))
    if len(padding) == 2:
        padding = padding + padding
    pool = tuple(C.int_list(attrs.pool_size))
    stride = tuple(C.int_list(attrs.strides))
    if name == "relax.nn.max_pool2d":
        return MaxPool2D(pool=pool, stride=stride, padding=padding, **common)
    if bool(attrs.count_include_pad) and any(padding):
        raise UnsupportedOperatorError("AveragePool", None, "average pooling that counts padded pixels "
                                       "(count_include_pad=1) is not supported; TFLite averages valid pixels only")
    return AvgPool2D(pool=pool, stride=stride, padding=padding, **common)


def _mean_record(call, in_params: C.QParams, out_params: C.QParams, in_shape):
    axes_attr = call.attrs.axis
    axes = resolve_axes(range(len(in_shape)) if axes_attr is None else C.int_list(axes_attr), len(in_shape))
    count = math.prod(in_shape[a] for a in axes)
    multiplier, shift = mean_params(in_params.scale, out_params.scale, count)
    return Mean(output_scale=out_params.scale, output_zp=out_params.zero_point, axes=tuple(axes),
                keepdims=bool(call.attrs.keepdims), input_zp=in_params.zero_point, multiplier=multiplier, shift=shift)


@relax.expr_functor.mutator
class _QuantizedMean(relax.PyExprMutator):
    """quantize(mean(dequantize(q))) -> tinytvm.mean(q)."""

    def visit_call_(self, call):
        call = self.visit_expr_post_order(call)
        out_params = C.quantize_params(call, self.lookup_binding)
        if out_params is None:
            return call
        mean = C.resolve(call.args[0], self.lookup_binding)
        if not C.is_op(mean, "relax.mean"):
            return call
        source = C.dequantize_source(mean.args[0], self.lookup_binding)
        if source is None:
            return call
        q, in_params = source
        record = _mean_record(mean, in_params, out_params, C.shape_of(q))
        return C.record_call(record, [q], C.shape_of(call))


@relax.expr_functor.mutator
class _Pools(relax.PyExprMutator):
    def visit_call_(self, call):
        call = self.visit_expr_post_order(call)
        name = C.op_name(call)
        if name not in ("relax.nn.max_pool2d", "relax.nn.avg_pool2d", "relax.nn.adaptive_avg_pool2d", "relax.mean"):
            return call
        source = C.dequantize_source(call.args[0], self.lookup_binding)
        out_shape = C.shape_of(call)
        if source is None or out_shape is None:
            return call
        q, params = source
        in_shape = C.shape_of(q)
        if name == "relax.mean":
            record = _mean_record(call, params, params, in_shape)
        else:
            if len(in_shape) != 4:
                return call
            record = _pool_record(call, params, in_shape)
        if record is None:
            return call
        pooled = self.builder_.emit(C.record_call(record, [q], out_shape))
        return C.dequantize(pooled, params)


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.LowerPooling")
class LowerPooling:
    """Lower max/avg/global-average pooling and mean of quantized NHWC values to tinytvm ops."""

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        mod = C.rewrite_module(mod, lambda m, f: _QuantizedMean(m))
        return C.rewrite_module(mod, lambda m, f: _Pools(m))
