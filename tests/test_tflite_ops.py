"""CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MUL, pooling and data movement: bit-exact with TFLite Micro.

Every model is built in the test (``tflite_builder``), run by TFLM (``oracle``: the PyPI
``tflite-micro`` reference kernels) and by ``tinytvm.reference_run(tinytvm.from_tflite(...))``
on several seeded random full-range int8 input sets plus extremes (all -128, all 127,
alternating, every int8 value); 100% of the output elements must be identical
(:func:`bitexact.assert_bit_exact`).

Edge cases covered on purpose: zero points at the int8 limits (-128, 127) on inputs and outputs,
per-channel weight scales spanning three orders of magnitude in one layer, saturating outputs,
odd spatial sizes, stride 2 SAME on odd and even sizes, strides up to 3 and dilations up to 3,
fused RELU / RELU6 / RELU_N1_TO_1, broadcasting (incl. [1] and [1,1,1,C] operands and constants),
shape operators whose output quantization differs from the input's (TFLM copies the bytes),
float model boundaries (QUANTIZE / DEQUANTIZE) and models with several inputs and outputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinytvm
from bitexact import assert_bit_exact, int8_multi_sets
from oracle import load_model, model_io, random_inputs, tensor_infos, tflm_run, tflm_run_many
from tflite_builder import ModelBuilder, TensorRef, conv_output_size, pack_model
from tinytvm.ir.graph import layers

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
#: Input quantizations: ordinary, and zero points at both int8 limits.
IN_QUANT = [(0.05, 0), (0.02, -128), (0.1, 127), (0.0078125, -3)]


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
def build(fn) -> bytes:
    """Bytes of a model built by ``fn(builder)``."""
    b = ModelBuilder()
    fn(b)
    return b.build()


def input_sets(data: bytes, rng: np.random.Generator, count: int = 8, extremes: bool = True):
    """Random full-range int8 inputs (+ extremes); float inputs (QUANTIZE boundary) get random values in
    the quantized range plus out-of-range and special values."""
    io = model_io(data)
    if all(info.dtype == np.int8 for info in io.inputs):
        return int8_multi_sets(rng, [info.shape for info in io.inputs], count, extremes)
    seed = int(rng.integers(1 << 30))
    sets = random_inputs(data, seed=seed, count=count)
    ints = int8_multi_sets(rng, [info.shape for info in io.inputs], 0, extremes) if extremes else []
    for k, ints_set in enumerate(ints):  # int8 extremes for int8 inputs, huge / tiny values for float ones
        factor = np.float32(1e3 if k % 2 else 1e-3)
        sets.append([x if info.dtype == np.int8 else (x.astype(np.float32) * factor).astype(info.dtype)
                     for info, x in zip(io.inputs, ints_set)])
    return sets


def check(data: bytes, rng: np.random.Generator, count: int = 8, extremes: bool = True) -> int:
    return assert_bit_exact(data, input_sets(data, rng, count, extremes))


def weights(rng: np.random.Generator, shape, channel_axis: int | None = None, span: tuple[float, float] | None = None):
    """Float weights; with ``span`` the per-channel magnitude (hence weight scale) is log-spaced over it."""
    w = rng.normal(size=shape)
    if span is not None:
        n = shape[channel_axis]
        mags = np.logspace(np.log10(span[0]), np.log10(span[1]), n) * 127.0
        rng.shuffle(mags)
        w = w / np.max(np.abs(np.moveaxis(w, channel_axis, 0).reshape(n, -1)), axis=1).reshape(
            [-1 if i == channel_axis else 1 for i in range(len(shape))])
        w = w * mags.reshape([-1 if i == channel_axis else 1 for i in range(len(shape))])
    return w


def weight_scales(b: ModelBuilder, y) -> np.ndarray:
    return np.asarray(b.producer(y).inputs[1].quant.scale)


# ------------------------------------------------------------------------------------------------
# CONV_2D
# ------------------------------------------------------------------------------------------------
CONV_CASES = [  # input shape, out channels, kernel, stride, dilation, padding
    ((1, 7, 9, 3), 8, 3, 1, 1, "SAME"),
    ((1, 7, 9, 3), 8, 3, 2, 1, "SAME"),      # stride 2 SAME, odd sizes
    ((1, 8, 10, 3), 8, 3, 2, 1, "SAME"),     # stride 2 SAME, even sizes
    ((1, 7, 9, 3), 8, 3, 2, 1, "VALID"),
    ((1, 13, 11, 4), 6, 5, 2, 1, "VALID"),
    ((1, 13, 11, 4), 6, 5, 2, 1, "SAME"),
    ((1, 13, 11, 4), 6, 3, 3, 1, "SAME"),    # stride 3
    ((1, 13, 11, 4), 6, 3, 3, 1, "VALID"),
    ((1, 12, 12, 2), 4, 3, 1, 2, "SAME"),    # dilation 2
    ((1, 13, 11, 2), 4, 3, 1, 3, "SAME"),    # dilation 3
    ((1, 13, 11, 2), 4, 3, 1, 3, "VALID"),
    ((1, 13, 11, 2), 4, 3, 2, 2, "SAME"),    # stride and dilation
    ((1, 9, 9, 3), 4, (1, 5), (2, 1), (1, 2), "SAME"),
    ((1, 10, 10, 3), 4, 2, 2, 1, "SAME"),    # even kernel
    ((1, 5, 5, 16), 8, 7, 2, 1, "SAME"),     # kernel larger than the input
    ((2, 6, 5, 3), 5, 1, 1, 1, "VALID"),     # pointwise, batch 2
    ((1, 1, 1, 8), 3, 1, 1, 1, "SAME"),      # 1x1 input
    ((1, 11, 7, 1), 2, (7, 3), (3, 2), 1, "SAME"),
]


def conv_model(rng, shape, oc, k, stride, dilation, padding, activation="NONE", in_q=(0.05, 0), bias=True,
               per_channel=True, span=None, out_q=(None, None)) -> bytes:
    kh, kw = (k, k) if isinstance(k, int) else k

    def fn(b):
        x = b.input("x", shape, scale=in_q[0], zero_point=in_q[1])
        w = weights(rng, (oc, kh, kw, shape[3]), 0, span)
        y = b.conv2d(x, w, rng.normal(size=oc) * 4 if bias else None, stride=stride, dilation=dilation,
                     padding=padding, activation=activation, per_channel=per_channel,
                     out_scale=out_q[0], out_zero_point=out_q[1])
        b.output(y)

    return build(fn)


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
@pytest.mark.parametrize("in_q", IN_QUANT[:3], ids=str)
def test_conv2d_geometry(case, in_q, rng):
    check(conv_model(rng, *case, in_q=in_q), rng)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("in_q", IN_QUANT, ids=str)
def test_conv2d_fused_activation(activation, in_q, rng):
    check(conv_model(rng, (1, 9, 7, 4), 6, 3, 1, 1, "SAME", activation, in_q), rng)


@pytest.mark.parametrize("bias,per_channel", [(False, True), (True, False), (False, False)])
def test_conv2d_bias_and_weight_granularity(bias, per_channel, rng):
    check(conv_model(rng, (1, 9, 7, 4), 6, 3, 2, 1, "SAME", "RELU", bias=bias, per_channel=per_channel), rng)


# ------------------------------------------------------------------------------------------------
# DEPTHWISE_CONV_2D
# ------------------------------------------------------------------------------------------------
def without_omitted_inputs(b: ModelBuilder) -> bytes:
    """The model with trailing omitted (-1) operator inputs dropped.

    TFLM segfaults on a DEPTHWISE_CONV_2D whose bias is given as -1 (it counts three inputs and
    dereferences the missing bias); the TFLite converter writes bias-less depthwise convolutions
    with two inputs, which TFLM handles.
    """
    m = b.model_t()
    for op in m.subgraphs[0].operators:
        inputs = list(op.inputs)
        while inputs and inputs[-1] < 0:
            inputs.pop()
        op.inputs = inputs
    return pack_model(m)


def dw_model(rng, shape, mult, k, stride, dilation, padding, activation="NONE", in_q=(0.05, 0), bias=True,
             per_channel=True, span=None, out_q=(None, None), omitted_bias_as_minus_one=False) -> bytes:
    kh, kw = (k, k) if isinstance(k, int) else k

    def fn(b):
        x = b.input("x", shape, scale=in_q[0], zero_point=in_q[1])
        cm = shape[3] * mult
        w = weights(rng, (1, kh, kw, cm), 3, span)
        y = b.depthwise_conv2d(x, w, rng.normal(size=cm) * 4 if bias else None, stride=stride,
                               dilation=dilation, padding=padding, activation=activation,
                               depth_multiplier=mult, per_channel=per_channel,
                               out_scale=out_q[0], out_zero_point=out_q[1])
        b.output(y)

    b = ModelBuilder()
    fn(b)
    return b.build() if omitted_bias_as_minus_one else without_omitted_inputs(b)


@pytest.mark.parametrize("kernel", [3, 5, 7])
@pytest.mark.parametrize("mult", [1, 2, 3])
@pytest.mark.parametrize("stride,padding", [(1, "SAME"), (2, "SAME"), (2, "VALID")], ids=str)
def test_depthwise_multiplier_and_kernel(mult, kernel, stride, padding, rng):
    check(dw_model(rng, (1, 13, 11, 3), mult, kernel, stride, 1, padding, in_q=(0.05, -128)), rng)


DW_CASES = [  # input shape, multiplier, kernel, stride, dilation, padding
    ((1, 7, 9, 8), 1, 3, 2, 1, "SAME"),
    ((1, 8, 10, 8), 1, 3, 2, 1, "SAME"),
    ((1, 13, 11, 4), 2, 3, 3, 1, "SAME"),
    ((1, 13, 11, 4), 1, 3, 3, 1, "VALID"),
    ((1, 12, 12, 2), 2, 3, 1, 2, "SAME"),
    ((1, 13, 11, 2), 3, 3, 1, 3, "SAME"),
    ((1, 13, 11, 2), 1, 3, 1, 3, "VALID"),
    ((1, 13, 11, 2), 1, 5, 2, 2, "SAME"),
    ((1, 9, 9, 3), 2, (1, 5), (2, 1), (1, 2), "SAME"),
    ((2, 6, 5, 3), 1, 1, 1, 1, "VALID"),
    ((1, 1, 1, 8), 2, 3, 1, 1, "SAME"),
    ((1, 3, 3, 5), 1, 7, 1, 1, "SAME"),
]


@pytest.mark.parametrize("case", DW_CASES, ids=str)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_depthwise_geometry_and_activation(case, activation, rng):
    check(dw_model(rng, *case, activation=activation, in_q=(0.1, 127)), rng, count=5)


@pytest.mark.parametrize("bias,per_channel", [(False, True), (True, False), (False, False)])
def test_depthwise_bias_and_weight_granularity(bias, per_channel, rng):
    check(dw_model(rng, (1, 9, 7, 4), 2, 3, 2, 1, "SAME", "RELU6", bias=bias, per_channel=per_channel), rng)


def test_depthwise_bias_omitted_as_minus_one(rng):
    """Bias input -1 (TFLM would crash): tinytvm computes what TFLM computes for the two-input form."""
    args = ((1, 9, 7, 4), 2, 3, 2, 1, "SAME", "RELU")
    with_minus_one = dw_model(np.random.default_rng(5), *args, bias=False, omitted_bias_as_minus_one=True)
    two_inputs = dw_model(np.random.default_rng(5), *args, bias=False)
    assert [list(load_model(d).subgraphs[0].operators[0].inputs)[2:] for d in (with_minus_one, two_inputs)] == [[-1], []]
    mod = tinytvm.from_tflite(with_minus_one)
    sets = input_sets(two_inputs, rng)
    for xs, expected in zip(sets, tflm_run_many(two_inputs, sets)):
        np.testing.assert_array_equal(tinytvm.reference_run(mod, xs)[0], expected[0])


# ------------------------------------------------------------------------------------------------
# FULLY_CONNECTED
# ------------------------------------------------------------------------------------------------
FC_SHAPES = [  # input shape, in_features, keep_num_dims
    ((1, 16), 16, False),
    ((5, 16), 16, False),
    ((5, 16), 16, True),
    ((2, 3, 16), 16, False),
    ((2, 3, 16), 16, True),
    ((2, 3, 16), 48, False),       # flattened rows span several input rows
    ((2, 3, 2, 8), 8, True),
    ((2, 3, 2, 8), 8, False),
    ((2, 3, 2, 8), 16, False),
    ((1, 1, 1, 64), 64, False),    # the usual classifier head
    ((1, 1, 1, 64), 64, True),
]


@pytest.mark.parametrize("shape,depth,keep", FC_SHAPES, ids=str)
@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_fully_connected(shape, depth, keep, per_channel, bias, rng):
    units = 7

    def fn(b):
        x = b.input("x", shape, scale=0.05, zero_point=-7)
        y = b.fully_connected(x, weights(rng, (units, depth)), rng.normal(size=units) * 3 if bias else None,
                              keep_num_dims=keep, per_channel=per_channel)
        b.output(y)

    data = build(fn)
    assert model_io(data).outputs[0].shape == ((*shape[:-1], units) if keep else
                                               (int(np.prod(shape)) // depth, units))
    check(data, rng)


@pytest.mark.parametrize("bias_scale,per_channel", [  # per-tensor: (None, 0.5) are rejected (errors tests)
    (0.0005, False), (0.0005 + 0.0019, False), (0.0001, False),
    (None, True), (0.0005, True), (0.0001, True), (0.5, True)], ids=str)
def test_fully_connected_bias_scale_is_not_used(bias_scale, per_channel, rng):
    """TFLM adds the int32 bias as is; the bias scale is only checked (per-tensor weights: within 2% of the
    output scale, see test_tflite_quantization_errors), never applied."""

    def fn(b):
        x = b.input("x", (3, 8), scale=0.05, zero_point=-1)
        scales = [0.01] * 5 if per_channel else 0.01
        w = b.const("w", rng.integers(-127, 128, (5, 8), dtype=np.int8), scales, [0] * 5 if per_channel else 0,
                    axis=0)
        q = () if bias_scale is None else (bias_scale, 0)
        bias = b.const("bias", rng.integers(-3000, 3000, 5).astype(np.int32), *q)
        b.output(b.fully_connected(x, w, bias, out_scale=0.1, out_zero_point=2))

    check(build(fn), rng)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("in_q", IN_QUANT, ids=str)
def test_fully_connected_activation(activation, in_q, rng):
    def fn(b):
        x = b.input("x", (3, 32), scale=in_q[0], zero_point=in_q[1])
        b.output(b.fully_connected(x, weights(rng, (10, 32)), rng.normal(size=10), activation=activation))

    check(build(fn), rng)


# ------------------------------------------------------------------------------------------------
# Quantization edge cases for the linear operators
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["conv", "depthwise", "fc"])
@pytest.mark.parametrize("span", [(1e-4, 1e-1), (1e-5, 1.0)], ids=str)
def test_per_channel_scales_spanning_orders_of_magnitude(kind, span, rng):
    in_q = (0.05, -128)
    if kind == "conv":
        data = conv_model(rng, (1, 7, 9, 3), 12, 3, 1, 1, "SAME", in_q=in_q, span=span)
    elif kind == "depthwise":
        data = dw_model(rng, (1, 7, 9, 6), 2, 3, 1, 1, "SAME", in_q=in_q, span=span)
    else:
        def fn(b):
            x = b.input("x", (4, 24), scale=in_q[0], zero_point=in_q[1])
            b.output(b.fully_connected(x, weights(rng, (12, 24), 0, span), rng.normal(size=12) * 1e-2,
                                       per_channel=True))
        data = build(fn)
    scales = [t.scale for t in tensor_infos(data) if t.dtype == np.int8 and len(t.scale) > 1][0]
    assert max(scales) / min(scales) > 0.5 * span[1] / span[0]
    check(data, rng)


@pytest.mark.parametrize("out_zp", [-128, 127])
@pytest.mark.parametrize("in_zp", [-128, 127])
@pytest.mark.parametrize("kind", ["conv", "depthwise", "fc", "add", "mul"])
def test_zero_points_at_int8_limits(kind, in_zp, out_zp, rng):
    """Zero points -128 and 127 on both sides; the output scale covers the range on the zp's side."""
    out_scale = 0.05
    if kind == "conv":
        data = conv_model(rng, (1, 7, 9, 3), 5, 3, 2, 1, "SAME", in_q=(0.05, in_zp), out_q=(out_scale, out_zp))
    elif kind == "depthwise":
        data = dw_model(rng, (1, 7, 9, 3), 2, 3, 1, 1, "SAME", in_q=(0.05, in_zp), out_q=(out_scale, out_zp))
    elif kind == "fc":
        def data_fn(b):
            x = b.input("x", (3, 20), scale=0.05, zero_point=in_zp)
            b.output(b.fully_connected(x, weights(rng, (6, 20)) * 0.1, rng.normal(size=6), out_scale=out_scale,
                                       out_zero_point=out_zp))
        data = build(data_fn)
    else:
        def data_fn(b):
            x = b.input("x", (1, 5, 7, 3), scale=0.05, zero_point=in_zp)
            y = b.input("y", (1, 5, 7, 3), scale=0.03, zero_point=-in_zp - 1)
            op = b.add if kind == "add" else b.mul
            b.output(op(x, y, out_scale=out_scale if kind == "add" else 0.1, out_zero_point=out_zp))
        data = build(data_fn)
    check(data, rng)


