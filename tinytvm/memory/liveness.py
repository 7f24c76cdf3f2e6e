"""Tensor lifetimes of an integer-only module.

Each layer is one step. A value is alive from the step that produces it to the last
step that reads it. RESHAPE produces a view and an in-place operator (see
``transform.inplace_depthwise``) overwrites its input: the values share one storage
(lifetime = the union). Its size may change over time: at each step it needs the bytes from its
start to the end of the furthest value alive then, so a storage whose in-place result is smaller
than its input (a stride-2 depthwise) *shrinks* after that step; the planner gets one block per
run of equal sizes, anchored together (:meth:`Storage.specs`). Storage that holds a model input
or output lives in the caller's buffers, not in the arena.
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
    #: ``(first, last, bytes)`` per run of steps needing the same bytes from the storage's start
    #: (one run unless the storage shrinks or grows; ``size`` is the largest).
    extents: tuple[tuple[int, int, int], ...]
    #: Byte offset of each value inside the storage (non-zero only for overlapping in-place outputs).
    offsets: tuple[tuple[str, int], ...] = ()

    def spec(self) -> BufferSpec:
        """The storage as one block: its largest size over its whole lifetime."""
        return BufferSpec(self.name, self.size, self.first, self.last)

    def specs(self) -> tuple[BufferSpec, ...]:
        """The storage as the arena planner places it: one block per run of ``extents``, all at
        the storage's start. The first is named after the storage (codegen addresses each value
        from its offset); the later ones (``<name>@<first step>``) are anchored to it, so they
        are checked against everything else alive - the bytes a shrinking storage no longer
        needs are free for other buffers."""
        (first, last, size), *later = self.extents
        return (BufferSpec(self.name, size, first, last),
                *(BufferSpec(f"{self.name}@{f}", s, f, l, anchor=self.name) for f, l, s in later))


@dataclasses.dataclass(frozen=True)
class Lifetimes:
    layers: tuple[Layer, ...]
    storages: tuple[Storage, ...]
    storage_of: dict[str, str]  # value (Relax var name) -> storage name
    outputs: tuple[str, ...]  # the values the function returns, output aliases (gv = lv) resolved
    value_offset: dict[str, int] = dataclasses.field(default_factory=dict)  # value -> offset in its storage

    @property
    def arena_storages(self) -> list[Storage]:
        return [s for s in self.storages if s.external is None]

    def alive_bytes(self) -> list[int]:
        """Arena storage bytes alive at each step (and after the last, while the caller reads the
        outputs); a shrinking storage counts its size at that step. Kernel scratch is not included."""
        alive = [0] * (len(self.layers) + 1)
        for storage in self.arena_storages:
            for first, last, size in storage.extents:
                for step in range(first, min(last, len(self.layers)) + 1):
                    alive[step] += size
        return alive


def input_lead(layer: Layer) -> int:
    """Bytes by which an in-place layer's input must start after its output.

    Depthwise, element-wise and same-width 1x1 kernels read what they overwrite first (lead 0).
    An expanding 1x1 convolution writes pixel n only after reading input pixel n, so the input
    may sit at the end of the output region (lead = output bytes - input bytes). A kxk
    convolution writes output pixel n while later windows still read input pixels down to
    n - pad_top * W - pad_left, so the output starts that many pixels (+1) before the input
    (same channel count; ``conv2d.h``, IM2COL aliasing rule).
    """
    if layer.kernel != "conv2d":
        return 0
    if layer.in_shapes[1][1:3] == (1, 1):
        return max(0, layer.output_bytes - math.prod(layer.in_shapes[0]))
    _, _, width, channels = layer.in_shapes[0]
    top, left = layer.record.padding[0], layer.record.padding[1]
    return channels * (top * width + left + 1)


def _shares_input_storage(layer: Layer) -> bool:
    """Views (reshape) and in-place operators write their result into their input's storage."""
    return layer.kernel in VIEW_KERNELS or bool(getattr(layer.record, "in_place", False))


def value_bytes(ty: relax.TensorType) -> int:
    return math.prod(tensor_shape(ty)) * np.dtype(tensor_dtype(ty)).itemsize


def analyze_lifetimes(mod: tvm.IRModule, function: str = "main") -> Lifetimes:
    func = main_function(mod, function)
    layer_list = layers(mod, function)
    parent: dict[str, str] = {}
    relative: dict[str, int] = {}  # offset of a value relative to its parent's
    param_names = {p.name for p in func.params}

    def root(name: str) -> str:
        while parent.get(name, name) != name:
            name = parent[name]
        return name

    def offset_in_group(name: str) -> int:
        total = 0
        while parent.get(name, name) != name:
            total += relative[name]
            name = parent[name]
        return total

    sizes, first, last = {}, {}, {}
    for param in func.params:
        sizes[param.name], first[param.name], last[param.name] = value_bytes(param.ty), 0, 0
    for step, layer in enumerate(layer_list):
        name = layer.var.name
        sizes[name], first[name], last[name] = layer.output_bytes, step, step
        for operand in layer.activation_inputs:
            last[operand.name] = max(last.get(operand.name, step), step)
        if _shares_input_storage(layer) and layer.activation_inputs:
            operand = layer.activation_inputs[0].name
            source = root(operand)
            # A view of a model input would make the caller's input double as an arena value
            # or an output: keep it a copy instead (rare; costs one copy of the input).
            if source not in param_names:
                parent[name] = source
                relative[name] = offset_in_group(operand) - input_lead(layer)

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
    value_offset = {}
    for key, members in groups.items():
        raw = {m: offset_in_group(m) for m in members}
        lowest = min(raw.values())
        offsets = {m: raw[m] - lowest for m in members}
        if external.get(key) and any(offsets.values()):
            raise TinyTVMError(f"value '{key}' lives in the caller's buffer ({external[key]}) but an in-place "
                               "operator would place part of it outside: in-place passes must skip it")
        extents = _extents([(offsets[m] + sizes[m], first[m], last[m]) for m in members])
        storage = Storage(
            name=key, size=max(size for _, _, size in extents), first=extents[0][0], last=extents[-1][1],
            values=tuple(members), external=external.get(key), extents=extents,
            offsets=tuple(sorted((m, o) for m, o in offsets.items() if o)))
        storages.append(storage)
        storage_of.update({m: key for m in members})
        value_offset.update(offsets)
    storages.sort(key=lambda s: (s.first, s.name))
    return Lifetimes(tuple(layer_list), tuple(storages), storage_of, tuple(outputs), value_offset)


def _extents(values: list[tuple[int, int, int]]) -> tuple[tuple[int, int, int], ...]:
    """Runs ``(first, last, bytes)`` of equal need over the lifetime of values ``(end, first, last)``:
    at each step, the furthest end among the values alive."""
    if len(values) == 1:
        end, first, last = values[0]
        return ((first, last, end),)
    runs: list[tuple[int, int, int]] = []
    for step in range(min(f for _, f, _ in values), max(l for _, _, l in values) + 1):
        end = max((e for e, f, l in values if f <= step <= l), default=0)
        if runs and runs[-1][2] == end:
            runs[-1] = (runs[-1][0], step, end)
        else:
            runs.append((step, step, end))
    return tuple(runs)


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
