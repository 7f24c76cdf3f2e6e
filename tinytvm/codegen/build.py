"""``tinytvm.build``: integer-only Relax module -> an :class:`Artifact` of AOT C."""

from __future__ import annotations

import dataclasses
import re

import tvm

from ..analysis.patch_summary import PatchSummary
from ..errors import ResourceLimitError, TinyTVMError
from ..ir.graph import (
    INPUT_SCALES_ATTR,
    INPUT_ZERO_POINTS_ATTR,
    main_function,
    tensor_dtype,
    tensor_shape,
)
from ..ir.patch_stage import PatchStage
from ..memory.buffers import BufferSpec
from ..memory.liveness import Lifetimes, analyze_lifetimes
from ..memory.plan import ArenaPlan, plan_arena
from ..micro.targets import Board, Target, get_board, get_target
from ..micro.toolchain import STACK_BYTES
from .aot import TensorIO, emit_model
from .artifact import Artifact, LayerInfo
from .lowering import LoweredLayer, lower_layer
from .patch_loop import LoweredStage, lower_stage
from .scratch_selection import drop_peak_scratch

AUTO_PATCH = "auto"


@dataclasses.dataclass(frozen=True)
class PatchConfig:
    """A forced patch-based configuration: the first ``split`` operators on a ``grid`` of patches."""

    split: int
    grid: tuple[int, int]

    @classmethod
    def parse(cls, value) -> PatchConfig | str | None:
        if value is None or value == AUTO_PATCH or isinstance(value, PatchConfig):
            return value
        if isinstance(value, dict) and set(value) == {"split", "grid"}:
            grid = value["grid"]
            grid = (grid, grid) if isinstance(grid, int) else tuple(int(g) for g in grid)
            if len(grid) == 2 and int(value["split"]) >= 1 and min(grid) >= 1:
                return cls(int(value["split"]), grid)
        raise TinyTVMError(f"patch must be None, \"auto\" or {{\"split\": k, \"grid\": (rows, cols)}} with "
                           f"k >= 1 and a grid of positive integers, got {value!r}")


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    """Everything that shapes the compiled model; ``build`` and ``analyze`` take the same options."""

    #: Reorder independent operators to lower the arena peak (transform.MemoryAwareSchedule).
    schedule: bool = True
    #: Let depthwise convolutions, same-width stride-1 convolutions and element-wise ops overwrite
    #: their dying input (transform.InPlaceDepthwise, .InPlaceConv2D, .InPlaceElementwise).
    in_place: bool = True
    planner: str = "auto"
    alignment: int = 8
    #: Seconds the exact planner may spend when no heuristic reaches the lower bound.
    planner_time_limit: float = 1.0
    #: Per-layer kernel knobs (layer index -> params fields), e.g. from autotuning records.
    tuning: tuple[tuple[int, tuple[tuple[str, int], ...]], ...] = ()
    #: Run the 1x1 convolutions whose column scratch raises the arena on the scratch-free pointwise
    #: path when that shrinks the arena (codegen.scratch_selection; the path is faster on narrow
    #: inputs, up to ~20% slower on wide ones).
    scratch_aware: bool = True
    #: Also trade speed for scratch where it lowers the arena: one staged pixel in the convolution
    #: column paths, one buffered channel in depthwise (2-3x slower layers; for models that must fit).
    lean_scratch: bool = False
    #: Patch-based inference (transform.PatchBasedInference): None (off), "auto" (search the split
    #: and grid for the smallest arena within ``patch_max_extra_macs``), or
    #: ``{"split": k, "grid": (rows, cols)}`` / a :class:`PatchConfig` to force one.
    patch: object = None
    #: Extra MACs "auto" may spend on recomputed halos, as a fraction of the model's MACs.
    patch_max_extra_macs: float = 0.2

    def __post_init__(self):
        object.__setattr__(self, "patch", PatchConfig.parse(self.patch))


