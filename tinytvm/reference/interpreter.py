"""Run an integer-only Relax module on the host with the numpy reference kernels.

This is the executable specification of tinytvm's operators: the C kernels and the
generated code are tested against it, and it is tested against TFLite Micro.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import tvm
from tvm import relax

from ..errors import TinyTVMError
from ..ir.graph import is_stage_call, check_inputs, main_function, stage_record, tensor_dtype, tensor_shape
from ..ir.op import decode, kernel_name
from .kernels import load_all
from .patched import run_stage


def reference_run(mod: tvm.IRModule, inputs, function: str = "main") -> list[np.ndarray]:
    """Outputs of ``mod`` for ``inputs`` (one numpy array per model input, or a single array)."""
    outputs, _ = _run(mod, inputs, function, record=None)
    return outputs


def trace(mod: tvm.IRModule, inputs, function: str = "main") -> dict[str, np.ndarray]:
    """Every intermediate value, keyed by Relax variable name (for per-layer comparison)."""
    values: dict[str, np.ndarray] = {}
    _run(mod, inputs, function, record=values)
    return values


def _run(mod, inputs, function, record):
    func = main_function(mod, function)
    inputs = check_inputs([(p.name, tensor_shape(p.ty), tensor_dtype(p.ty)) for p in func.params], inputs)
    kernels = load_all()
    env: dict[relax.Var, np.ndarray] = dict(zip(func.params, inputs))
    for block in func.body.blocks:
        for binding in block.bindings:
            if is_stage_call(mod, binding.value):
                stage = stage_record(mod, binding.value)
                value = run_stage(stage, _evaluate(binding.value.args[0], env, kernels), kernels)
            else:
                value = _evaluate(binding.value, env, kernels)
            env[binding.var] = value
            if record is not None and isinstance(value, np.ndarray):
                record[binding.var.name] = value
    result = _evaluate(func.body.body, env, kernels)
    outputs = list(result) if isinstance(result, tuple) else [result]
    return outputs, record


def _evaluate(expr: relax.Expr, env: dict, kernels: dict[str, Callable]):
    if isinstance(expr, relax.Var):
        return env[expr]
    if isinstance(expr, tvm.ir.Constant):
        return expr.value.numpy()
    if isinstance(expr, relax.Tuple):
        return tuple(_evaluate(field, env, kernels) for field in expr.fields)
    if isinstance(expr, relax.TupleGetItem):
        return _evaluate(expr.tuple_value, env, kernels)[expr.index]
    name = kernel_name(expr)
    if name is None or name not in kernels:
        raise TinyTVMError(f"the reference executor cannot run {type(expr).__name__} "
                           f"{getattr(expr, 'op', '')}: only tinytvm integer operators are supported "
                           "(import with tinytvm.from_tflite / from_onnx / quantize first)")
    operands = [_evaluate(arg, env, kernels) for arg in expr.args]
    out_shape = tensor_shape(expr.ty)
    result = kernels[name](decode(expr), operands, out_shape, tensor_dtype(expr.ty))
    _check_result(name, result, out_shape, tensor_dtype(expr.ty))
    return result


def _check_result(name: str, result: np.ndarray, shape: Sequence[int], dtype: str) -> None:
    if result.shape != tuple(shape) or str(result.dtype) != dtype:
        raise AssertionError(f"reference kernel {name} returned {result.dtype}{result.shape}, "
                             f"expected {dtype}{tuple(shape)}")