@pytest.mark.parametrize("kind", ["conv", "depthwise", "fc", "add", "mul"])
def test_saturation(kind, rng):
    """Output scales far too small: most outputs hit -128 or 127."""
    if kind == "conv":
        data = conv_model(rng, (1, 9, 9, 4), 6, 3, 1, 1, "SAME", out_q=(0.002, 3))
    elif kind == "depthwise":
        data = dw_model(rng, (1, 9, 9, 4), 1, 3, 1, 1, "SAME", out_q=(0.0005, -3))
    elif kind == "fc":
        def data_fn(b):
            x = b.input("x", (8, 40), scale=0.1, zero_point=0)
            b.output(b.fully_connected(x, weights(rng, (16, 40)), None, out_scale=0.001, out_zero_point=0))
        data = build(data_fn)
    else:
        def data_fn(b):
            x = b.input("x", (1, 6, 6, 4), scale=0.1, zero_point=0)
            y = b.input("y", (1, 6, 6, 4), scale=0.2, zero_point=0)
            op = b.add if kind == "add" else b.mul
            b.output(op(x, y, out_scale=0.02 if kind == "add" else 0.05, out_zero_point=0))
        data = build(data_fn)
    sets = input_sets(data, rng)
    (out,) = tflm_run(data, sets[0])
    assert np.isin(out, [-128, 127]).mean() > 0.5
    assert_bit_exact(data, sets)