def build(mod: tvm.IRModule, target: str = "cortex-m7", board: str | None = None, name: str = "model",
          **options) -> Artifact:
    """Compile ``mod`` (as returned by the importers) to C for ``target`` on ``board``."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", name):
        raise TinyTVMError(f"model name '{name}' must be a C identifier (letters, digits, _)")
    target_info = get_target(target)
    board_info = get_board(board, target)
    compiled = plan_model(mod, BuildOptions(**options))
    check_fits(board_info, target_info, compiled.plan, compiled.inputs, compiled.outputs, compiled.lowered)
    generated = emit_model(name, compiled.inputs, compiled.outputs, compiled.lifetimes, compiled.lowered,
                           compiled.plan, compiled.scratch_names)
    layers = [LayerInfo.of(i, layer, low, compiled.plan, compiled.lifetimes, compiled.scratch_names)
              for i, (layer, low) in enumerate(zip(compiled.lifetimes.layers, compiled.lowered))]
    return Artifact(name, target_info, board_info, generated, compiled.plan, compiled.inputs, compiled.outputs,
                    tuple(layers), PatchSummary.of(compiled))


@dataclasses.dataclass(frozen=True)
class ModelPlan:
    """A model after the memory passes: lifetimes, kernel calls and the arena plan (no C yet)."""

    module: tvm.IRModule
    lifetimes: Lifetimes
    lowered: list[LoweredLayer]
    plan: ArenaPlan
    scratch_names: dict[int, str]
    inputs: list[TensorIO]
    outputs: list[TensorIO]
    #: The patch-based configuration chosen by ``patch="auto"`` (with the figures it was chosen on).
    patch_choice: object = None


def optimize_memory(mod: tvm.IRModule, options: BuildOptions) -> tvm.IRModule:
    """The memory passes in order: schedule, patch the first stage, then the in-place rewrites."""
    from ..transform.memory_aware_schedule import MemoryAwareSchedule
    from ..transform.patch_based_inference import PatchBasedInference
    if options.schedule:
        mod = MemoryAwareSchedule()(mod)
    if isinstance(options.patch, PatchConfig):  # on the final order, before in-place decisions
        mod = PatchBasedInference(options.patch.split, options.patch.grid)(mod)
    return apply_in_place(mod, options)


def apply_in_place(mod: tvm.IRModule, options: BuildOptions) -> tvm.IRModule:
    from ..transform.inplace_conv2d import InPlaceConv2D
    from ..transform.inplace_depthwise import InPlaceDepthwise
    from ..transform.inplace_elementwise import InPlaceElementwise
    if options.in_place:  # after scheduling: legality depends on the order
        mod = InPlaceElementwise()(InPlaceConv2D()(InPlaceDepthwise()(mod)))
    return mod


def plan_model(mod: tvm.IRModule, options: BuildOptions) -> ModelPlan:
    """Everything ``build`` decides before emitting C; ``analyze`` reports from the same plan."""
    if options.patch == AUTO_PATCH:
        from ..analysis.patch_search import search_patch
        return search_patch(mod, options)
    return plan_optimized(optimize_memory(mod, options), options)


def plan_optimized(mod: tvm.IRModule, options: BuildOptions) -> ModelPlan:
    """Lowering and arena planning of a module the memory passes have already rewritten."""
    lifetimes = analyze_lifetimes(mod)
    tuning = dict(options.tuning)
    lowered = [lower_stage(layer, f"l{i}") if layer.kernel == PatchStage.KERNEL
               else lower_layer(layer, f"l{i}", dict(tuning.get(i, ())))
               for i, layer in enumerate(lifetimes.layers)]
    plan, scratch_names = plan_memory(lifetimes, lowered, options)
    if options.scratch_aware:
        lowered, (plan, scratch_names) = drop_peak_scratch(
            lifetimes, lowered, (plan, scratch_names), lambda trial: plan_memory(lifetimes, trial, options),
            options.alignment, options.lean_scratch)
    inputs, outputs = model_io(mod, lifetimes)
    return ModelPlan(mod, lifetimes, lowered, plan, scratch_names, inputs, outputs)


def plan_memory(lifetimes: Lifetimes, lowered: list[LoweredLayer], options: BuildOptions):
    timeline = Timeline.of(lowered)
    buffers = [timeline.widen(spec) for storage in lifetimes.arena_storages for spec in storage.specs()]
    scratch_names = {}
    for step, layer in enumerate(lowered):
        if isinstance(layer, LoweredStage):
            buffers += [timeline.within(step, buffer) for buffer in layer.buffers]
        elif layer.scratch_bytes:
            scratch_names[step] = f"scratch{step}"
            buffers.append(timeline.widen(BufferSpec(scratch_names[step], layer.scratch_bytes, step, step)))
    return plan_arena(buffers, options.planner, options.alignment, options.planner_time_limit), scratch_names


@dataclasses.dataclass(frozen=True)
class Timeline:
    """The planner's time axis: one step per layer, or one per tile step of a patched stage (its
    tiles live and die inside one patch; the stage's input and output span all its steps)."""

    starts: tuple[int, ...]  # first time step of each layer, plus the end

    @classmethod
    def of(cls, lowered) -> Timeline:
        starts = [0]
        for layer in lowered:
            starts.append(starts[-1] + (layer.num_steps if isinstance(layer, LoweredStage) else 1))
        return cls(tuple(starts) + (starts[-1] + 1,))  # + the caller reading the outputs

    def widen(self, buffer: BufferSpec) -> BufferSpec:
        return dataclasses.replace(buffer, first=self.starts[buffer.first], last=self.starts[buffer.last + 1] - 1)

    def within(self, step: int, buffer: BufferSpec) -> BufferSpec:
        start = self.starts[step]
        return dataclasses.replace(buffer, first=start + buffer.first, last=start + buffer.last)


