"""``from_onnx``: ONNX (QDQ-quantized, or float + calibration data) -> tinytvm's integer-only Relax form.

The graph is imported with TVM's Relax ONNX frontend (QuantizeLinear/DequantizeLinear
become ``relax.quantize``/``relax.dequantize`` around float NCHW operators). Two of its
converters emit opaque ``call_tir`` kernels (Clip -> maximum/minimum, Pad -> topi pad);
tinytvm's importer subclass emits the Relax operators ``relax.clip`` / ``relax.nn.relu``
and ``relax.nn.pad`` instead, so the lowering passes can see them. The Relax module is
then lowered by :func:`tinytvm.transform.lower_qdq` (QDQ models) or quantized by
:func:`tinytvm.quantization.quantize.quantize` (float models).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import onnx
import tvm
from tvm import relax
from tvm.relax.frontend.onnx import onnx_frontend

from ...errors import ModelFormatError, QuantizationError, TinyTVMError
from .loader import checker_finding, graph_inputs, load_model, opset_version
from .support import check_nodes, is_qdq_model


def from_onnx(model, calibration=None, *, int8_io: bool = False, input_shapes: dict | None = None) -> tvm.IRModule:
    """Import an ONNX model as tinytvm's integer-only Relax ``IRModule``.

    Parameters
    ----------
    model : onnx.ModelProto, path or bytes
        A model quantized in QDQ form (QuantizeLinear/DequantizeLinear around float operators,
        e.g. from ``onnxruntime.quantization.quantize_static(quant_format=QuantFormat.QDQ)``),
        or a float model together with ``calibration``.
    calibration : list of samples, optional
        Required for float models: input samples (an array per sample for one input, a list of
        arrays per sample for several) used to find activation ranges for TFLite-style
        post-training int8 quantization. Ignored for QDQ models.
    int8_io : bool
        If true, the module takes and returns int8 tensors (the quantization parameters of the
        model's first QuantizeLinear / last DequantizeLinear); by default float inputs and outputs
        are kept, converted by ``tinytvm.quantize`` / ``tinytvm.dequantize`` operators.
    input_shapes : dict, optional
        Static shapes for inputs with dynamic dimensions (a dynamic batch dimension defaults to 1).

    Inputs keep the ONNX model's layout (NCHW); convolutions run in NHWC inside the module.
    """
    from ...transform import lower_qdq

    proto = load_model(model)
    check_nodes(proto)
    quantized = is_qdq_model(proto)
    if not quantized and calibration is None:
        raise QuantizationError(
            "this ONNX model is float (it has no QuantizeLinear/DequantizeLinear nodes); tinytvm compiles int8 "
            "models. Pass calibration=[sample, ...] (representative input arrays) to quantize it after import, "
            "or quantize it in QDQ format first")
    if quantized and calibration is not None:
        warnings.warn("the ONNX model is already quantized (QDQ); the calibration data is ignored", stacklevel=2)
    relax_mod = _import_checked(proto, input_shapes)
    if quantized:
        return lower_qdq(relax_mod, int8_io=int8_io)
    from ...quantization.quantize import quantize

    return quantize(relax_mod, calibration, int8_io=int8_io)


def import_relax(model, input_shapes: dict | None = None) -> tvm.IRModule:
    """The ONNX model as a (float or QDQ) Relax module, without any tinytvm lowering."""
    proto = load_model(model)
    check_nodes(proto)
    return _import_checked(proto, input_shapes)


def _import_checked(proto: onnx.ModelProto, input_shapes: dict | None) -> tvm.IRModule:
    inputs = graph_inputs(proto, input_shapes)
    importer = _Importer({name: list(shape) for name, (shape, _) in inputs.items()},
                         {name: dtype for name, (_, dtype) in inputs.items()})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importer.from_onnx(proto.graph, opset_version(proto))
    except TinyTVMError:
        raise
    except Exception as error:  # noqa: BLE001 - TVM's frontend raises anything from ValueError to TVMError
        message = str(error).strip().splitlines()
        detail = message[-1] if message else type(error).__name__
        finding = checker_finding(proto)
        hint = f" (onnx.checker: {finding})" if finding else ""
        raise ModelFormatError(f"TVM's ONNX frontend could not import the model: {detail}{hint}") from None


class _Importer(onnx_frontend.ONNXGraphImporter):
    """TVM's ONNX importer with Clip and Pad emitted as Relax operators (not call_tir kernels)."""

    def __init__(self, shape_dict, dtype_dict):
        super().__init__(shape_dict, dtype_dict, keep_params_in_input=False, sanitize=True)

    def _convert_operator(self, op_name, inputs, attrs, opset):
        if op_name == "Clip":
            result = self._clip(inputs, attrs, opset)
        elif op_name == "Pad":
            result = self._pad(inputs, attrs, opset)
        else:
            result = None
        if result is None:
            return super()._convert_operator(op_name, inputs, attrs, opset)
        return self.bb.normalize(result)

    @staticmethod
    def _scalar(expr, default):
        if expr is None:
            return default
        if isinstance(expr, tvm.ir.GenericConst):
            value = expr.value.numpy()
            return float(value.reshape(-1)[0]) if value.size == 1 else None
        return None

    def _clip(self, inputs, attrs, opset):
        if opset < 11:
            low, high = float(attrs.get("min", -math.inf)), float(attrs.get("max", math.inf))
        else:
            low = self._scalar(inputs[1] if len(inputs) > 1 else None, -math.inf)
            high = self._scalar(inputs[2] if len(inputs) > 2 else None, math.inf)
            if low is None or high is None:
                return None
        if low == 0.0 and high == math.inf:
            return relax.op.nn.relu(inputs[0])
        return relax.op.clip(inputs[0], low, high)

    def _pad(self, inputs, attrs, opset):
        mode = attrs.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        if mode != "constant":
            return None
        data = inputs[0]
        rank = len(data.ty.shape)
        if opset < 11:
            pads = list(attrs.get("pads", []))
            value = float(attrs.get("value", 0.0))
        else:
            if not isinstance(inputs[1], tvm.ir.GenericConst):
                return None
            pads = inputs[1].value.numpy().astype(np.int64).tolist()
            value = self._scalar(inputs[2] if len(inputs) > 2 else None, 0.0)
            if value is None:
                return None
            if len(inputs) > 3 and inputs[3] is not None:
                if not isinstance(inputs[3], tvm.ir.GenericConst):
                    return None
                axes = [int(a) % rank for a in inputs[3].value.numpy().reshape(-1)]
                full = [0] * (2 * rank)
                for i, axis in enumerate(axes):
                    full[axis], full[rank + axis] = pads[i], pads[len(axes) + i]
                pads = full
        if len(pads) != 2 * rank or any(p < 0 for p in pads):
            return None
        pairs = [w for axis in range(rank) for w in (pads[axis], pads[rank + axis])]
        return relax.op.nn.pad(data, pairs, "constant", value)
