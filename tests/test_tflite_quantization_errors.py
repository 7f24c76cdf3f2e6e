"""Models tinytvm must refuse: not full-integer int8, unsupported operators, quantization TFLM rejects.

Every error must be a :class:`tinytvm.QuantizationError` or :class:`tinytvm.UnsupportedOperatorError`
whose message names the operator and its index (``operator #3 (CONV_2D)``) and, for float and
hybrid models, says what to do. Where TFLite Micro rejects the same model, the test checks that
too (tinytvm must reject exactly what the oracle rejects); where TFLM silently computes something
else (non-zero weight zero points), tinytvm rejects on purpose and the test documents TFLM's
behaviour.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinytvm
from oracle import TflmError, tflm_check, tflm_interpreter, tflm_run
from tflite_builder import (
    ModelBuilder,
    float_conv_model,
    hybrid_conv_model,
    hybrid_fc_model,
    quantize_weights_per_channel,
    quantize_weights_per_tensor,
    unsupported_op_model,
)

#: What a float / hybrid error must tell the user to do.
ADVICE = ("full-integer post-training quantization", "tinytvm.quantize")


def raises(error_type, data: bytes, *fragments: str) -> str:
    """``from_tflite(data)`` raises ``error_type`` whose message contains every fragment; returns it."""
    with pytest.raises(error_type) as info:
        tinytvm.from_tflite(data)
    message = str(info.value)
    assert isinstance(info.value, tinytvm.TinyTVMError)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def tflm_rejects(data: bytes, *fragments: str) -> None:
    """TFLM refuses the model while allocating tensors, with every fragment in its log."""
    with pytest.raises(TflmError) as info:
        tflm_interpreter(data)
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in TFLM's {str(info.value)!r}"


def int8_prefix(b: ModelBuilder, rng, shape=(1, 6, 6, 3)):
    """An int8 input and two supported operators (#0 CONV_2D, #1 ADD), so the next operator is #2."""
    x = b.input("x", shape, scale=0.05, zero_point=-128)
    y = b.conv2d(x, rng.normal(size=(4, 3, 3, shape[3])), rng.normal(size=4), activation="RELU")
    return b.add(y, y)


# ------------------------------------------------------------------------------------------------
# Float and hybrid models
# ------------------------------------------------------------------------------------------------
def test_float_model():
    data = float_conv_model()
    assert tflm_check(data).ok  # TFLM runs float models; tinytvm must refuse them itself
    message = raises(tinytvm.QuantizationError, data, "operator #0 (CONV_2D)", "FLOAT32", "float model", *ADVICE)
    assert "hybrid" not in message


@pytest.mark.parametrize("make,op", [(hybrid_fc_model, "FULLY_CONNECTED"), (hybrid_conv_model, "CONV_2D")],
                         ids=["fc", "conv"])
def test_hybrid_model(make, op):
    raises(tinytvm.QuantizationError, make(), f"operator #0 ({op})", "hybrid", "float activations",
           "integer weights", *ADVICE)


def test_float_operator_after_int8_part_is_named_by_index():
    """int8 CONV_2D (#0), ADD (#1), DEQUANTIZE (#2), then a float ADD (#3): the float ADD is reported."""
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    y = b.dequantize(int8_prefix(b, rng))
    z = b.tensor("float_sum", y.shape, "float32")
    b.add_op("ADD", [y, y], z)
    b.output(z)
    raises(tinytvm.QuantizationError, b.build(), "operator #3 (ADD)", "FLOAT32", "float model", *ADVICE)


def test_hybrid_operator_after_int8_part_is_named_by_index():
    """int8 part, DEQUANTIZE (#2), then a hybrid FULLY_CONNECTED (#3) with int8 weights."""
    rng = np.random.default_rng(1)
    b = ModelBuilder()
    y = b.dequantize(int8_prefix(b, rng, shape=(1, 2, 2, 3)))  # float (1, 2, 2, 4)
    wq, ws = quantize_weights_per_tensor(rng.normal(size=(5, 16)))
    out = b.tensor("logits", (1, 5), "float32")
    b.add_op("FULLY_CONNECTED", [y, b.const("w", wq, ws, 0), None], out)
    b.output(out)
    raises(tinytvm.QuantizationError, b.build(), "operator #3 (FULLY_CONNECTED)", "hybrid", *ADVICE)


@pytest.mark.parametrize("dtype", ["int16", "uint8"])
def test_non_int8_activations(dtype):
    """16x8 or legacy uint8 quantized activations: QuantizationError naming the operator and the type."""
    b = ModelBuilder()
    x = b.input("x", (1, 8), "int8", 0.05, 0)
    y = b.tensor("y", (1, 8), dtype, 0.05, 0)
    b.add_op("RESHAPE", [x, b.const("s", np.array([1, 8], np.int32))], y, dict(new_shape=[1, 8]))
    z = b.tensor("z", (1, 8), "int8", 0.05, 0)
    b.add_op("RESHAPE", [y, b.const("s2", np.array([1, 8], np.int32))], z, dict(new_shape=[1, 8]))
    b.output(z)
    raises(tinytvm.QuantizationError, b.build(), "operator #0 (RESHAPE)", dtype.upper(), "full-integer int8")


def test_model_input_of_unsupported_type():
    b = ModelBuilder()
    x = b.input("x16", (1, 8), "int16", 0.001, 0)
    b.output(b.quantize(x, 0.05, 0))
    raises(tinytvm.QuantizationError, b.build(), "x16", "INT16", "int8 or float32")


# ------------------------------------------------------------------------------------------------
# Unsupported operators
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op,name", [("LSTM", "LSTM"), ("CUSTOM", "CUSTOM(TinyTvmTestUnknownOp)")])
def test_unsupported_operator_model(op, name):
    message = raises(tinytvm.UnsupportedOperatorError, unsupported_op_model(op), f"operator #0 ({name})",
                     "not supported", "Supported operators:")
    assert "CONV_2D" in message and "FULLY_CONNECTED" in message


@pytest.mark.parametrize("op,name", [("CUSTOM", "CUSTOM(MyVendorOp)"), ("LSTM", "LSTM"), ("GELU", "GELU")])
def test_unsupported_operator_inside_int8_graph(op, name):
    rng = np.random.default_rng(2)
    b = ModelBuilder()
    h = int8_prefix(b, rng)
    y = b.tensor("y", h.shape, scale=0.05, zero_point=0)
    if op == "CUSTOM":
        b.add_op("CUSTOM", [h], y, custom_code="MyVendorOp", custom_options=b"\x00")
    else:
        b.add_op(op, [h], y)
    b.output(b.max_pool2d(y, 2))
    raises(tinytvm.UnsupportedOperatorError, b.build(), f"operator #2 ({name})", "not supported")


# ------------------------------------------------------------------------------------------------
# Float in the middle of the graph
# ------------------------------------------------------------------------------------------------
def test_dequantize_in_the_middle():
    """int8 CONV (#0), ADD (#1), DEQUANTIZE (#2) -> QUANTIZE (#3) -> int8 CONV (#4)."""
    rng = np.random.default_rng(3)
    b = ModelBuilder()
    f = b.dequantize(int8_prefix(b, rng), name="float_in_the_middle")
    q = b.quantize(f, 0.1, 0)
    b.output(b.conv2d(q, rng.normal(size=(2, 1, 1, 4)), None))
    raises(tinytvm.QuantizationError, b.build(), "operator #2 (DEQUANTIZE)", "float_in_the_middle",
           "not a model output", "model boundary")


# ------------------------------------------------------------------------------------------------
# Weights
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"])
@pytest.mark.parametrize("per_channel", [True, False], ids=["per_channel", "per_tensor"])
def test_non_symmetric_weights(kind, per_channel):
    """A non-zero weight zero point: TFLM silently ignores it (wrong results), tinytvm refuses."""
    rng = np.random.default_rng(4)
    b = ModelBuilder()
    h = int8_prefix(b, rng)
    if kind == "FULLY_CONNECTED":
        h = b.reshape(h, (1, -1))
        shape, axis = (5, h.shape[1]), 0
    elif kind == "CONV_2D":
        shape, axis = (5, 3, 3, 4), 0
    else:
        shape, axis = (1, 3, 3, 4), 3
    n = shape[axis] if per_channel else 1
    if per_channel:
        wq, ws = quantize_weights_per_channel(rng.normal(size=shape), axis)
    else:
        wq, ws = quantize_weights_per_tensor(rng.normal(size=shape))
    zps = [0] * n
    zps[-1] = 3
    w = b.const("asym_w", wq, ws, zps, axis=axis)
    layer = {"CONV_2D": b.conv2d, "DEPTHWISE_CONV_2D": b.depthwise_conv2d, "FULLY_CONNECTED": b.fully_connected}
    y = layer[kind](h, w, np.zeros(shape[axis]), out_scale=0.1, out_zero_point=0)
    b.output(y)
    data = b.build()
    index = 3 if kind == "FULLY_CONNECTED" else 2
    channel = f"3 for channel {n - 1}" if per_channel else "(3)"
    raises(tinytvm.UnsupportedOperatorError, data, f"operator #{index} ({kind})", "asym_w", "non-zero zero point",
           channel, "symmetric", "ignores")
    tflm_run(data, [np.zeros((1, 6, 6, 3), np.int8)])  # TFLM accepts it


@pytest.mark.parametrize("bias_scale,out_scale", [(None, 0.02), (0.0005 + 0.0025, 0.1), (0.00001, 0.02)],
                         ids=["unquantized", "+2.5%", "-2.45%"])
def test_fully_connected_bias_scale_far_from_input_times_weight_scale(bias_scale, out_scale):
    """Per-tensor FULLY_CONNECTED: TFLM requires |in * w - bias scale| <= 0.02 * out scale (an unquantized
    bias counts as scale 0); tinytvm rejects what TFLM rejects."""
    rng = np.random.default_rng(7)
    b = ModelBuilder()
    x = b.input("x", (2, 8), scale=0.05, zero_point=0)
    w = b.const("w", rng.integers(-127, 128, (4, 8), dtype=np.int8), 0.01, 0)
    bias = b.const("fc_bias", np.arange(4, dtype=np.int32), *(() if bias_scale is None else (bias_scale, 0)))
    y = b.fully_connected(x, w, bias, out_scale=out_scale, out_zero_point=0)
    b.output(y)
    data = b.build()
    raises(tinytvm.QuantizationError, data, "operator #0 (FULLY_CONNECTED)", "fc_bias", "0.02",
           "input_scale * weight_scale")
    tflm_rejects(data, "scale_diff / output_scale <= 0.02")


# ------------------------------------------------------------------------------------------------
# Output quantization TFLM constrains
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale,zero_point", [(1 / 255, -128), (0.1, -128), (1 / 256, 0)], ids=str)
def test_softmax_with_wrong_output_quantization(scale, zero_point):
    rng = np.random.default_rng(5)
    b = ModelBuilder()
    x = b.input("x", (1, 12), scale=0.05, zero_point=0)
    logits = b.fully_connected(x, rng.normal(size=(10, 12)), rng.normal(size=10))
    y = b.tensor("probabilities", (1, 10), scale=scale, zero_point=zero_point)
    b.add_op("SOFTMAX", [logits], y, dict(beta=1.0))
    b.output(y)
    data = b.build()
    raises(tinytvm.UnsupportedOperatorError, data, "operator #1 (SOFTMAX)", "probabilities", "1/256", "-128")
    tflm_rejects(data, "SOFTMAX")


def _pool_model(op: str, out_scale: float, out_zp: int) -> bytes:
    rng = np.random.default_rng(6)
    b = ModelBuilder()
    h = int8_prefix(b, rng)
    y = b.tensor("pooled", (1, 3, 3, 4), scale=out_scale, zero_point=out_zp)
    b.add_op(op, [h], y, dict(filter=2, stride=2))
    b.output(y)
    return b.build()


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("change", ["scale x2", "scale +2e-6", "zero point +1"])
def test_pooling_with_different_input_and_output_quantization(op, change):
    b = ModelBuilder()
    h = int8_prefix(b, np.random.default_rng(6))
    scale, zp = h.scale, h.zero_point
    scale = {"scale x2": 2 * scale, "scale +2e-6": scale + 2e-6}.get(change, scale)
    zp = zp + 1 if change == "zero point +1" else zp
    data = _pool_model(op, scale, zp)
    raises(tinytvm.UnsupportedOperatorError, data, f"operator #2 ({op})", "pooled", "must share quantization",
           "1e-06")
    tflm_rejects(data, "scale_diff" if change.startswith("scale") else "zero_point")


@pytest.mark.parametrize("which", ["first", "second", "output"])
@pytest.mark.parametrize("change", ["scale", "zero point"])
def test_concat_with_mismatched_quantization(which, change):
    b = ModelBuilder()
    qs = {"first": (0.05, 3), "second": (0.05, 3), "output": (0.05, 3)}
    qs[which] = (0.0500001, 3) if change == "scale" else (0.05, 4)
    x = b.input("x", (1, 4, 4, 2), scale=qs["first"][0], zero_point=qs["first"][1])
    z = b.input("z", (1, 4, 4, 3), scale=qs["second"][0], zero_point=qs["second"][1])
    y = b.tensor("joined", (1, 4, 4, 5), scale=qs["output"][0], zero_point=qs["output"][1])
    b.add_op("CONCATENATION", [x, z], y, dict(axis=3))
    b.output(y)
    data = b.build()
    bad_input = "'z'" if which == "second" else "'x'"
    raises(tinytvm.UnsupportedOperatorError, data, "operator #0 (CONCATENATION)", bad_input, "'joined'",
           "must share quantization")
    tflm_rejects(data, "zero_point" if change == "zero point" else "scale")


def test_padv2_value_with_different_quantization():
    b = ModelBuilder()
    x = b.input("x", (1, 3, 3, 2), scale=0.05, zero_point=0)
    y = b.tensor("y", (1, 5, 3, 2), scale=0.05, zero_point=7)
    paddings = b.const("p", np.array([[0, 0], [1, 1], [0, 0], [0, 0]], np.int32))
    b.add_op("PADV2", [x, paddings, b.const("pad_value", np.array(0, np.int8), 0.05, 0)], y)
    b.output(y)
    data = b.build()
    raises(tinytvm.UnsupportedOperatorError, data, "operator #0 (PADV2)", "pad_value", "must share quantization")
    tflm_rejects(data, "constant_values")


def test_add_output_multiplier_of_one_or_more():
    """2 * max(input scales) / (2^20 * output scale) >= 1: TFLM aborts in Prepare; tinytvm refuses."""
    b = ModelBuilder()
    x = b.input("x", (1, 8), scale=0.5, zero_point=0)
    y = b.input("y", (1, 8), scale=0.25, zero_point=0)
    b.output(b.add(x, y, out_scale=2 * 0.5 / (1 << 20) / 1.001, out_zero_point=0))
    data = b.build()
    message = raises(tinytvm.UnsupportedOperatorError, data, "operator #0 (ADD)", "too small", "below 1",
                     "aborts")
    assert re.search(r"= 1\.00\d", message)
    verdict = tflm_check(data)
    assert not verdict.ok and verdict.crashed and verdict.stage == "load", verdict


# ------------------------------------------------------------------------------------------------
# Shapes and options TFLM rejects
# ------------------------------------------------------------------------------------------------
def _single(op: str, x_shape, y_shape, options=None, extra=(), n_inputs: int = 1, zp: int = 0) -> bytes:
    b = ModelBuilder()
    xs = [b.input(f"x{i}", x_shape, scale=0.05, zero_point=zp) for i in range(n_inputs)]
    y = b.tensor("y", y_shape, scale=0.05, zero_point=zp)
    b.add_op(op, [*xs, *[b.const(None, np.asarray(e, np.int32)) for e in extra]], y, options)
    b.output(y)
    return b.build()


REJECTED_SHAPES = [  # id, model, tinytvm message fragment, TFLM log fragment
    ("transpose_6d", lambda: _single("TRANSPOSE", (1, 2, 1, 2, 1, 2), (2, 1, 2, 1, 2, 1), extra=[[5, 4, 3, 2, 1, 0]]),
     "ranks 1 to 5", "1D-5D"),
    ("transpose_negative_perm", lambda: _single("TRANSPOSE", (2, 3, 4), (4, 2, 3), extra=[[-1, 0, 1]]),
     "outside [0, 3)", "out of bounds"),
    ("pad_6d", lambda: _single("PAD", (1, 1, 1, 1, 1, 2), (1, 1, 1, 1, 1, 4), extra=[[[0, 0]] * 5 + [[1, 1]]]),
     "ranks up to 5", "PadKernelMaxDimensionCount"),
    ("concat_11_inputs", lambda: _single("CONCATENATION", (1, 2), (1, 22), dict(axis=1), n_inputs=11),
     "at most 10", "kMaxInputNum"),
    ("concat_fused_relu", lambda: _single("CONCATENATION", (1, 2), (1, 4), dict(axis=1, activation="RELU"),
                                          n_inputs=2), "fused activation", "activation"),
]
MALFORMED = [  # id, model, tinytvm message fragment (TFLM crashes or computes garbage on these)
    ("concat_axis_out_of_range", lambda: _single("CONCATENATION", (1, 2, 2, 2), (2, 2, 2, 2), dict(axis=4),
                                                 n_inputs=2), "axis 4 is out of range for rank 4"),
    ("concat_negative_axis_out_of_range", lambda: _single("CONCATENATION", (1, 2, 2, 2), (2, 2, 2, 2),
                                                          dict(axis=-5), n_inputs=2), "axis -5 is out of range"),
    ("concat_shapes_disagree", lambda: _single("CONCATENATION", (1, 2, 2, 2), (1, 3, 2, 4), dict(axis=3),
                                               n_inputs=2), "do not concatenate"),
    ("pad_negative", lambda: _single("PAD", (1, 4, 4, 2), (1, 2, 4, 2), extra=[[[0, 0], [-1, -1], [0, 0], [0, 0]]]),
     "non-negative"),
    ("pool_stride_0", lambda: _single("AVERAGE_POOL_2D", (1, 4, 4, 2), (1, 4, 4, 2), dict(filter=1, stride=0)),
     "must be positive"),
    ("transpose_not_a_permutation", lambda: _single("TRANSPOSE", (2, 3, 4), (2, 2, 4), extra=[[0, 0, 2]]),
     "does not map"),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_operators(case):
    _, make, ours = case
    raises(tinytvm.UnsupportedOperatorError, make(), "operator #0 (", ours)


@pytest.mark.parametrize("case", REJECTED_SHAPES, ids=[c[0] for c in REJECTED_SHAPES])
def test_shapes_and_options_tflm_rejects(case):
    _, make, ours, theirs = case
    data = make()
    raises(tinytvm.UnsupportedOperatorError, data, "operator #0 (", ours)
    tflm_rejects(data, theirs)
