"""tinytvm.from_onnx: QDQ-quantized and float (+ calibration) ONNX models -> integer-only Relax.

Models are built here with onnx.helper: float networks, quantized to QDQ form by onnxruntime's
``quantize_static`` (uint8 activations, int8 weights, per channel or per tensor) or written by
hand with QuantizeLinear/DequantizeLinear (int8 activations). The imported modules must contain
only tinytvm integer operators and agree with onnxruntime:

* QDQ models: inputs are fed as exactly representable values so both sides see the same int8
  input; outputs are compared in quantization steps of the output (onnxruntime requantizes in
  float, TFLM in fixed point, and rounds ties differently, so a few values are one step off).
* float models quantized by tinytvm (TFLite's PTQ scheme): the dequantized int8 result is
  compared with onnxruntime's float result, relative to the output's range.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

import tinytvm  # noqa: F401  (registers everything)
from tinytvm.errors import ModelFormatError, QuantizationError, UnsupportedOperatorError
from tinytvm.frontend.onnx import from_onnx, import_relax
from tinytvm.ir.graph import layers
from tinytvm.ir.op import is_tinytvm_op
from tinytvm.quantization.calibrate import asymmetric_params, symmetric_per_channel
from tinytvm.quantization.quantize import quantize
from tinytvm.reference import reference_run

INTEGER_KERNELS = {"conv2d", "depthwise_conv2d", "fully_connected", "add", "mul", "avg_pool2d", "max_pool2d",
                   "reshape", "transpose", "pad", "concat", "softmax", "logistic", "mean", "requantize"}


# -- model builders ---------------------------------------------------------------------------------
def _init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def _conv_weight(rng, out_ch, in_ch, k):
    return (rng.standard_normal((out_ch, in_ch, k, k)) * math.sqrt(2.0 / (in_ch * k * k))).astype(np.float32)


def _bias(rng, n):
    return (rng.standard_normal(n) * 0.1).astype(np.float32)


def _model(nodes, inits, input_shape, outputs, opset=13, extra_inputs=()):
    """A float model with input "x" of ``input_shape`` (plus ``extra_inputs``: (name, shape) pairs)."""
    inputs = [("x", input_shape), *extra_inputs]
    graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape)
                                             for n, shape in inputs],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model)


def cnn_model(rng):
    """conv3x3/2-relu-maxpool-depthwise-relu6-pointwise-residual add-relu-GAP-flatten-gemm."""
    inits = [_init("w1", _conv_weight(rng, 8, 3, 3)), _init("b1", _bias(rng, 8)),
             _init("w2", _conv_weight(rng, 8, 1, 3)), _init("b2", _bias(rng, 8)),
             _init("w3", _conv_weight(rng, 8, 8, 1)), _init("b3", _bias(rng, 8)),
             _init("lo", np.array(0, np.float32)), _init("hi", np.array(6, np.float32)),
             _init("fw", (rng.standard_normal((10, 8)) * 0.3).astype(np.float32)), _init("fb", _bias(rng, 10))]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv1"),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], name="pool1"),
             helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=8, name="dw"),
             helper.make_node("Clip", ["c2", "lo", "hi"], ["r2"], name="relu6"),
             helper.make_node("Conv", ["r2", "w3", "b3"], ["c3"], name="pw"),
             helper.make_node("Add", ["c3", "p1"], ["a"], name="residual"),
             helper.make_node("Relu", ["a"], ["r3"], name="relu3"),
             helper.make_node("GlobalAveragePool", ["r3"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1, name="fc")]
    return _model(nodes, inits, [1, 3, 16, 16], ["y"])


def concat_model(rng, head="none"):
    """Two conv branches -> concat -> maxpool 3x3 -> flatten -> matmul (+ softmax / sigmoid head)."""
    inits = [_init("w1", _conv_weight(rng, 4, 3, 3)), _init("b1", _bias(rng, 4)),
             _init("w2", _conv_weight(rng, 6, 3, 1)), _init("b2", _bias(rng, 6)),
             _init("fw", (rng.standard_normal((10 * 3 * 3, 5)) * 0.1).astype(np.float32))]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="branch1"),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["x", "w2", "b2"], ["c2"], name="branch2"),
             helper.make_node("Concat", ["r1", "c2"], ["cat"], axis=1, name="concat"),
             helper.make_node("MaxPool", ["cat"], ["p"], kernel_shape=[3, 3], strides=[3, 3], name="pool"),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("MatMul", ["f", "fw"], ["logits"], name="fc")]
    output = "logits"
    if head == "softmax":
        nodes.append(helper.make_node("Softmax", ["logits"], ["y"], axis=-1))
        output = "y"
    elif head == "sigmoid":
        nodes.append(helper.make_node("Sigmoid", ["logits"], ["y"]))
        output = "y"
    return _model(nodes, inits, [1, 3, 9, 9], [output])


def pool_pad_model(rng):
    """pad -> conv(valid) -> avgpool 3x3 (odd windows: no rounding ties) -> mul by a constant -> reshape."""
    inits = [_init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
             _init("w1", _conv_weight(rng, 6, 2, 3)), _init("b1", _bias(rng, 6)),
             _init("k", np.array(0.7, np.float32)), _init("shape", np.array([1, 6 * 3 * 3], np.int64))]
    nodes = [helper.make_node("Pad", ["x", "pads"], ["xp"], name="pad"),
             helper.make_node("Conv", ["xp", "w1", "b1"], ["c1"], name="conv"),
             helper.make_node("AveragePool", ["c1"], ["p"], kernel_shape=[3, 3], strides=[3, 3], name="avg"),
             helper.make_node("Mul", ["p", "k"], ["m"], name="scale"),
             helper.make_node("Reshape", ["m", "shape"], ["y"], name="reshape")]
    return _model(nodes, inits, [1, 2, 9, 9], ["y"])


def hand_qdq_model(rng):
    """QDQ written by hand with int8 activations: conv+relu -> maxpool -> flatten -> gemm."""
    weight = _conv_weight(rng, 4, 2, 3)
    w_q, w_scale = symmetric_per_channel(weight, 0)
    bias = _bias(rng, 4)
    x_scale, c_scale = np.float32(0.02), np.float32(0.03)
    b_q = np.round(bias / (x_scale * w_scale)).astype(np.int32)
    fc = (rng.standard_normal((5, 4 * 3 * 3)) * 0.2).astype(np.float32)
    fc_q, fc_scale = symmetric_per_channel(fc, 0)
    fc_scale_t = np.float32(fc_scale.max())
    fc_q = np.clip(np.round(fc / fc_scale_t), -127, 127).astype(np.int8)
    y_scale = np.float32(0.05)
    inits = [_init("xs", x_scale), _init("xz", np.int8(0)),
             _init("wq", w_q), _init("ws", w_scale), _init("wz", np.zeros(4, np.int8)),
             _init("bq", b_q), _init("bs", (x_scale * w_scale).astype(np.float32)), _init("bz", np.zeros(4, np.int32)),
             _init("cs", c_scale), _init("cz", np.int8(-128)),
             _init("fq", fc_q), _init("fs", fc_scale_t), _init("fz", np.int8(0)),
             _init("ys", y_scale), _init("yz", np.int8(3))]
    q, dq = "QuantizeLinear", "DequantizeLinear"
    nodes = [helper.make_node(q, ["x", "xs", "xz"], ["xq"]), helper.make_node(dq, ["xq", "xs", "xz"], ["xd"]),
             helper.make_node(dq, ["wq", "ws", "wz"], ["wd"], axis=0),
             helper.make_node(dq, ["bq", "bs", "bz"], ["bd"], axis=0),
             helper.make_node("Conv", ["xd", "wd", "bd"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node(q, ["r", "cs", "cz"], ["rq"]), helper.make_node(dq, ["rq", "cs", "cz"], ["rd"]),
             helper.make_node("MaxPool", ["rd"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node(q, ["p", "cs", "cz"], ["pq"]), helper.make_node(dq, ["pq", "cs", "cz"], ["pd"]),
             helper.make_node("Flatten", ["pd"], ["f"]),
             helper.make_node(dq, ["fq", "fs", "fz"], ["fd"]),
             helper.make_node("Gemm", ["f", "fd"], ["g"], transB=1),
             helper.make_node(q, ["g", "ys", "yz"], ["gq"]), helper.make_node(dq, ["gq", "ys", "yz"], ["y"])]
    return _model(nodes, inits, [1, 2, 6, 6], ["y"])


def input_shapes(model):
    return {v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim) for v in model.graph.input}


def samples(rng, shape, n, spread=1.0):
    return [(rng.standard_normal(shape) * spread).astype(np.float32) for _ in range(n)]


def feeds(model, rng, n):
    """n calibration feeds {input: array}; input k is scaled by (k + 1) so inputs get different ranges."""
    shapes = input_shapes(model)
    return [{name: (rng.standard_normal(shape) * (k + 1)).astype(np.float32)
             for k, (name, shape) in enumerate(shapes.items())} for _ in range(n)]


class _Reader(CalibrationDataReader):
    def __init__(self, data):
        self.data = iter(data)

    def get_next(self):
        return next(self.data, None)


def ort_qdq(model, tmp_path, data, per_channel=True, tag="m"):
    """The float model quantized to QDQ by onnxruntime (uint8 activations, int8 weights).

    ``data``: calibration arrays for input "x", or feeds (dicts) for multi-input models.
    """
    src, dst = tmp_path / f"{tag}_float.onnx", tmp_path / f"{tag}_qdq.onnx"
    onnx.save(model, src)
    data = [d if isinstance(d, dict) else {"x": d} for d in data]
    quantize_static(str(src), str(dst), _Reader(data), quant_format=QuantFormat.QDQ,
                    per_channel=per_channel, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return onnx.load(dst)


def ort_run(model, inputs):
    """onnxruntime outputs; ``inputs``: one array (input "x") or a list in graph-input order."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    arrays = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    return session.run(None, {i.name: a for i, a in zip(session.get_inputs(), arrays)})


