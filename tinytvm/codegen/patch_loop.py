"""Lowering and C emission of a patched stage: one loop over the patches, a geometry table.

Every patch runs the same tile program: load the input window, then each operator on tiles
(with a crop copy first where an operand tile is wider than the operator reads), then store
the output window into the stage's full output. Only the numbers differ between patches -
tile sizes, the padding at the image border, window positions - so they live in one
``const int16_t [patches][fields]`` table in flash and the C is a single loop whose body
copies each operator's static parameters and overrides those fields.

Tile buffers are planned in the model's one arena on a time axis of *tile steps* (the
program's steps; see :func:`tinytvm.codegen.build.plan_memory`), with in-place depthwise and
element-wise operators overwriting their dying input tile, as at full resolution.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..analysis.receptive_field import POINTWISE, SLIDING, Patch
from ..errors import TinyTVMError
from ..ir.graph import Layer
from ..ir.patch_stage import PatchStage
from ..memory.buffers import BufferSpec
from . import scratch as scratch_mirror
from .c_syntax import CArray, Expr, render_call
from .lowering import LoweredLayer, Slot, call_arguments, lower_layer

#: Geometry fields of each step kind, in table order.
STEP_FIELDS = {
    "load": ("row", "col", "rows", "cols"),
    "store": ("row", "col", "rows", "cols"),
    "crop": ("src_cols", "row", "col", "rows", "cols"),
    "window": ("in_h", "in_w", "out_h", "out_w", "pad_top", "pad_left", "pad_bottom", "pad_right"),
    "pointwise": ("out_h", "out_w"),
}
#: Argument position of the element count of the flat element-wise kernels.
SIZE_ARGUMENT = {"add": 3, "mul": 3, "requantize": 2}
SCRATCH_MIRRORS = {"tinytvm_conv2d_s8_scratch_bytes": scratch_mirror.conv2d,
                   "tinytvm_depthwise_conv2d_s8_scratch_bytes": scratch_mirror.depthwise_conv2d}


WINDOW_COPY = LoweredLayer("tinytvm_copy_window_s8", "tinytvm/shape_ops.h", "copy_window", None, None, (), (), 0)


@dataclasses.dataclass(frozen=True)
class TileStep:
    """One step of the per-patch program. ``reads``/``writes`` name tile buffers (or ``@input``/``@output``)."""

    kind: str                 # "load" | "crop" | "compute" | "store"
    reads: tuple[str, ...]
    writes: str
    position: int = -1        # the stage operator (compute, crop)
    operand: int = -1         # the operand a crop prepares

    def fields(self, layer: Layer | None) -> tuple[str, ...]:
        if self.kind != "compute":
            return STEP_FIELDS[self.kind]
        return STEP_FIELDS["window" if layer.kernel in (*SLIDING, "pad") else "pointwise"]


@dataclasses.dataclass(frozen=True)
class LoweredStage:
    """A patched stage ready for planning and emission (the counterpart of a LoweredLayer)."""

    stage: PatchStage
    layers: tuple[LoweredLayer, ...]
    steps: tuple[TileStep, ...]
    geometry: CArray               # int16 [patches][fields]
    buffers: tuple[BufferSpec, ...]  # tiles and scratch, on the tile-step time axis
    channels: dict[str, int]       # tile buffer -> channels

    # The LoweredLayer interface the rest of the backend reads (a stage is no single kernel call).
    function = ""
    source_family = ""
    scratch_bytes = 0
    scratch_function = None
    params = None

    @property
    def calls(self) -> tuple[LoweredLayer, ...]:
        """The kernels the loop body calls: the stage's operators and the window copies."""
        return (*self.layers, WINDOW_COPY)

    @property
    def constants(self) -> tuple[CArray, ...]:
        return (*(array for layer in self.layers for array in layer.constants), self.geometry)

    @property
    def constant_bytes(self) -> int:
        return sum(array.nbytes for array in self.constants)

    @property
    def headers(self) -> set[str]:
        return {call.header for call in self.calls}

    @property
    def families(self) -> set[str]:
        return {call.source_family for call in self.calls if call.source_family}

    @property
    def num_steps(self) -> int:
        return len(self.steps)