def test_large_accumulators(rng):
    """Deep input (1152 taps) with extreme inputs: accumulators far beyond int16."""
    def fn(b):
        x = b.input("x", (1, 5, 5, 128), scale=0.5, zero_point=-128)
        w = np.ones((4, 3, 3, 128)) * np.array([1.0, -1.0, 0.5, -0.25]).reshape(4, 1, 1, 1)
        b.output(b.conv2d(x, w, np.array([1e3, -1e3, 0.0, 5.0]), padding="VALID", out_scale=60.0,
                          out_zero_point=0))

    check(build(fn), rng)


def _int_weights(b: ModelBuilder, rng, shape, axis: int, scales) -> TensorRef:
    """Small explicit int8 weights (mostly -2..2) with the given per-channel scales."""
    q = rng.choice(np.array([-2, -1, 0, 0, 0, 1, 2], np.int8), size=shape)
    return b.const(None, q, list(scales), [0] * len(scales), axis=axis)


@pytest.mark.parametrize("kind", ["conv", "depthwise", "fc"])
def test_requantization_multiplier_above_one(kind, rng):
    """in_scale * w_scale / out_scale from 0.7 to 60 (positive shifts in MultiplyByQuantizedMultiplier)."""
    n = 8
    scales = np.geomspace(0.7, 60.0, n) * 0.001 / 0.05   # real multiplier = scale * 0.05 / 0.001

    def fn(b):
        if kind == "fc":
            x = b.input("x", (6, 5), scale=0.05, zero_point=3)
            w = _int_weights(b, rng, (n, 5), 0, scales)
            y = b.fully_connected(x, w, b.const(None, rng.integers(-40, 40, n).astype(np.int32)),
                                  out_scale=0.001, out_zero_point=-5)
        elif kind == "conv":
            x = b.input("x", (1, 5, 7, 2), scale=0.05, zero_point=3)
            w = _int_weights(b, rng, (n, 2, 2, 2), 0, scales)
            y = b.conv2d(x, w, b.const(None, rng.integers(-40, 40, n).astype(np.int32)), out_scale=0.001,
                         out_zero_point=-5)
        else:
            x = b.input("x", (1, 5, 7, 4), scale=0.05, zero_point=3)
            w = _int_weights(b, rng, (1, 2, 2, n), 3, scales)
            y = b.depthwise_conv2d(x, w, b.const(None, rng.integers(-40, 40, n).astype(np.int32)),
                                   depth_multiplier=2, out_scale=0.001, out_zero_point=-5)
        b.output(y)

    data = build(fn)
    sets = input_sets(data, rng)
    (out,) = tflm_run(data, sets[0])
    assert (~np.isin(out, [-128, 127])).sum() >= 10  # not everything saturates
    assert_bit_exact(data, sets)


