"""Tensor lifetimes of an integer-only module.

Each layer is one step. A value is alive from the step that produces it to the last
step that reads it. RESHAPE produces a view and an in-place operator (see
``transform.inplace_depthwise``) overwrites its input: the values share one storage
(size = the largest of them, lifetime = the union). Storage that holds a model input or output lives in
the caller's buffers, not in the arena.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tvm
from tvm import relax

from ..errors import TinyTVMError
from ..ir.graph import Layer, layers, main_function, tensor_dtype, tensor_shape
from .buffers import BufferSpec

VIEW_KERNELS = ("reshape",)


@dataclasses.dataclass(frozen=True)
class Storage:
    """Bytes shared by one or more values (a value and its reshapes)."""

    name: str
    size: int
    first: int
    last: int
    values: tuple[str, ...]
    external: str | None  # "input:<k>" / "output:<k>" when the caller owns it

    def spec(self) -> BufferSpec:
        return BufferSpec(self.name, self.size, self.first, self.last)


@dataclasses.dataclass(frozen=True)
class Lifetimes:
    layers: tuple[Layer, ...]
    storages: tuple[Storage, ...]
    storage_of: dict[str, str]  # value (Relax var name) -> storage name
    outputs: tuple[str, ...]  # the values the function returns, output aliases (gv = lv) resolved

    @property
    def arena_storages(self) -> list[Storage]:
        return [s for s in self.storages if s.external is None]


def _shares_input_storage(layer: Layer) -> bool:
    """Views (reshape) and in-place operators write their result into their input's storage."""
    return layer.kernel in VIEW_KERNELS or bool(getattr(layer.record, "in_place", False))


def value_bytes(ty: relax.TensorType) -> int:
    return math.prod(tensor_shape(ty)) * np.dtype(tensor_dtype(ty)).itemsize


def analyze_lifetimes(mod: tvm.IRModule, function: str = "main") -> Lifetimes:
    func = main_function(mod, function)
    layer_list = layers(mod, function)
    parent: dict[str, str] = {}
    param_names = {p.name for p in func.params}

    def root(name: str) -> str:
        while parent.get(name, name) != name:
            name = parent[name]
        return name

    sizes, first, last = {}, {}, {}
    for param in func.params:
        sizes[param.name], first[param.name], last[param.name] = value_bytes(param.ty), 0, 0
    for step, layer in enumerate(layer_list):
        name = layer.var.name
        sizes[name], first[name], last[name] = layer.output_bytes, step, step
        for operand in layer.activation_inputs:
            last[operand.name] = max(last.get(operand.name, step), step)
        if _shares_input_storage(layer) and layer.activation_inputs:
            source = root(layer.activation_inputs[0].name)
            # A view of a model input would make the caller's input double as an arena value
            # or an output: keep it a copy instead (rare; costs one copy of the input).
            if source not in param_names:
                parent[name] = source

    outputs = _output_values(func)
    for position, value in enumerate(outputs):
        last[value] = len(layer_list)  # outputs are read by the caller after the last step

    external = {root(p.name): f"input:{k}" for k, p in enumerate(func.params)}
    for position, value in enumerate(outputs):
        if root(value) in external:
            raise TinyTVMError(f"model output {position} is also model {external[root(value)]} (or a view of "
                               "it); tinytvm needs each output to be computed by an operator")
        external[root(value)] = f"output:{position}"

    groups: dict[str, list[str]] = {}
    for value in sizes:
        groups.setdefault(root(value), []).append(value)
    storages = []
    storage_of = {}
    for key, members in groups.items():
        storage = Storage(
            name=key, size=max(sizes[m] for m in members), first=min(first[m] for m in members),
            last=max(last[m] for m in members), values=tuple(members), external=external.get(key))
        storages.append(storage)
        storage_of.update({m: key for m in members})
    storages.sort(key=lambda s: (s.first, s.name))
    return Lifetimes(tuple(layer_list), tuple(storages), storage_of, tuple(outputs))


def _output_values(func: relax.Function) -> list[str]:
    """Names of the values a function returns, following output aliases (gv = lv)."""
    aliases = {}
    for block in func.body.blocks:
        for binding in block.bindings:
            if isinstance(binding.value, relax.Var):
                aliases[binding.var.name] = binding.value.name
    body = func.body.body
    fields = body.fields if isinstance(body, tvm.ir.Tuple) else [body]
    names = []
    for field in fields:
        name = field.name
        while name in aliases:
            name = aliases[name]
        names.append(name)
    return names
