"""Tests of the test infrastructure itself: the TFLite builder and the TFLM oracle helpers.

Every builder-made per-operator model is run in TFLM and compared against a small float
reference (so the builder writes the options it claims to), and must give unsaturated outputs.
Nothing here imports tinytvm.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from oracle import (
    MLPERF_MODELS,
    SHARED_MODELS_DIR,
    TflmError,
    load_model,
    model_io,
    random_input,
    random_inputs,
    tensor_infos,
    tflm_check,
    tflm_intermediates,
    tflm_interpreter,
    tflm_run,
    tflm_run_many,
    with_outputs,
)
from tflite_builder import (
    ModelBuilder,
    TensorRef,
    choose_qparams,
    conv_output_size,
    dequantize,
    float_conv_model,
    hybrid_conv_model,
    hybrid_fc_model,
    quantize_bias,
    quantize_weights_per_channel,
    quantize_weights_per_tensor,
    unsupported_op_model,
)

# ---------------------------------------------------------------------------------------------
# Float references (real-valued semantics of the TFLite ops, written independently of TFLM)
# ---------------------------------------------------------------------------------------------

_ACT = {"NONE": (-math.inf, math.inf), "RELU": (0.0, math.inf), "RELU6": (0.0, 6.0),
        "RELU_N1_TO_1": (-1.0, 1.0)}


def _act(y: np.ndarray, activation: str) -> np.ndarray:
    lo, hi = _ACT[activation]
    return np.clip(y, lo, hi)


def _pads(size: int, k: int, s: int, d: int, padding: str) -> tuple[int, int, int]:
    out = conv_output_size(size, k, s, d, padding)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0) if padding == "SAME" else 0
    return total // 2, total - total // 2, out


def _windows(x: np.ndarray, kh: int, kw: int, stride: tuple[int, int], dilation: tuple[int, int],
             padding: str, fill: float = 0.0):
    """Yield (i, j, patch) with patch[n, oh, ow, c] = padded x at tap (i, j)."""
    (sh, sw), (dh, dw) = stride, dilation
    ph0, ph1, oh = _pads(x.shape[1], kh, sh, dh, padding)
    pw0, pw1, ow = _pads(x.shape[2], kw, sw, dw, padding)
    xp = np.pad(x, ((0, 0), (ph0, ph1 + sh), (pw0, pw1 + sw), (0, 0)), constant_values=fill)
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, i * dh: i * dh + (oh - 1) * sh + 1: sh,
                           j * dw: j * dw + (ow - 1) * sw + 1: sw, :]


def conv2d_ref(x, w, b, stride, dilation, padding, activation):
    out = 0.0
    for i, j, patch in _windows(x, w.shape[1], w.shape[2], stride, dilation, padding):
        out = out + patch @ w[:, i, j, :].T
    return _act(out + (0.0 if b is None else b), activation)


def depthwise_ref(x, w, b, stride, dilation, padding, activation):
    mult = w.shape[3] // x.shape[3]
    xr = np.repeat(x, mult, axis=3)
    out = 0.0
    for i, j, patch in _windows(xr, w.shape[1], w.shape[2], stride, dilation, padding):
        out = out + patch * w[0, i, j, :]
    return _act(out + (0.0 if b is None else b), activation)


def pool_ref(x, kind, filt, stride, padding, activation):
    ones = np.ones_like(x)
    fill = -np.inf if kind == "max" else 0.0
    taps = list(_windows(x, filt[0], filt[1], stride, (1, 1), padding, fill))
    if kind == "max":
        out = np.max([p for _, _, p in taps], axis=0)
    else:
        count = sum(p for _, _, p in _windows(ones, filt[0], filt[1], stride, (1, 1), padding))
        out = sum(p for _, _, p in taps) / count
    return _act(out, activation)


def resize_nearest_ref(x, size, align_corners, half_pixel_centers):
    def index(n_in: int, n_out: int) -> np.ndarray:
        ratio = (n_in - 1) / (n_out - 1) if align_corners and n_out > 1 else n_in / n_out
        offset = np.float32(0.5 if half_pixel_centers else 0.0)
        v = (np.arange(n_out, dtype=np.float32) + offset) * np.float32(ratio)
        idx = np.floor(v + np.float32(0.5)) if align_corners else np.floor(v)
        idx = np.minimum(idx.astype(np.int64), n_in - 1)
        return np.maximum(idx, 0)

    return x[:, index(x.shape[1], size[0])][:, :, index(x.shape[2], size[1])]


def softmax_ref(x, beta):
    e = np.exp(beta * (x - x.max(axis=-1, keepdims=True)))
    return e / e.sum(axis=-1, keepdims=True)


def qdq(x, t: TensorRef) -> np.ndarray:
    """What a QUANTIZE to ``t`` keeps of real values ``x``, in real units."""
    info = np.iinfo(t.dtype)
    q = np.floor(np.asarray(x, np.float64) / t.scale + 0.5) + t.zero_point
    q = np.clip(q, info.min, info.max)
    return (q - t.zero_point) * t.scale


# ---------------------------------------------------------------------------------------------
# Per-operator cases
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    """A builder-made model and its float reference (real inputs -> real outputs)."""

    model: bytes
    reference: Callable[[list[np.ndarray]], list[np.ndarray]]
    tol_lsb: float = 1.0  # allowed error of quantized outputs, in output quantization steps
    min_interior: float = 0.3  # min fraction of int8 outputs strictly inside (qmin, qmax)
    float_tol: float = 1e-6  # allowed error of float outputs (relative to 1 + max |ref|)


def _w(rng: np.random.Generator, *shape: int, fan_in: int | None = None) -> np.ndarray:
    fan_in = fan_in or int(np.prod(shape[1:]))
    return rng.normal(size=shape) / math.sqrt(fan_in)


def _qw(b: ModelBuilder, y: TensorRef) -> tuple[np.ndarray, np.ndarray | None]:
    """Dequantized weights and bias of the op producing ``y``."""
    ins = b.producer(y).inputs
    bias = ins[2].dequantized() if len(ins) > 2 and ins[2] is not None else None
    return ins[1].dequantized(), bias


def _finish(b: ModelBuilder, ref, **kw) -> Case:
    return Case(b.build(), ref, **kw)


def conv_case(rng, shape=(1, 9, 9, 3), oc=4, k=(3, 3), stride=(1, 1), dilation=(1, 1),
              padding="SAME", activation="NONE", bias=True, per_channel=True) -> Case:
    b = ModelBuilder()
    x = b.input("x", shape, scale=0.05, zero_point=-20)
    y = b.conv2d(x, _w(rng, oc, *k, shape[3]), rng.normal(size=oc) * 0.3 if bias else None,
                 stride=stride, dilation=dilation, padding=padding, activation=activation,
                 per_channel=per_channel)
    b.output(y)
    w, bb = _qw(b, y)
    return _finish(b, lambda xs: [conv2d_ref(xs[0], w, bb, stride, dilation, padding, activation)])


def dw_case(rng, shape=(1, 9, 9, 4), mult=1, k=(3, 3), stride=(1, 1), dilation=(1, 1),
            padding="SAME", activation="NONE") -> Case:
    b = ModelBuilder()
    x = b.input("x", shape, scale=0.05, zero_point=10)
    cm = shape[3] * mult
    y = b.depthwise_conv2d(x, _w(rng, 1, *k, cm, fan_in=k[0] * k[1]), rng.normal(size=cm) * 0.3,
                           stride=stride, dilation=dilation, padding=padding,
                           activation=activation)
    b.output(y)
    w, bb = _qw(b, y)
    return _finish(
        b, lambda xs: [depthwise_ref(xs[0], w, bb, stride, dilation, padding, activation)])


def fc_case(rng, shape=(1, 32), units=10, keep_num_dims=False, activation="NONE",
            per_channel=False) -> Case:
    b = ModelBuilder()
    x = b.input("x", shape, scale=0.04, zero_point=-5)
    depth = shape[-1] if keep_num_dims else int(np.prod(shape[1:]))
    y = b.fully_connected(x, _w(rng, units, depth), rng.normal(size=units) * 0.3,
                          activation=activation, keep_num_dims=keep_num_dims,
                          per_channel=per_channel)
    b.output(y)
    w, bb = _qw(b, y)

    def ref(xs):
        out = _act(xs[0].reshape(-1, depth) @ w.T + bb, activation)
        return [out.reshape(y.shape)]

    return _finish(b, ref)


def binary_case(op, a_shape, b_shape, activation="NONE", b_scale=0.05) -> Case:
    b = ModelBuilder()
    x1 = b.input("a", a_shape, scale=0.03, zero_point=7)
    x2 = b.input("b", b_shape, scale=b_scale, zero_point=-12)
    y = (b.add if op == "ADD" else b.mul)(x1, x2, activation=activation)
    b.output(y)
    f = np.add if op == "ADD" else np.multiply
    return _finish(b, lambda xs: [_act(f(xs[0], xs[1]), activation)])


def pool_case(kind, shape=(1, 10, 10, 3), filt=(2, 2), stride=(2, 2), padding="VALID",
              activation="NONE") -> Case:
    b = ModelBuilder()
    x = b.input("x", shape, scale=0.02, zero_point=-3)
    fn = b.avg_pool2d if kind == "avg" else b.max_pool2d
    b.output(fn(x, filt, stride, padding=padding, activation=activation))
    return _finish(b, lambda xs: [pool_ref(xs[0], kind, filt, stride, padding, activation)],
                   min_interior=0.2)


def mean_case(axis, keep_dims, shape=(1, 6, 7, 5), out_scale=None) -> Case:
    b = ModelBuilder()
    x = b.input("x", shape, scale=0.02, zero_point=4)
    b.output(b.mean(x, axis, keep_dims=keep_dims, out_scale=out_scale,
                    out_zero_point=None if out_scale is None else -7))
    return _finish(b, lambda xs: [np.mean(xs[0], axis=tuple(axis), keepdims=keep_dims)])


def simple_case(build: Callable[[ModelBuilder, TensorRef], TensorRef],
                ref: Callable[[np.ndarray], np.ndarray], shape=(1, 4, 5, 3), **kw) -> Case:
    b = ModelBuilder()
    x = b.input("x", shape, scale=0.03, zero_point=-9)
    b.output(build(b, x))
    return _finish(b, lambda xs: [ref(xs[0])], **kw)


def concat_case(axis) -> Case:
    b = ModelBuilder()
    shapes = [(1, 4, 5, 3), (1, 4, 5, 3), (1, 4, 5, 3)]
    shapes = [tuple(d * (1 + i) if k == axis % 4 else d for k, d in enumerate(s))
              for i, s in enumerate(shapes)]
    xs_ = [b.input(f"x{i}", s, scale=0.03, zero_point=2) for i, s in enumerate(shapes)]
    b.output(b.concat(xs_, axis))
    return _finish(b, lambda xs: [np.concatenate(xs, axis=axis)])


def softmax_case(rng, beta) -> Case:
    b = ModelBuilder()
    x = b.input("x", (2, 16), scale=0.1, zero_point=0)
    b.output(b.softmax(x, beta))
    return _finish(b, lambda xs: [softmax_ref(xs[0], beta)], tol_lsb=2.0, min_interior=0.1)


def logistic_case() -> Case:
    b = ModelBuilder()
    x = b.input("x", (1, 8, 8, 2), scale=0.05, zero_point=0)
    b.output(b.logistic(x))
    return _finish(b, lambda xs: [1.0 / (1.0 + np.exp(-xs[0]))], tol_lsb=2.0)


def quantize_float_case() -> Case:
    b = ModelBuilder()
    x = b.input("x", (1, 6, 6, 3), "float32")
    y = b.quantize(x, 0.02, -10)
    b.output(y)
    return _finish(b, lambda xs: [qdq(xs[0], y)], tol_lsb=0.01)


def requantize_case() -> Case:
    b = ModelBuilder()
    x = b.input("x", (1, 6, 6, 3), scale=0.05, zero_point=3)
    y = b.quantize(x, 0.08, -6)
    b.output(y)
    return _finish(b, lambda xs: [xs[0]])


def dequantize_case() -> Case:
    b = ModelBuilder()
    x = b.input("x", (1, 6, 6, 3), scale=0.05, zero_point=3)
    b.output(b.dequantize(x))
    return _finish(b, lambda xs: [xs[0]], tol_lsb=0.0)


def float_io_case(rng) -> Case:
    """float input -> QUANTIZE -> CONV_2D -> DEPTHWISE -> DEQUANTIZE -> float output."""
    b = ModelBuilder()
    xq = b.quantized_input("x", (1, 8, 8, 3), 0.03, -2)
    c = b.conv2d(xq, _w(rng, 6, 3, 3, 3), np.zeros(6), activation="RELU")
    d = b.depthwise_conv2d(c, _w(rng, 1, 3, 3, 6, fan_in=9), np.zeros(6), stride=2)
    b.dequantized_output(d)
    (w1, b1), (w2, b2) = _qw(b, c), _qw(b, d)

    def ref(xs):
        h = conv2d_ref(qdq(xs[0], xq), w1, b1, (1, 1), (1, 1), "SAME", "RELU")
        h = qdq(h, c)  # the int8 intermediate
        return [depthwise_ref(h, w2, b2, (2, 2), (1, 1), "SAME", "NONE")]

    # the only rounding the reference does not model is that of d's int8 output: 1 step
    return Case(b.build(), ref, float_tol=d.scale)


def multi_io_case(rng) -> Case:
    """Two inputs, two outputs: conv(x) + y -> out0 ; maxpool(y) -> out1."""
    b = ModelBuilder()
    x = b.input("x", (1, 6, 6, 2), scale=0.04, zero_point=0)
    y = b.input("y", (1, 6, 6, 4), scale=0.05, zero_point=-3)
    c = b.conv2d(x, _w(rng, 4, 1, 1, 2), np.zeros(4))
    s = b.add(c, y, activation="RELU")
    p = b.max_pool2d(y, 2)
    b.output(s, p)
    w, bb = _qw(b, c)

    def ref(xs):
        cc = qdq(conv2d_ref(xs[0], w, bb, (1, 1), (1, 1), "SAME", "NONE"), c)
        return [_act(cc + xs[1], "RELU"), pool_ref(xs[1], "max", (2, 2), (2, 2), "VALID", "NONE")]

    return Case(b.build(), ref, min_interior=0.2)


def _case_builders() -> dict[str, Callable[[np.random.Generator], Case]]:
    c: dict[str, Callable[[np.random.Generator], Case]] = {
        "conv_same_s2_relu6": lambda r: conv_case(r, stride=(2, 2), activation="RELU6"),
        "conv_valid_dil2_relu": lambda r: conv_case(r, shape=(1, 11, 10, 3), dilation=(2, 2),
                                                    padding="VALID", activation="RELU"),
        "conv_stride21_k13": lambda r: conv_case(r, k=(1, 3), stride=(2, 1), oc=5),
        "conv_nobias_relu_n1": lambda r: conv_case(r, bias=False, activation="RELU_N1_TO_1"),
        "conv_per_tensor": lambda r: conv_case(r, per_channel=False, padding="VALID"),
        "conv_batch2_dil_same": lambda r: conv_case(r, shape=(2, 7, 8, 2), dilation=(2, 3)),
        "dw_same": lambda r: dw_case(r),
        "dw_mult2_s2_valid_relu6": lambda r: dw_case(r, mult=2, stride=(2, 2), padding="VALID",
                                                      activation="RELU6"),
        "dw_dil2_relu": lambda r: dw_case(r, dilation=(2, 2), activation="RELU"),
        "fc_2d": lambda r: fc_case(r),
        "fc_4d_flatten": lambda r: fc_case(r, shape=(1, 2, 3, 8), units=6),
        "fc_3d_keep_num_dims_relu": lambda r: fc_case(r, shape=(2, 3, 8), units=5,
                                                       keep_num_dims=True, activation="RELU"),
        "fc_per_channel": lambda r: fc_case(r, per_channel=True),
        "add": lambda r: binary_case("ADD", (1, 5, 5, 3), (1, 5, 5, 3)),
        "add_broadcast_relu6": lambda r: binary_case("ADD", (1, 5, 5, 3), (1, 1, 1, 3), "RELU6",
                                                          b_scale=0.01),
        "mul": lambda r: binary_case("MUL", (1, 5, 5, 3), (1, 5, 5, 3)),
        "mul_broadcast": lambda r: binary_case("MUL", (1, 5, 5, 3), (1, 5, 1, 3)),
        "avg_pool_valid": lambda r: pool_case("avg"),
        "avg_pool_same_s1": lambda r: pool_case("avg", filt=(3, 3), stride=(1, 1), padding="SAME"),
        "avg_pool_global": lambda r: pool_case("avg", shape=(1, 5, 5, 8), filt=(5, 5),
                                               stride=(1, 1)),
        "max_pool_same_s2": lambda r: pool_case("max", filt=(3, 3), padding="SAME"),
        "max_pool_relu": lambda r: pool_case("max", activation="RELU"),
        "mean_hw_keep": lambda r: mean_case([1, 2], True),
        "mean_hw": lambda r: mean_case([1, 2], False),
        "mean_c_requant": lambda r: mean_case([3], True, out_scale=0.01),
        "pad": lambda r: simple_case(lambda b, x: b.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]]),
                                     lambda x: np.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]])),
        "padv2": lambda r: simple_case(
            lambda b, x: b.padv2(x, [[0, 0], [2, 0], [1, 1], [0, 0]], value=0.6),
            lambda x: np.pad(x, [[0, 0], [2, 0], [1, 1], [0, 0]], constant_values=0.6)),
        "reshape_option": lambda r: simple_case(lambda b, x: b.reshape(x, [1, -1], as_tensor=False),
                                                lambda x: x.reshape(1, -1)),
        "reshape_tensor": lambda r: simple_case(lambda b, x: b.reshape(x, [4, 15], as_option=False),
                                                lambda x: x.reshape(4, 15)),
        "reshape_both": lambda r: simple_case(lambda b, x: b.reshape(x, [2, -1, 3]),
                                              lambda x: x.reshape(2, -1, 3)),
        "squeeze_dims": lambda r: simple_case(lambda b, x: b.squeeze(x, [0, 2]),
                                              lambda x: x.reshape(4, 3), shape=(1, 4, 1, 3)),
        "squeeze_all": lambda r: simple_case(lambda b, x: b.squeeze(x),
                                             lambda x: x.reshape(4, 3), shape=(1, 4, 1, 3)),
        "transpose": lambda r: simple_case(lambda b, x: b.transpose(x, [0, 3, 1, 2]),
                                           lambda x: x.transpose(0, 3, 1, 2)),
        "resize_nearest": lambda r: simple_case(
            lambda b, x: b.resize_nearest(x, (9, 7)),
            lambda x: resize_nearest_ref(x, (9, 7), False, False)),
        "resize_nearest_align_corners": lambda r: simple_case(
            lambda b, x: b.resize_nearest(x, (9, 7), align_corners=True),
            lambda x: resize_nearest_ref(x, (9, 7), True, False)),
        "resize_nearest_half_pixel": lambda r: simple_case(
            lambda b, x: b.resize_nearest(x, (3, 11), half_pixel_centers=True),
            lambda x: resize_nearest_ref(x, (3, 11), False, True)),
        "softmax": lambda r: softmax_case(r, 1.0),
        "softmax_beta": lambda r: softmax_case(r, 0.4),
        "logistic": lambda r: logistic_case(),
        "concat_channels": lambda r: concat_case(3),
        "concat_height_negative_axis": lambda r: concat_case(-3),
        "quantize_float_to_int8": lambda r: quantize_float_case(),
        "quantize_int8_to_int8": lambda r: requantize_case(),
        "dequantize": lambda r: dequantize_case(),
        "float_io_conv_dw": float_io_case,
        "multi_io": multi_io_case,
    }
    return c


CASES = _case_builders()


def _real(x: np.ndarray, info) -> np.ndarray:
    if info.quantized:
        return dequantize(x, info.scale[0], info.zero_point[0])
    return x.astype(np.float64)


@pytest.mark.parametrize("name", sorted(CASES))
def test_builder_model_matches_float_reference(name: str) -> None:
    case = CASES[name](np.random.default_rng(1234))
    io = model_io(case.model)
    for seed in range(3):
        xs = random_input(case.model, seed)
        outs = tflm_run(case.model, xs)
        refs = case.reference([_real(x, info) for x, info in zip(xs, io.inputs)])
        assert len(outs) == len(io.outputs) == len(refs)
        for out, info, ref in zip(outs, io.outputs, refs):
            assert out.dtype == info.dtype and out.shape == info.shape
            got = _real(out, info)
            ref = np.broadcast_to(ref, got.shape)
            if info.quantized:
                lo_q, hi_q = np.iinfo(info.dtype).min, np.iinfo(info.dtype).max
                s, z = info.scale[0], info.zero_point[0]
                ref = np.clip(ref, (lo_q - z) * s, (hi_q - z) * s)
                tol = case.tol_lsb * s + 1e-9
                interior = np.mean((out > lo_q) & (out < hi_q))
                assert interior >= case.min_interior, f"{name}: saturated ({interior:.2f})"
            else:
                tol = case.float_tol * (1 + float(np.max(np.abs(ref), initial=0.0)))
            err = float(np.max(np.abs(got - ref))) if got.size else 0.0
            assert err <= tol, f"{name}: max error {err:.4g} > {tol:.4g} (seed {seed})"
        assert any(len(np.unique(o)) > 1 for o in outs), f"{name}: constant output"


# ---------------------------------------------------------------------------------------------
# Builder structure
# ---------------------------------------------------------------------------------------------


def test_builder_writes_schema_fields() -> None:
    b = ModelBuilder()
    x = b.input("x", (1, 8, 8, 2), scale=0.05, zero_point=-128)
    w = b.const("w", np.ones((3, 3, 3, 2), np.int8), scales=[0.1, 0.2, 0.3], zero_points=[0, 0, 0])
    bias = b.const("bias", np.zeros(3, np.int32), scale=[0.005, 0.01, 0.015])
    y = b.add_op("CONV_2D", [x, w, bias], b.tensor("y", (1, 4, 3, 3), scale=0.1, zero_point=1),
                 options=dict(padding="VALID", stride=(2, 1), dilation=(1, 3), activation="RELU6"))
    dw = b.add_op("DEPTHWISE_CONV_2D",
                  [y, b.const("dw", np.ones((1, 1, 1, 6), np.int8), [0.5] * 6, axis=3), None],
                  b.tensor("z", (1, 4, 3, 6), scale=0.1, zero_point=1),
                  options=dict(depth_multiplier=2))
    r = b.reshape(dw, [1, -1])
    g = b.add_op("GELU", [r], b.tensor("g", r.shape, scale=0.1, zero_point=1))
    b.output(g)
    m = load_model(b.build())
    assert m.buffers[0].data is None or len(m.buffers[0].data) == 0
    sg = m.subgraphs[0]
    conv = sg.operators[0]
    o = conv.builtinOptions
    assert conv.builtinOptionsType == schema.BuiltinOptions.Conv2DOptions
    assert (o.padding, o.strideH, o.strideW) == (schema.Padding.VALID, 2, 1)
    assert (o.dilationHFactor, o.dilationWFactor) == (1, 3)
    assert o.fusedActivationFunction == schema.ActivationFunctionType.RELU6
    dwo = sg.operators[1].builtinOptions
    assert dwo.depthMultiplier == 2 and (dwo.strideH, dwo.dilationWFactor) == (1, 1)
    assert list(sg.operators[1].inputs)[2] == -1
    assert list(sg.operators[2].builtinOptions.newShape) == [1, -1]
    codes = {c.builtinCode: c.deprecatedBuiltinCode for c in m.operatorCodes}
    assert codes[schema.BuiltinOperator.CONV_2D] == schema.BuiltinOperator.CONV_2D
    assert schema.BuiltinOperator.GELU > 127 and codes[schema.BuiltinOperator.GELU] == 127
    wq = sg.tensors[w.index].quantization
    assert list(wq.zeroPoint) == [0, 0, 0] and wq.quantizedDimension == 0
    assert np.allclose(wq.scale, [0.1, 0.2, 0.3])
    assert sg.tensors[dw.index - 1].quantization.quantizedDimension == 3
    # constant data is 16-byte aligned in the file, as the TFLite converter does
    data = b.build()
    raw = np.ones((3, 3, 3, 2), np.int8).tobytes()
    assert data.find(raw) % 16 == 0
    assert data[4:8] == b"TFL3"


def test_builder_rejects_mistakes() -> None:
    b = ModelBuilder()
    x = b.input("x", (1, 4), scale=0.1, zero_point=0)
    with pytest.raises(ValueError, match="duplicate"):
        b.input("x", (1, 4), scale=0.1, zero_point=0)
    with pytest.raises(ValueError, match="needs a scale"):
        b.tensor("q", (1, 4), "int8")
    with pytest.raises(ValueError, match="scales do not match"):
        b.const("w", np.zeros((2, 4), np.int8), [0.1, 0.1, 0.1], axis=0)
    with pytest.raises(ValueError, match="no field"):
        b.add_op("CONV_2D", [x], b.tensor("y", (1, 4), scale=0.1), options=dict(bogus=1))
    with pytest.raises(ValueError, match="no outputs"):
        ModelBuilder().build()


def test_quantization_helpers() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 3, 3, 4)) * np.arange(1, 6)[:, None, None, None]
    q, s = quantize_weights_per_channel(w, 0)
    assert q.dtype == np.int8 and s.dtype == np.float32 and s.shape == (5,)
    assert q.min() >= -127 and np.all(np.abs(q).reshape(5, -1).max(axis=1) == 127)
    assert np.all(np.abs(q * s[:, None, None, None] - w) <= s[:, None, None, None] / 2 + 1e-6)
    qd, sd = quantize_weights_per_channel(rng.normal(size=(1, 3, 3, 6)), 3)
    assert sd.shape == (6,)
    qt, st = quantize_weights_per_tensor(w)
    assert isinstance(st, float) and np.abs(qt).max() == 127
    bq, bs = quantize_bias(np.array([0.5, -1.0, 2.0, 0.0, 1e-3]), 0.05, s)
    assert bq.dtype == np.int32
    assert np.allclose(bs, np.float32(0.05) * s.astype(np.float64), rtol=1e-6)
    assert np.all(np.abs(bq * bs.astype(np.float64) - [0.5, -1.0, 2.0, 0.0, 1e-3]) <= bs / 2 + 1e-9)
    for lo, hi in [(-1.0, 3.0), (0.0, 6.0), (-2.0, -1.0), (0.5, 0.7)]:
        scale, zp = choose_qparams(lo, hi)
        assert -128 <= zp <= 127
        assert (-128 - zp) * scale <= min(lo, 0) + scale
        assert (127 - zp) * scale >= max(hi, 0) - scale
    assert choose_qparams(0.0, 6.0)[1] == -128


# ---------------------------------------------------------------------------------------------
# Oracle on the shared MLPerf Tiny models
# ---------------------------------------------------------------------------------------------


def test_shared_models_present(shared_models_dir: Path) -> None:
    assert shared_models_dir == SHARED_MODELS_DIR  # conftest and oracle agree
    for name in MLPERF_MODELS:
        assert (shared_models_dir / f"{name}.tflite").is_file()


def test_mlperf_model_runs_deterministically(mlperf_model: Path) -> None:
    io = model_io(mlperf_model)
    assert all(t.dtype == np.int8 for t in io.inputs + io.outputs)
    sets = random_inputs(mlperf_model, seed=7, count=3)
    first = tflm_run_many(mlperf_model, sets)
    again = [tflm_run(mlperf_model.read_bytes(), xs) for xs in sets]  # fresh interpreter each
    for a, b_ in zip(first, again):
        for oa, ob, info in zip(a, b_, io.outputs):
            assert oa.shape == info.shape and oa.dtype == info.dtype
            np.testing.assert_array_equal(oa, ob)
    # different inputs reach the last operator differently (the model is not degenerate;
    # VWW's 2-class softmax output itself saturates on noise inputs)
    m = load_model(mlperf_model)
    last_in = int(m.subgraphs[0].operators[-1].inputs[0])
    a, b_ = (tflm_intermediates(mlperf_model, [last_in], xs)[last_in] for xs in sets[:2])
    assert not np.array_equal(a, b_)


def test_intermediates_match_run(mlperf_model: Path) -> None:
    data = mlperf_model.read_bytes()
    io = model_io(data)
    xs = random_input(data, seed=3)
    outs = tflm_run(data, xs)
    out_idx = [t.index for t in io.outputs]
    for method in ("preserve", "outputs"):
        got = tflm_intermediates(data, out_idx, xs, method=method)
        for i, o in zip(out_idx, outs):
            np.testing.assert_array_equal(got[i], o)
    # the two methods agree on every activation tensor
    everything = tflm_intermediates(data, None, xs, method="preserve")
    rewritten = tflm_intermediates(data, sorted(everything), xs, method="outputs")
    infos = tensor_infos(data)
    assert len(everything) > len(io.inputs) + len(io.outputs) or len(everything) >= 3
    for i, v in everything.items():
        assert v.shape == infos[i].shape and v.dtype == infos[i].dtype, infos[i]
        np.testing.assert_array_equal(v, rewritten[i], err_msg=infos[i].name)
    # the graph input reads back as given
    np.testing.assert_array_equal(everything[io.inputs[0].index], xs[0])


def test_shared_model_minimal_arena_matches_readme(shared_model) -> None:
    """README: KWS runs in a 24,272-byte TFLM arena; smaller fails cleanly (not too small)."""
    kws = shared_model("kws_dscnn_int8")
    tflm_interpreter(kws, arena_size=24272)
    with pytest.raises(TflmError, match="Failed to resize buffer"):
        tflm_interpreter(kws, arena_size=20000)


# ---------------------------------------------------------------------------------------------
# Oracle helpers
# ---------------------------------------------------------------------------------------------


def test_random_inputs_properties() -> None:
    case = CASES["multi_io"](np.random.default_rng(0))
    a = random_inputs(case.model, seed=5, count=4)
    b = random_inputs(case.model, seed=5, count=2)
    for sa, sb in zip(a, b):
        for xa, xb in zip(sa, sb):
            np.testing.assert_array_equal(xa, xb)
    assert not np.array_equal(a[0][0], random_input(case.model, seed=6)[0])
    allx = np.concatenate([s[1].ravel() for s in random_inputs(case.model, seed=5, count=40)])
    assert allx.dtype == np.int8 and allx.min() == -128 and allx.max() == 127
    # float inputs span the real range of the QUANTIZE that consumes them
    fcase = quantize_float_case()
    xf = random_input(fcase.model, 0)[0]
    assert xf.dtype == np.float32
    lo, hi = (-128 + 10) * 0.02, (127 + 10) * 0.02
    assert lo - 1e-6 <= xf.min() < lo + 0.2 and hi - 0.2 < xf.max() <= hi + 1e-6


def test_model_io_and_inputs_validation(model_file) -> None:
    case = CASES["multi_io"](np.random.default_rng(0))
    io = model_io(case.model)
    assert [t.name for t in io.inputs] == ["x", "y"]
    assert io.inputs[1].shape == (1, 6, 6, 4) and io.inputs[1].dtype == np.int8
    assert io.inputs[1].zero_point == (-3,) and np.isclose(io.inputs[1].scale[0], 0.05)
    assert len(io.outputs) == 2
    path = model_file(case.model)
    xs = random_input(path, 1)
    for a, b_ in zip(tflm_run(path, xs), tflm_run(case.model, xs)):
        np.testing.assert_array_equal(a, b_)
    with pytest.raises(ValueError, match="dtype"):
        tflm_run(case.model, [xs[0].astype(np.int16), xs[1]])
    with pytest.raises(ValueError, match="shape"):
        tflm_run(case.model, [xs[0][:, :3], xs[1]])
    with pytest.raises(ValueError, match="inputs"):
        tflm_run(case.model, xs[:1])


def test_with_outputs_and_intermediates_on_builder_model() -> None:
    case = CASES["float_io_conv_dw"](np.random.default_rng(0))
    infos = tensor_infos(case.model)
    by_name = {t.name: t.index for t in infos}
    xs = random_input(case.model, 2)
    vals = tflm_intermediates(case.model, [by_name["x_q"]], xs)
    assert vals[by_name["x_q"]].dtype == np.int8
    rewritten = with_outputs(case.model, [by_name["x_q"]])
    np.testing.assert_array_equal(tflm_run(rewritten, xs)[0], vals[by_name["x_q"]])


# ---------------------------------------------------------------------------------------------
# Deliberately bad models, and TFLM's constraints
# ---------------------------------------------------------------------------------------------


def test_float_model_is_float() -> None:
    data = float_conv_model()
    infos = tensor_infos(data)
    assert all(t.dtype == np.float32 and not t.quantized for t in infos)
    assert tflm_check(data).ok  # TFLM runs float models; tinytvm must reject them itself


@pytest.mark.parametrize("make", [hybrid_fc_model, hybrid_conv_model], ids=["fc", "conv"])
def test_hybrid_model_is_hybrid_and_rejected(make) -> None:
    data = make()
    infos = tensor_infos(data)
    io = model_io(data)
    assert io.inputs[0].dtype == np.float32 and io.outputs[0].dtype == np.float32
    weights = [t for t in infos if t.dtype == np.int8]
    assert len(weights) == 1 and weights[0].quantized
    verdict = tflm_check(data)
    assert not verdict.ok and verdict.stage == "load" and not verdict.crashed
    assert "not supported" in verdict.log
    with pytest.raises(TflmError, match="not supported"):
        tflm_interpreter(data)


@pytest.mark.parametrize("op,message", [("LSTM", "LSTM"), ("CUSTOM", "CUSTOM")])
def test_unsupported_op_model_rejected(op: str, message: str) -> None:
    data = unsupported_op_model(op)
    m = load_model(data)
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in m.operatorCodes]
    assert codes == [getattr(schema.BuiltinOperator, op)]
    assert all(t.dtype != np.float32 for t in tensor_infos(data))
    verdict = tflm_check(data)
    assert not verdict.ok and message in verdict.log
    with pytest.raises(TflmError, match=message):
        tflm_interpreter(data)


def test_tflm_check_reports_crash() -> None:
    """An arena far too small segfaults TFLM: tflm_check survives and says so."""
    verdict = tflm_check(CASES["conv_same_s2_relu6"](np.random.default_rng(0)).model,
                         arena_size=64)
    assert not verdict.ok and verdict.crashed


def _one_op(op: str, x_shape, y_shape, y_scale, y_zp, options=None, extra=()) -> bytes:
    b = ModelBuilder()
    x = b.input("x", x_shape, scale=0.05, zero_point=0)
    y = b.tensor("y", y_shape, scale=y_scale, zero_point=y_zp)
    b.add_op(op, [x, *[b.const(None, np.asarray(e, np.int32)) for e in extra]], y, options)
    b.output(y)
    return b.build()


@pytest.mark.parametrize(
    "op,options,y_shape,scale,zp,reason",
    [
        ("SOFTMAX", dict(beta=1.0), (1, 4, 4, 2), 0.01, -128, "1.f / 256"),
        ("SOFTMAX", dict(beta=1.0), (1, 4, 4, 2), 1 / 256, 0, "-128"),
        ("LOGISTIC", None, (1, 4, 4, 2), 1 / 256, 0, "zero_point"),
        ("AVERAGE_POOL_2D", dict(filter=2, stride=2), (1, 2, 2, 2), 0.1, 0, "scale_diff"),
        ("MAX_POOL_2D", dict(filter=2, stride=2), (1, 2, 2, 2), 0.05, 3, "zero_point"),
        ("CONCATENATION", dict(axis=3), (1, 4, 4, 2), 0.1, 0, "scale"),
    ],
)
def test_tflm_enforced_constraints(op, options, y_shape, scale, zp, reason) -> None:
    data = _one_op(op, (1, 4, 4, 2), y_shape, scale, zp, options)
    with pytest.raises(TflmError, match=reason):
        tflm_interpreter(data)


def test_tflm_padv2_value_quantization_enforced() -> None:
    b = ModelBuilder()
    x = b.input("x", (1, 2, 2, 3), scale=0.05, zero_point=0)
    y = b.tensor("y", (1, 4, 2, 3), scale=0.05, zero_point=7)
    paddings = b.const("p", np.array([[0, 0], [1, 1], [0, 0], [0, 0]], np.int32))
    value = b.const("v", np.array(0, np.int8), 0.05, 0)
    b.add_op("PADV2", [x, paddings, value], y)
    b.output(y)
    with pytest.raises(TflmError, match="constant_values"):
        tflm_interpreter(b.build())


def test_tflm_unenforced_quirks() -> None:
    """What TFLM accepts silently (the compiler must match it, or reject such models)."""
    x = np.arange(-8, 8, dtype=np.int8).reshape(1, 2, 2, 4)
    # LOGISTIC: the output scale is ignored (always computed as 1/256); only zp is checked.
    a = tflm_run(_one_op("LOGISTIC", (1, 2, 2, 4), (1, 2, 2, 4), 1 / 256, -128), [x])[0]
    b = tflm_run(_one_op("LOGISTIC", (1, 2, 2, 4), (1, 2, 2, 4), 0.5, -128), [x])[0]
    np.testing.assert_array_equal(a, b)
    # PAD / TRANSPOSE: a different output quantization is not requantized (bytes are copied);
    # PAD fills with the *output* zero point.
    p = tflm_run(_one_op("PAD", (1, 2, 2, 4), (1, 4, 2, 4), 0.2, 7,
                         extra=[[[0, 0], [1, 1], [0, 0], [0, 0]]]), [x])[0]
    np.testing.assert_array_equal(p[:, 1:3], x)
    assert np.all(p[:, 0] == 7)
    t = tflm_run(_one_op("TRANSPOSE", (1, 2, 2, 4), (1, 4, 2, 2), 0.2, 7,
                         extra=[[0, 3, 1, 2]]), [x])[0]
    np.testing.assert_array_equal(t, x.transpose(0, 3, 1, 2))
    # CONV_2D: a non-zero int8 weight zero point is ignored (treated as 0), and so is the
    # bias scale (the kernel only uses input_scale * weight_scale / output_scale).
    outs = []
    for wzp, bias_scale in [(0, 0.0005), (3, 0.0005), (0, 0.5)]:
        b_ = ModelBuilder()
        xi = b_.input("x", (1, 2, 2, 4), scale=0.05, zero_point=0)
        w = b_.const("w", np.arange(-12, 12, dtype=np.int8).reshape(2, 1, 3, 4), [0.01, 0.02],
                     [wzp, wzp], axis=0)
        bias = b_.const("bias", np.array([100, -200], np.int32), [bias_scale] * 2)
        b_.output(b_.conv2d(xi, w, bias, out_scale=0.01, out_zero_point=0))
        outs.append(tflm_run(b_.build(), [x])[0])
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])


# ---------------------------------------------------------------------------------------------
# Property test: arbitrary convolution configurations
# ---------------------------------------------------------------------------------------------

@given(
    depthwise=st.booleans(),
    hw=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    channels=st.integers(1, 5),
    out_or_mult=st.integers(1, 3),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.sampled_from(["SAME", "VALID"]),
    activation=st.sampled_from(sorted(_ACT)),
    seed=st.integers(0, 2**16),
)
def test_conv_configurations_match_reference(depthwise, hw, channels, out_or_mult, kernel,
                                             stride, dilation, padding, activation, seed) -> None:
    for size, k, d in zip(hw, kernel, dilation):
        assume(conv_output_size(size, k, 1, d, padding) >= 1)
    rng = np.random.default_rng(seed)
    case = (dw_case(rng, shape=(1, *hw, channels), mult=out_or_mult, k=kernel, stride=stride,
                    dilation=dilation, padding=padding, activation=activation)
            if depthwise else
            conv_case(rng, shape=(1, *hw, channels), oc=out_or_mult + 1, k=kernel, stride=stride,
                      dilation=dilation, padding=padding, activation=activation))
    io = model_io(case.model)
    xs = random_input(case.model, seed)
    (out,) = tflm_run(case.model, xs)
    info = io.outputs[0]
    s, z = info.scale[0], info.zero_point[0]
    ref = np.clip(case.reference([_real(xs[0], io.inputs[0])])[0], (-128 - z) * s, (127 - z) * s)
    assert out.shape == info.shape
    assert np.max(np.abs(_real(out, info) - ref)) <= s + 1e-9