def lower_stage(layer: Layer, prefix: str) -> LoweredStage:
    stage: PatchStage = layer.record
    patches = stage.patches
    steps = _program(stage, patches)
    in_place = _in_place_operators(stage, patches, steps)
    lowered = tuple(lower_layer(_as_in_place(sub) if pos in in_place else sub, f"{prefix}_{pos}")
                    for pos, sub in enumerate(stage.layers))
    rows = [[value for step in steps for value in _step_geometry(step, stage, patch)] for patch in patches]
    if max((abs(v) for row in rows for v in row), default=0) > 32767:
        raise TinyTVMError(f"patched stage geometry exceeds int16 ({prefix}): the image is too large")
    geometry = CArray(f"{prefix}_geometry", "int16", np.array(rows, dtype=np.int16), alignment=4)
    buffers, channels = _buffers(prefix, stage, patches, steps, lowered, in_place)
    return LoweredStage(stage, lowered, tuple(steps), geometry, tuple(buffers), channels)


def _program(stage: PatchStage, patches: list[Patch]) -> list[TileStep]:
    steps = [TileStep("load", ("@input",), stage.input_name)]
    for position, layer in enumerate(stage.layers):
        reads = []
        for operand, arg in enumerate(layer.call.args):
            if (position, operand) not in patches[0].reads:
                continue
            if any(p.reads[(position, operand)] != p.windows[arg.name] for p in patches):
                crop = f"{layer.var.name}.in{operand}"
                steps.append(TileStep("crop", (arg.name,), crop, position, operand))
                reads.append(crop)
            else:
                reads.append(arg.name)
        steps.append(TileStep("compute", tuple(reads), layer.var.name, position))
    steps.append(TileStep("store", (stage.output_name,), "@output"))
    return steps


def _step_geometry(step: TileStep, stage: PatchStage, patch: Patch) -> list[int]:
    if step.kind in ("load", "store"):
        window = patch.windows[step.writes if step.kind == "load" else step.reads[0]]
        return [window.rows.start, window.cols.start, window.rows.size, window.cols.size]
    layer = stage.layers[step.position]
    if step.kind == "crop":
        source = patch.windows[step.reads[0]]
        read = patch.reads[(step.position, step.operand)]
        top, left = read.relative_to(source)
        return [source.cols.size, top, left, read.rows.size, read.cols.size]
    out = patch.windows[layer.var.name]
    if layer.kernel in POINTWISE or layer.kernel == "concat":
        return [out.rows.size, out.cols.size]
    read = patch.reads[(step.position, 0)]
    return [read.rows.size, read.cols.size, out.rows.size, out.cols.size, *patch.padding[step.position]]


def _last_reads(steps: list[TileStep]) -> dict[str, int]:
    last = {}
    for index, step in enumerate(steps):
        for name in step.reads:
            last[name] = index
    return last


def _in_place_operators(stage: PatchStage, patches: list[Patch], steps: list[TileStep]) -> set[int]:
    """Depthwise (multiplier 1, output tile never wider or taller than what it reads) and flat
    element-wise operators whose first operand tile dies with them overwrite that tile."""
    last = _last_reads(steps)
    chosen = set()
    for index, step in enumerate(steps):
        if step.kind != "compute" or last.get(step.reads[0]) != index or step.reads.count(step.reads[0]) > 1:
            continue
        layer = stage.layers[step.position]
        if layer.kernel == "depthwise_conv2d" and _depthwise_fits(layer, step, patches) or layer.kernel in ("add", "mul"):
            chosen.add(step.position)
    return chosen


def _depthwise_fits(layer: Layer, step: TileStep, patches: list[Patch]) -> bool:
    record = layer.record
    if record.depth_multiplier != 1 or record.padding[0] > (layer.in_shapes[1][1] - 1) * record.dilation[0]:
        return False
    for patch in patches:
        read, out = patch.reads[(step.position, 0)], patch.windows[layer.var.name]
        if out.rows.size > read.rows.size or out.cols.size > read.cols.size:
            return False
    return True


def _as_in_place(layer: Layer) -> Layer:
    return Layer(layer.var, layer.record.replace(in_place=True), layer.call)


def tile_buffers(stage: PatchStage, prefix: str = "stage") -> list[BufferSpec]:
    """The tile buffers of ``stage`` (no kernel scratch): what the patch search estimates with."""
    steps = _program(stage, stage.patches)
    return _tiles(prefix, stage, stage.patches, steps, _in_place_operators(stage, stage.patches, steps))[0]


