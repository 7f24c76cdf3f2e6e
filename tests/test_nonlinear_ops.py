"""SOFTMAX, LOGISTIC, MEAN, RESIZE_NEAREST_NEIGHBOR, QUANTIZE and DEQUANTIZE: bit-exact with TFLite Micro.

Every model is built in the test (``tflite_builder``), run by TFLM (``oracle``, the PyPI
``tflite-micro`` reference kernels) and by ``tinytvm.reference_run(tinytvm.from_tflite(...))``;
all output elements must be identical (float outputs: identical bit patterns).
tinytvm runs first: where TFLM would abort the process (softmax whose sum of exponentials
reaches 512), tinytvm raises and TFLM is never called.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import tinytvm
from bitexact import assert_bit_exact, int8_sets
from oracle import shared_model_path, tflm_check, random_inputs
from tflite_builder import ModelBuilder
from tinytvm.errors import QuantizationError, TinyTVMError, UnsupportedOperatorError
from tinytvm.ir.graph import layers
from tinytvm.quantization.nonlinear_params import (
    logistic_params,
    mean_params,
    nearest_neighbor_indices,
    softmax_params,
)
from tinytvm.reference.kernels.nonlinear import (
    exp_on_negative_values,
    logistic_fixed_point,
    one_over_one_plus_x_for_x_in_0_1,
)

INT8 = np.arange(-128, 128, dtype=np.int8)


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
def single_op_model(build) -> bytes:
    b = ModelBuilder()
    build(b)
    return b.build()


# ------------------------------------------------------------------------------------------------
# gemmlowp fixed point: sanity against float math (exactness is what the TFLM tests check)
# ------------------------------------------------------------------------------------------------
def test_gemmlowp_helpers_approximate_float_math():
    x = np.linspace(-31.9, 0.0, 4001)
    q5 = np.round(x * 2**26).astype(np.int64)
    assert np.abs(exp_on_negative_values(q5, 5) / 2**31 - np.exp(x)).max() < 2e-8 + 1e-6
    y = np.linspace(0.0, 0.999, 2001)
    assert np.abs(one_over_one_plus_x_for_x_in_0_1(np.round(y * 2**31).astype(np.int64)) / 2**31
                  - 1 / (1 + y)).max() < 1e-6
    z = np.linspace(-15.9, 15.9, 3001)
    assert np.abs(logistic_fixed_point(np.round(z * 2**27).astype(np.int64), 4) / 2**31
                  - 1 / (1 + np.exp(-z))).max() < 1e-6


def test_parameter_derivations_match_tflm_formulas():
    p = softmax_params(1.0, 0.14469251036643982)  # KWS's softmax input
    real = float(np.float32(0.14469251036643982)) * 2**26
    assert p["input_multiplier"] * 2.0 ** (p["input_left_shift"] - 31) == pytest.approx(real, rel=1e-9)
    assert p["diff_min"] == -math.floor(31 * 2**26 / 2 ** p["input_left_shift"])
    with pytest.raises(ValueError):
        softmax_params(1.0, 1e-9)  # beta * scale * 2^26 <= 1: TFLM's QuantizeMultiplierGreaterThanOne fails
    lp = logistic_params(0.1, 3)
    assert lp["input_multiplier"] * 2.0 ** (lp["input_left_shift"] - 31) == pytest.approx(
        float(np.float32(0.1)) * 2**27, rel=1e-9)
    assert lp["input_range_radius"] == math.floor(15 * 2**27 / 2 ** lp["input_left_shift"])
    m, s = mean_params(0.5, 0.5, 6)  # 1/6 folded in: (2^30 << 2) // 6, shift 1 - 2
    assert (m, s) == ((1 << 32) // 6, -1)
    assert nearest_neighbor_indices(4, 8, False, False).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert nearest_neighbor_indices(4, 7, True, False).tolist() == [0, 1, 1, 2, 2, 3, 3]


# ------------------------------------------------------------------------------------------------
# SOFTMAX
# ------------------------------------------------------------------------------------------------
SOFTMAX_SHAPES = [(1, 2), (4, 10), (3, 12), (16,), (2, 3, 4, 10), (1, 2, 2, 12), (2, 5, 7)]
SOFTMAX_QUANT = [(0.001, 0), (0.02, -128), (0.0625, 127), (0.14469251036643982, 14), (1.0, -5), (6.0, 3)]
SOFTMAX_BETAS = [1.0, 0.5, 2.0, 0.1]


@pytest.mark.parametrize("shape", SOFTMAX_SHAPES, ids=str)
@pytest.mark.parametrize("scale,zero_point", SOFTMAX_QUANT, ids=str)
@pytest.mark.parametrize("beta", SOFTMAX_BETAS, ids=str)
def test_softmax_bit_exact(shape, scale, zero_point, beta, rng):
    def build(b):
        x = b.input("x", shape, scale=scale, zero_point=zero_point)
        b.output(b.softmax(x, beta))

    assert_bit_exact(single_op_model(build), int8_sets(rng, shape))


@pytest.mark.parametrize("scale,beta", [(0.05, 1.0), (0.1, 0.5), (0.5, 1.0), (1.0, 2.0), (0.02, 2.0)], ids=str)
def test_softmax_long_rows(scale, beta, rng):
    """1000-way softmax (ImageNet-like). Random rows keep the sum of exponentials below 512."""
    shape = (4, 1000)

    def build(b):
        x = b.input("x", shape, scale=scale, zero_point=-3)
        b.output(b.softmax(x, beta))

    sets = int8_sets(rng, shape, count=4, extremes=False)
    one_hot = np.full(shape, -128, np.int8)
    one_hot[:, ::97] = 127
    sets.append([one_hot])
    assert_bit_exact(single_op_model(build), sets)


@pytest.mark.parametrize("scale,beta", [(4.0, 8.0), (1.0, 40.0), (16.0, 1.0), (1e-5, 1.0), (3e-7, 0.5)], ids=str)
def test_softmax_extreme_scaling(scale, beta, rng):
    """Multiplier saturated at 2^31 - 1 / left shift 31 (diff_min 0), and near-uniform outputs."""
    shape = (8, 12)

    def build(b):
        x = b.input("x", shape, scale=scale, zero_point=0)
        b.output(b.softmax(x, beta))

    assert_bit_exact(single_op_model(build), int8_sets(rng, shape))


def test_softmax_where_tflm_aborts_raises_instead(rng):
    """TFLM hits TFLITE_CHECK(exponent <= 31) (abort) once a row's sum of exps reaches 512."""
    shape = (1, 600)

    def build(b):
        x = b.input("x", shape, scale=1e-5, zero_point=0)
        b.output(b.softmax(x, 1.0))

    data = single_op_model(build)
    verdict = tflm_check(data)  # in a child process: TFLM kills it with SIGABRT
    assert not verdict.ok and verdict.stage == "invoke" and verdict.crashed, verdict
    with pytest.raises(TinyTVMError, match="aborts"):
        tinytvm.reference_run(tinytvm.from_tflite(data), [np.zeros(shape, np.int8)])


