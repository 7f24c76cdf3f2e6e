"""``from_tflite``: a full-integer TFLite model -> tinytvm's integer-only Relax module."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from tvm import relax

from ...errors import ModelFormatError, QuantizationError, TinyTVMError, UnsupportedOperatorError
from ...ir.graph import INPUT_SCALES_ATTR, INPUT_ZERO_POINTS_ATTR
from .context import ImportContext, sanitize
from .converters import load_all
from .reader import Graph, load_bytes, read_graph

#: Operators that carry float tensors legitimately: only at the model boundary.
BOUNDARY_OPERATORS = ("QUANTIZE", "DEQUANTIZE")
IO_DTYPES = ("int8", "float32")


@dataclasses.dataclass
class ImportResult:
    module: "relax.IRModule"
    graph: Graph
    #: Relax variable name -> TFLite tensor index (per-layer comparison uses it).
    tensor_of_var: dict[str, int]


def from_tflite(source: str | os.PathLike | bytes, name: str = "main"):
    """Import a full-integer int8 TFLite model as an integer-only Relax ``IRModule``.

    Every operator becomes a ``tinytvm.*`` call with explicit integer quantization
    parameters (see :mod:`tinytvm.ir.ops`); tensors stay NHWC. Float tensors may only
    appear at the model boundary (QUANTIZE at an input, DEQUANTIZE at an output).
    """
    return import_tflite(source, name).module


def import_tflite(source, name: str = "main") -> ImportResult:
    graph = read_graph(load_bytes(source))
    _reject_float_graph(graph)
    converters = load_all()
    _reject_unsupported(graph, converters)
    builder = relax.BlockBuilder()
    ctx = ImportContext(graph, builder)
    params = []
    for index in graph.inputs:
        tensor = graph.tensors[index]
        if str(tensor.dtype) not in IO_DTYPES:
            raise QuantizationError(f"model input #{index} '{tensor.name}' is {tensor.type_name}; "
                                    f"inputs must be int8 or float32")
        var = relax.Var(sanitize(tensor.name, index), ctx.tensor_type(tensor))
        ctx.values[index] = var
        ctx.tensor_of_var[var.name] = index
        params.append(var)
    with builder.function(name, params):
        with builder.dataflow():
            for op in graph.operators:
                _convert(converters[op.name], ctx, op)
            outputs = [builder.emit_output(ctx.value(graph.tensors[i])) for i in graph.outputs]
        result = outputs[0] if len(outputs) == 1 else relax.Tuple(outputs)
        builder.emit_func_output(result)
    module = builder.get()
    inputs = [graph.tensors[i] for i in graph.inputs]
    func = module[name].with_attr(INPUT_SCALES_ATTR, [float(t.scale) for t in inputs])
    func = func.with_attr(INPUT_ZERO_POINTS_ATTR, [int(t.zero_point) for t in inputs])
    module.update_func(module.get_global_var(name), func)
    return ImportResult(module, graph, ctx.tensor_of_var)


def _convert(converter, ctx: ImportContext, op) -> None:
    try:
        converter(ctx, op)
    except TinyTVMError:
        raise
    except (AttributeError, IndexError, ValueError, TypeError, ZeroDivisionError) as error:
        # Converters validate what they rely on; anything else means a malformed operator.
        raise ModelFormatError(f"operator #{op.index} ({op.name}) is malformed: {error}") from None


def _reject_float_graph(graph: Graph) -> None:
    """Float or hybrid models fail here, before any conversion, with the first culprit named."""
    for op in graph.operators:
        if op.name in BOUNDARY_OPERATORS:
            continue
        for index in (*op.inputs, *op.outputs):
            if index < 0:
                continue
            tensor = graph.tensors[index]
            if tensor.dtype is not None and tensor.dtype.kind == "f":
                kind = "hybrid (float activations, integer weights)" if _has_int8_weights(graph, op) else "float"
                raise QuantizationError(
                    f"operator #{op.index} ({op.name}) uses {tensor.type_name} tensor #{index} '{tensor.name}': "
                    f"this is a {kind} model. tinytvm compiles full-integer int8 TFLite models; convert with "
                    "full-integer post-training quantization (inference_input/output_type int8 or float with "
                    "QUANTIZE/DEQUANTIZE at the boundary), or use tinytvm.from_onnx/tinytvm.quantize with "
                    "calibration data")


def _reject_unsupported(graph: Graph, converters: dict) -> None:
    for op in graph.operators:
        if op.name not in converters:
            raise UnsupportedOperatorError(op.name, op.index, "this operator is not supported",
                                           supported=list(converters))


def _has_int8_weights(graph: Graph, op) -> bool:
    return any(i >= 0 and graph.tensors[i].is_constant and graph.tensors[i].dtype == np.dtype("int8")
               for i in op.inputs)
