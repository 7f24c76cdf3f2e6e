"""Operator records: Relax encoding round-trips, and records report their own MACs."""

import dataclasses

import numpy as np
import pytest
import tvm
from tvm import relax

from tinytvm.ir import ops
from tinytvm.ir.graph import layers
from tinytvm.ir.op import decode, is_tinytvm_op, kernel_name, record_class, registered_kernels


def _example(record_type):
    values = {}
    for field in dataclasses.fields(record_type):
        kind = field.type if isinstance(field.type, str) else field.type.__name__
        if "tuple" in kind:
            values[field.name] = (1, 2, 1, 2) if field.name == "padding" else (1, 2)
        elif kind == "float":
            values[field.name] = 0.125
        elif kind == "bool":
            values[field.name] = True
        else:
            values[field.name] = -3
    return record_type(**values)


@pytest.mark.parametrize("kernel", list(registered_kernels()))
def test_record_round_trips_through_relax(kernel):
    record = _example(record_class(kernel))
    x = relax.Var("x", relax.TensorType((1, 4, 4, 2), "int8"))
    call = record.call([x], relax.TensorType((1, 4, 4, 2), "int8"))
    assert kernel_name(call) == kernel and is_tinytvm_op(call, kernel)
    assert decode(call) == record


def _single_conv_module(stride):
    builder = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 8, 8, 3), "int8"))
    record = ops.Conv2D(output_scale=0.1, output_zp=-1, input_zp=-128, stride=stride, dilation=(1, 1),
                        padding=(0, 0, 1, 1), act_min=-128, act_max=127)
    operands = [x, relax.const(np.ones((4, 3, 3, 3), "int8")), relax.const(np.zeros(4, "int32")),
                relax.const(np.full(4, 1 << 30, "int32")), relax.const(np.zeros(4, "int32"))]
    out_hw = 8 // stride[0]
    with builder.function("main", [x]):
        with builder.dataflow():
            y = builder.emit(record.call(operands, relax.TensorType((1, out_hw, out_hw, 4), "int8")))
            out = builder.emit_output(y)
        builder.emit_func_output(out)
    return builder.get()


def test_structural_equality_sees_attributes():
    tvm.ir.assert_structural_equal(_single_conv_module((1, 1)), _single_conv_module((1, 1)))
    with pytest.raises(ValueError):
        tvm.ir.assert_structural_equal(_single_conv_module((1, 1)), _single_conv_module((2, 2)))


def test_layer_view_reports_macs_and_bytes():
    (layer,) = layers(_single_conv_module((2, 2)))
    assert layer.kernel == "conv2d"
    assert layer.macs == 4 * 4 * 4 * 3 * 3 * 3
    assert layer.output_bytes == 4 * 4 * 4
    assert layer.weight_bytes == 4 * 27 + 3 * 4 * 4