@pytest.mark.parametrize("out_scale,out_zero_point", [(1 / 255, -128), (1 / 256, 0), (0.5, -128)], ids=str)
@pytest.mark.parametrize("op", ["SOFTMAX", "LOGISTIC"])
def test_probability_output_quantization_is_validated(op, out_scale, out_zero_point):
    b = ModelBuilder()
    x = b.input("x", (1, 10), scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 10), scale=out_scale, zero_point=out_zero_point)
    b.add_op(op, [x], y, {"beta": 1.0} if op == "SOFTMAX" else None)
    b.output(y)
    with pytest.raises(UnsupportedOperatorError, match=r"operator #0 .*1/256"):
        tinytvm.from_tflite(b.build())


# ------------------------------------------------------------------------------------------------
# LOGISTIC (element-wise: every int8 value is tested for each quantization)
# ------------------------------------------------------------------------------------------------
LOGISTIC_QUANT = [(2.0**-20, 0), (0.001, 0), (0.01, -128), (0.03125, 127), (0.05, 37), (0.1, 0),
                  (0.2, -100), (0.5, 127), (1.0, -128), (8.0, 5), (0.0235294122248888, -128)]


@pytest.mark.parametrize("scale,zero_point", LOGISTIC_QUANT, ids=str)
def test_logistic_exhaustive(scale, zero_point, rng):
    shape = (2, 4, 4, 16)

    def build(b):
        x = b.input("x", shape, scale=scale, zero_point=zero_point)
        b.output(b.logistic(x))

    sets = [[np.resize(INT8, shape)], [np.resize(INT8[::-1], shape)]] + int8_sets(rng, shape, count=2)
    assert_bit_exact(single_op_model(build), sets)


# ------------------------------------------------------------------------------------------------
# MEAN
# ------------------------------------------------------------------------------------------------
def mean_model(shape, axes, keep_dims, in_q, out_q) -> bytes:
    """MEAN with the axis tensor exactly as given (negative and duplicate axes kept)."""
    b = ModelBuilder()
    x = b.input("x", shape, scale=in_q[0], zero_point=in_q[1])
    resolved = {a % len(shape) for a in axes}
    out_shape = tuple(1 if i in resolved else d for i, d in enumerate(shape) if keep_dims or i not in resolved)
    axis = b.const("axis", np.asarray(axes, np.int32))
    y = b.tensor("y", out_shape, scale=out_q[0], zero_point=out_q[1])
    b.add_op("MEAN", [x, axis], y, {"keep_dims": keep_dims})
    b.output(y)
    return b.build()


