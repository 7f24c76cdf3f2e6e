"""The record of a patched stage: ``lv = stage_fn(x)`` where ``stage_fn`` runs patch by patch.

:class:`~tinytvm.transform.PatchBasedInference` moves the first, high-resolution operators of
``main`` into a private Relax function carrying :data:`PATCH_GRID_ATTR` and calls it from
``main``. The stage function holds the operators at full resolution (it is still a correct
program); the attribute tells code generation and the reference executor to run it on one
output patch at a time (:mod:`tinytvm.analysis.receptive_field`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ..analysis.receptive_field import Patch
    from .graph import Layer

#: Function attribute ``[rows, cols]``: run this function patch by patch on that output grid.
PATCH_GRID_ATTR = "tinytvm.patch_grid"


@dataclasses.dataclass(frozen=True, eq=False)
class PatchStage:
    """Operators run patch by patch; ``layers`` are the stage function's operators in order."""

    KERNEL: ClassVar[str] = "patch_stage"

    function: str
    grid: tuple[int, int]
    layers: tuple[Layer, ...]
    input_name: str
    output_name: str
    #: The patches, when the caller already has them (otherwise derived from the grid on first use).
    given_patches: list[Patch] | None = None

    @functools.cached_property
    def output_layer(self) -> Layer:
        return next(layer for layer in self.layers if layer.var.name == self.output_name)

    @property
    def output_scale(self) -> float:
        return self.output_layer.record.output_scale

    @property
    def output_zp(self) -> int:
        return self.output_layer.record.output_zp

    @functools.cached_property
    def patches(self) -> list[Patch]:
        from ..analysis.receptive_field import stage_patches
        if self.given_patches is not None:
            return self.given_patches
        return stage_patches(list(self.layers), self.input_name, self.output_name, self.grid)

    @functools.cached_property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Full-resolution shape of every stage value (input included)."""
        shapes = {layer.var.name: layer.out_shape for layer in self.layers}
        for layer in self.layers:
            for arg, shape in zip(layer.call.args, layer.in_shapes):
                if arg in layer.activation_inputs:
                    shapes.setdefault(arg.name, shape)
        return shapes

    @functools.cached_property
    def patched_macs(self) -> int:
        from ..analysis.receptive_field import patched_macs
        return patched_macs(list(self.layers), self.patches)

    @property
    def per_layer_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def macs(self, in_shapes: Sequence[tuple[int, ...]] = (), out_shape: tuple[int, ...] = ()) -> int:
        return self.patched_macs

    @property
    def weight_bytes(self) -> int:
        return sum(layer.weight_bytes for layer in self.layers)

    @property
    def num_patches(self) -> int:
        return math.prod(self.grid)
