"""LowerConvolution: quantize(act(conv2d(dequantize) + bias)) -> tinytvm.conv2d / depthwise_conv2d."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
from tvm import relax

from tinytvm.errors import UnsupportedOperatorError
from tinytvm.ir.ops import Conv2D, DepthwiseConv2D
from tinytvm.quantization.calibrate import symmetric_per_channel
from tinytvm.quantization.params import activation_range, per_channel_multipliers
from tinytvm.reference import reference_run
from tinytvm.transform import LowerConvolution

RNG = np.random.default_rng(3)
S_IN, ZP_IN = float(np.float32(0.05)), 3
S_OUT, ZP_OUT = float(np.float32(0.1)), -128


def f32(value):
    return relax.const(np.asarray(value, dtype=np.float32))


def const(value, dtype):
    return relax.const(np.asarray(value, dtype=dtype))


def function(body, shape=(1, 6, 6, 3)):
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType(shape, "int8"))
    with bb.function("main", [x]):
        with bb.dataflow():
            out = bb.emit_output(body(bb, x))
        bb.emit_func_output(out)
    return bb.get()


def conv_layer(weight, scales, bias, groups=1, activation=relax.op.nn.relu, shape=(1, 6, 6, 3)):
    """The QDQ layer with OIHW weights ``weight`` (int8 with per-channel ``scales``, or float if scales is None)."""
    channels = weight.shape[0]

    def body(bb, x):
        d = bb.emit(relax.op.dequantize(x, f32(S_IN), const(ZP_IN, "int8"), axis=-1))
        if scales is None:
            w = relax.const(weight)
        else:
            w = bb.emit(relax.op.dequantize(relax.const(weight), f32(scales), const(np.zeros(channels), "int8"),
                                            axis=0))
        c = bb.emit(relax.op.nn.conv2d(d, w, strides=[1, 1], padding=[1, 1, 1, 1], groups=groups,
                                       data_layout="NHWC", kernel_layout="OIHW", out_layout="NHWC"))
        if bias.dtype == np.int32:
            b = bb.emit(relax.op.dequantize(relax.const(bias), f32(np.float32(S_IN) * np.asarray(scales)),
                                            const(np.zeros(channels), "int32"), axis=0))
        else:
            b = relax.const(bias.reshape(1, 1, 1, channels))
        a = bb.emit(relax.op.add(c, b))
        r = bb.emit(activation(a)) if activation is not None else a
        return relax.op.quantize(r, f32(S_OUT), const(ZP_OUT, "int8"), axis=-1, out_dtype="int8")

    return function(body, shape)


def expected_conv(record, kernel, bias, multiplier, shift, out_shape, shape=(1, 6, 6, 3)):
    def body(bb, x):
        operands = [x, relax.const(kernel.astype(np.int8)), relax.const(bias.astype(np.int32)),
                    relax.const(multiplier.astype(np.int32)), relax.const(shift.astype(np.int32))]
        return record.call(operands, relax.TensorType(out_shape, "int8"))
    return function(body, shape)


def common(**extra):
    act_min, act_max = activation_range("RELU", S_OUT, ZP_OUT)
    return dict(output_scale=S_OUT, output_zp=ZP_OUT, input_zp=ZP_IN, stride=(1, 1), dilation=(1, 1),
                padding=(1, 1, 1, 1), act_min=act_min, act_max=act_max, **extra)


def test_conv2d_with_per_channel_weights_bias_and_relu():
    weight = RNG.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    scales = np.array([0.01, 0.02, 0.005, 0.03], np.float32)
    bias = RNG.integers(-500, 500, 4).astype(np.int32)
    after = LowerConvolution()(conv_layer(weight, scales, bias))
    multiplier, shift = per_channel_multipliers(S_IN, scales, S_OUT, 4)
    expected = expected_conv(Conv2D(**common()), weight.transpose(0, 2, 3, 1), bias, multiplier, shift, (1, 6, 6, 4))
    tvm.ir.assert_structural_equal(after, expected)


def test_depthwise_convolution():
    weight = RNG.integers(-127, 128, (6, 1, 3, 3)).astype(np.int8)  # depth multiplier 2
    scales = np.linspace(0.01, 0.02, 6).astype(np.float32)
    bias = RNG.integers(-500, 500, 6).astype(np.int32)
    after = LowerConvolution()(conv_layer(weight, scales, bias, groups=3))
    multiplier, shift = per_channel_multipliers(S_IN, scales, S_OUT, 6)
    record = DepthwiseConv2D(depth_multiplier=2, **common())
    expected = expected_conv(record, weight.transpose(1, 2, 3, 0), bias, multiplier, shift, (1, 6, 6, 6))
    tvm.ir.assert_structural_equal(after, expected)


def test_float_weights_are_quantized_per_channel_and_results_match_float():
    weight = (RNG.standard_normal((4, 3, 3, 3)) * 0.2).astype(np.float32)
    bias = (RNG.standard_normal(4) * 0.1).astype(np.float32)
    after = LowerConvolution()(conv_layer(weight, None, bias, activation=None))
    (layer,) = [b.value for b in after["main"].body.blocks[0].bindings]
    quantized, scales = symmetric_per_channel(weight, 0)
    np.testing.assert_array_equal(layer.args[1].value.numpy(), quantized.transpose(0, 2, 3, 1))
    # against float math on the dequantized input: within one output step (+ weight rounding)
    x = RNG.integers(-128, 128, (1, 6, 6, 3)).astype(np.int8)
    (out,) = reference_run(after, [x])
    real_x = np.pad(S_IN * (x.astype(np.float64) - ZP_IN), ((0, 0), (1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(real_x, (3, 3), axis=(1, 2))  # N,H,W,C,kh,kw
    real = np.einsum("nhwcij,ocij->nhwo", windows, weight.astype(np.float64)) + bias
    expected = np.clip(np.round(real / S_OUT) + ZP_OUT, -128, 127)
    assert np.abs(out.astype(np.int64) - expected).max() <= 1


def test_grouped_convolution_is_rejected():
    weight = RNG.integers(-127, 128, (4, 2, 3, 3)).astype(np.int8)
    module = conv_layer(weight, np.full(4, 0.01, np.float32), np.zeros(4, np.int32), groups=2, shape=(1, 6, 6, 4))
    with pytest.raises(UnsupportedOperatorError, match="group=2"):
        LowerConvolution()(module)


def test_nchw_convolution_is_left_alone():
    def body(bb, x):
        d = bb.emit(relax.op.dequantize(x, f32(S_IN), const(ZP_IN, "int8"), axis=-1))
        c = bb.emit(relax.op.nn.conv2d(d, relax.const(np.ones((2, 3, 1, 1), np.float32))))
        return relax.op.quantize(c, f32(S_OUT), const(0, "int8"), axis=-1, out_dtype="int8")

    module = function(body, (1, 3, 4, 4))
    tvm.ir.assert_structural_equal(LowerConvolution()(module), module)
