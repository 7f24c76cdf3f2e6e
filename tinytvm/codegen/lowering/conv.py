"""conv2d, depthwise_conv2d and fully_connected -> tinytvm_*_s8 kernel calls."""

from __future__ import annotations


from ...ir.graph import Layer
from .. import scratch
from ..c_syntax import CArray, CStruct, Expr
from . import LoweredLayer, Slot, lowers

CONV_ARGUMENTS = (Slot("input", 0), Slot("const", name="weight"), Slot("const", name="bias"),
                  Slot("output"), Slot("scratch"))


def _constants(layer: Layer, prefix: str) -> dict[str, CArray]:
    names = ("weight", "bias", "multiplier", "shift")
    arrays = {}
    for name, operand in zip(names, layer.call.args[1:]):
        values = operand.value.numpy()
        arrays[name] = CArray(f"{prefix}_{name}", str(values.dtype), values)
    return arrays


def requant(layer: Layer, arrays: dict[str, CArray]) -> CStruct:
    op = layer.record
    return CStruct({
        "multiplier": Expr(arrays["multiplier"].name), "shift": Expr(arrays["shift"].name),
        "output_zp": op.output_zp, "act_min": op.act_min, "act_max": op.act_max, "per_tensor": 0,
    })


def _spatial(layer: Layer) -> dict:
    op = layer.record
    batches, in_h, in_w, in_c = layer.in_shapes[0]
    _, out_h, out_w, _ = layer.out_shape
    top, left, bottom, right = op.padding
    return {"batches": batches, "in_h": in_h, "in_w": in_w, "in_c": in_c, "out_h": out_h, "out_w": out_w}, {
        "stride_h": op.stride[0], "stride_w": op.stride[1], "dilation_h": op.dilation[0],
        "dilation_w": op.dilation[1], "pad_top": top, "pad_left": left, "pad_bottom": bottom,
        "pad_right": right}


@lowers("conv2d")
def lower_conv2d(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    arrays = _constants(layer, prefix)
    shapes, window = _spatial(layer)
    out_c, k_h, k_w, _ = layer.in_shapes[1]
    knobs = {"impl": 0, "oc_unroll": 0, "px_unroll": 0, **(tuning or {})}
    if layer.record.in_place:  # the paths whose aliasing rules memory.liveness.input_lead relies on
        knobs["impl"] = scratch.CONV_1X1 if (k_h, k_w) == (1, 1) and not any(layer.record.padding) \
            else scratch.CONV_IM2COL
    fields = {**shapes, "out_c": out_c, "k_h": k_h, "k_w": k_w, **window, "groups": 1,
              "input_zp": layer.record.input_zp, "rq": requant(layer, arrays), **knobs}
    return LoweredLayer("tinytvm_conv2d_s8", "tinytvm/conv2d.h", "conv2d", "tinytvm_conv2d_params",
                        CStruct(fields), CONV_ARGUMENTS, tuple(arrays.values()), scratch.conv2d(fields),
                        "tinytvm_conv2d_s8_scratch_bytes")


DW_GENERIC = scratch.DW_GENERIC
DW_ROWS = scratch.DW_ROWS


@lowers("depthwise_conv2d")
def lower_depthwise(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    arrays = _constants(layer, prefix)
    shapes, window = _spatial(layer)
    _, k_h, k_w, _ = layer.in_shapes[1]
    shapes.pop("out_h"), shapes.pop("out_w")
    fields = {**shapes, "depth_multiplier": layer.record.depth_multiplier, "out_h": layer.out_shape[1],
              "out_w": layer.out_shape[2], "k_h": k_h, "k_w": k_w, **window,
              "input_zp": layer.record.input_zp, "rq": requant(layer, arrays), "impl": 0, "ch_block": 0,
              **(tuning or {})}
    if layer.record.in_place and scratch.depthwise_resolve_impl(fields) == DW_GENERIC and (k_h, k_w) != (1, 1):
        # The direct path reads neighbours its own writes have replaced; the buffered paths (ROWS, PLANE)
        # copy a channel's rows before overwriting them (depthwise_conv2d.h). AUTO resolves to ROWS
        # except for 1x1 kernels without padding, where GENERIC is in-place safe.
        fields["impl"] = DW_ROWS
    return LoweredLayer("tinytvm_depthwise_conv2d_s8", "tinytvm/depthwise_conv2d.h", "depthwise_conv2d",
                        "tinytvm_depthwise_conv2d_params", CStruct(fields), CONV_ARGUMENTS,
                        tuple(arrays.values()), scratch.depthwise_conv2d(fields),
                        "tinytvm_depthwise_conv2d_s8_scratch_bytes")