MEAN_QUANT = [  # (input scale, zp), (output scale, zp)
    ((0.05, -3), (0.05, -3)),        # same quantization
    ((0.02, -128), (0.02, -128)),
    ((0.1, 127), (0.0333, 127)),     # finer output
    ((0.05, 0), (0.35, -128)),       # coarser output
    ((1.0, 5), (0.001, 0)),          # saturates
    ((0.001, -128), (1.0, 127)),     # tiny multiplier
]
MEAN_CASES = [  # shape, axes
    ((1, 6, 6, 8), [1, 2]),
    ((2, 5, 7, 3), [1, 2]),
    ((2, 5, 7, 3), [2, 1]),
    ((1, 64, 64, 4), [1, 2]),
    ((2, 5, 7, 3), [3]),
    ((2, 5, 7, 3), [-1]),
    ((2, 5, 7, 3), [0]),
    ((2, 5, 7, 3), [0, 3]),
    ((2, 5, 7, 3), [1, 1, -2]),
    ((2, 5, 7, 3), [0, 1, 2]),
    ((2, 5, 7, 3), [0, 1, 2, 3]),
    ((4, 9), [1]),
    ((4, 9), [0]),
    ((3, 4, 5), [-1, 0]),
    ((2, 3, 2, 3, 4), [1, 3]),
    ((300,), [0]),
]


@pytest.mark.parametrize("shape,axes", MEAN_CASES, ids=str)
@pytest.mark.parametrize("keep_dims", [True, False])
@pytest.mark.parametrize("in_q,out_q", MEAN_QUANT, ids=str)
def test_mean_bit_exact(shape, axes, keep_dims, in_q, out_q, rng):
    assert_bit_exact(mean_model(shape, axes, keep_dims, in_q, out_q), int8_sets(rng, shape, count=4))


def test_mean_record_folds_element_count():
    data = mean_model((1, 6, 6, 8), [2, 1], True, (0.05, -3), (0.05, -3))
    (layer,) = layers(tinytvm.from_tflite(data))
    record = layer.record
    assert record.KERNEL == "mean" and record.axes == (2, 1) and record.keepdims
    assert (record.multiplier, record.shift) == mean_params(0.05, 0.05, 36)


# ------------------------------------------------------------------------------------------------
# RESIZE_NEAREST_NEIGHBOR
# ------------------------------------------------------------------------------------------------
RESIZE_CASES = [  # input shape, output (H, W)
    ((1, 5, 7, 3), (10, 14)),
    ((1, 5, 7, 3), (9, 15)),
    ((1, 5, 7, 3), (11, 8)),
    ((2, 4, 4, 2), (3, 5)),
    ((1, 5, 7, 3), (2, 3)),
    ((1, 9, 13, 1), (4, 1)),
    ((1, 5, 7, 3), (5, 7)),
    ((1, 5, 7, 3), (1, 1)),
    ((1, 1, 1, 4), (3, 3)),
    ((1, 3, 3, 8), (17, 17)),
]


@pytest.mark.parametrize("in_shape,size", RESIZE_CASES, ids=str)
@pytest.mark.parametrize("align_corners,half_pixel_centers", list(itertools.product([False, True], repeat=2)))
def test_resize_nearest_bit_exact(in_shape, size, align_corners, half_pixel_centers, rng):
    def build(b):
        x = b.input("x", in_shape, scale=0.05, zero_point=-128)
        b.output(b.resize_nearest(x, size, align_corners=align_corners, half_pixel_centers=half_pixel_centers))

    assert_bit_exact(single_op_model(build), int8_sets(rng, in_shape, count=3))


def test_resize_nearest_requires_shared_quantization():
    b = ModelBuilder()
    x = b.input("x", (1, 2, 2, 1), scale=0.05, zero_point=0)
    size = b.const("size", np.asarray([4, 4], np.int32))
    y = b.tensor("y", (1, 4, 4, 1), scale=0.1, zero_point=0)
    b.add_op("RESIZE_NEAREST_NEIGHBOR", [x, size], y)
    b.output(y)
    with pytest.raises(UnsupportedOperatorError, match="share quantization"):
        tinytvm.from_tflite(b.build())


# ------------------------------------------------------------------------------------------------
# QUANTIZE (float32 -> int8 and int8 -> int8) and DEQUANTIZE
# ------------------------------------------------------------------------------------------------
QUANTIZE_PARAMS = [(1.0, 0), (0.25, -128), (2.0, 127), (0.1, 3), (0.0078125, -1), (0.001, 127),
                   (30.0, -5), (0.0235294122248888, -128)]
