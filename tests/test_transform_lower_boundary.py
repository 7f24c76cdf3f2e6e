"""LowerBoundaryQDQ: Q(DQ) -> identity / requantize; model-boundary Q/DQ -> tinytvm.quantize / dequantize."""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from tinytvm.ir.ops import Dequantize, MaxPool2D, Quantize, Requantize
from tinytvm.quantization.nonlinear_params import requantize_params
from tinytvm.transform import LowerBoundaryQDQ

S1, S2 = float(np.float32(0.1)), float(np.float32(0.07))
SHAPE = (1, 4, 4, 2)
POOL = MaxPool2D(output_scale=S1, output_zp=-3, pool=(1, 1), stride=(1, 1), padding=(0, 0, 0, 0), act_min=-128,
                 act_max=127)


def f32(value):
    return relax.const(np.asarray(value, dtype=np.float32))


def i8(value):
    return relax.const(np.asarray(value, dtype=np.int8))


def int8(shape=SHAPE):
    return relax.TensorType(shape, "int8")


def function(body, dtype="float32"):
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType(SHAPE, dtype))
    with bb.function("main", [x]):
        with bb.dataflow():
            out = bb.emit_output(body(bb, x))
        bb.emit_func_output(out)
    return bb.get()


def model(second_scale):
    """x -> Q -> (pool) -> DQ -> Q(second_scale) -> (pool) -> DQ -> output."""
    def body(bb, x):
        q = bb.emit(relax.op.quantize(x, f32(S1), i8(-3), axis=-1, out_dtype="int8"))
        p = bb.emit(POOL.call([q], int8()))
        d = bb.emit(relax.op.dequantize(p, f32(S1), i8(-3), axis=-1))
        q2 = bb.emit(relax.op.quantize(d, f32(second_scale), i8(-3), axis=-1, out_dtype="int8"))
        p2 = bb.emit(POOL.call([q2], int8()))
        return relax.op.dequantize(p2, f32(second_scale), i8(-3), axis=-1)
    return function(body)


def test_same_parameters_fold_and_boundary_ops_are_lowered():
    def expected(bb, x):
        q = bb.emit(Quantize(output_scale=S1, output_zp=-3).call([x], int8()))
        p = bb.emit(POOL.call([q], int8()))
        p2 = bb.emit(POOL.call([p], int8()))
        record = Dequantize(output_scale=S1, output_zp=-3, input_scale=S1, input_zp=-3)
        return record.call([p2], relax.TensorType(SHAPE, "float32"))

    tvm.ir.assert_structural_equal(LowerBoundaryQDQ()(model(S1)), function(expected))


def test_different_parameters_become_a_requantize():
    multiplier, shift = requantize_params(S1, S2)

    def expected(bb, x):
        q = bb.emit(Quantize(output_scale=S1, output_zp=-3).call([x], int8()))
        p = bb.emit(POOL.call([q], int8()))
        r = bb.emit(Requantize(output_scale=S2, output_zp=-3, input_zp=-3, multiplier=multiplier,
                               shift=shift).call([p], int8()))
        p2 = bb.emit(POOL.call([r], int8()))
        record = Dequantize(output_scale=S2, output_zp=-3, input_scale=S2, input_zp=-3)
        return record.call([p2], relax.TensorType(SHAPE, "float32"))

    tvm.ir.assert_structural_equal(LowerBoundaryQDQ()(model(S2)), function(expected))


def test_int8_io_removes_the_float_boundary():
    def expected(bb, x):
        p = bb.emit(POOL.call([x], int8()))
        return POOL.call([p], int8())

    after = LowerBoundaryQDQ(int8_io=True)(model(S1))
    tvm.ir.assert_structural_equal(after, function(expected, dtype="int8"))
    assert after["main"].params[0].name == "x"


def test_dequantize_feeding_a_float_operator_is_kept():
    def body(bb, x):
        q = bb.emit(relax.op.quantize(x, f32(S1), i8(-3), axis=-1, out_dtype="int8"))
        d = bb.emit(relax.op.dequantize(q, f32(S1), i8(-3), axis=-1))
        return relax.op.nn.gelu(d)

    after = LowerBoundaryQDQ()(function(body))
    ops = [str(b.value.op.global_symbol) if isinstance(b.value.op, relax.ExternFunc) else b.value.op.name
           for b in after["main"].body.blocks[0].bindings]
    assert ops == ["tinytvm.quantize", "relax.dequantize", "relax.nn.gelu"]
