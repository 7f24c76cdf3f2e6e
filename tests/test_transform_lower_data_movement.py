"""LowerDataMovement: reshape/transpose/pad/concat around Q/DQ become tinytvm data-movement ops."""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from tinytvm.ir.ops import Concat, Pad, Reshape, Transpose
from tinytvm.transform import LowerDataMovement

S = float(np.float32(0.1))
S2 = float(np.float32(0.3))


def f32(value):
    return relax.const(np.asarray(value, dtype=np.float32))


def i8(value):
    return relax.const(np.asarray(value, dtype=np.int8))


def dq(x, scale=S, zp=5):
    return relax.op.dequantize(x, f32(scale), i8(zp), axis=-1)


def q(x, scale=S, zp=5):
    return relax.op.quantize(x, f32(scale), i8(zp), axis=-1, out_dtype="int8")


def rec(record, operands, shape):
    return record.call(operands, relax.TensorType(shape, "int8"))


def function(params, body):
    bb = relax.BlockBuilder()
    with bb.function("main", params):
        with bb.dataflow():
            out = bb.emit_output(body(bb, *params))
        bb.emit_func_output(out)
    return bb.get()


def var(name, shape, dtype="int8"):
    return relax.Var(name, relax.TensorType(shape, dtype))


def check(before_body, expected_body, params):
    before = function(params, before_body)
    expected = function(params, expected_body)
    tvm.ir.assert_structural_equal(LowerDataMovement()(before), expected)


def test_dequantize_is_pushed_through_transpose_and_reshape():
    def before(bb, x):
        d = bb.emit(dq(x))
        p = bb.emit(relax.op.permute_dims(d, [0, 3, 1, 2]))
        return relax.op.reshape(p, (1, 48))

    def expected(bb, x):
        t = bb.emit(rec(Transpose(output_scale=S, output_zp=5, perm=(0, 3, 1, 2)), [x], (1, 3, 4, 4)))
        r = bb.emit(rec(Reshape(output_scale=S, output_zp=5), [t], (1, 48)))
        return dq(r)

    check(before, expected, [var("x", (1, 4, 4, 3))])


def test_pad_value_is_quantized():
    def before(bb, x):
        d = bb.emit(dq(x))
        return relax.op.nn.pad(d, [0, 0, 1, 1, 2, 0, 0, 0], "constant", 0.0)

    def expected(bb, x):
        padded = bb.emit(rec(Pad(output_scale=S, output_zp=5, padding=(0, 0, 1, 1, 2, 0, 0, 0), pad_value=5),
                             [x], (1, 6, 6, 3)))
        return dq(padded)

    check(before, expected, [var("x", (1, 4, 4, 3))])


def test_quantize_is_pulled_above_movement_of_float_values():
    def before(bb, x):
        p = bb.emit(relax.op.permute_dims(x, [0, 2, 3, 1]))
        return q(p)

    def expected(bb, x):
        quantized = bb.emit(q(x))
        return rec(Transpose(output_scale=S, output_zp=5, perm=(0, 2, 3, 1)), [quantized], (1, 4, 4, 3))

    check(before, expected, [var("x", (1, 3, 4, 4), "float32")])


def test_concat_of_equally_quantized_values():
    def before(bb, a, b):
        return relax.op.concat([bb.emit(dq(a)), bb.emit(dq(b))], axis=3)

    def expected(bb, a, b):
        joined = bb.emit(rec(Concat(output_scale=S, output_zp=5, axis=3), [a, b], (1, 2, 2, 5)))
        return dq(joined)

    check(before, expected, [var("a", (1, 2, 2, 2)), var("b", (1, 2, 2, 3))])


def test_quantized_concat_of_differently_quantized_values():
    def before(bb, a, b):
        joined = bb.emit(relax.op.concat([bb.emit(dq(a)), bb.emit(dq(b, S2, -3))], axis=3))
        return q(joined, S2, -3)

    def expected(bb, a, b):
        da = bb.emit(dq(a))
        db = bb.emit(dq(b, S2, -3))
        qa = bb.emit(q(da, S2, -3))
        qb = bb.emit(q(db, S2, -3))
        return rec(Concat(output_scale=S2, output_zp=-3, axis=3), [qa, qb], (1, 2, 2, 5))

    check(before, expected, [var("a", (1, 2, 2, 2)), var("b", (1, 2, 2, 3))])


def test_dequantized_constants_are_left_alone():
    weight = relax.const(np.arange(12, dtype=np.int8).reshape(3, 4))

    def body(bb, x):
        w = bb.emit(relax.op.dequantize(weight, f32(0.5), i8(0), axis=-1))
        t = bb.emit(relax.op.permute_dims(w, [1, 0]))
        return relax.op.matmul(x, t)

    before = function([var("x", (1, 4), "float32")], body)
    tvm.ir.assert_structural_equal(LowerDataMovement()(before), before)
