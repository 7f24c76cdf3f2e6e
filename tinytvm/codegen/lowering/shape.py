"""Data movement: reshape (a view, or a copy), transpose, pad, concatenation."""

from __future__ import annotations

import math

import numpy as np

from ...ir.graph import Layer
from ..c_syntax import CArray, CList, CStruct, Expr
from . import LoweredLayer, Slot, lowers
from .elementwise import shape_struct


@lowers("reshape")
def lower_reshape(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    # Usually input and output share storage and no code is emitted (see codegen.aot).
    size = Slot("value", name=str(layer.output_bytes))
    return LoweredLayer("memcpy", "string.h", "", None, None, (Slot("output"), Slot("input", 0), size), (), 0)


@lowers("transpose")
def lower_transpose(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    fields = {"in_shape": shape_struct(layer.in_shapes[0]), "perm": CList(tuple(layer.record.perm) or (0,))}
    return LoweredLayer("tinytvm_transpose_s8", "tinytvm/shape_ops.h", "transpose", "tinytvm_transpose_params",
                        CStruct(fields), (Slot("input", 0), Slot("output")), (), 0)


@lowers("pad")
def lower_pad(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    padding = layer.record.padding
    fields = {"in_shape": shape_struct(layer.in_shapes[0]), "before": CList(tuple(padding[0::2]) or (0,)),
              "after": CList(tuple(padding[1::2]) or (0,)), "pad_value": layer.record.pad_value}
    return LoweredLayer("tinytvm_pad_s8", "tinytvm/shape_ops.h", "pad", "tinytvm_pad_params", CStruct(fields),
                        (Slot("input", 0), Slot("output")), (), 0)


@lowers("concat")
def lower_concat(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    axis = layer.record.axis
    shapes = layer.in_shapes
    outer = math.prod(layer.out_shape[:axis])
    chunks = np.array([math.prod(s[axis:]) for s in shapes], dtype=np.int32)  # int8: bytes == elements
    array = CArray(f"{prefix}_chunks", "int32", chunks)
    fields = {"num_inputs": len(shapes), "outer": outer, "chunk_bytes": Expr(array.name)}
    return LoweredLayer("tinytvm_concat_s8", "tinytvm/shape_ops.h", "concat", "tinytvm_concat_params",
                        CStruct(fields), (Slot("inputs"), Slot("output")), (array,), 0)
