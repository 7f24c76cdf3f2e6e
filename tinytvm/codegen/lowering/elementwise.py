"""add, mul -> tinytvm_{add,mul}_s8 (flat) or their broadcasting variants."""

from __future__ import annotations

import tvm

from ...ir.graph import Layer
from ..c_syntax import CArray, CList, CStruct
from . import LoweredLayer, Slot, lowers


def shape_struct(shape) -> CStruct:
    return CStruct({"rank": len(shape), "dims": CList(tuple(shape) or (1,))})


def _operand_slots(layer: Layer, prefix: str):
    """Activation operands bind to pointers; constant operands become arrays."""
    slots, arrays = [], []
    for position, operand in enumerate(layer.call.args):
        if isinstance(operand, tvm.ir.Constant):
            name = f"operand{position}"
            arrays.append(CArray(f"{prefix}_{name}", "int8", operand.value.numpy()))
            slots.append(Slot("const", name=name))
        else:
            slots.append(Slot("input", position))
    return slots, arrays


def _lower_binary(layer: Layer, prefix: str, kernel: str, fields: dict) -> LoweredLayer:
    slots, arrays = _operand_slots(layer, prefix)
    lhs_shape, rhs_shape = layer.in_shapes
    header = "tinytvm/elementwise.h"
    if lhs_shape == rhs_shape == layer.out_shape:
        size = Slot("value", name=str(layer.output_bytes))
        return LoweredLayer(f"tinytvm_{kernel}_s8", header, "elementwise", f"tinytvm_{kernel}_params",
                            CStruct(fields), (slots[0], slots[1], Slot("output"), size), tuple(arrays), 0)
    shapes = [Slot("value", name=f"&(const tinytvm_shape){shape_struct(s).render()}")
              for s in (lhs_shape, rhs_shape, layer.out_shape)]
    arguments = (shapes[0], slots[0], shapes[1], slots[1], shapes[2], Slot("output"))
    return LoweredLayer(f"tinytvm_{kernel}_s8_broadcast", header, "elementwise", f"tinytvm_{kernel}_params",
                        CStruct(fields), arguments, tuple(arrays), 0)


@lowers("add")
def lower_add(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    op = layer.record
    fields = {"input1_zp": op.lhs_zp, "input2_zp": op.rhs_zp, "output_zp": op.output_zp,
              "left_shift": op.left_shift, "input1_multiplier": op.lhs_multiplier, "input1_shift": op.lhs_shift,
              "input2_multiplier": op.rhs_multiplier, "input2_shift": op.rhs_shift,
              "output_multiplier": op.output_multiplier, "output_shift": op.output_shift,
              "act_min": op.act_min, "act_max": op.act_max}
    return _lower_binary(layer, prefix, "add", fields)


@lowers("mul")
def lower_mul(layer: Layer, prefix: str, tuning: dict | None = None) -> LoweredLayer:
    op = layer.record
    fields = {"input1_zp": op.lhs_zp, "input2_zp": op.rhs_zp, "output_zp": op.output_zp,
              "output_multiplier": op.output_multiplier, "output_shift": op.output_shift,
              "act_min": op.act_min, "act_max": op.act_max}
    return _lower_binary(layer, prefix, "mul", fields)

