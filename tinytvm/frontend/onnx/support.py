"""Which ONNX operators (and options) tinytvm compiles, checked node by node before import."""

from __future__ import annotations

import onnx
from onnx import helper, numpy_helper

from .loader import ONNX_DOMAINS, reject

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
#: ONNX operators tinytvm lowers to integer operators (int8, TFLite semantics). Shape, Gather and Cast
#: only as static shape arithmetic (e.g. PyTorch's ``x.view(x.size(0), -1)``), which the import folds.
SUPPORTED_OPS = (
    "Add", "AveragePool", "Cast", "Clip", "Concat", "Constant", "Conv", "DequantizeLinear", "Div", "Dropout",
    "Flatten", "Gather", "Gemm", "GlobalAveragePool", "Identity", "MatMul", "MaxPool", "Mul", "Pad",
    "QuantizeLinear", "ReduceMean", "Relu", "Reshape", "Shape", "Sigmoid", "Softmax", "Squeeze", "Sub", "Transpose",
    "Unsqueeze",
)
#: Operator-oriented ("QOperator") quantized ONNX operators: supported only in QDQ form.
QOPERATOR_OPS = ("QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearMul", "QLinearAveragePool",
                 "QLinearGlobalAveragePool", "QLinearConcat", "QLinearSigmoid", "QLinearSoftmax", "QLinearLeakyRelu",
                 "ConvInteger", "MatMulInteger", "QGemm", "DynamicQuantizeLinear")


class _Graph:
    def __init__(self, model: onnx.ModelProto):
        self.initializers = {t.name: t for t in model.graph.initializer}
        self.producers = {out: node for node in model.graph.node for out in node.output}

    def constant_shape(self, name: str) -> tuple[int, ...] | None:
        """Shape of a constant input, looking through DequantizeLinear / QuantizeLinear / Identity."""
        for _ in range(8):
            if name in self.initializers:
                return tuple(self.initializers[name].dims)
            node = self.producers.get(name)
            if node is None:
                return None
            if node.op_type == "Constant":
                for attribute in node.attribute:
                    if attribute.name == "value":
                        return tuple(numpy_helper.to_array(attribute.t).shape)
                return None
            if node.op_type not in QDQ_OPS + ("Identity",):
                return None
            name = node.input[0]
        return None


def _attr(node, name, default=None):
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def is_qdq_model(model: onnx.ModelProto) -> bool:
    return any(node.op_type in QDQ_OPS for node in model.graph.node)


def check_nodes(model: onnx.ModelProto) -> None:
    """Raise :class:`UnsupportedOperatorError` for the first node tinytvm cannot compile."""
    graph = _Graph(model)
    for index, node in enumerate(model.graph.node):
        if node.domain not in ONNX_DOMAINS:
            reject(node, index, f"is in operator domain '{node.domain}'; only the default ONNX domain is supported",
                   list(SUPPORTED_OPS))
        if node.op_type in QOPERATOR_OPS:
            reject(node, index, "is an operator-oriented (QOperator) quantized op; tinytvm imports quantized ONNX "
                   "models in QDQ form (QuantizeLinear/DequantizeLinear around float ops), e.g. "
                   "onnxruntime.quantization.quantize_static(..., quant_format=QuantFormat.QDQ)")
        if node.op_type not in SUPPORTED_OPS:
            reject(node, index, "is not supported", list(SUPPORTED_OPS))
        _check_options(node, index, graph)


def _check_options(node, index, graph: _Graph) -> None:
    op = node.op_type
    if op == "Conv":
        shape = graph.constant_shape(node.input[1]) if len(node.input) > 1 else None
        if shape is not None and len(shape) != 4:
            reject(node, index, f"is a {len(shape) - 2}-D convolution; only 2-D (NCHW) convolution is supported")
        group = int(_attr(node, "group", 1))
        if group != 1 and shape is not None and shape[1] != 1:
            reject(node, index, f"is a grouped convolution (group={group}, {shape[1]} input channels per group); "
                   "only group=1 and depthwise convolution (group = input channels) are supported")
        if _attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID", b"SAME_UPPER", b"SAME_LOWER"):
            reject(node, index, f"has unknown auto_pad {_attr(node, 'auto_pad')}")
    elif op in ("AveragePool", "MaxPool"):
        kernel = _attr(node, "kernel_shape", [])
        if len(kernel) != 2:
            reject(node, index, "must pool over 2 spatial dimensions (NCHW input)")
        if any(d != 1 for d in _attr(node, "dilations", [1, 1])):
            reject(node, index, "uses dilation, which TFLite pooling does not support")
        if op == "AveragePool" and _attr(node, "count_include_pad", 0) and any(_attr(node, "pads", [0])):
            reject(node, index, "counts padded pixels (count_include_pad=1); TFLite averages valid pixels only")
        if op == "MaxPool" and len(node.output) > 1 and node.output[1]:
            reject(node, index, "returns indices, which is not supported")
    elif op == "Pad":
        mode = _attr(node, "mode", b"constant")
        if mode != b"constant":
            reject(node, index, f"uses mode '{mode.decode()}'; only constant padding is supported")
    elif op == "Gemm":
        if float(_attr(node, "alpha", 1.0)) != 1.0 or (len(node.input) > 2 and float(_attr(node, "beta", 1.0)) != 1.0):
            reject(node, index, "has alpha/beta other than 1 (fold them into the weights before export)")
