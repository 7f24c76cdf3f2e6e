"""The state one TFLite import carries from operator to operator."""

from __future__ import annotations

import re

import numpy as np
import tflite
from tvm import relax

from ...errors import QuantizationError, UnsupportedOperatorError
from ...ir.op import OpRecord
from ...quantization.params import activation_range
from .reader import Graph, Operator, Tensor

_ACTIVATION_NAMES = {v: k for k, v in vars(tflite.ActivationFunctionType).items() if not k.startswith("_")}


def sanitize(name: str, index: int) -> str:
    """A readable Relax variable name from a TFLite tensor name."""
    tail = name.rsplit("/", 1)[-1] if name else ""
    tail = re.sub(r"[^0-9A-Za-z_]", "_", tail)[:32].strip("_")
    return f"t{index}_{tail}" if tail else f"t{index}"


class ImportContext:
    """Maps TFLite tensors to Relax values while converters emit operators."""

    def __init__(self, graph: Graph, builder: relax.BlockBuilder):
        self.graph = graph
        self.builder = builder
        self.values: dict[int, relax.Expr] = {}
        #: Relax variable name -> TFLite tensor index, for per-layer comparison.
        self.tensor_of_var: dict[str, int] = {}

    # -- tensors ----------------------------------------------------------------------------
    def tensor(self, index: int) -> Tensor:
        return self.graph.tensors[index]

    def input(self, op: Operator, position: int) -> Tensor:
        if position >= len(op.inputs) or op.inputs[position] < 0:
            raise UnsupportedOperatorError(op.name, op.index, f"input {position} is missing")
        return self.tensor(op.inputs[position])

    def output(self, op: Operator, position: int = 0) -> Tensor:
        return self.tensor(op.outputs[position])

    def value(self, tensor: Tensor) -> relax.Expr:
        """The Relax value of an activation tensor (or a constant, embedded on demand)."""
        if tensor.index in self.values:
            return self.values[tensor.index]
        if tensor.is_constant:
            return relax.const(tensor.data)
        raise UnsupportedOperatorError("graph", None, f"tensor #{tensor.index} '{tensor.name}' is read before "
                                       "any operator writes it (the graph is not topologically sorted)")

    # -- checks -----------------------------------------------------------------------------
    def require_int8(self, op: Operator, tensor: Tensor, role: str) -> None:
        if tensor.dtype != np.dtype("int8") or tensor.quantization is None:
            kind = "float" if tensor.type_name == "FLOAT32" else tensor.type_name
            raise QuantizationError(
                f"operator #{op.index} ({op.name}): {role} tensor #{tensor.index} '{tensor.name}' is "
                f"{kind}{'' if tensor.quantization else ' without quantization parameters'}; tinytvm "
                "compiles full-integer int8 models (convert with full-integer quantization, or use "
                "tinytvm.from_onnx/tinytvm.quantize with calibration data)")
        if len(tensor.quantization.scale) != 1:
            raise UnsupportedOperatorError(op.name, op.index, f"{role} tensor '{tensor.name}' is quantized "
                                           "per channel; activations must be quantized per tensor")

    def int8_input_output(self, op: Operator) -> tuple[Tensor, Tensor]:
        """The operator's first input and its output, both checked to be per-tensor int8."""
        data, out = self.input(op, 0), self.output(op)
        self.require_int8(op, data, "input")
        self.require_int8(op, out, "output")
        return data, out

    def require_constant(self, op: Operator, tensor: Tensor, role: str) -> np.ndarray:
        if not tensor.is_constant:
            raise UnsupportedOperatorError(op.name, op.index, f"{role} tensor '{tensor.name}' must be a "
                                           "constant (run-time weights/shapes are not supported)")
        return tensor.data

    def require_same_quantization(self, op: Operator, a: Tensor, b: Tensor) -> None:
        if (np.float32(a.scale), a.zero_point) != (np.float32(b.scale), b.zero_point):
            raise UnsupportedOperatorError(
                op.name, op.index, f"input '{a.name}' (scale {a.scale}, zero point {a.zero_point}) and "
                f"output '{b.name}' (scale {b.scale}, zero point {b.zero_point}) must share quantization: the "
                "int8 kernel copies values without requantizing (add a QUANTIZE operator to requantize)")

    def activation(self, op: Operator, code: int, output: Tensor) -> tuple[int, int]:
        name = _ACTIVATION_NAMES.get(code, str(code))
        try:
            return activation_range(name, output.scale, output.zero_point)
        except ValueError as error:
            raise UnsupportedOperatorError(op.name, op.index, str(error)) from None

    # -- emission ---------------------------------------------------------------------------
    def tensor_type(self, tensor: Tensor, shape: tuple[int, ...] | None = None) -> relax.TensorType:
        return relax.TensorType(shape if shape is not None else tensor.shape, str(tensor.dtype))

    def emit(self, record: OpRecord, operands: list[relax.Expr], out: Tensor,
             shape: tuple[int, ...] | None = None, bind_output: bool = True) -> relax.Var:
        """Emit ``record(operands)`` and, by default, bind the result to TFLite tensor ``out``."""
        call = record.call(operands, self.tensor_type(out, shape))
        name = sanitize(out.name, out.index) if bind_output else f"{sanitize(out.name, out.index)}_{record.KERNEL}"
        var = self.builder.emit(call, name_hint=name)
        if bind_output:
            self.bind(out, var)
        return var

    def bind(self, tensor: Tensor, value: relax.Var) -> None:
        self.values[tensor.index] = value
        self.tensor_of_var[value.name] = tensor.index
