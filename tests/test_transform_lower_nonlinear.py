"""LowerNonlinear: quantize(sigmoid/softmax(dequantize)) -> tinytvm.logistic / tinytvm.softmax."""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from tinytvm.ir.ops import Logistic, Requantize, Softmax
from tinytvm.quantization.nonlinear_params import logistic_params, requantize_params, softmax_params
from tinytvm.reference import reference_run
from tinytvm.transform import LowerNonlinear

S_IN, ZP_IN = float(np.float32(0.06)), 5
P256 = float(np.float32(1 / 256))
P255 = float(np.float32(1 / 255))


def f32(value):
    return relax.const(np.asarray(value, dtype=np.float32))


def i8(value):
    return relax.const(np.asarray(value, dtype=np.int8))


def function(body, shape=(2, 10)):
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType(shape, "int8"))
    with bb.function("main", [x]):
        with bb.dataflow():
            out = bb.emit_output(body(bb, x))
        bb.emit_func_output(out)
    return bb.get()


def layer(op, out_scale, out_zp, shape=(2, 10)):
    def body(bb, x):
        d = bb.emit(relax.op.dequantize(x, f32(S_IN), i8(ZP_IN), axis=-1))
        y = bb.emit(op(d))
        return relax.op.quantize(y, f32(out_scale), i8(out_zp), axis=-1, out_dtype="int8")
    return function(body, shape)


def test_sigmoid_at_tflite_output_quantization():
    after = LowerNonlinear()(layer(relax.op.sigmoid, P256, -128))
    record = Logistic(output_scale=P256, output_zp=-128, **logistic_params(S_IN, ZP_IN))
    expected = function(lambda bb, x: record.call([x], relax.TensorType((2, 10), "int8")))
    tvm.ir.assert_structural_equal(after, expected)
    x = np.arange(-128, 128, dtype=np.int8).reshape(2, 128)[:, :10]
    (out,) = reference_run(after, [x])
    real = 1.0 / (1.0 + np.exp(-S_IN * (x.astype(np.float64) - ZP_IN)))
    assert np.abs(out - np.clip(np.round(real / P256) - 128, -128, 127)).max() <= 1


def test_softmax_with_other_output_quantization_is_requantized():
    after = LowerNonlinear()(layer(lambda d: relax.op.nn.softmax(d, axis=-1), P255, -128))
    softmax = Softmax(output_scale=P256, output_zp=-128, **softmax_params(1.0, S_IN))
    multiplier, shift = requantize_params(P256, P255)
    requant = Requantize(output_scale=P255, output_zp=-128, input_zp=-128, multiplier=multiplier, shift=shift)

    def expected(bb, x):
        s = bb.emit(softmax.call([x], relax.TensorType((2, 10), "int8")))
        return requant.call([s], relax.TensorType((2, 10), "int8"))

    tvm.ir.assert_structural_equal(after, function(expected))
    x = np.random.default_rng(1).integers(-128, 128, (2, 10)).astype(np.int8)
    (out,) = reference_run(after, [x])
    logits = S_IN * (x.astype(np.float64) - ZP_IN)
    real = np.exp(logits - logits.max(axis=1, keepdims=True))
    real /= real.sum(axis=1, keepdims=True)
    assert np.abs(out - np.clip(np.round(real / P255) - 128, -128, 127)).max() <= 2


def test_softmax_over_another_axis_is_left_alone():
    module = layer(lambda d: relax.op.nn.softmax(d, axis=0), P256, -128)
    tvm.ir.assert_structural_equal(LowerNonlinear()(module), module)
