"""LowerElementwise: quantize(act(add/mul/sub/div(dequantize, ...))) -> tinytvm.add / tinytvm.mul."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
from tvm import relax

from tinytvm.ir.ops import Add, Mul
from tinytvm.quantization.calibrate import asymmetric_params
from tinytvm.quantization.params import activation_range, add_params, mul_multiplier
from tinytvm.reference import reference_run
from tinytvm.transform import LowerElementwise

SA, ZA = float(np.float32(0.05)), 3
SB, ZB = float(np.float32(0.11)), -20
SO, ZO = float(np.float32(0.12)), -128


def f32(value):
    return relax.const(np.asarray(value, dtype=np.float32))


def i8(value):
    return relax.const(np.asarray(value, dtype=np.int8))


def function(body, shapes=((1, 4, 4, 3), (1, 1, 1, 3))):
    bb = relax.BlockBuilder()
    params = [relax.Var(n, relax.TensorType(s, "int8")) for n, s in zip("ab", shapes)]
    with bb.function("main", params):
        with bb.dataflow():
            out = bb.emit_output(body(bb, *params))
        bb.emit_func_output(out)
    return bb.get()


def layer(op, activation=None, constant=None):
    def body(bb, a, b):
        da = bb.emit(relax.op.dequantize(a, f32(SA), i8(ZA), axis=-1))
        other = relax.const(np.float32(constant)) if constant is not None else \
            bb.emit(relax.op.dequantize(b, f32(SB), i8(ZB), axis=-1))
        y = bb.emit(op(da, other))
        if activation is not None:
            y = bb.emit(activation(y))
        return relax.op.quantize(y, f32(SO), i8(ZO), axis=-1, out_dtype="int8")
    return function(body)


def test_add_with_broadcast_and_relu():
    after = LowerElementwise()(layer(relax.op.add, relax.op.nn.relu))
    act_min, act_max = activation_range("RELU", SO, ZO)
    record = Add(output_scale=SO, output_zp=ZO, lhs_zp=ZA, rhs_zp=ZB, act_min=act_min, act_max=act_max,
                 **add_params(SA, SB, SO))
    expected = function(lambda bb, a, b: record.call([a, b], relax.TensorType((1, 4, 4, 3), "int8")))
    tvm.ir.assert_structural_equal(after, expected)


def test_mul():
    after = LowerElementwise()(layer(relax.op.multiply))
    multiplier, shift = mul_multiplier(SA, SB, SO)
    record = Mul(output_scale=SO, output_zp=ZO, lhs_zp=ZA, rhs_zp=ZB, output_multiplier=multiplier,
                 output_shift=shift, act_min=-128, act_max=127)
    expected = function(lambda bb, a, b: record.call([a, b], relax.TensorType((1, 4, 4, 3), "int8")))
    tvm.ir.assert_structural_equal(after, expected)


@pytest.mark.parametrize("op,constant,real", [
    (relax.op.multiply, 0.7, lambda x: x * 0.7),
    (relax.op.subtract, 0.3, lambda x: x - 0.3),
    (relax.op.divide, 4.0, lambda x: x / 4.0),
    (relax.op.add, -1.5, lambda x: x - 1.5),
], ids=["mul", "sub", "div", "add"])
def test_float_constant_operands(op, constant, real):
    after = LowerElementwise()(layer(op, constant=constant))
    (call,) = [b.value for b in after["main"].body.blocks[0].bindings]
    value = call.args[1].value.numpy()
    assert value.dtype == np.int8 and value.shape == ()
    folded = {relax.op.subtract: -constant, relax.op.divide: 1.0 / constant}.get(op, constant)
    params = asymmetric_params(min(folded, 0.0), max(folded, 0.0))
    assert abs(params.scale * (int(value) - params.zero_point) - folded) <= params.scale / 2
    a = np.random.default_rng(0).integers(-128, 128, (1, 4, 4, 3)).astype(np.int8)
    (out,) = reference_run(after, [a, np.zeros((1, 1, 1, 3), np.int8)])
    expected = np.clip(np.round(real(SA * (a.astype(np.float64) - ZA)) / SO) + ZO, -128, 127)
    assert np.abs(out - expected).max() <= 1


def test_add_of_two_runtime_float_values_is_left_alone():
    def body(bb, a, b):
        y = bb.emit(relax.op.add(bb.emit(relax.op.astype(a, "float32")), bb.emit(relax.op.astype(b, "float32"))))
        return relax.op.quantize(y, f32(SO), i8(ZO), axis=-1, out_dtype="int8")

    module = function(body)
    tvm.ir.assert_structural_equal(LowerElementwise()(module), module)
