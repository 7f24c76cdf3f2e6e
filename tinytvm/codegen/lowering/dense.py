"""fully_connected -> tinytvm_fully_connected_s8."""

from __future__ import annotations

from ...ir.graph import Layer
from .. import scratch
from ..c_syntax import CStruct
from . import LoweredLayer, lowers
from .conv import CONV_ARGUMENTS, _constants, requant


@lowers("fully_connected")
def lower_fully_connected(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    arrays = _constants(layer, prefix)
    batches, in_features = layer.in_shapes[0]
    fields = {"batches": batches, "in_features": in_features, "out_features": layer.in_shapes[1][0],
              "input_zp": layer.record.input_zp, "weight_zp": 0, "rq": requant(layer, arrays), "oc_unroll": 0,
              **(tuning or {})}
    return LoweredLayer("tinytvm_fully_connected_s8", "tinytvm/fully_connected.h", "fully_connected",
                        "tinytvm_fully_connected_params", CStruct(fields), CONV_ARGUMENTS,
                        tuple(arrays.values()), scratch.fully_connected(fields),
                        "tinytvm_fully_connected_s8_scratch_bytes")
