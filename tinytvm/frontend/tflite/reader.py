"""Read a .tflite flatbuffer into plain, validated records.

The flatbuffer accessors of the ``tflite`` schema package read lazily and trust the
file: on a truncated or corrupted file they raise arbitrary Python errors or return
nonsense. This module reads everything once, inside one guard, and checks every index
and size, so that the converters only ever see a well-formed graph.
"""

from __future__ import annotations

import dataclasses
import math
import os
import struct
from pathlib import Path

import numpy as np
import tflite

from ...errors import ModelFormatError

_FILE_IDENTIFIER = b"TFL3"
_MAX_RANK = 8
_MAX_ELEMENTS = 1 << 31

DTYPES = {
    tflite.TensorType.FLOAT32: np.dtype("float32"),
    tflite.TensorType.INT32: np.dtype("int32"),
    tflite.TensorType.UINT8: np.dtype("uint8"),
    tflite.TensorType.INT64: np.dtype("int64"),
    tflite.TensorType.BOOL: np.dtype("bool"),
    tflite.TensorType.INT16: np.dtype("int16"),
    tflite.TensorType.INT8: np.dtype("int8"),
    tflite.TensorType.FLOAT16: np.dtype("float16"),
    tflite.TensorType.FLOAT64: np.dtype("float64"),
}
_TYPE_NAMES = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
_OPERATOR_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
_OPTIONS_NAMES = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}


@dataclasses.dataclass(frozen=True)
class Quantization:
    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclasses.dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype | None  # None for types tinytvm cannot represent (the converter rejects them)
    type_name: str
    quantization: Quantization | None
    data: np.ndarray | None  # constant data, or None for activations

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def scale(self) -> float:
        return self.quantization.scale[0] if self.quantization else 0.0

    @property
    def zero_point(self) -> int:
        return self.quantization.zero_point[0] if self.quantization else 0


@dataclasses.dataclass
class Operator:
    index: int
    name: str  # builtin operator name, e.g. "CONV_2D", or "CUSTOM(<code>)"
    version: int
    inputs: tuple[int, ...]  # -1 marks an omitted optional input
    outputs: tuple[int, ...]
    options: object | None  # the initialized tflite *Options table, if any


@dataclasses.dataclass
class Graph:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    description: str