SPECIAL_FLOATS = np.array([0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.49999997, 126.5, 127.5,
                           -127.5, -128.5, 1e10, -1e10, 3e9, -3e9, 2.1e9, -2.2e9, np.inf, -np.inf, np.nan,
                           1e-30, -1e-30, 3.4e38, -3.4e38], np.float32)


@pytest.mark.parametrize("scale,zero_point", QUANTIZE_PARAMS, ids=str)
def test_quantize_float_to_int8(scale, zero_point, rng):
    n = 512

    def build(b):
        b.output(b.quantized_input("x", (1, n), scale, zero_point))

    s32 = np.float32(scale)
    ties = ((np.arange(n) - n // 2).astype(np.float32) + np.float32(0.5)) * s32  # exact .5 for power-of-2 scales
    wide = rng.uniform(-300, 300, n).astype(np.float32) * s32                   # saturating both ways
    near = (rng.integers(-140, 140, n) + rng.choice([-0.5, 0.5, 0.4999999, 0.5000001], n)).astype(np.float32) * s32
    special = np.resize(SPECIAL_FLOATS, n).astype(np.float32)
    sets = [[v.reshape(1, n)] for v in (ties, wide, near, special)]
    assert_bit_exact(single_op_model(build), sets)


REQUANTIZE_PARAMS = [  # (input scale, zp), (output scale, zp)
    ((0.3, -7), (0.07, 11)), ((0.07, 11), (0.3, -7)), ((0.05, -128), (0.05, 127)), ((0.05, 3), (0.05, 3)),
    ((1.0, 127), (0.001, -128)), ((0.001, -128), (1.0, 127)), ((0.0123, 0), (0.0123 * 2, 0)),
    ((0.5, 10), (0.25, -10)),
]


@pytest.mark.parametrize("in_q,out_q", REQUANTIZE_PARAMS, ids=str)
def test_quantize_int8_to_int8(in_q, out_q, rng):
    def build(b):
        x = b.input("x", (4, 64), scale=in_q[0], zero_point=in_q[1])
        b.output(b.quantize(x, out_q[0], out_q[1]))

    data = single_op_model(build)
    assert [layer.kernel for layer in layers(tinytvm.from_tflite(data))] == ["requantize"]
    assert_bit_exact(data, [[INT8.reshape(4, 64)]] + int8_sets(rng, (4, 64), count=2))


@pytest.mark.parametrize("scale,zero_point", QUANTIZE_PARAMS, ids=str)
def test_dequantize(scale, zero_point):
    def build(b):
        x = b.input("x", (2, 128), scale=scale, zero_point=zero_point)
        b.dequantized_output(x)

    assert_bit_exact(single_op_model(build), [[INT8.reshape(2, 128)]])


def test_float_boundary_model(rng):
    """float input -> QUANTIZE -> SOFTMAX -> DEQUANTIZE -> float output, end to end."""
    def build(b):
        q = b.quantized_input("x", (3, 10), 0.1, 2)
        b.dequantized_output(b.softmax(q, 1.0))

    data = single_op_model(build)
    mod = tinytvm.from_tflite(data)
    assert [layer.kernel for layer in layers(mod)] == ["quantize", "softmax", "dequantize"]
    assert_bit_exact(data, random_inputs(data, seed=3, count=5))


def test_dequantize_inside_the_graph_is_rejected():
    b = ModelBuilder()
    x = b.input("x", (1, 8), scale=0.1, zero_point=0)
    f = b.dequantize(x, name="middle_float")
    b.output(b.quantize(f, 0.2, 1))
    with pytest.raises(QuantizationError, match=r"operator #0 \(DEQUANTIZE\).*middle_float.*not a model output"):
        tinytvm.from_tflite(b.build())


def test_quantize_of_a_non_input_float_is_rejected():
    b = ModelBuilder()
    b.input("x", (1, 4), scale=0.1, zero_point=0)
    c = b.const("float_const", np.linspace(-1, 1, 4, dtype=np.float32).reshape(1, 4))
    b.output(b.quantize(c, 0.1, 0))
    with pytest.raises(QuantizationError, match=r"operator #0 \(QUANTIZE\).*float_const.*not a model input"):
        tinytvm.from_tflite(b.build())


# ------------------------------------------------------------------------------------------------
# MLPerf Tiny models (each ends with SOFTMAX, except AD)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["kws_dscnn_int8", "vww_mbv1_int8", "resnet8_int8", "ad01_int8"])
def test_mlperf_models_bit_exact(name):
    data = shared_model_path(name).read_bytes()
    assert_bit_exact(data, random_inputs(data, seed=0, count=5))


def test_ad01_fully_connected_multiplier_rounding_case():
    """Input 16 of random_inputs(ad01, seed=123) hits a rounding tie: TFLM takes the FC scale product in double."""
    data = shared_model_path("ad01_int8").read_bytes()
    assert_bit_exact(data, [random_inputs(data, seed=123, count=17)[16]])
