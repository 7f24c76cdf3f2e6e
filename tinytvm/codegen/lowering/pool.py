"""avg_pool2d, max_pool2d -> tinytvm_{avg,max}_pool2d_s8."""

from __future__ import annotations

from ...ir.graph import Layer
from ..c_syntax import CStruct
from . import LoweredLayer, Slot, lowers


@lowers("avg_pool2d", "max_pool2d")
def lower_pool(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    op = layer.record
    batches, in_h, in_w, channels = layer.in_shapes[0]
    top, left, bottom, right = op.padding
    fields = {"batches": batches, "in_h": in_h, "in_w": in_w, "channels": channels,
              "out_h": layer.out_shape[1], "out_w": layer.out_shape[2], "k_h": op.pool[0], "k_w": op.pool[1],
              "stride_h": op.stride[0], "stride_w": op.stride[1], "pad_top": top, "pad_left": left,
              "pad_bottom": bottom, "pad_right": right, "act_min": op.act_min, "act_max": op.act_max}
    return LoweredLayer(f"tinytvm_{layer.kernel}_s8", "tinytvm/pooling.h", "pooling", "tinytvm_pool2d_params",
                        CStruct(fields), (Slot("input", 0), Slot("output")), (), 0)
