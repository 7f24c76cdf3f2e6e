"""AnnotateQDQ: TFLite-style quantize/dequantize pairs from calibrated ranges (post-training quantization)."""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from tinytvm.ir.graph import layers
from tinytvm.quantization.calibrate import (
    PROBABILITY_PARAMS,
    asymmetric_params,
    bias_scales,
    calibrate,
    quantize_bias,
    symmetric_per_channel,
)
from tinytvm.transform import AnnotateQDQ, lower_qdq

RNG = np.random.default_rng(2)
WEIGHT = (RNG.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32)
BIAS = (RNG.standard_normal((1, 4, 1, 1)) * 0.1).astype(np.float32)


def f32(value):
    return relax.const(np.asarray(value, dtype=np.float32))


def q(x, params):
    return relax.op.quantize(x, f32(params.scale), relax.const(np.int8(params.zero_point)), axis=-1,
                             out_dtype="int8")


def dq(x, params):
    return relax.op.dequantize(x, f32(params.scale), relax.const(np.int8(params.zero_point)), axis=-1)


def conv_module():
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 3, 6, 6), "float32"))
    with bb.function("main", [x]):
        with bb.dataflow():
            c = bb.emit(relax.op.nn.conv2d(x, relax.const(WEIGHT), padding=[1, 1, 1, 1]))
            a = bb.emit(relax.op.add(c, relax.const(BIAS)))
            r = bb.emit(relax.op.nn.relu(a))
            out = bb.emit_output(relax.op.nn.max_pool2d(r, pool_size=[2, 2], strides=[2, 2]))
        bb.emit_func_output(out)
    return bb.get()


def ranges_by_name(mod, table):
    func = mod["main"]
    variables = {p.name: p for p in func.params}
    variables.update({b.var.name: b.var for b in func.body.blocks[0].bindings})
    return {variables[name]: value for name, value in table.items()}


def test_conv_bias_relu_pool():
    before = conv_module()
    names = [b.var.name for b in before["main"].body.blocks[0].bindings]
    ranges = ranges_by_name(before, {"x": (-1.0, 2.0), names[0]: (-3.0, 3.0), names[1]: (-3.1, 2.9),
                                     names[2]: (0.0, 2.9), names[3]: (0.0, 2.9)})
    after = AnnotateQDQ(ranges)(before)

    px, pr = asymmetric_params(-1.0, 2.0), asymmetric_params(0.0, 2.9)
    weight, scales = symmetric_per_channel(WEIGHT, 0)
    bias = quantize_bias(BIAS.reshape(4), bias_scales(px.scale, scales)).reshape(1, 4, 1, 1)
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 3, 6, 6), "float32"))
    with bb.function("main", [x]):
        with bb.dataflow():
            xd = bb.emit(dq(bb.emit(q(x, px)), px))
            w = bb.emit(relax.op.dequantize(relax.const(weight), relax.const(scales),
                                            relax.const(np.zeros(4, np.int8)), axis=0))
            c = bb.emit(relax.op.nn.conv2d(xd, w, padding=[1, 1, 1, 1]))
            b = bb.emit(relax.op.dequantize(relax.const(bias), relax.const(bias_scales(px.scale, scales)),
                                            relax.const(np.zeros(4, np.int32)), axis=1))
            a = bb.emit(relax.op.add(c, b))
            r = bb.emit(relax.op.nn.relu(a))
            rd = bb.emit(dq(bb.emit(q(r, pr)), pr))
            out = bb.emit_output(relax.op.nn.max_pool2d(rd, pool_size=[2, 2], strides=[2, 2]))
        bb.emit_func_output(out)
    tvm.ir.assert_structural_equal(after, bb.get())
    assert px.zero_point == -43 and pr.zero_point == -128  # nudged integer zero points


def branches_module():
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 3, 6, 6), "float32"))
    with bb.function("main", [x]):
        with bb.dataflow():
            c1 = bb.emit(relax.op.nn.conv2d(x, relax.const(WEIGHT), padding=[1, 1, 1, 1]))
            c2 = bb.emit(relax.op.nn.conv2d(x, relax.const(WEIGHT[:2] * 3)))
            c2 = bb.emit(relax.op.nn.pad(c2, [0, 0, 0, 0, 1, 1, 1, 1], "constant", 0.0))
            cat = bb.emit(relax.op.concat([c1, c2], axis=1))
            s = bb.emit(relax.op.sigmoid(cat))
            out = bb.emit_output(relax.op.reshape(s, (1, 216)))
        bb.emit_func_output(out)
    return bb.get()


def test_concat_inputs_share_its_quantization_and_sigmoid_is_fixed():
    before = branches_module()
    samples = [RNG.standard_normal((1, 3, 6, 6)).astype(np.float32) for _ in range(4)]
    ranges = calibrate(before, samples)
    annotated = AnnotateQDQ(ranges.ranges)(before)
    quantizes = [b.value for b in annotated["main"].body.blocks[0].bindings
                 if isinstance(b.value, relax.Call) and b.value.op.name == "relax.quantize"]
    params = [(float(c.args[1].value.numpy()), int(c.args[2].value.numpy())) for c in quantizes]
    # x, conv1, conv2 (both at the concat's parameters), concat, sigmoid (1/256, -128)
    assert len(params) == 5
    assert params[1] == params[2] == params[3]
    assert params[4] == (PROBABILITY_PARAMS.scale, PROBABILITY_PARAMS.zero_point)
    concat_range = ranges.ranges[[b.var for b in before["main"].body.blocks[0].bindings][3]]
    expected = asymmetric_params(*concat_range)
    assert params[3] == (expected.scale, expected.zero_point)
    lowered = lower_qdq(annotated)
    kernels = [layer.kernel for layer in layers(lowered)]
    assert "requantize" not in kernels and "concat" in kernels and "logistic" in kernels
