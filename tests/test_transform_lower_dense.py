"""LowerDense: quantize(act(matmul(dequantize, W) + bias)) -> tinytvm.fully_connected."""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from tinytvm.ir.ops import FullyConnected, Reshape
from tinytvm.quantization.params import activation_range, per_channel_multipliers, per_tensor_fc_multiplier
from tinytvm.reference import reference_run
from tinytvm.transform import LowerDense

RNG = np.random.default_rng(5)
S_IN, ZP_IN = float(np.float32(0.04)), -10
S_OUT, ZP_OUT = float(np.float32(0.2)), 4
WEIGHT = RNG.integers(-127, 128, (10, 16)).astype(np.int8)  # [N, K], as ONNX Gemm with transB=1
BIAS = RNG.integers(-300, 300, 10).astype(np.int32)


def f32(value):
    return relax.const(np.asarray(value, dtype=np.float32))


def const(value, dtype):
    return relax.const(np.asarray(value, dtype=dtype))


def function(body, shape):
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType(shape, "int8"))
    with bb.function("main", [x]):
        with bb.dataflow():
            out = bb.emit_output(body(bb, x))
        bb.emit_func_output(out)
    return bb.get()


def dense_layer(shape, scales, activation=None):
    def body(bb, x):
        d = bb.emit(relax.op.dequantize(x, f32(S_IN), const(ZP_IN, "int8"), axis=-1))
        w = bb.emit(relax.op.dequantize(relax.const(WEIGHT), f32(scales), const(np.zeros(np.size(scales)), "int8"),
                                        axis=0))
        t = bb.emit(relax.op.permute_dims(w, [1, 0]))
        m = bb.emit(relax.op.matmul(d, t))
        b = bb.emit(relax.op.dequantize(relax.const(BIAS), f32(np.float32(S_IN) * np.asarray(scales, np.float32)),
                                        const(np.zeros(np.size(scales)), "int32"), axis=0))
        y = bb.emit(relax.op.add(m, b))
        if activation is not None:
            y = bb.emit(activation(y))
        return relax.op.quantize(y, f32(S_OUT), const(ZP_OUT, "int8"), axis=-1, out_dtype="int8")
    return function(body, shape)


def fc_operands(x, multiplier, shift):
    return [x, relax.const(WEIGHT), relax.const(BIAS), relax.const(np.asarray(multiplier, np.int32)),
            relax.const(np.asarray(shift, np.int32))]


def test_per_tensor_weights_use_tflite_fc_multiplier():
    after = LowerDense()(dense_layer((1, 16), 0.01, relax.op.nn.relu))
    single = per_tensor_fc_multiplier(S_IN, float(np.float32(0.01)), S_OUT)
    act_min, act_max = activation_range("RELU", S_OUT, ZP_OUT)
    record = FullyConnected(output_scale=S_OUT, output_zp=ZP_OUT, input_zp=ZP_IN, act_min=act_min, act_max=act_max)
    expected = function(lambda bb, x: record.call(fc_operands(x, [single[0]] * 10, [single[1]] * 10),
                                                  relax.TensorType((1, 10), "int8")), (1, 16))
    tvm.ir.assert_structural_equal(after, expected)


def test_rank_3_input_is_flattened_and_restored():
    scales = np.linspace(0.005, 0.02, 10).astype(np.float32)
    after = LowerDense()(dense_layer((1, 4, 16), scales))
    multiplier, shift = per_channel_multipliers(S_IN, scales, S_OUT, 10)
    record = FullyConnected(output_scale=S_OUT, output_zp=ZP_OUT, input_zp=ZP_IN, act_min=-128, act_max=127)

    def expected(bb, x):
        flat = bb.emit(Reshape(output_scale=S_IN, output_zp=ZP_IN).call([x], relax.TensorType((4, 16), "int8")))
        dense = bb.emit(record.call(fc_operands(flat, multiplier, shift), relax.TensorType((4, 10), "int8")))
        return Reshape(output_scale=S_OUT, output_zp=ZP_OUT).call([dense], relax.TensorType((1, 4, 10), "int8"))

    tvm.ir.assert_structural_equal(after, function(expected, (1, 4, 16)))
    x = RNG.integers(-128, 128, (1, 4, 16)).astype(np.int8)
    (out,) = reference_run(after, [x])
    real = (S_IN * (x.astype(np.float64) - ZP_IN)) @ (WEIGHT.astype(np.float64) * scales[:, None]).T
    real += BIAS * (np.float32(S_IN) * scales)
    assert np.abs(out - np.clip(np.round(real / S_OUT) + ZP_OUT, -128, 127)).max() <= 1


def test_matmul_with_a_runtime_weight_is_left_alone():
    y = relax.Var("y", relax.TensorType((16, 10), "float32"))
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 16), "int8"))
    with bb.function("main", [x, y]):
        with bb.dataflow():
            d = bb.emit(relax.op.dequantize(x, f32(S_IN), const(ZP_IN, "int8"), axis=-1))
            m = bb.emit(relax.op.matmul(d, y))
            out = bb.emit_output(relax.op.quantize(m, f32(S_OUT), const(0, "int8"), axis=-1, out_dtype="int8"))
        bb.emit_func_output(out)
    module = bb.get()
    tvm.ir.assert_structural_equal(LowerDense()(module), module)