def load_bytes(source: str | os.PathLike | bytes | bytearray | memoryview) -> bytes:
    """The model's bytes, from a path or a bytes-like object, with a clear error otherwise."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if not isinstance(source, (str, os.PathLike)):
        raise ModelFormatError(
            f"expected a path to a .tflite file or its bytes, got {type(source).__name__}"
        )
    path = Path(source)
    if not path.exists():
        raise ModelFormatError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelFormatError(f"not a regular file: {path} (pass the path of a .tflite model)")
    return path.read_bytes()


def read_graph(raw: bytes) -> Graph:
    """Parse and validate the first subgraph of a TFLite flatbuffer."""
    if len(raw) < 8 or raw[4:8] != _FILE_IDENTIFIER:
        raise ModelFormatError(
            f"not a TFLite flatbuffer: expected file identifier {_FILE_IDENTIFIER!r} at bytes 4-7"
            f" of a {len(raw)}-byte input"
        )
    where = ["model header"]
    try:
        return _read(raw, where)
    except ModelFormatError:
        raise
    except (IndexError, struct.error, ValueError, TypeError, OverflowError, UnicodeDecodeError,
            AttributeError, MemoryError) as error:
        raise ModelFormatError(
            f"malformed or truncated TFLite flatbuffer while reading {where[0]}: {error}"
        ) from None


def _read(raw: bytes, where: list[str]) -> Graph:
    model = tflite.Model.GetRootAsModel(raw, 0)
    if model.SubgraphsLength() < 1:
        raise ModelFormatError("malformed TFLite model: it has no subgraph")
    if model.Version() != 3:
        raise ModelFormatError(f"unsupported TFLite schema version {model.Version()} (expected 3)")
    subgraph = model.Subgraphs(0)
    buffers = [_buffer_bytes(model, i, raw, where) for i in range(model.BuffersLength())]
    tensors = [_read_tensor(subgraph, i, buffers, where) for i in range(subgraph.TensorsLength())]
    codes = [_opcode_name(model, i, where) for i in range(model.OperatorCodesLength())]
    operators = [_read_operator(subgraph, i, codes, len(tensors), where)
                 for i in range(subgraph.OperatorsLength())]
    where[0] = "subgraph inputs/outputs"
    inputs = _tensor_indices(subgraph.InputsAsNumpy(), len(tensors), "subgraph inputs")
    outputs = _tensor_indices(subgraph.OutputsAsNumpy(), len(tensors), "subgraph outputs")
    if not inputs or not outputs:
        raise ModelFormatError("malformed TFLite model: the subgraph has no inputs or no outputs")
    description = (model.Description() or b"").decode("utf-8", errors="replace")
    return Graph(tensors, operators, inputs, outputs, description)


def _buffer_bytes(model, index: int, raw: bytes, where: list[str]) -> bytes | None:
    where[0] = f"buffer #{index}"
    buffer = model.Buffers(index)
    offset, size = buffer.Offset(), buffer.Size()
    if offset > 1:  # large models keep buffer data after the flatbuffer
        if offset + size > len(raw):
            raise ModelFormatError(f"truncated TFLite model: buffer #{index} lies past the end of the file")
        return raw[offset:offset + size]
    if buffer.DataIsNone() or buffer.DataLength() == 0:
        return None
    return buffer.DataAsNumpy().tobytes()


def _read_tensor(subgraph, index: int, buffers: list, where: list[str]) -> Tensor:
    where[0] = f"tensor #{index}"
    tensor = subgraph.Tensors(index)
    name = (tensor.Name() or b"").decode("utf-8", errors="replace")
    shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if not tensor.ShapeIsNone() else ()
    if len(shape) > _MAX_RANK or any(d < 0 for d in shape) or math.prod(shape) > _MAX_ELEMENTS:
        raise ModelFormatError(f"malformed TFLite model: tensor #{index} '{name}' has shape {shape}")
    type_code = tensor.Type()
    dtype = DTYPES.get(type_code)
    type_name = _TYPE_NAMES.get(type_code, f"type{type_code}")
    quantization = _read_quantization(tensor.Quantization(), index, name)
    buffer_index = tensor.Buffer()
    if not 0 <= buffer_index < max(len(buffers), 1):
        raise ModelFormatError(f"malformed TFLite model: tensor #{index} '{name}' refers to buffer "
                               f"#{buffer_index}, but the model has {len(buffers)}")
    data_bytes = buffers[buffer_index] if buffers else None
    data = None
    if data_bytes is not None and dtype is not None:
        expected = math.prod(shape) * dtype.itemsize
        if len(data_bytes) != expected:
            raise ModelFormatError(
                f"malformed TFLite model: tensor #{index} '{name}' of shape {shape} ({type_name}) "
                f"needs {expected} bytes but its buffer holds {len(data_bytes)}")
        data = np.frombuffer(data_bytes, dtype=dtype.newbyteorder("<")).reshape(shape).astype(dtype)
    return Tensor(index, name, shape, dtype, type_name, quantization, data)


def _read_quantization(params, index: int, name: str) -> Quantization | None:
    if params is None or params.ScaleIsNone() or params.ScaleLength() == 0:
        return None
    scale = tuple(float(s) for s in params.ScaleAsNumpy())
    zero_point = tuple(int(z) for z in params.ZeroPointAsNumpy()) if not params.ZeroPointIsNone() else (0,)
    if len(zero_point) not in (1, len(scale)) or not all(math.isfinite(s) and s > 0 for s in scale):
        raise ModelFormatError(
            f"malformed TFLite model: tensor #{index} '{name}' has invalid quantization "
            f"(scales {scale[:4]}..., zero points {zero_point[:4]}...)")
    if len(zero_point) == 1 and len(scale) > 1:
        zero_point = zero_point * len(scale)
    return Quantization(scale, zero_point, int(params.QuantizedDimension()))


def _opcode_name(model, index: int, where: list[str]) -> tuple[str, int]:
    where[0] = f"operator code #{index}"
    code = model.OperatorCodes(index)
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    name = _OPERATOR_NAMES.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        name = f"CUSTOM({(code.CustomCode() or b'').decode('utf-8', errors='replace')})"
    return name, code.Version()


def _read_operator(subgraph, index: int, codes: list, num_tensors: int, where: list[str]) -> Operator:
    where[0] = f"operator #{index}"
    op = subgraph.Operators(index)
    code_index = op.OpcodeIndex()
    if not 0 <= code_index < len(codes):
        raise ModelFormatError(f"malformed TFLite model: operator #{index} has opcode index "
                               f"{code_index}, but the model has {len(codes)} operator codes")
    name, version = codes[code_index]
    inputs = _tensor_indices(op.InputsAsNumpy(), num_tensors, f"inputs of operator #{index} ({name})",
                             allow_omitted=True)
    outputs = _tensor_indices(op.OutputsAsNumpy(), num_tensors, f"outputs of operator #{index} ({name})")
    return Operator(index, name, version, inputs, outputs, _options(op))


def _tensor_indices(values, num_tensors: int, what: str, allow_omitted: bool = False) -> tuple[int, ...]:
    if isinstance(values, int):  # the accessor returns 0 for an absent vector
        return ()
    indices = tuple(int(v) for v in values)
    low = -1 if allow_omitted else 0
    for value in indices:
        if not low <= value < num_tensors:
            raise ModelFormatError(f"malformed TFLite model: {what} refer to tensor #{value}, "
                                   f"but the subgraph has {num_tensors} tensors")
    return indices


def _options(op):
    table = op.BuiltinOptions()
    if table is None:
        return None
    type_name = _OPTIONS_NAMES.get(op.BuiltinOptionsType())
    if type_name is None or not hasattr(tflite, type_name):
        return None
    options = getattr(tflite, type_name)()
    options.Init(table.Bytes, table.Pos)
    return options
