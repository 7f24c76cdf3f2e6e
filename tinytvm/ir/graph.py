"""Read-only views of an integer-only Relax module: its layers in execution order."""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import tvm
from tvm import relax

from ..errors import TinyTVMError
from .op import OpRecord, decode, kernel_name
from .patch_stage import PATCH_GRID_ATTR, PatchStage


def tensor_shape(ty: relax.TensorType) -> tuple[int, ...]:
    if ty.shape is None:
        raise TinyTVMError(f"tensor type {ty} has no static shape; tinytvm needs static shapes")
    return tuple(int(d) for d in ty.shape)


#: Function attributes holding the quantization of the model inputs (for the C API's macros).
INPUT_SCALES_ATTR = "tinytvm.input_scales"
INPUT_ZERO_POINTS_ATTR = "tinytvm.input_zero_points"


def tensor_dtype(ty: relax.TensorType) -> str:
    return str(ty.dtype)


def check_inputs(signature: list[tuple[str, tuple[int, ...], str]], inputs) -> list[np.ndarray]:
    """One contiguous array per model input (name, shape, dtype); a single array is one input."""
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    inputs = list(inputs)
    if len(inputs) != len(signature):
        raise TinyTVMError(f"the model has {len(signature)} input(s) but {len(inputs)} were given")
    checked = []
    for (name, shape, dtype), array in zip(signature, inputs):
        array = np.ascontiguousarray(array)
        if array.shape != tuple(shape) or str(array.dtype) != dtype:
            raise TinyTVMError(f"input '{name}' must be a {dtype} array of shape {tuple(shape)}, "
                               f"got {array.dtype} {array.shape}")
        checked.append(array)
    return checked


def main_function(mod: tvm.IRModule, name: str = "main") -> relax.Function:
    if not isinstance(mod, tvm.IRModule):
        raise TinyTVMError(f"expected a tvm.IRModule, got {type(mod).__name__}")
    names = [gv.name_hint for gv in mod.functions]
    if name not in names:
        raise TinyTVMError(f"the module has no function '{name}' (it has: {', '.join(names)})")
    func = mod[name]
    if not isinstance(func, relax.Function):
        raise TinyTVMError(f"'{name}' is not a Relax function")
    return func


@dataclasses.dataclass(frozen=True)
class Layer:
    """One integer operator application: ``var = record(operands)``."""

    var: relax.Var
    record: OpRecord | PatchStage
    call: relax.Call

    @property
    def kernel(self) -> str:
        return self.record.KERNEL

    # Shapes cross TVM's FFI element by element: read them once per layer (the NAS loop is hot).
    @functools.cached_property
    def out_shape(self) -> tuple[int, ...]:
        return tensor_shape(self.call.ty)

    @functools.cached_property
    def in_shapes(self) -> list[tuple[int, ...]]:
        return [tensor_shape(arg.ty) for arg in self.call.args]

    @functools.cached_property
    def activation_inputs(self) -> list[relax.Var]:
        return [arg for arg in self.call.args if isinstance(arg, relax.Var)]

    @functools.cached_property
    def activation_operands(self) -> tuple[tuple[int, str], ...]:
        """(argument position, value name) of each activation operand."""
        return tuple((k, arg.name) for k, arg in enumerate(self.call.args) if isinstance(arg, relax.Var))

    @property
    def macs(self) -> int:
        return self.record.macs(self.in_shapes, self.out_shape)

    @functools.cached_property
    def output_bytes(self) -> int:
        return math.prod(self.out_shape) * np.dtype(tensor_dtype(self.call.ty)).itemsize

    @property
    def weight_bytes(self) -> int:
        if isinstance(self.record, PatchStage):
            return self.record.weight_bytes
        return sum(arg.value.numpy().nbytes for arg in self.call.args if isinstance(arg, tvm.ir.Constant))


def layers(mod: tvm.IRModule, function: str = "main") -> list[Layer]:
    """The tinytvm operator bindings of ``function``, in program order; a call to a patched stage
    function is one layer whose record is a :class:`PatchStage`."""
    result = []
    for block in main_function(mod, function).body.blocks:
        for binding in block.bindings:
            if kernel_name(binding.value) is not None:
                result.append(_layer(binding.var, binding.value))
            elif is_stage_call(mod, binding.value):
                result.append(Layer(binding.var, stage_record(mod, binding.value), binding.value))
    return result


@functools.lru_cache(maxsize=512)
def _layer(var: relax.Var, call: relax.Call) -> Layer:
    """One Layer per binding: the passes and the analysis walk the same module several times, and
    decoding a record or a shape crosses TVM's FFI field by field (bounded: the calls hold weights)."""
    return Layer(var, decode(call), call)


def is_stage_call(mod: tvm.IRModule, expr) -> bool:
    if not isinstance(expr, relax.Call) or not isinstance(expr.op, tvm.ir.GlobalVar):
        return False
    attrs = mod[expr.op].attrs
    return attrs is not None and PATCH_GRID_ATTR in attrs


def stage_record(mod: tvm.IRModule, call: relax.Call) -> PatchStage:
    """The :class:`PatchStage` a call to a patched stage function runs."""
    name = call.op.name_hint
    func = mod[call.op]
    body = func.body.body
    if len(func.params) != 1 or not isinstance(body, relax.Var):
        raise TinyTVMError(f"patched stage '{name}' must take one tensor and return one")
    grid = tuple(int(v) for v in func.attrs[PATCH_GRID_ATTR])
    return PatchStage(name, grid, tuple(layers(mod, name)), func.params[0].name, body.name)
