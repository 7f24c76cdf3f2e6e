"""softmax, logistic, mean, resize_nearest and the model-boundary (de/re)quantization."""

from __future__ import annotations

import math

from ...ir.graph import Layer
from ..c_syntax import CList, CStruct
from . import LoweredLayer, Slot, lowers
from .elementwise import shape_struct


def _value(x) -> Slot:
    return Slot("value", name=str(x))


@lowers("softmax")
def lower_softmax(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    op = layer.record
    shape = layer.out_shape
    fields = {"outer": math.prod(shape[:-1]), "depth": shape[-1], "input_multiplier": op.input_multiplier,
              "input_left_shift": op.input_left_shift, "diff_min": op.diff_min}
    return LoweredLayer("tinytvm_softmax_s8", "tinytvm/activations.h", "softmax", "tinytvm_softmax_params",
                        CStruct(fields), (Slot("input", 0), Slot("output")), (), 0)


@lowers("logistic")
def lower_logistic(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    op = layer.record
    fields = {"size": math.prod(layer.out_shape), "input_zp": op.input_zp,
              "input_range_radius": op.input_range_radius, "input_multiplier": op.input_multiplier,
              "input_left_shift": op.input_left_shift}
    return LoweredLayer("tinytvm_logistic_s8", "tinytvm/activations.h", "logistic", "tinytvm_logistic_params",
                        CStruct(fields), (Slot("input", 0), Slot("output")), (), 0)


@lowers("mean")
def lower_mean(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    op = layer.record
    axes = tuple(op.axes)
    fields = {"in_shape": shape_struct(layer.in_shapes[0]), "num_axes": len(axes), "axes": CList(axes or (0,)),
              "input_zp": op.input_zp, "output_zp": op.output_zp, "multiplier": op.multiplier, "shift": op.shift}
    return LoweredLayer("tinytvm_mean_s8", "tinytvm/pooling.h", "mean", "tinytvm_mean_params", CStruct(fields),
                        (Slot("input", 0), Slot("output")), (), 0)


@lowers("resize_nearest")
def lower_resize(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    op = layer.record
    batches, in_h, in_w, channels = layer.in_shapes[0]
    fields = {"batches": batches, "in_h": in_h, "in_w": in_w, "channels": channels,
              "out_h": layer.out_shape[1], "out_w": layer.out_shape[2],
              "align_corners": int(op.align_corners), "half_pixel_centers": int(op.half_pixel_centers)}
    return LoweredLayer("tinytvm_resize_nearest_s8", "tinytvm/shape_ops.h", "resize_nearest",
                        "tinytvm_resize_nearest_params", CStruct(fields), (Slot("input", 0), Slot("output")), (), 0)


@lowers("quantize")
def lower_quantize(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    op = layer.record
    arguments = (Slot("input", 0), Slot("output"), _value(math.prod(layer.out_shape)),
                 _value(f"{float(op.output_scale)!r}f"), _value(op.output_zp))
    return LoweredLayer("tinytvm_quantize_f32_s8", "tinytvm/quantize.h", "quantize", None, None, arguments, (), 0)


@lowers("dequantize")
def lower_dequantize(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    op = layer.record
    arguments = (Slot("input", 0), Slot("output"), _value(math.prod(layer.out_shape)),
                 _value(repr(float(op.input_scale))), _value(op.input_zp))
    return LoweredLayer("tinytvm_dequantize_s8_f32", "tinytvm/quantize.h", "quantize", None, None, arguments, (), 0)


@lowers("requantize")
def lower_requantize(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    op = layer.record
    arguments = (Slot("input", 0), Slot("output"), _value(math.prod(layer.out_shape)), _value(op.input_zp),
                 _value(op.output_zp), _value(op.multiplier), _value(op.shift))
    return LoweredLayer("tinytvm_requantize_s8", "tinytvm/quantize.h", "quantize", None, None, arguments, (), 0)