def test_requantization_multiplier_underflow(rng):
    """Real multipliers below 2^-32 quantize to 0 (TFLM's QuantizeMultiplier): output = zero point."""
    def fn(b):
        x = b.input("x", (3, 8), scale=0.05, zero_point=0)
        w = b.const("w", rng.integers(-127, 128, (4, 8), dtype=np.int8), [1e-12, 1e-9, 1e-6, 1e-3],
                    [0] * 4, axis=0)
        b.output(b.fully_connected(x, w, b.const(None, np.array([10**9, -10**9, 5, 0], np.int32)),
                                   per_channel=True, out_scale=0.05, out_zero_point=9))

    check(build(fn), rng)


@pytest.mark.parametrize("kind", ["conv", "depthwise", "fc"])
def test_bias_near_int32_limits(kind, rng):
    """accumulator + bias overflows int32: TFLM wraps around, and so must tinytvm."""
    bias = np.array([2**31 - 1, -2**31, 2**31 - 5000, -2**31 + 5000], np.int32)

    def fn(b):
        bq = b.const("bias", bias, [0.0005] * 4, [0] * 4)
        if kind == "fc":
            x = b.input("x", (4, 16), scale=0.05, zero_point=-128)
            w = b.const("w", rng.integers(-127, 128, (4, 16), dtype=np.int8), [0.01] * 4, [0] * 4, axis=0)
            y = b.fully_connected(x, w, bq, out_scale=0.5, out_zero_point=0)
        elif kind == "conv":
            x = b.input("x", (1, 5, 5, 4), scale=0.05, zero_point=-128)
            w = b.const("w", rng.integers(-127, 128, (4, 3, 3, 4), dtype=np.int8), [0.01] * 4, [0] * 4, axis=0)
            y = b.conv2d(x, w, bq, out_scale=0.5, out_zero_point=0)
        else:
            x = b.input("x", (1, 5, 5, 4), scale=0.05, zero_point=-128)
            w = b.const("w", rng.integers(-127, 128, (1, 3, 3, 4), dtype=np.int8), [0.01] * 4, [0] * 4, axis=3)
            y = b.depthwise_conv2d(x, w, bq, out_scale=0.5, out_zero_point=0)
        b.output(y)

    check(build(fn), rng)


@pytest.mark.parametrize("op", ["ADD", "MUL"])
def test_binary_extreme_output_multiplier(op, rng):
    """ADD's output multiplier 2*max_in / (2^20 * out) just below one (the largest TFLM accepts; see
    test_tflite_quantization_errors for >= 1) and MUL's in1*in2/out well above one."""
    def fn(b):
        x = b.input("x", (2, 7, 5), scale=0.5, zero_point=2)
        y = b.input("y", (2, 7, 5), scale=0.25, zero_point=-2)
        out_scale = 2 * 0.5 / (1 << 20) / 0.999 if op == "ADD" else 0.5 * 0.25 / 7.0
        b.output((b.add if op == "ADD" else b.mul)(x, y, out_scale=out_scale, out_zero_point=0))

    check(build(fn), rng)