# -- checks ------------------------------------------------------------------------------------------
def assert_integer_only(mod):
    """Only tinytvm calls; int8/int32 everywhere except tinytvm.quantize inputs / tinytvm.dequantize outputs."""
    from tvm import relax

    kernels = []
    for block in mod["main"].body.blocks:
        for binding in block.bindings:
            value = binding.value
            if not isinstance(value, relax.Call):
                continue
            assert is_tinytvm_op(value), f"non-tinytvm operator {value.op} in the imported module"
            kernel = str(value.op.global_symbol).split(".", 1)[1]
            kernels.append(kernel)
            if kernel == "quantize":
                assert value.ty.dtype == "int8"
                continue
            for arg in value.args:
                assert arg.ty.dtype in ("int8", "int32"), f"{kernel} reads {arg.ty.dtype}"
            if kernel != "dequantize":
                assert value.ty.dtype == "int8", f"{kernel} returns {value.ty.dtype}"
                assert kernel in INTEGER_KERNELS
    return kernels


def boundary(mod):
    """(tinytvm.quantize record per function parameter, tinytvm.dequantize record per output)."""
    found = layers(mod)
    params = list(mod["main"].params)
    quant = {params.index(l.call.args[0]): l.record for l in found if l.kernel == "quantize"}
    dequant = [l.record for l in found if l.kernel == "dequantize"]
    return [quant[i] for i in range(len(params))], dequant


