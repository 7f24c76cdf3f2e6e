"""``tinytvm.build``: integer-only Relax module -> an :class:`Artifact` of AOT C."""

from __future__ import annotations

import dataclasses
import re

import tvm

from ..errors import ResourceLimitError, TinyTVMError
from ..ir.graph import INPUT_SCALES_ATTR, INPUT_ZERO_POINTS_ATTR, main_function, tensor_dtype, tensor_shape
from ..memory.buffers import BufferSpec
from ..memory.liveness import Lifetimes, analyze_lifetimes
from ..memory.plan import ArenaPlan, plan_arena
from ..micro.targets import Board, Target, get_board, get_target
from ..micro.toolchain import STACK_BYTES
from .aot import TensorIO, emit_model
from .artifact import Artifact, LayerInfo
from .lowering import LoweredLayer, lower_layer


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
                    tuple(layers))


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


def optimize_memory(mod: tvm.IRModule, options: BuildOptions) -> tvm.IRModule:
    from ..transform.inplace_depthwise import InPlaceDepthwise
    from ..transform.inplace_elementwise import InPlaceElementwise
    from ..transform.inplace_conv2d import InPlaceConv2D
    from ..transform.memory_aware_schedule import MemoryAwareSchedule
    if options.schedule:
        mod = MemoryAwareSchedule()(mod)
    if options.in_place:  # after scheduling: legality depends on the order
        mod = InPlaceElementwise()(InPlaceConv2D()(InPlaceDepthwise()(mod)))
    return mod


def plan_model(mod: tvm.IRModule, options: BuildOptions) -> ModelPlan:
    """Everything ``build`` decides before emitting C; ``analyze`` reports from the same plan."""
    mod = optimize_memory(mod, options)
    lifetimes = analyze_lifetimes(mod)
    tuning = dict(options.tuning)
    lowered = [lower_layer(layer, f"l{i}", dict(tuning.get(i, ()))) for i, layer in enumerate(lifetimes.layers)]
    plan, scratch_names = plan_memory(lifetimes, lowered, options)
    inputs, outputs = model_io(mod, lifetimes)
    return ModelPlan(mod, lifetimes, lowered, plan, scratch_names, inputs, outputs)


def plan_memory(lifetimes: Lifetimes, lowered: list[LoweredLayer], options: BuildOptions):
    buffers = [storage.spec() for storage in lifetimes.arena_storages]
    scratch_names = {}
    for step, layer in enumerate(lowered):
        if layer.scratch_bytes:
            scratch_names[step] = f"scratch{step}"
            buffers.append(BufferSpec(scratch_names[step], layer.scratch_bytes, step, step))
    return plan_arena(buffers, options.planner, options.alignment, options.planner_time_limit), scratch_names


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