#: Output scales whose activation bounds (6/s, 1/s) are exact .5 ties in float32 division (TFLM rounds the
#: float32 quotient half away from zero; in double they would round the other way).
TIE_CASES = [("RELU6", 0.8, -10), ("RELU_N1_TO_1", 0.4, -3), ("RELU6", 0.16, -100), ("RELU6", 12 / 255, -128),
             ("RELU_N1_TO_1", 0.16, 5)]


@pytest.mark.parametrize("kind", ["conv", "depthwise", "fc", "add", "mul", "avg_pool", "max_pool"])
@pytest.mark.parametrize("activation,scale,zp", TIE_CASES, ids=str)
def test_activation_bounds_at_rounding_ties(kind, activation, scale, zp, rng):
    def fn(b):
        if kind.endswith("pool"):
            x = b.input("x", (1, 7, 7, 3), scale=scale, zero_point=zp)
            pool = b.avg_pool2d if kind == "avg_pool" else b.max_pool2d
            b.output(pool(x, 3, 2, padding="SAME", activation=activation))
            return
        x = b.input("x", (1, 5, 5, 4), scale=0.05, zero_point=0)
        common = dict(activation=activation, out_scale=scale, out_zero_point=zp)
        if kind == "conv":
            y = b.conv2d(x, weights(rng, (4, 3, 3, 4)) * 0.3, rng.normal(size=4), **common)
        elif kind == "depthwise":
            y = b.depthwise_conv2d(x, weights(rng, (1, 3, 3, 4)) * 2, rng.normal(size=4), **common)
        elif kind == "fc":
            y = b.fully_connected(x, weights(rng, (6, 100)) * 0.1, rng.normal(size=6), **common)
        else:
            z = b.input("z", (1, 5, 5, 4), scale=0.03, zero_point=7)
            y = (b.add if kind == "add" else b.mul)(x, z, **common)
        b.output(y)

    check(build(fn), rng)


# ------------------------------------------------------------------------------------------------
# ADD and MUL
# ------------------------------------------------------------------------------------------------
BINARY_SHAPES = [  # lhs shape, rhs shape
    ((1, 5, 7, 3), (1, 5, 7, 3)),
    ((2, 9), (2, 9)),
    ((1, 5, 7, 3), (1,)),
    ((1,), (1, 5, 7, 3)),
    ((1, 5, 7, 3), (1, 1, 1, 3)),
    ((1, 1, 1, 3), (1, 5, 7, 3)),
    ((1, 5, 7, 3), (3,)),
    ((1, 5, 1, 3), (1, 1, 7, 3)),   # both operands broadcast
    ((2, 1, 7, 1), (1, 5, 1, 3)),
    ((4, 1), (1, 6)),
    ((2, 1, 3, 1, 4), (1, 2, 1, 5, 4)),  # 5-D
    ((13, 11), (11,)),
]
BINARY_QUANT = [  # (lhs scale, zp), (rhs scale, zp)
    ((0.05, 0), (0.05, 0)),          # equal scales
    ((0.05, -3), (0.02, 9)),         # different scales
    ((0.001, -128), (0.5, 127)),     # 500x apart, zero points at the limits
    ((0.5, 127), (0.001, -128)),
]


@pytest.mark.parametrize("op", ["ADD", "MUL"])
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("quant", BINARY_QUANT, ids=str)
def test_binary_broadcast(op, shapes, quant, rng):
    def fn(b):
        x = b.input("x", shapes[0], scale=quant[0][0], zero_point=quant[0][1])
        y = b.input("y", shapes[1], scale=quant[1][0], zero_point=quant[1][1])
        b.output((b.add if op == "ADD" else b.mul)(x, y))

    check(build(fn), rng, count=3)


@pytest.mark.parametrize("op", ["ADD", "MUL"])
@pytest.mark.parametrize("const_shape", [(1,), (1, 1, 1, 4), (4,), (1, 6, 5, 4), ()], ids=str)
@pytest.mark.parametrize("const_first", [False, True], ids=["x_op_c", "c_op_x"])
def test_binary_constant_operand(op, const_shape, const_first, rng):
    def fn(b):
        x = b.input("x", (1, 6, 5, 4), scale=0.04, zero_point=-20)
        c = b.const("c", rng.integers(-128, 128, const_shape, dtype=np.int8), 0.07, 11)
        a, bb = (c, x) if const_first else (x, c)
        b.output((b.add if op == "ADD" else b.mul)(a, bb))

    check(build(fn), rng)