def _buffers(prefix, stage: PatchStage, patches, steps, lowered, in_place):
    """Tile and scratch buffers with lifetimes in tile steps; in-place outputs alias their input tile."""
    buffers, channels = _tiles(prefix, stage, patches, steps, in_place)
    for index, step in enumerate(steps):
        if step.kind == "compute":
            size = _max_scratch(stage.layers[step.position], lowered[step.position], step, patches, stage)
            if size:
                buffers.append(BufferSpec(scratch_buffer(prefix, step.position), size, index, index))
    return buffers, channels


def _tiles(prefix, stage: PatchStage, patches, steps, in_place):
    channels = {name: stage.shapes[name][3] for name in stage.shapes}
    for step in steps:
        if step.kind == "crop":
            channels[step.writes] = channels[step.reads[0]]
    sizes = {name: 0 for name in channels}
    for patch in patches:
        for step in steps:
            if step.kind == "crop":
                window = patch.reads[(step.position, step.operand)]
                sizes[step.writes] = max(sizes[step.writes], window.pixels * channels[step.writes])
        for name, window in patch.windows.items():
            sizes[name] = max(sizes[name], window.pixels * channels[name])
    first = {step.writes: index for index, step in enumerate(steps) if step.writes != "@output"}
    last = _last_reads(steps)
    aliases = {step.writes: step.reads[0] for step in steps
               if step.kind == "compute" and step.position in in_place}
    buffers = []
    for name, start in first.items():
        alias = aliases.get(name)
        buffers.append(BufferSpec(tile_buffer(prefix, name), sizes[name], start, last[name],
                                  tile_buffer(prefix, alias) if alias else None))
    return buffers, {tile_buffer(prefix, n): c for n, c in channels.items()}


def tile_buffer(prefix: str, value: str) -> str:
    return f"{prefix}.tile.{value}"


def scratch_buffer(prefix: str, position: int) -> str:
    return f"{prefix}.scratch.{position}"


def _patched_fields(lowered: LoweredLayer, step: TileStep, layer: Layer, values: list[int]) -> dict:
    fields = dict(lowered.params.fields)
    fields.update(zip(step.fields(layer), values))
    return fields


def _max_scratch(layer: Layer, lowered: LoweredLayer, step: TileStep, patches, stage) -> int:
    mirror = SCRATCH_MIRRORS.get(lowered.scratch_function)
    if mirror is None:
        return lowered.scratch_bytes
    return max(mirror(_patched_fields(lowered, step, layer, _step_geometry(step, stage, patch)))
               for patch in patches)


# -- emission ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StagePointers:
    """C expressions the loop body needs: the full input/output and every planned buffer."""

    source: Expr
    target: Expr
    buffer: dict[str, Expr]   # planned buffer name -> pointer expression


def emit_loop(step: int, lowered: LoweredStage, pointers: StagePointers, prefix: str) -> list[str]:
    stage = lowered.stage
    fields = [s.fields(stage.layers[s.position] if s.kind == "compute" else None) for s in lowered.steps]
    offsets = [sum(len(f) for f in fields[:i]) for i in range(len(fields))]
    lines = [f"for (int32_t patch = 0; patch < {stage.num_patches}; ++patch) {{",
             f"  const int16_t* g = {lowered.geometry.name} + patch * {offsets[-1] + len(fields[-1])};"]
    for tile_step, names, offset in zip(lowered.steps, fields, offsets):
        geometry = {name: Expr(f"g[{offset + k}]") for k, name in enumerate(names)}
        lines += ["  " + line for line in _emit_step(step, tile_step, geometry, lowered, pointers, prefix)]
    lines += ["}"]
    return lines


def _emit_step(step: int, tile_step: TileStep, g: dict, lowered: LoweredStage, pointers: StagePointers,
               prefix: str) -> list[str]:
    stage = lowered.stage
    if tile_step.kind in ("load", "store", "crop"):
        return [_window_copy(tile_step, g, lowered, pointers, prefix)]
    layer = stage.layers[tile_step.position]
    low = lowered.layers[tile_step.position]
    sizes = {b.name: b.size for b in lowered.buffers}
    return _emit_compute(step, tile_step, layer, low, g, pointers, prefix,
                         sizes.get(scratch_buffer(prefix, tile_step.position), 0))


