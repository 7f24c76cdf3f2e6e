"""``patch="auto"``: choose the patched stage (split point and grid) from exact memory figures.

Every legal split (:func:`~tinytvm.transform.patch_based_inference.split_candidates`) is paired
with square and near-square grids. Candidates whose recomputed halos cost more than the MAC
budget are dropped from the receptive fields alone (integers, no planning). The rest are ranked
by a cheap estimate - the per-layer peak after the split, or the stage output plus the largest
input + output tile pair - and the best few are planned exactly, as ``build`` would (in-place
passes, lowering, arena planner). The smallest arena wins (fewer extra MACs on a tie); if no
candidate beats per-layer execution, the model is not patched.
"""

from __future__ import annotations

import dataclasses

import tvm

from ..codegen.build import (
    BuildOptions,
    ModelPlan,
    PatchConfig,
    apply_in_place,
    plan_optimized,
)
from ..codegen.patch_loop import tile_buffers
from ..ir.graph import Layer, layers
from ..ir.patch_stage import PatchStage
from ..memory.buffers import lower_bound
from .receptive_field import patched_macs, stage_patches

#: Largest patch grid side tried; more patches only add recomputation once tiles are small.
MAX_GRID = 8
#: Candidates planned exactly, best estimates first.
EXACT_CANDIDATES = 6


@dataclasses.dataclass(frozen=True)
class PatchChoice:
    """What ``patch="auto"`` chose, and the figures it chose on."""

    config: PatchConfig | None          # None: per-layer execution was already the smallest
    arena_bytes: int
    per_layer_arena_bytes: int
    model_macs: int                     # per-layer MACs of the whole model
    extra_macs: int                     # recomputed by the chosen configuration
    max_extra_macs: float
    evaluated: tuple[tuple[PatchConfig, int], ...]  # (candidate, exact arena bytes)
    candidates: int                     # candidates within the MAC budget


@dataclasses.dataclass(frozen=True)
class _Candidate:
    config: PatchConfig
    extra_macs: int
    estimate: int


def search_patch(mod: tvm.IRModule, options: BuildOptions) -> ModelPlan:
    from ..transform.memory_aware_schedule import MemoryAwareSchedule
    from ..transform.patch_based_inference import PatchBasedInference, split_candidates

    scheduled = MemoryAwareSchedule()(mod) if options.schedule else mod
    per_layer_options = dataclasses.replace(options, patch=None)
    baseline = plan_optimized(apply_in_place(scheduled, options), per_layer_options)
    model_macs = sum(layer.macs for layer in baseline.lifetimes.layers)
    budget = options.patch_max_extra_macs * model_macs
    alive = _alive_per_layer(baseline)
    layer_list = layers(scheduled)
    candidates = []
    for split in split_candidates(scheduled):
        found = _grid_candidates(scheduled, layer_list, split, alive, budget)
        if not found and candidates:
            break  # deeper stages only widen the receptive fields: every grid is over budget from here on
        candidates += found
    candidates.sort(key=lambda c: (c.estimate, c.extra_macs, c.config.split, c.config.grid))

    best, best_key, evaluated = baseline, (baseline.plan.size, 0), []
    quick = dataclasses.replace(options, patch=None, planner_time_limit=0)
    for candidate in candidates[:EXACT_CANDIDATES]:
        patched = PatchBasedInference(candidate.config.split, candidate.config.grid)(scheduled)
        plan = plan_optimized(apply_in_place(patched, options), quick)
        evaluated.append((candidate.config, plan.plan.size))
        key = (plan.plan.size, candidate.extra_macs)
        if key < best_key:
            best, best_key, chosen = plan, key, candidate
    if best is baseline:
        choice = PatchChoice(None, baseline.plan.size, baseline.plan.size, model_macs, 0,
                             options.patch_max_extra_macs, tuple(evaluated), len(candidates))
        return dataclasses.replace(baseline, patch_choice=choice)
    final = plan_optimized(best.module, dataclasses.replace(options, patch=None))  # full planner time
    choice = PatchChoice(chosen.config, final.plan.size, baseline.plan.size, model_macs, chosen.extra_macs,
                         options.patch_max_extra_macs, tuple(evaluated), len(candidates))
    return dataclasses.replace(final, patch_choice=choice)


def _alive_per_layer(plan: ModelPlan) -> list[int]:
    """Arena bytes alive at each layer of a per-layer plan (storages and that layer's scratch)."""
    alive = plan.lifetimes.alive_bytes()
    for step, lowered in enumerate(plan.lowered):
        alive[step] += lowered.scratch_bytes
    return alive


def grids(rows: int, cols: int) -> list[tuple[int, int]]:
    """Square and near-square grids with 2 to MAX_GRID patches per side, within the output size."""
    found = set()
    for n in range(2, MAX_GRID + 1):
        for grid in ((n, n), (n, n - 1), (n - 1, n)):
            if 1 <= grid[0] <= rows and 1 <= grid[1] <= cols and grid != (1, 1):
                found.add(grid)
    return sorted(found)


def _grid_candidates(mod: tvm.IRModule, layer_list: list[Layer], split: int, alive: list[int],
                     budget: float) -> list[_Candidate]:
    from ..transform.patch_based_inference import stage_boundary
    stage = layer_list[:split]
    source_var, output = stage_boundary(mod, split, layer_list)
    source = source_var.name
    rest_peak = max(alive[split:], default=0)
    stage_macs = sum(layer.macs for layer in stage)
    result = []
    for grid in grids(*output.out_shape[1:3]):
        patches = stage_patches(stage, source, output.var.name, grid)
        extra = patched_macs(stage, patches) - stage_macs
        if extra > budget:
            continue
        tiles = tile_buffers(PatchStage("", grid, tuple(stage), source, output.var.name, patches))
        estimate = max(rest_peak, output.output_bytes + lower_bound(tiles))
        result.append(_Candidate(PatchConfig(split, grid), extra, estimate))
    return result

