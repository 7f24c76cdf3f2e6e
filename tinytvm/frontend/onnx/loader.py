"""Load and validate an ONNX model before anything else touches it.

Every failure here is a :class:`ModelFormatError` (missing, truncated or corrupted file,
a graph the ONNX checker rejects, inputs without a static shape) or an
:class:`UnsupportedOperatorError` naming the node, so that no protobuf or TVM stack
trace reaches the user.
"""

from __future__ import annotations

import os
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from ...errors import ModelFormatError, UnsupportedOperatorError

ONNX_DOMAINS = ("", "ai.onnx")
#: ONNX element types tinytvm models may take as inputs.
INPUT_DTYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT8: "int8", onnx.TensorProto.UINT8: "uint8"}


def load_model(source) -> onnx.ModelProto:
    """An ``onnx.ModelProto`` from a ModelProto, a path, or serialized bytes, checked for dangling edges."""
    if isinstance(source, onnx.ModelProto):
        model = source
    elif isinstance(source, (bytes, bytearray, memoryview)):
        model = _parse(bytes(source), "the given bytes")
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ModelFormatError(f"ONNX model file '{path}' does not exist")
        data = path.read_bytes()
        model = _parse(data, f"'{path}'")
    else:
        raise ModelFormatError(f"expected an onnx.ModelProto, a path or bytes, got {type(source).__name__}")
    if not model.HasField("graph") or not model.graph.node:
        raise ModelFormatError("the ONNX model has no graph (empty or truncated file?)")
    problem = _dangling_edges(model)
    if problem:
        raise ModelFormatError(f"the ONNX model is malformed (truncated or corrupted?): {problem}")
    return model


def checker_finding(model: onnx.ModelProto) -> str | None:
    """What onnx.checker objects to, if anything (first line).

    The checker is stricter than runtimes (it wants shapes on graph outputs, for instance), so
    its finding is only reported when the import itself fails.
    """
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else "invalid model"
    return None


def _dangling_edges(model: onnx.ModelProto) -> str | None:
    """The first node input / graph output that nothing defines (what truncation produces)."""
    defined = {t.name for t in model.graph.initializer} | {v.name for v in model.graph.input}
    for index, node in enumerate(model.graph.node):
        if not node.op_type:
            return f"node #{index} has no operator type"
        for name in node.input:
            if name and name not in defined:
                return f"input '{name}' of node #{index} ({node.op_type}) is not produced by any earlier node, " \
                       "initializer or graph input"
        defined.update(node.output)
    if not model.graph.output:
        return "the graph has no outputs"
    for value in model.graph.output:
        if value.name not in defined:
            return f"graph output '{value.name}' is not produced by any node"
    return None


def _parse(data: bytes, where: str) -> onnx.ModelProto:
    if not data:
        raise ModelFormatError(f"{where} is empty, not an ONNX model")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise ModelFormatError(f"{where} is not a valid ONNX model (truncated or corrupted protobuf: "
                               f"{error})") from None
    return model


def opset_version(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in ONNX_DOMAINS:
            return int(entry.version)
    return 1


def graph_inputs(model: onnx.ModelProto, input_shapes: dict | None = None) -> dict[str, tuple[tuple[int, ...], str]]:
    """Name -> (static shape, dtype) of the real graph inputs (initializers excluded).

    A symbolic first dimension is taken as batch 1; any other unknown dimension must be given
    in ``input_shapes``.
    """
    input_shapes = dict(input_shapes or {})
    initializers = {t.name for t in model.graph.initializer}
    result = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        dtype = INPUT_DTYPES.get(tensor.elem_type)
        if dtype is None:
            raise ModelFormatError(f"model input '{value.name}' has element type "
                                   f"{onnx.TensorProto.DataType.Name(tensor.elem_type)}; tinytvm supports float32 "
                                   "and int8 inputs")
        if value.name in input_shapes:
            shape = tuple(int(d) for d in input_shapes.pop(value.name))
        else:
            if not tensor.HasField("shape"):
                raise ModelFormatError(f"model input '{value.name}' has no shape; pass input_shapes="
                                       f"{{'{value.name}': (...)}}")
            shape = []
            for axis, dim in enumerate(tensor.shape.dim):
                if dim.HasField("dim_value") and dim.dim_value > 0:
                    shape.append(int(dim.dim_value))
                elif axis == 0:
                    shape.append(1)  # symbolic batch: compile for batch 1
                else:
                    raise ModelFormatError(f"model input '{value.name}' has the dynamic dimension "
                                           f"'{dim.dim_param or '?'}' at axis {axis}; tinytvm needs static shapes, "
                                           f"pass input_shapes={{'{value.name}': (...)}}")
            shape = tuple(shape)
        result[value.name] = (shape, dtype)
    if input_shapes:
        raise ModelFormatError(f"input_shapes names unknown model inputs: {sorted(input_shapes)} "
                               f"(the inputs are {sorted(result)})")
    return result


def node_label(node: onnx.NodeProto, index: int) -> str:
    return f"node '{node.name}'" if node.name else f"node #{index}"


def reject(node: onnx.NodeProto, index: int, reason: str, supported=None):
    raise UnsupportedOperatorError(node.op_type, index, f"{node_label(node, index)} {reason}", supported)
