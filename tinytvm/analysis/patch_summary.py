"""The patch-based configuration of a compiled model, as reported by analyze and metadata.json."""

from __future__ import annotations

import dataclasses

from ..ir.patch_stage import PatchStage


@dataclasses.dataclass(frozen=True)
class PatchSummary:
    """Which operators run patch by patch, on which grid, and what the recomputation costs."""

    split: int                       # operators in the patched stage
    grid: tuple[int, int]            # (rows, cols) of output patches
    stage_output: str
    tile_bytes: int                  # the largest per-patch tile, for orientation
    model_macs: int                  # the whole model, per-layer
    extra_macs: int                  # recomputed halos
    #: Set by ``patch="auto"``: the per-layer arena it compared against and the candidates it weighed.
    per_layer_arena_bytes: int | None = None
    candidates: int | None = None
    max_extra_macs: float | None = None

    @property
    def extra_macs_ratio(self) -> float:
        return self.extra_macs / self.model_macs if self.model_macs else 0.0

    @classmethod
    def of(cls, compiled) -> PatchSummary | None:
        """The summary of a :class:`~tinytvm.codegen.build.ModelPlan` (None if nothing is patched)."""
        stages = [(layer, low) for layer, low in zip(compiled.lifetimes.layers, compiled.lowered)
                  if isinstance(layer.record, PatchStage)]
        if not stages:
            return None
        (layer, lowered), = stages
        stage: PatchStage = layer.record
        model_macs = sum(s.record.per_layer_macs if isinstance(s.record, PatchStage) else s.macs
                         for s in compiled.lifetimes.layers)
        choice = compiled.patch_choice
        auto = {} if choice is None else {"per_layer_arena_bytes": choice.per_layer_arena_bytes,
                                         "candidates": choice.candidates, "max_extra_macs": choice.max_extra_macs}
        tiles = max((b.size for b in lowered.buffers if ".tile." in b.name), default=0)
        return cls(len(stage.layers), stage.grid, stage.output_name, tiles, model_macs,
                   stage.patched_macs - stage.per_layer_macs, **auto)

    def describe(self) -> str:
        text = (f"patch-based: first {self.split} operators on a {self.grid[0]}x{self.grid[1]} grid "
                f"(output {self.stage_output}), +{self.extra_macs:,} MACs ({self.extra_macs_ratio:.1%})")
        if self.per_layer_arena_bytes is not None:
            text += f"; per-layer arena {self.per_layer_arena_bytes:,} B"
        return text
