"""ConvertQDQToInt8: uint8 Q/DQ -> int8 with the zero point shifted by -128."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
from tvm import relax

from tinytvm.errors import QuantizationError
from tinytvm.transform import ConvertQDQToInt8


def const(value, dtype):
    return relax.const(np.asarray(value, dtype=dtype))


def build(param_dtype, body):
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 4, 4, 3), param_dtype))
    with bb.function("main", [x]):
        with bb.dataflow():
            out = bb.emit_output(body(bb, x))
        bb.emit_func_output(out)
    return bb.get()


def qdq_body(dtype, zero_point, weight, weight_zp):
    def body(bb, x):
        q = bb.emit(relax.op.quantize(x, const(0.1, "float32"), const(zero_point, dtype), axis=3, out_dtype=dtype))
        d = bb.emit(relax.op.dequantize(q, const(0.1, "float32"), const(zero_point, dtype), axis=3))
        w = bb.emit(relax.op.dequantize(const(weight, weight.dtype), const([0.5, 0.25, 0.125], "float32"),
                                        const(weight_zp, weight.dtype), axis=2))
        s = bb.emit(relax.op.add(d, w))
        q2 = bb.emit(relax.op.quantize(s, const(0.2, "float32"), const(zero_point, dtype), axis=3, out_dtype=dtype))
        return relax.op.dequantize(q2, const(0.2, "float32"), const(zero_point, dtype), axis=3)
    return body


def test_uint8_becomes_int8():
    weight_u8 = np.array([[[0, 128, 255]]], dtype=np.uint8).repeat(4, 0).reshape(1, 4, 3)
    before = build("float32", qdq_body("uint8", 130, weight_u8, [128, 128, 100]))
    expected = build("float32", qdq_body("int8", 2, (weight_u8.astype(np.int16) - 128).astype(np.int8), [0, 0, -28]))
    after = ConvertQDQToInt8()(before)
    tvm.ir.assert_structural_equal(after, expected)


def test_int8_module_is_unchanged():
    weight = np.arange(12, dtype=np.int8).reshape(1, 4, 3)
    before = build("float32", qdq_body("int8", -5, weight, [0, 0, 0]))
    tvm.ir.assert_structural_equal(ConvertQDQToInt8()(before), before)


def test_dequantized_values_are_preserved():
    weight_u8 = np.arange(0, 256, 22, dtype=np.uint8)[:12].reshape(1, 4, 3)
    zero_points = np.array([128, 0, 255], dtype=np.uint8)
    scales = np.array([0.5, 0.25, 0.125], dtype=np.float32)
    before = build("float32", qdq_body("uint8", 7, weight_u8, zero_points))
    after = ConvertQDQToInt8()(before)
    weight_call = [b.value for b in after["main"].body.blocks[0].bindings][2]
    data, scale, zp = (a.value.numpy() for a in weight_call.args)
    np.testing.assert_array_equal((data.astype(np.int32) - zp.astype(np.int32)) * scale,
                                  (weight_u8.astype(np.int32) - zero_points.astype(np.int32)) * scales)


def test_uint8_model_input_is_rejected():
    def body(bb, x):
        return relax.op.dequantize(x, const(0.1, "float32"), const(128, "uint8"), axis=3)

    with pytest.raises(QuantizationError, match="uint8"):
        ConvertQDQToInt8()(build("uint8", body))