def model_io(mod: tvm.IRModule, lifetimes: Lifetimes) -> tuple[list[TensorIO], list[TensorIO]]:
    func = main_function(mod)
    scales = list(func.attrs[INPUT_SCALES_ATTR]) if func.attrs and INPUT_SCALES_ATTR in func.attrs else []
    zero_points = (list(func.attrs[INPUT_ZERO_POINTS_ATTR])
                   if func.attrs and INPUT_ZERO_POINTS_ATTR in func.attrs else [])
    inputs = []
    for k, param in enumerate(func.params):
        scale = float(scales[k]) if k < len(scales) else 0.0
        zero_point = int(zero_points[k]) if k < len(zero_points) else 0
        inputs.append(TensorIO(param.name, tensor_shape(param.ty), tensor_dtype(param.ty), scale, zero_point))
    producers = {layer.var.name: layer for layer in lifetimes.layers}
    outputs = []
    body = func.body.body
    fields = body.fields if isinstance(body, tvm.ir.Tuple) else [body]
    for field, value in zip(fields, lifetimes.outputs):
        record = producers[value].record
        outputs.append(TensorIO(field.name, tensor_shape(field.ty), tensor_dtype(field.ty),
                                float(record.output_scale), int(record.output_zp)))
    return inputs, outputs


def check_fits(board: Board, target: Target, plan: ArenaPlan, inputs, outputs, lowered) -> None:
    """Fail before anything is flashed: SRAM (arena + I/O buffers + stack) and flash (constants)."""
    io_bytes = sum(io.nbytes for io in inputs) + sum(io.nbytes for io in outputs)
    stack = STACK_BYTES if target.is_arm else 0
    sram = plan.size + io_bytes + stack
    if sram > board.sram_bytes:
        raise ResourceLimitError(
            f"the model needs {sram:,} bytes of SRAM (arena {plan.size:,} + inputs/outputs {io_bytes:,} + "
            f"stack {stack:,}) but "
            f"board '{board.name}' has {board.sram_bytes:,}: {sram - board.sram_bytes:,} bytes too many. Use a "
            "board with more SRAM or a smaller model (tinytvm analyze shows where the peak is)")
    weights = sum(layer.constant_bytes for layer in lowered)
    if weights > board.flash_bytes:
        raise ResourceLimitError(
            f"the model's constants need {weights:,} bytes of flash but board '{board.name}' has "
            f"{board.flash_bytes:,}: {weights - board.flash_bytes:,} bytes too many")
