"""Per-step rows of a memory report: what is alive in the arena at each step of the plan.

A patched stage contributes one row per tile step (load, crop, operator, store: the body of
the patch loop), so the memory-over-layers figure shows the small per-patch footprint where
per-layer execution has its peak. Alive bytes are read off the arena plan itself (every
buffer, scratch and tiles included, an alias group counted once), so they are the bytes the
planner had to fit at that step.
"""

from __future__ import annotations

import dataclasses

from ..codegen.build import ModelPlan, Timeline
from ..codegen.patch_loop import LoweredStage, TileStep
from ..memory.buffers import alias_groups
from .receptive_field import layer_patched_macs


@dataclasses.dataclass(frozen=True)
class LayerMemory:
    index: int                # the layer (in main) this row belongs to
    kernel: str
    output: str
    in_shapes: tuple[tuple[int, ...], ...]
    out_shape: tuple[int, ...]  # for a tile step: the largest tile
    macs: int                 # for a tile step: over all patches
    weight_bytes: int
    scratch_bytes: int
    alive_bytes: int          # arena bytes alive during this step (buffers and scratch)
    alive: tuple[str, ...]    # the arena buffers alive during this step
    #: "" for a layer; "load", "crop", "compute" or "store" for a step of a patched stage's loop.
    tile_step: str = ""


def memory_rows(compiled: ModelPlan) -> tuple[LayerMemory, ...]:
    timeline = Timeline.of(compiled.lowered)
    alive = _alive_by_step(compiled, timeline.starts[-1])
    rows = []
    for index, (layer, lowered) in enumerate(zip(compiled.lifetimes.layers, compiled.lowered)):
        start = timeline.starts[index]
        if isinstance(lowered, LoweredStage):
            rows += [_tile_row(index, step, lowered, alive[start + k]) for k, step in enumerate(lowered.steps)]
            continue
        names, alive_bytes = alive[start]
        rows.append(LayerMemory(index, layer.kernel, layer.var.name, tuple(layer.in_shapes), layer.out_shape,
                                layer.macs, lowered.constant_bytes, lowered.scratch_bytes, alive_bytes, names))
    return tuple(rows)


def _alive_by_step(compiled: ModelPlan, steps: int) -> list[tuple[tuple[str, ...], int]]:
    """(buffer names, bytes) alive at each planner step; an alias group counts once, as its block."""
    names: list[list[str]] = [[] for _ in range(steps)]
    sizes = [0] * steps
    for block in alias_groups(compiled.plan.buffers).roots:
        for step in range(block.first, min(block.last, steps - 1) + 1):
            names[step].append(block.name)
            sizes[step] += block.size
    return [(tuple(sorted(n)), s) for n, s in zip(names, sizes)]


def _tile_row(index: int, step: TileStep, lowered: LoweredStage, alive) -> LayerMemory:
    stage = lowered.stage
    names, alive_bytes = alive
    if step.kind != "compute":
        tile = step.writes if step.kind != "store" else step.reads[0]
        shape = _largest_tile(stage, tile, step)
        return LayerMemory(index, "copy_window", tile, (), shape, 0, 0, 0, alive_bytes, names, step.kind)
    layer = stage.layers[step.position]
    low = lowered.layers[step.position]
    scratch = next((b.size for b in lowered.buffers if b.name.endswith(f".scratch.{step.position}")), 0)
    macs = layer_patched_macs(layer, stage.patches)
    return LayerMemory(index, layer.kernel, layer.var.name, tuple(layer.in_shapes),
                       _largest_tile(stage, layer.var.name, step), macs, low.constant_bytes, scratch, alive_bytes,
                       names, "compute")


def _largest_tile(stage, value: str, step: TileStep) -> tuple[int, ...]:
    if step.kind == "crop":
        windows = [p.reads[(step.position, step.operand)] for p in stage.patches]
        channels = stage.shapes[step.reads[0]][3]
    else:
        windows = [p.windows[value] for p in stage.patches]
        channels = stage.shapes[value][3]
    return (1, max(w.rows.size for w in windows), max(w.cols.size for w in windows), channels)
