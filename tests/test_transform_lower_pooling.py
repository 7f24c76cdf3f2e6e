"""LowerPooling: NHWC pools and means of dequantized int8 values become tinytvm pooling / mean."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
from tvm import relax

from tinytvm.errors import UnsupportedOperatorError
from tinytvm.ir.ops import AvgPool2D, MaxPool2D, Mean
from tinytvm.quantization.nonlinear_params import mean_params
from tinytvm.reference import reference_run
from tinytvm.transform import LowerPooling

S = float(np.float32(0.05))
S_OUT = float(np.float32(0.02))


def f32(value):
    return relax.const(np.asarray(value, dtype=np.float32))


def i8(value):
    return relax.const(np.asarray(value, dtype=np.int8))


def dq(x, scale=S, zp=-7):
    return relax.op.dequantize(x, f32(scale), i8(zp), axis=-1)


def q(x, scale, zp):
    return relax.op.quantize(x, f32(scale), i8(zp), axis=-1, out_dtype="int8")


def rec(record, operands, shape):
    return record.call(operands, relax.TensorType(shape, "int8"))


def function(body, shape=(1, 6, 6, 4)):
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType(shape, "int8"))
    with bb.function("main", [x]):
        with bb.dataflow():
            out = bb.emit_output(body(bb, x))
        bb.emit_func_output(out)
    return bb.get()


COMMON = dict(output_scale=S, output_zp=-7, act_min=-128, act_max=127)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pools(kind):
    pool = relax.op.nn.max_pool2d if kind == "max" else relax.op.nn.avg_pool2d
    record_class = MaxPool2D if kind == "max" else AvgPool2D

    def before(bb, x):
        return pool(bb.emit(dq(x)), pool_size=[3, 3], strides=[2, 2], padding=[1, 1, 0, 0], layout="NHWC")

    def expected(bb, x):
        record = record_class(pool=(3, 3), stride=(2, 2), padding=(1, 1, 0, 0), **COMMON)
        return dq(bb.emit(rec(record, [x], (1, 3, 3, 4))))

    tvm.ir.assert_structural_equal(LowerPooling()(function(before)), function(expected))


def test_global_average_pool():
    def before(bb, x):
        return relax.op.nn.adaptive_avg_pool2d(bb.emit(dq(x)), [1, 1], layout="NHWC")

    def expected(bb, x):
        record = AvgPool2D(pool=(6, 6), stride=(1, 1), padding=(0, 0, 0, 0), **COMMON)
        return dq(bb.emit(rec(record, [x], (1, 1, 1, 4))))

    tvm.ir.assert_structural_equal(LowerPooling()(function(before)), function(expected))


def mean_record(in_scale, out_scale, out_zp, keepdims=True):
    multiplier, shift = mean_params(in_scale, out_scale, 36)
    return Mean(output_scale=out_scale, output_zp=out_zp, axes=(1, 2), keepdims=keepdims, input_zp=-7,
                multiplier=multiplier, shift=shift)


def test_quantized_mean_takes_the_output_quantization():
    def before(bb, x):
        m = bb.emit(relax.op.mean(bb.emit(dq(x)), axis=[1, 2], keepdims=True))
        return q(m, S_OUT, 3)

    def expected(bb, x):
        return rec(mean_record(S, S_OUT, 3), [x], (1, 1, 1, 4))

    after = LowerPooling()(function(before))
    tvm.ir.assert_structural_equal(after, function(expected))
    x = np.random.default_rng(0).integers(-128, 128, (1, 6, 6, 4)).astype(np.int8)
    (out,) = reference_run(after, [x])
    exact = np.round((S * (x.astype(np.float64) + 7)).mean(axis=(1, 2), keepdims=True) / S_OUT) + 3
    assert np.abs(out - exact).max() <= 1


def test_unquantized_mean_keeps_the_input_quantization():
    def before(bb, x):
        return relax.op.mean(bb.emit(dq(x)), axis=[1, 2], keepdims=False)

    def expected(bb, x):
        return dq(bb.emit(rec(mean_record(S, S, -7, keepdims=False), [x], (1, 4))))

    tvm.ir.assert_structural_equal(LowerPooling()(function(before)), function(expected))


def test_average_pool_counting_padding_is_rejected():
    def before(bb, x):
        return relax.op.nn.avg_pool2d(bb.emit(dq(x)), pool_size=[3, 3], padding=[1, 1, 1, 1], layout="NHWC",
                                      count_include_pad=True)

    with pytest.raises(UnsupportedOperatorError, match="count_include_pad"):
        LowerPooling()(function(before))


def test_nchw_pool_is_left_alone():
    def before(bb, x):
        return relax.op.nn.max_pool2d(bb.emit(dq(x)), pool_size=[2, 2], layout="NCHW")

    module = function(before)
    tvm.ir.assert_structural_equal(LowerPooling()(module), module)