def representable_inputs(mod, rng):
    """Float inputs that quantize exactly (both sides then start from the same int8 values)."""
    quant, _ = boundary(mod)
    arrays = []
    for param, record in zip(mod["main"].params, quant):
        q = rng.integers(-128, 128, size=tuple(int(d) for d in param.ty.shape))
        arrays.append((np.float32(record.output_scale) * (q - record.output_zp)).astype(np.float32))
    return arrays


def compare_qdq(model, mod, rng, count=10):
    """mod vs onnxruntime on representable inputs (at least 256 output values are compared).

    Returns (fraction of identical int8 outputs, max difference in output steps,
    max difference relative to the output's quantized range, 255 steps).
    """
    _, dequant = boundary(mod)
    out_size = sum(math.prod(l.out_shape) for l in layers(mod) if l.kernel == "dequantize")
    count = max(count, -(-256 // max(out_size, 1)))
    exact = total = 0
    worst = relative = 0.0
    for _ in range(count):
        inputs = representable_inputs(mod, rng)
        for e, a, record in zip(ort_run(model, inputs), reference_run(mod, inputs), dequant):
            steps = np.abs(e.astype(np.float64) - a) / record.input_scale
            exact += int((steps < 0.01).sum())
            total += steps.size
            worst = max(worst, float(steps.max()))
            relative = max(relative, float(steps.max()) / 255.0)
    return exact / total, worst, relative


def float_errors(model, mod, inputs):
    """(mean, max) of |int8 result - float result| / output range over ``inputs``."""
    means, worst = [], 0.0
    for x in inputs:
        for expected, actual in zip(ort_run(model, x), reference_run(mod, [x])):
            spread = float(expected.max() - expected.min()) + 1e-12
            error = np.abs(expected - actual) / spread
            means.append(float(error.mean()))
            worst = max(worst, float(error.max()))
    return float(np.mean(means)), worst


# -- QDQ models: one layer at a time ----------------------------------------------------------------
# onnxruntime computes QDQ models with float requantization (ties to even); tinytvm computes them with
# TFLM's fixed point (double rounding, ties away from zero). With identical int8 inputs, a layer's
# int8 outputs agree except for one-step differences on a few values - more for the operators whose
# TFLM definition is coarser than float: MEAN (1/n folded into an integer multiplier), REQUANTIZE of
# small values (a concat of differently quantized inputs), and the fixed-point logistic / softmax,
# whose 1/256 output steps are re-rounded to onnxruntime's 1/255.
def qdq_wrap(nodes, inits, input_shape, scale, zero_point):
    """Float ``nodes`` (input "x" -> output "y") between hand-written uint8 Q/DQ pairs sharing one scale."""
    q, dq = "QuantizeLinear", "DequantizeLinear"
    for node in nodes:
        node.input[:] = ["xd" if i == "x" else i for i in node.input]
        node.output[:] = ["r" if o == "y" else o for o in node.output]
    wrapped = [helper.make_node(q, ["x", "s", "z"], ["xq"]), helper.make_node(dq, ["xq", "s", "z"], ["xd"]),
               *nodes, helper.make_node(q, ["r", "s", "z"], ["rq"]), helper.make_node(dq, ["rq", "s", "z"], ["y"])]
    return _model(wrapped, [*inits, _init("s", np.float32(scale)), _init("z", np.uint8(zero_point))],
                  input_shape, ["y"])


def _single_layer_models(rng):
    w = _conv_weight
    two = (("z", [1, 4, 6, 6]),)
    return {
        "conv": (_model([helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
                        [_init("w", w(rng, 8, 3, 3)), _init("b", _bias(rng, 8))], [1, 3, 8, 8], ["y"]), 0.95, 1),
        "conv_relu_stride": (_model([helper.make_node("Conv", ["x", "w", "b"], ["c"], strides=[2, 2]),
                                     helper.make_node("Relu", ["c"], ["y"])],
                                    [_init("w", w(rng, 8, 3, 3)), _init("b", _bias(rng, 8))], [1, 3, 9, 9], ["y"]),
                             0.95, 1),
        "depthwise_relu6": (_model([helper.make_node("Conv", ["x", "w", "b"], ["c"], group=8, pads=[1, 1, 1, 1],
                                                     strides=[2, 2]),
                                    helper.make_node("Clip", ["c", "lo", "hi"], ["y"])],
                                   [_init("w", w(rng, 8, 1, 3)), _init("b", _bias(rng, 8)),
                                    _init("lo", np.float32(0)), _init("hi", np.float32(6))], [1, 8, 8, 8], ["y"]),
                            0.95, 1),
        "gemm": (_model([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
                        [_init("w", (rng.standard_normal((10, 16)) * 0.3).astype(np.float32)),
                         _init("b", _bias(rng, 10))], [1, 16], ["y"]), 0.95, 1),
        "matmul_3d": (_model([helper.make_node("MatMul", ["x", "w"], ["y"])],
                             [_init("w", (rng.standard_normal((16, 6)) * 0.3).astype(np.float32))], [1, 4, 16], ["y"]),
                      0.95, 1),
        "add": (_model([helper.make_node("Add", ["x", "z"], ["y"])], [], [1, 4, 6, 6], ["y"], extra_inputs=two),
                0.95, 1),
        "mul": (_model([helper.make_node("Mul", ["x", "z"], ["y"])], [], [1, 4, 6, 6], ["y"], extra_inputs=two),
                0.95, 1),
        # onnxruntime does not quantize a lone pool: hand-written Q/DQ (input and output share quantization)
        "maxpool": (qdq_wrap([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])], [],
                             [1, 4, 8, 8], 0.03, 120), 1.0, 0),
        "avgpool": (qdq_wrap([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                               pads=[1, 1, 1, 1])], [], [1, 4, 8, 8], 0.03, 120), 0.9, 1),
        "global_avgpool": (_model([helper.make_node("GlobalAveragePool", ["x"], ["y"])], [], [1, 16, 5, 5], ["y"]),
                           0.7, 1),
        "concat": (_model([helper.make_node("Concat", ["x", "z"], ["y"], axis=1)], [], [1, 4, 6, 6], ["y"],
                          extra_inputs=two), 0.7, 1),
        "pad_transpose_reshape": (_model([helper.make_node("Pad", ["x", "pads"], ["p"]),
                                          helper.make_node("Transpose", ["p"], ["t"], perm=[0, 2, 3, 1]),
                                          helper.make_node("Reshape", ["t", "shape"], ["y"])],
                                         [_init("pads", np.array([0, 0, 1, 2, 0, 0, 1, 0], np.int64)),
                                          _init("shape", np.array([1, -1], np.int64))], [1, 3, 5, 5], ["y"]), 1.0, 0),
        "sigmoid": (_model([helper.make_node("Sigmoid", ["x"], ["y"])], [], [2, 32], ["y"]), 0.6, 2),
        "softmax": (_model([helper.make_node("Softmax", ["x"], ["y"], axis=-1)], [], [2, 32], ["y"]), 0.75, 2),
    }


SINGLE_LAYERS = list(_single_layer_models(np.random.default_rng(0)))


@pytest.mark.parametrize("name", SINGLE_LAYERS)
def test_qdq_single_layer_matches_onnxruntime(tmp_path, rng, name):
    model, min_exact, max_steps = _single_layer_models(rng)[name]
    if any(node.op_type == "QuantizeLinear" for node in model.graph.node):
        qdq = model
    else:
        qdq = ort_qdq(model, tmp_path, feeds(model, rng, 16), tag=name)
    mod = from_onnx(qdq)
    assert_integer_only(mod)
    exact, worst, _ = compare_qdq(qdq, mod, rng)
    assert exact >= min_exact and worst <= max_steps + 1e-4, (exact, worst)


# -- QDQ models: networks ---------------------------------------------------------------------------
# The one-step differences above propagate, and layers with a finer output scale than their input
# amplify them, so networks are checked relative to the output range (plus a loose exact fraction).
@pytest.mark.parametrize("per_channel", [True, False], ids=["per_channel", "per_tensor"])
def test_qdq_cnn_residual_depthwise(tmp_path, rng, per_channel):
    qdq = ort_qdq(cnn_model(rng), tmp_path, samples(rng, (1, 3, 16, 16), 16), per_channel)
    mod = from_onnx(qdq)
    kernels = assert_integer_only(mod)
    assert kernels.count("conv2d") == 2 and kernels.count("depthwise_conv2d") == 1
    for kernel in ("max_pool2d", "add", "mean", "fully_connected", "quantize", "dequantize"):
        assert kernel in kernels
    # relu/relu6 fused, no requantization, the input transpose is the only transpose
    assert "requantize" not in kernels and kernels.count("transpose") == 1
    exact, worst, relative = compare_qdq(qdq, mod, rng, count=20)
    assert exact >= 0.7 and worst <= 3.0 + 1e-4 and relative <= 0.015, (exact, worst, relative)


@pytest.mark.parametrize("head", ["none", "softmax", "sigmoid"])
def test_qdq_concat_branches(tmp_path, rng, head):
    qdq = ort_qdq(concat_model(rng, head), tmp_path, samples(rng, (1, 3, 9, 9), 16), tag=head)
    mod = from_onnx(qdq)
    kernels = assert_integer_only(mod)
    assert "concat" in kernels and kernels.count("transpose") == 1  # the flatten transpose went into the FC
    if head != "none":
        assert ("softmax" if head == "softmax" else "logistic") in kernels
    # The relu branch is requantized to the concat's scale (TFLM REQUANTIZE, ~10-25% one-step
    # differences) and the FC sums 90 such inputs with a 3-4x finer output scale.
    _, _, relative = compare_qdq(qdq, mod, rng, count=20)
    assert relative <= 0.04, relative


def test_qdq_pad_avgpool_mul_reshape(tmp_path, rng):
    qdq = ort_qdq(pool_pad_model(rng), tmp_path, samples(rng, (1, 2, 9, 9), 16), tag="pool")
    mod = from_onnx(qdq)
    kernels = assert_integer_only(mod)
    for kernel in ("pad", "conv2d", "avg_pool2d", "mul", "reshape"):
        assert kernel in kernels
    exact, worst, relative = compare_qdq(qdq, mod, rng)
    assert exact >= 0.8 and relative <= 0.03, (exact, worst, relative)


def test_hand_written_int8_qdq(rng):
    model = hand_qdq_model(rng)
    mod = from_onnx(model)
    kernels = assert_integer_only(mod)
    assert kernels[:3] == ["quantize", "transpose", "conv2d"]
    conv = [l for l in layers(mod) if l.kernel == "conv2d"][0].record
    assert (conv.input_zp, conv.output_zp, conv.act_min) == (0, -128, -128)
    exact, worst, _ = compare_qdq(model, mod, rng)
    assert exact >= 0.95 and worst <= 1.0 + 1e-4, (exact, worst)


def test_fake_quantized_weights_and_float_bias(rng):
    """QAT-style export: QuantizeLinear/DequantizeLinear on float weights, a float bias."""
    weight = _conv_weight(rng, 4, 3, 3)
    scales = (np.abs(weight).reshape(4, -1).max(1) / 127).astype(np.float32)
    inits = [_init("w", weight), _init("ws", scales), _init("wz", np.zeros(4, np.int8)), _init("b", _bias(rng, 4)),
             _init("s", np.float32(0.03)), _init("z", np.uint8(128)), _init("ys", np.float32(0.05)),
             _init("yz", np.uint8(0))]
    q, dq = "QuantizeLinear", "DequantizeLinear"
    nodes = [helper.make_node(q, ["x", "s", "z"], ["xq"]), helper.make_node(dq, ["xq", "s", "z"], ["xd"]),
             helper.make_node(q, ["w", "ws", "wz"], ["wq"], axis=0),
             helper.make_node(dq, ["wq", "ws", "wz"], ["wd"], axis=0),
             helper.make_node("Conv", ["xd", "wd", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node(q, ["r", "ys", "yz"], ["rq"]), helper.make_node(dq, ["rq", "ys", "yz"], ["y"])]
    model = _model(nodes, inits, [1, 3, 8, 8], ["y"])
    mod = from_onnx(model)
    assert assert_integer_only(mod) == ["quantize", "transpose", "conv2d", "transpose", "dequantize"]
    exact, worst, _ = compare_qdq(model, mod, rng)
    assert exact >= 0.95 and worst <= 1.0 + 1e-4, (exact, worst)


def test_int8_onnx_inputs_and_outputs(rng):
    """A QDQ model whose graph input and output are int8 tensors: the module is int8 in and out."""
    inits = [_init("s", np.float32(0.05)), _init("z", np.int8(3)),
             _init("w", rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)), _init("ws", np.float32(0.01)),
             _init("wz", np.int8(0)), _init("ys", np.float32(0.1)), _init("yz", np.int8(-5))]
    nodes = [helper.make_node("DequantizeLinear", ["x", "s", "z"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"]),
             helper.make_node("Conv", ["xd", "wd"], ["c"]),
             helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["y"])]
    graph = helper.make_graph(nodes, "int8_io", [helper.make_tensor_value_info("x", TensorProto.INT8, [1, 3, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.INT8, [1, 4, 4, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    mod = from_onnx(model)
    assert assert_integer_only(mod) == ["transpose", "conv2d", "transpose"]
    x = rng.integers(-128, 128, (8, 1, 3, 6, 6)).astype(np.int8)
    ours = np.stack([reference_run(mod, [s])[0] for s in x]).astype(np.int64)
    theirs = np.stack([ort_run(model, s)[0] for s in x]).astype(np.int64)
    assert (ours == theirs).mean() >= 0.95 and np.abs(ours - theirs).max() <= 1


def test_pytorch_style_flatten_through_shape_arithmetic(rng):
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape (``x.view(x.size(0), -1)``) folds to a reshape."""
    inits = [_init("w", _conv_weight(rng, 4, 3, 3)), _init("i0", np.array(0, np.int64)),
             _init("m1", np.array([-1], np.int64)), _init("ax", np.array([0], np.int64)),
             _init("fw", (rng.standard_normal((4 * 6 * 6, 5)) * 0.1).astype(np.float32))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("Shape", ["c"], ["s"]), helper.make_node("Gather", ["s", "i0"], ["b"], axis=0),
             helper.make_node("Unsqueeze", ["b", "ax"], ["bu"]),
             helper.make_node("Concat", ["bu", "m1"], ["ns"], axis=0),
             helper.make_node("Reshape", ["c", "ns"], ["f"]), helper.make_node("MatMul", ["f", "fw"], ["y"])]
    model = _model(nodes, inits, [1, 3, 8, 8], ["y"])
    calibration = samples(rng, (1, 3, 8, 8), 16)
    mod = from_onnx(model, calibration=calibration)
    assert assert_integer_only(mod) == ["quantize", "transpose", "conv2d", "reshape", "fully_connected", "dequantize"]
    mean, worst = float_errors(model, mod, calibration[:4])
    assert mean <= 0.015 and worst <= 0.08, (mean, worst)


def test_intermediate_tensor_as_graph_output(tmp_path, rng):
    inits = [_init("w1", _conv_weight(rng, 4, 3, 3)), _init("w2", _conv_weight(rng, 4, 4, 3))]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["y2"], pads=[1, 1, 1, 1])]
    model = _model(nodes, inits, [1, 3, 8, 8], ["r1", "y2"])
    qdq = ort_qdq(model, tmp_path, samples(rng, (1, 3, 8, 8), 8))
    for mod in (from_onnx(qdq), from_onnx(model, calibration=samples(rng, (1, 3, 8, 8), 8))):
        assert assert_integer_only(mod).count("dequantize") == 2
    exact, worst, _ = compare_qdq(qdq, from_onnx(qdq), rng)
    assert exact >= 0.95 and worst <= 1.0 + 1e-4, (exact, worst)


def test_int8_io_drops_the_float_boundary(tmp_path, rng):
    qdq = ort_qdq(cnn_model(rng), tmp_path, samples(rng, (1, 3, 16, 16), 8))
    float_io = from_onnx(qdq)
    int_io = from_onnx(qdq, int8_io=True)
    kernels = assert_integer_only(int_io)
    assert "quantize" not in kernels and "dequantize" not in kernels
    param = int_io["main"].params[0]
    assert param.ty.dtype == "int8" and tuple(int(d) for d in param.ty.shape) == (1, 3, 16, 16)
    assert int_io["main"].ret_ty.dtype == "int8"
    (quant,), (dequant,) = boundary(float_io)
    q = rng.integers(-128, 128, size=(1, 3, 16, 16)).astype(np.int8)
    x = (np.float32(quant.output_scale) * (q.astype(np.float32) - quant.output_zp)).astype(np.float32)
    (out_int,) = reference_run(int_io, [q])
    (out_float,) = reference_run(float_io, [x])
    np.testing.assert_allclose(dequant.input_scale * (out_int.astype(np.float32) - dequant.input_zp), out_float,
                               rtol=1e-6, atol=1e-6)


def test_imported_module_compiles_to_c_and_runs_on_the_host(tmp_path, rng):
    """The ONNX import feeds tinytvm.build unchanged: host C output == reference executor (bit exact)."""
    import tinytvm as tt

    qdq = ort_qdq(concat_model(rng, "softmax"), tmp_path, samples(rng, (1, 3, 9, 9), 8))
    mod = from_onnx(qdq, int8_io=True)
    artifact = tt.build(mod, target="cortex-m7", name="onnx_net")
    x = rng.integers(-128, 128, size=artifact.inputs[0].shape).astype(np.int8)
    assert artifact.inputs[0].scale > 0  # the input quantization reaches the C API
    result = artifact.run([x], runner="host")
    np.testing.assert_array_equal(result.outputs[0], reference_run(mod, [x])[0])


def test_dynamic_input_dimensions(rng):
    model = hand_qdq_model(rng)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_param = "batch"  # symbolic batch: compiled for batch 1
    assert tuple(int(d) for d in from_onnx(model)["main"].params[0].ty.shape) == (1, 2, 6, 6)
    dims[2].dim_param = "height"
    with pytest.raises(ModelFormatError, match="input_shapes"):
        from_onnx(model)
    mod = from_onnx(model, input_shapes={"x": (1, 2, 6, 6)})
    assert tuple(int(d) for d in mod["main"].params[0].ty.shape) == (1, 2, 6, 6)


def test_model_sources_path_bytes_proto(tmp_path, rng):
    model = hand_qdq_model(rng)
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    expected = from_onnx(model)
    for source in (path, str(path), model.SerializeToString()):
        mod = from_onnx(source)
        assert [l.kernel for l in layers(mod)] == [l.kernel for l in layers(expected)]


# -- float models: TFLite-style post-training quantization --------------------------------------------
@pytest.mark.parametrize("builder,shape", [
    (cnn_model, (1, 3, 16, 16)), (concat_model, (1, 3, 9, 9)), (pool_pad_model, (1, 2, 9, 9)),
], ids=["cnn", "concat", "pad_pool"])
def test_float_model_with_calibration(rng, builder, shape):
    model = builder(rng)
    calibration = samples(rng, shape, 32)
    mod = from_onnx(model, calibration=calibration)
    assert_integer_only(mod)
    # inputs like the calibration data: no activation saturates, errors are quantization noise
    mean, worst = float_errors(model, mod, calibration[:8])
    assert mean <= 0.015 and worst <= 0.08, (mean, worst)
    # fresh inputs: on average as good (a rare value beyond the calibrated range saturates)
    mean, _ = float_errors(model, mod, samples(rng, shape, 8))
    assert mean <= 0.03, mean


def test_float_softmax_head_uses_tflite_output_quantization(rng):
    model = concat_model(rng, "softmax")
    calibration = samples(rng, (1, 3, 9, 9), 16)
    mod = from_onnx(model, calibration=calibration)
    softmax = [l for l in layers(mod) if l.kernel == "softmax"][0]
    assert (softmax.record.output_scale, softmax.record.output_zp) == (1.0 / 256.0, -128)
    assert "requantize" not in [l.kernel for l in layers(mod)]
    mean, worst = float_errors(model, mod, calibration[:8])
    assert mean <= 0.02 and worst <= 0.08, (mean, worst)


def test_ptq_parameters_follow_tflite(rng):
    model = cnn_model(rng)
    calibration = samples(rng, (1, 3, 16, 16), 8)
    mod = from_onnx(model, calibration=calibration)
    convs = [l for l in layers(mod) if l.kernel in ("conv2d", "depthwise_conv2d")]
    first = convs[0]
    # input quantization: calibrated range including 0, nudged integer zero point
    lo = min(float(c.min()) for c in calibration)
    hi = max(float(c.max()) for c in calibration)
    expected = asymmetric_params(lo, hi)
    quant = [l for l in layers(mod) if l.kernel == "quantize"][0].record
    assert (quant.output_scale, quant.output_zp) == (expected.scale, expected.zero_point)
    assert first.record.input_zp == expected.zero_point
    # weights: per-channel symmetric int8, scale = max|w| / 127 (the multipliers encode it)
    weight = numpy_helper.to_array([i for i in model.graph.initializer if i.name == "w1"][0])
    quantized, scales = symmetric_per_channel(weight, 0)
    ohwi = first.call.args[1].value.numpy()
    np.testing.assert_array_equal(ohwi, quantized.transpose(0, 2, 3, 1))
    assert np.abs(ohwi).max(axis=(1, 2, 3)).tolist() == [127] * 8
    # bias: int32 at scale input_scale * weight_scale
    bias = numpy_helper.to_array([i for i in model.graph.initializer if i.name == "b1"][0])
    expected_bias = np.round(bias.astype(np.float64) / (np.float64(expected.scale) * scales.astype(np.float64)))
    np.testing.assert_array_equal(first.call.args[2].value.numpy(), expected_bias.astype(np.int32))
    # every activation zero point is an int8 and every real zero is exactly representable
    for layer in layers(mod):
        zp = getattr(layer.record, "output_zp", 0)
        assert -128 <= zp <= 127 and isinstance(zp, int)


def test_quantize_relax_module_directly(rng):
    model = cnn_model(rng)
    float_mod = import_relax(model)
    mod = quantize(float_mod, samples(rng, (1, 3, 16, 16), 8))
    assert_integer_only(mod)
    with pytest.raises(QuantizationError, match="calibration"):
        quantize(float_mod, None)


def test_calibration_formats(rng):
    model = hand_qdq_model(rng)  # any model: only the calibration plumbing is under test here
    float_model = cnn_model(rng)
    stacked = rng.standard_normal((4, 3, 16, 16)).astype(np.float32)
    mod_stacked = from_onnx(float_model, calibration=stacked)
    mod_list = from_onnx(float_model, calibration=[s[None] for s in stacked])
    mod_dict = from_onnx(float_model, calibration=[{"x": s[None]} for s in stacked])
    kernels = [l.record for l in layers(mod_stacked)]
    assert kernels == [l.record for l in layers(mod_list)] == [l.record for l in layers(mod_dict)]
    with pytest.raises(QuantizationError, match="shape"):
        from_onnx(float_model, calibration=[np.zeros((1, 3, 8, 8), np.float32)])
    with pytest.raises(QuantizationError, match="empty"):
        from_onnx(float_model, calibration=[])
    with pytest.warns(UserWarning, match="ignored"):
        from_onnx(model, calibration=[np.zeros((1, 2, 6, 6), np.float32)])
    # several inputs: a list of arrays (graph-input order) or a dict per sample
    two_inputs = _single_layer_models(rng)["add"][0]
    pairs = [[rng.standard_normal((1, 4, 6, 6)).astype(np.float32) for _ in range(2)] for _ in range(4)]
    by_list = from_onnx(two_inputs, calibration=pairs)
    by_dict = from_onnx(two_inputs, calibration=[{"x": a, "z": b} for a, b in pairs])
    assert [l.record for l in layers(by_list)] == [l.record for l in layers(by_dict)]
    assert assert_integer_only(by_list) == ["quantize", "quantize", "add", "dequantize"]
    with pytest.raises(QuantizationError, match="2 input"):
        from_onnx(two_inputs, calibration=[pairs[0][0]])


# -- errors -----------------------------------------------------------------------------------------
def test_float_model_without_calibration():
    model = cnn_model(np.random.default_rng(0))
    with pytest.raises(QuantizationError, match="calibration="):
        from_onnx(model)


def test_unsupported_operator_names_node_and_alternatives(rng):
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="first"),
             helper.make_node("LeakyRelu", ["r"], ["y"], name="leaky", alpha=0.1)]
    model = _model(nodes, [], [1, 2, 4, 4], ["y"])
    with pytest.raises(UnsupportedOperatorError) as info:
        from_onnx(model, calibration=[np.zeros((1, 2, 4, 4), np.float32)])
    message = str(info.value)
    assert "LeakyRelu" in message and "'leaky'" in message and "#1" in message
    assert "Supported operators" in message and "Conv" in message
    assert info.value.op_name == "LeakyRelu" and info.value.index == 1


def test_qoperator_models_are_rejected_with_a_qdq_hint(rng):
    inits = [_init("s", np.float32(0.1)), _init("z", np.uint8(128)), _init("w", np.ones((2, 2, 1, 1), np.int8)),
             _init("ws", np.float32(0.1)), _init("wz", np.int8(0))]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
             helper.make_node("QLinearConv", ["xq", "s", "z", "w", "ws", "wz", "s", "z"], ["yq"], name="qconv"),
             helper.make_node("DequantizeLinear", ["yq", "s", "z"], ["y"])]
    model = _model(nodes, inits, [1, 2, 4, 4], ["y"])
    with pytest.raises(UnsupportedOperatorError, match="QDQ"):
        from_onnx(model)


def test_grouped_convolution_is_rejected(rng):
    inits = [_init("w", _conv_weight(rng, 4, 2, 3))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], group=2, name="grouped")]
    model = _model(nodes, inits, [1, 4, 6, 6], ["y"])
    with pytest.raises(UnsupportedOperatorError, match="grouped"):
        from_onnx(model, calibration=[np.zeros((1, 4, 6, 6), np.float32)])


def test_partially_quantized_qdq_model_names_the_float_operator(rng):
    """A Sigmoid left in float after a quantized conv cannot be lowered."""
    model = hand_qdq_model(rng)
    graph = model.graph
    last = graph.node[-1]  # DequantizeLinear producing "y"
    last.output[0] = "yd"
    graph.node.append(helper.make_node("Sigmoid", ["yd"], ["y"]))
    with pytest.raises(UnsupportedOperatorError, match="relax.sigmoid.*partially quantized"):
        from_onnx(model)


def test_quantize_reports_unsupported_relax_operators():
    from tvm import relax

    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 8), "float32"))
    with bb.function("main", [x]):
        with bb.dataflow():
            t = bb.emit(relax.op.tanh(x))
            out = bb.emit_output(relax.op.add(t, x))
        bb.emit_func_output(out)
    with pytest.raises(UnsupportedOperatorError, match="relax.tanh") as info:
        quantize(bb.get(), [np.ones((1, 8), np.float32)])
    assert "relax.nn.conv2d" in str(info.value)  # lists what is supported


def test_truncated_and_corrupted_files(tmp_path, rng):
    data = cnn_model(rng).SerializeToString()
    for fraction in (0.05, 0.3, 0.5, 0.8, 0.97):
        path = tmp_path / f"cut{fraction}.onnx"
        path.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(ModelFormatError):
            from_onnx(path, calibration=[np.zeros((1, 3, 16, 16), np.float32)])
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(bytes(rng.integers(0, 256, 4096, dtype=np.uint8)))
    with pytest.raises(ModelFormatError):
        from_onnx(garbage)
    with pytest.raises(ModelFormatError, match="does not exist"):
        from_onnx(tmp_path / "missing.onnx")
    with pytest.raises(ModelFormatError):
        from_onnx(b"")