def _window_copy(tile_step: TileStep, g: dict, lowered: LoweredStage, pointers: StagePointers, prefix) -> str:
    stage = lowered.stage
    if tile_step.kind == "load":
        channels, width = stage.shapes[stage.input_name][3], stage.shapes[stage.input_name][2]
        src, dst = pointers.source, pointers.buffer[tile_buffer(prefix, tile_step.writes)]
        where = {"src_w": width, "src_row": g["row"], "src_col": g["col"], "dst_w": g["cols"], "dst_row": 0,
                 "dst_col": 0}
    elif tile_step.kind == "store":
        channels, width = stage.shapes[stage.output_name][3], stage.shapes[stage.output_name][2]
        src, dst = pointers.buffer[tile_buffer(prefix, tile_step.reads[0])], pointers.target
        where = {"src_w": g["cols"], "src_row": 0, "src_col": 0, "dst_w": width, "dst_row": g["row"],
                 "dst_col": g["col"]}
    else:
        channels = lowered.channels[tile_buffer(prefix, tile_step.writes)]
        src = pointers.buffer[tile_buffer(prefix, tile_step.reads[0])]
        dst = pointers.buffer[tile_buffer(prefix, tile_step.writes)]
        where = {"src_w": g["src_cols"], "src_row": g["row"], "src_col": g["col"], "dst_w": g["cols"],
                 "dst_row": 0, "dst_col": 0}
    window = {"rows": g["rows"], "cols": g["cols"], "channels": channels, **where}
    initializer = ", ".join(f".{k} = {v}" for k, v in window.items())
    return render_call("tinytvm_copy_window_s8",
                       [Expr(f"&(const tinytvm_window_params){{{initializer}}}"), src, dst])


def _emit_compute(step, tile_step: TileStep, layer: Layer, low: LoweredLayer, g: dict,
                  pointers: StagePointers, prefix: str, scratch_size: int) -> list[str]:
    params_name = f"layer{step}_{tile_step.position}_params"
    lines, args = [], []
    if low.params is not None:
        lines += [f"{low.params_type} q = {params_name};", *_overrides(layer, g)]
        args.append(Expr("&q"))
    reads = iter(tile_step.reads)

    def tile_pointer(slot: Slot, position: int) -> Expr | None:
        if slot.kind == "input":
            return pointers.buffer[tile_buffer(prefix, next(reads))]
        if slot.kind == "inputs":
            items = ", ".join(str(pointers.buffer[tile_buffer(prefix, name)]) for name in tile_step.reads)
            return Expr(f"(const int8_t* const[]){{{items}}}")
        if slot.kind == "output":
            return pointers.buffer[tile_buffer(prefix, tile_step.writes)]
        if slot.kind == "scratch":
            return pointers.buffer.get(scratch_buffer(prefix, tile_step.position), Expr("NULL"))
        if SIZE_ARGUMENT.get(layer.kernel) == position:  # the element count of this patch's tile
            return Expr(f"{g['out_h']} * {g['out_w']} * {layer.out_shape[3]}")
        return None

    args += call_arguments(low, tile_pointer)
    if low.scratch_function:  # test builds check the Python mirror for every patch
        lines += ["#if defined(TINYTVM_CHECK_SCRATCH)",
                  f"if ({low.scratch_function}(&q) > {scratch_size}u) return -{step + 1};", "#endif"]
    call = render_call(low.function, args)
    return ["{", *("  " + line for line in lines + [call]), "}"] if lines else [call]


def _overrides(layer: Layer, g: dict) -> list[str]:
    if layer.kernel == "pad":
        return [f"q.in_shape.dims[1] = {g['in_h']};", f"q.in_shape.dims[2] = {g['in_w']};",
                f"q.before[1] = {g['pad_top']};", f"q.before[2] = {g['pad_left']};",
                f"q.after[1] = {g['pad_bottom']};", f"q.after[2] = {g['pad_right']};"]
    if layer.kernel == "logistic":
        return [f"q.size = {g['out_h']} * {g['out_w']} * {layer.out_shape[3]};"]
    if layer.kernel == "concat":
        return [f"q.outer = {g['out_h']} * {g['out_w']};"]
    if layer.kernel in SLIDING:
        return [f"q.{name} = {g[name]};" for name in STEP_FIELDS["window"]]
    return []