@pytest.mark.parametrize("op", ["ADD", "MUL"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_binary_fused_activation(op, activation, rng):
    def fn(b):
        x = b.input("x", (1, 7, 5, 3), scale=0.03, zero_point=5)
        y = b.input("y", (1, 1, 5, 3), scale=0.05, zero_point=-5)
        b.output((b.add if op == "ADD" else b.mul)(x, y, activation=activation))

    check(build(fn), rng)


def test_binary_same_tensor_twice(rng):
    """x + x and x * x (one tensor feeding both operands)."""
    def fn(b):
        x = b.input("x", (1, 4, 4, 3), scale=0.05, zero_point=3)
        b.output(b.add(x, x), b.mul(x, x))

    check(build(fn), rng)


# ------------------------------------------------------------------------------------------------
# AVERAGE_POOL_2D and MAX_POOL_2D
# ------------------------------------------------------------------------------------------------
POOL_CASES = [  # input shape, filter, stride, padding
    ((1, 8, 8, 3), 2, 2, "VALID"),
    ((1, 8, 8, 3), 2, 2, "SAME"),
    ((1, 7, 9, 3), 2, 2, "SAME"),     # odd sizes, stride 2 SAME
    ((1, 7, 9, 3), 2, 2, "VALID"),
    ((1, 7, 9, 3), 3, 2, "SAME"),     # window larger than stride
    ((1, 8, 10, 3), 3, 2, "SAME"),
    ((1, 13, 11, 2), 3, 2, "VALID"),
    ((1, 13, 11, 2), 3, 1, "SAME"),   # stride 1
    ((1, 13, 11, 2), 3, 1, "VALID"),
    ((1, 13, 11, 2), 5, 3, "SAME"),
    ((1, 13, 11, 2), (2, 4), (1, 3), "SAME"),
    ((2, 5, 5, 4), 5, 1, "VALID"),    # global pooling
    ((1, 5, 5, 4), 7, 1, "SAME"),     # window larger than the input
    ((1, 1, 1, 4), 1, 1, "VALID"),
]


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pool(op, case, rng):
    shape, filt, stride, padding = case

    def fn(b):
        x = b.input("x", shape, scale=0.05, zero_point=-128)
        pool = b.avg_pool2d if op == "AVERAGE_POOL_2D" else b.max_pool2d
        b.output(pool(x, filt, stride, padding=padding))

    check(build(fn), rng)


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("in_q", [(0.05, 0), (0.02, -128), (0.1, 127), (1 / 3, 10)], ids=str)
def test_pool_activation(op, activation, in_q, rng):
    def fn(b):
        x = b.input("x", (1, 9, 7, 3), scale=in_q[0], zero_point=in_q[1])
        pool = b.avg_pool2d if op == "AVERAGE_POOL_2D" else b.max_pool2d
        b.output(pool(x, 3, 2, padding="SAME", activation=activation))

    check(build(fn), rng)


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
def test_pool_scale_within_tflm_tolerance(op, rng):
    """TFLM accepts |in scale - out scale| <= 1e-6 and pools without requantizing; so does tinytvm."""
    def fn(b):
        x = b.input("x", (1, 7, 7, 3), scale=0.05, zero_point=4)
        y = b.tensor("y", (1, 4, 4, 3), scale=0.05 + 8e-7, zero_point=4)
        b.add_op(op, [x], y, dict(filter=3, stride=2, padding="SAME"))
        b.output(y)

    check(build(fn), rng)


@pytest.mark.parametrize("kind", ["CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("padding,out_hw", [("SAME", (3, 3)), ("SAME", (4, 3)), ("VALID", (5, 6)), ("VALID", (4, 5))],
                         ids=str)
def test_declared_output_shape_differs_from_padding_rule(kind, padding, out_hw, rng):
    """TFLM derives the padding from the padding rule's output size and then iterates over the output
    tensor's declared shape (skipping taps outside the input); tinytvm does the same."""
    def fn(b):
        x = b.input("x", (1, 7, 7, 3), scale=0.05, zero_point=-4)
        stride = 2 if padding == "SAME" else 1
        if kind.endswith("POOL_2D"):
            y = b.tensor("y", (1, *out_hw, 3), scale=0.05, zero_point=-4)
            b.add_op(kind, [x], y, dict(padding=padding, stride=stride, filter=3))
        else:
            oc = 2 if kind == "CONV_2D" else 3
            wshape = (2, 3, 3, 3) if kind == "CONV_2D" else (1, 3, 3, 3)
            w = b.const("w", rng.integers(-127, 128, wshape, dtype=np.int8), [0.01] * oc, [0] * oc,
                        axis=0 if kind == "CONV_2D" else 3)
            bias = b.const("bias", rng.integers(-500, 500, oc).astype(np.int32))
            y = b.tensor("y", (1, *out_hw, oc), scale=0.03, zero_point=1)
            b.add_op(kind, [x, w, bias], y, dict(padding=padding, stride=stride, depth_multiplier=1)
                     if kind == "DEPTHWISE_CONV_2D" else dict(padding=padding, stride=stride))
        b.output(y)

    check(build(fn), rng)


# ------------------------------------------------------------------------------------------------
# PAD and PADV2
# ------------------------------------------------------------------------------------------------
PAD_CASES = [  # input shape, paddings
    ((1, 5, 7, 3), [[0, 0], [1, 1], [2, 2], [0, 0]]),
    ((1, 5, 7, 3), [[0, 0], [0, 1], [3, 0], [0, 0]]),     # asymmetric
    ((1, 5, 7, 3), [[1, 0], [0, 0], [0, 0], [2, 3]]),     # batch and channels
    ((1, 5, 7, 3), [[0, 0], [0, 0], [0, 0], [0, 0]]),     # no-op
    ((6,), [[2, 3]]),
    ((4, 5), [[1, 2], [0, 3]]),
    ((2, 3, 4), [[0, 1], [2, 0], [1, 1]]),
    ((1, 2, 3, 2, 2), [[0, 1], [1, 0], [1, 1], [0, 2], [2, 0]]),
]


@pytest.mark.parametrize("shape,paddings", PAD_CASES, ids=str)
@pytest.mark.parametrize("in_q", [(0.05, 0), (0.05, -128), (0.05, 127)], ids=str)
def test_pad(shape, paddings, in_q, rng):
    def fn(b):
        x = b.input("x", shape, scale=in_q[0], zero_point=in_q[1])
        b.output(b.pad(x, paddings))

    check(build(fn), rng, count=3)


@pytest.mark.parametrize("shape,paddings", PAD_CASES[:3] + PAD_CASES[5:], ids=str)
@pytest.mark.parametrize("value", [0.0, -6.4, 6.35, -1e9, 1e9, 0.123], ids=str)
def test_padv2(shape, paddings, value, rng):
    """PADV2 pads with its constant (quantized like the output, saturating at -128/127)."""
    def fn(b):
        x = b.input("x", shape, scale=0.05, zero_point=0)
        b.output(b.padv2(x, paddings, value))

    check(build(fn), rng, count=3)


# ------------------------------------------------------------------------------------------------
# RESHAPE, SQUEEZE, TRANSPOSE
# ------------------------------------------------------------------------------------------------
RESHAPES = [  # input shape, new shape
    ((1, 4, 6, 2), (1, 48)),
    ((1, 4, 6, 2), (-1,)),
    ((1, 4, 6, 2), (2, -1, 4)),
    ((2, 3, 4), (4, 3, 2)),
    ((24,), (1, 2, 3, 4)),
    ((1, 1, 1, 10), (1, 10)),
    ((3, 1, 5), (3, 5, 1, 1, 1)),
]


@pytest.mark.parametrize("shape,new_shape", RESHAPES, ids=str)
@pytest.mark.parametrize("form", ["option", "tensor", "both", "output_shape_only"])
def test_reshape(shape, new_shape, form, rng):
    def fn(b):
        x = b.input("x", shape, scale=0.05, zero_point=-128)
        b.output(b.reshape(x, new_shape, as_option=form in ("option", "both"), as_tensor=form in ("tensor", "both")))

    check(build(fn), rng, count=2)


@pytest.mark.parametrize("shape,dims", [((1, 5, 1, 3), [0, 2]), ((1, 5, 1, 3), None), ((1, 5, 1, 3), [-2]),
                                        ((1, 1, 1, 10), [1, 2]), ((4, 1), [1]), ((1, 1, 1, 1), None)], ids=str)
def test_squeeze(shape, dims, rng):
    def fn(b):
        x = b.input("x", shape, scale=0.05, zero_point=7)
        b.output(b.squeeze(x, dims))

    check(build(fn), rng, count=2)


TRANSPOSES = [
    ((5, 7), (1, 0)),
    ((5, 7), (0, 1)),
    ((2, 3, 4), (2, 0, 1)),
    ((2, 3, 4), (1, 2, 0)),
    ((2, 3, 4), (0, 2, 1)),
    ((1, 5, 7, 3), (0, 3, 1, 2)),    # NHWC -> NCHW
    ((1, 3, 5, 7), (0, 2, 3, 1)),    # NCHW -> NHWC
    ((2, 3, 4, 5), (3, 2, 1, 0)),
    ((2, 3, 4, 5), (1, 0, 3, 2)),
    ((2, 3, 2, 4, 3), (4, 2, 0, 3, 1)),
    ((2, 3, 2, 4, 3), (0, 1, 2, 4, 3)),
    ((7,), (0,)),
]


@pytest.mark.parametrize("shape,perm", TRANSPOSES, ids=str)
def test_transpose(shape, perm, rng):
    def fn(b):
        x = b.input("x", shape, scale=0.05, zero_point=-1)
        y = b.tensor("y", tuple(shape[p] for p in perm), scale=0.05, zero_point=-1)
        b.add_op("TRANSPOSE", [x, b.const("perm", np.asarray(perm, np.int32))], y)
        b.output(y)

    check(build(fn), rng, count=2)


# ------------------------------------------------------------------------------------------------
# CONCATENATION
# ------------------------------------------------------------------------------------------------
CONCATS = [  # input shapes, axis
    ([(1, 4, 5, 3), (1, 4, 5, 2)], 3),
    ([(1, 4, 5, 3), (1, 4, 5, 2)], -1),
    ([(1, 4, 5, 3), (1, 2, 5, 3), (1, 1, 5, 3)], 1),
    ([(1, 4, 5, 3), (1, 4, 1, 3), (1, 4, 2, 3), (1, 4, 5, 3)], -2),
    ([(1, 4, 5, 3), (2, 4, 5, 3)], 0),
    ([(1, 4, 5, 3), (2, 4, 5, 3)], -4),
    ([(3, 4), (3, 1), (3, 7)], 1),
    ([(3, 4), (2, 4)], -2),
    ([(2, 3, 4), (2, 3, 4), (2, 3, 4), (2, 3, 4)], 2),
    ([(2, 3, 4), (2, 5, 4)], -2),
]


@pytest.mark.parametrize("shapes,axis", CONCATS, ids=str)
@pytest.mark.parametrize("zp", [0, -128, 127])
def test_concat(shapes, axis, zp, rng):
    def fn(b):
        xs = [b.input(f"x{i}", s, scale=0.05, zero_point=zp) for i, s in enumerate(shapes)]
        b.output(b.concat(xs, axis))

    check(build(fn), rng, count=2)


def test_concat_with_constant_inputs(rng):
    def fn(b):
        x = b.input("x", (1, 4, 5, 3), scale=0.05, zero_point=-2)
        c = b.const("c", rng.integers(-128, 128, (1, 4, 5, 2), dtype=np.int8), 0.05, -2)
        b.output(b.concat([c, x, c], -1))

    check(build(fn), rng)


# ------------------------------------------------------------------------------------------------
# Shape operators whose output quantization differs from the input's: TFLM copies the bytes
# ------------------------------------------------------------------------------------------------
def _requantized_copy_model(op: str) -> bytes:
    b = ModelBuilder()
    x = b.input("x", (1, 3, 4, 5), scale=0.05, zero_point=-3)
    out_q = dict(scale=0.2, zero_point=17)
    if op == "RESHAPE":
        y = b.tensor("y", (3, 20), **out_q)
        b.add_op("RESHAPE", [x, b.const("s", np.array([3, 20], np.int32))], y, dict(new_shape=[3, 20]))
    elif op == "SQUEEZE":
        y = b.tensor("y", (3, 4, 5), **out_q)
        b.add_op("SQUEEZE", [x], y, dict(squeeze_dims=[0]))
    elif op == "TRANSPOSE":
        y = b.tensor("y", (1, 5, 3, 4), **out_q)
        b.add_op("TRANSPOSE", [x, b.const("p", np.array([0, 3, 1, 2], np.int32))], y)
    elif op == "PAD":
        y = b.tensor("y", (1, 5, 5, 5), **out_q)
        b.add_op("PAD", [x, b.const("p", np.array([[0, 0], [1, 1], [0, 1], [0, 0]], np.int32))], y)
    else:  # PADV2: the constant value is quantized like the output (TFLM checks that)
        y = b.tensor("y", (1, 5, 5, 5), **out_q)
        b.add_op("PADV2", [x, b.const("p", np.array([[0, 0], [1, 1], [0, 1], [0, 0]], np.int32)),
                           b.const("v", np.array(-100, np.int8), **out_q)], y)
    b.output(y)
    return b.build()


@pytest.mark.parametrize("op", ["RESHAPE", "SQUEEZE", "TRANSPOSE", "PAD", "PADV2"])
def test_shape_ops_copy_bytes_across_quantization(op, rng):
    data = _requantized_copy_model(op)
    check(data, rng)
    x = np.arange(60, dtype=np.int8).reshape(1, 3, 4, 5)
    (ours,) = tinytvm.reference_run(tinytvm.from_tflite(data), [x])
    assert np.isin(x, ours).all()  # values are not requantized
    if op == "PAD":
        assert (ours[0, 0] == 17).all()  # filled with the *output* zero point
    if op == "PADV2":
        assert (ours[0, 0] == -100).all()


# ------------------------------------------------------------------------------------------------
# Float boundary and multi-input / multi-output models
# ------------------------------------------------------------------------------------------------
def test_float_input_and_output_around_int8_graph(rng):
    """float -> QUANTIZE -> CONV_2D -> DEPTHWISE -> AVG_POOL -> FULLY_CONNECTED -> DEQUANTIZE -> float."""
    def fn(b):
        x = b.quantized_input("x", (1, 9, 9, 3), 0.02, -10)
        y = b.conv2d(x, weights(rng, (8, 3, 3, 3)), rng.normal(size=8), stride=2, activation="RELU6")
        y = b.depthwise_conv2d(y, weights(rng, (1, 3, 3, 8)), rng.normal(size=8), activation="RELU")
        y = b.avg_pool2d(y, 5, 1, padding="VALID")
        y = b.fully_connected(y, weights(rng, (4, 8)), rng.normal(size=4))
        b.dequantized_output(y)

    data = build(fn)
    io = model_io(data)
    assert io.inputs[0].dtype == np.float32 and io.outputs[0].dtype == np.float32
    kernels = [layer.kernel for layer in layers(tinytvm.from_tflite(data))]
    assert kernels[0] == "quantize" and kernels[-1] == "dequantize"
    check(data, rng, count=12)


def test_several_inputs_and_outputs(rng):
    """Two int8 inputs, one float input; a diamond with a residual ADD, a CONCATENATION, four outputs
    (three int8, one float)."""
    def fn(b):
        a = b.input("a", (1, 8, 8, 3), scale=0.03, zero_point=-128)
        c = b.input("c", (1, 8, 8, 4), scale=0.05, zero_point=127)
        f = b.quantized_input("f", (1, 4), 0.1, 0)
        conv = b.conv2d(a, weights(rng, (4, 3, 3, 3)), rng.normal(size=4), activation="RELU")
        res = b.add(conv, c, activation="RELU6")
        dw = b.depthwise_conv2d(c, weights(rng, (1, 3, 3, 8)), rng.normal(size=8), stride=2, depth_multiplier=2)
        pooled = b.max_pool2d(res, 2, 2)
        dw_q = b.quantize(dw, pooled.scale, pooled.zero_point)  # int8 -> int8 requantization
        cat = b.concat([pooled, b.pad(dw_q, [[0, 0], [0, 0], [0, 0], [0, 0]])], axis=-1)
        g = b.const("g", rng.integers(-128, 128, (12,), dtype=np.int8), 0.01, 0)
        gate = b.mul(b.reshape(cat, (1, 16, 12)), g)
        head = b.fully_connected(b.reshape(pooled, (1, -1)), weights(rng, (5, 64)), rng.normal(size=5))
        scaled = b.mul(head, b.fully_connected(f, weights(rng, (5, 4)), None))
        b.output(gate, conv)
        b.output(scaled)
        b.dequantized_output(head)

    data = build(fn)
    io = model_io(data)
    assert len(io.inputs) == 3 and len(io.outputs) == 4
    n = check(data, rng, count=12)
    assert n > 1000


def test_shared_intermediate_feeds_several_operators(rng):
    """One tensor consumed by a conv, a pool and a transpose, each an output."""
    def fn(b):
        x = b.input("x", (1, 7, 9, 4), scale=0.05, zero_point=-128)
        y = b.conv2d(x, weights(rng, (4, 1, 1, 4)), None, activation="RELU")
        b.output(b.conv2d(y, weights(rng, (2, 3, 3, 4)), rng.normal(size=2), stride=2),
                 b.avg_pool2d(y, 2, 2, padding="SAME"), b.transpose(y, [0, 3, 1, 2]), y)

    check(build(fn), rng)


# ------------------------------------------------------------------------------------------------
# Property test: random conv / depthwise / pool parameters
# ------------------------------------------------------------------------------------------------
@given(
    kind=st.sampled_from(["conv", "depthwise", "avg_pool", "max_pool"]),
    hw=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    channels=st.integers(1, 5),
    out_or_mult=st.integers(1, 3),
    kernel=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.sampled_from(["SAME", "VALID"]),
    activation=st.sampled_from(ACTIVATIONS),
    in_zp=st.sampled_from([-128, -1, 0, 5, 127]),
    out_zp=st.one_of(st.none(), st.sampled_from([-128, 0, 127])),
    per_channel=st.booleans(),
    with_bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_random_conv_pool_parameters(kind, hw, channels, out_or_mult, kernel, stride, dilation, padding, activation,
                                     in_zp, out_zp, per_channel, with_bias, seed):
    if kind.endswith("pool"):
        dilation = (1, 1)
    for size, k, d in zip(hw, kernel, dilation):
        assume(conv_output_size(size, k, 1, d, padding) >= 1)
    rng = np.random.default_rng(seed)
    shape = (1, *hw, channels)
    out_q = (0.05, out_zp) if out_zp is not None else (None, None)
    if kind == "conv":
        data = conv_model(rng, shape, out_or_mult + 1, kernel, stride, dilation, padding, activation, (0.05, in_zp),
                          with_bias, per_channel, out_q=out_q)
    elif kind == "depthwise":
        data = dw_model(rng, shape, out_or_mult, kernel, stride, dilation, padding, activation, (0.05, in_zp),
                        with_bias, per_channel, out_q=out_q)
    else:
        def fn(b):
            x = b.input("x", shape, scale=0.05, zero_point=in_zp)
            pool = b.avg_pool2d if kind == "avg_pool" else b.max_pool2d
            b.output(pool(x, kernel, stride, padding=padding, activation=activation))
        data = build(fn)
    check(data, rng, count=4)
