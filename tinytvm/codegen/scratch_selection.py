"""Memory-aware choice of kernel paths: less scratch where the scratch raises the arena.

Kernel knobs trade scratch for speed (``conv2d.h``, ``depthwise_conv2d.h``):

* a 1x1 convolution on the 1X1 path stages input pixels as int16 columns; 1X1_DIRECT widens them on
  the fly and needs none, but re-widens every input word once per channel pair (faster on narrow
  inputs, up to ~20% slower on wide ones). In-place convolutions keep the column paths (their
  aliasing rule relies on the staging).
* With ``slower=True`` (``BuildOptions.lean_scratch``) also: column paths stage one pixel instead
  of two (``px_unroll`` 1, ~2-3x slower layers) and depthwise ROWS buffers one channel instead of
  four (``ch_block`` 1, ~1.4x slower): for models that must fit, not the default.

A layer switches to its leaner variant only where its scratch is what raises the arena: where it lifts
the lower bound above the bound of everything else (storages and the scratch of the other kernels and
of the other switchable layers). The model is then planned again, and the switch is kept only if the
arena shrinks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..memory.buffers import align_up, alive_profile
from ..memory.liveness import Lifetimes
from ..memory.plan import ArenaPlan
from . import scratch
from .c_syntax import CStruct
from .lowering import LoweredLayer

#: An arena plan and the name of each layer's scratch buffer in it (``build.plan_memory``).
Planned = tuple[ArenaPlan, dict[int, str]]


def drop_peak_scratch(lifetimes: Lifetimes, lowered: list[LoweredLayer], planned: Planned,
                      replan: Callable[[list[LoweredLayer]], Planned],
                      alignment: int, slower: bool = False) -> tuple[list[LoweredLayer], Planned]:
    """``lowered`` and ``planned`` with the layers whose scratch raises the arena on their leaner variant.

    ``replan`` plans a lowering the way ``planned`` was planned (with ``alignment``). Returns the inputs
    unchanged when no scratch raises the bound or the new plan is not smaller.
    """
    plan, scratch_names = planned
    leaner = {step: _leaner(lifetimes, lowered, step, slower) for step in scratch_names}
    switchable = {scratch_names[step] for step, layer in leaner.items() if layer is not None}
    alive = alive_profile([buffer for buffer in plan.buffers if buffer.name not in switchable], alignment)
    bound = max(alive, default=0)
    raising = {buffer.name for buffer in plan.buffers if buffer.name in switchable
               and max(alive[buffer.first:buffer.last + 1], default=0) + align_up(buffer.size, alignment) > bound}
    if not raising:
        return lowered, planned
    trial = [leaner[step] if scratch_names.get(step) in raising else layer for step, layer in enumerate(lowered)]
    replanned = replan(trial)
    return (trial, replanned) if replanned[0].size < plan.size else (lowered, planned)


def _leaner(lifetimes: Lifetimes, lowered: list[LoweredLayer], step: int, slower: bool) -> LoweredLayer | None:
    """The layer on a variant with less scratch, or None if it has none (or only slow ones, unless ``slower``)."""
    layer = lowered[step]
    if layer.function == "tinytvm_conv2d_s8":
        if not getattr(lifetimes.layers[step].record, "in_place", False):
            variant = {**layer.params.fields, "impl": scratch.CONV_1X1_DIRECT}
            if scratch.conv2d_resolve_impl(variant) == scratch.CONV_1X1_DIRECT:
                return _with(layer, variant, scratch.conv2d)
        return _smaller(layer, {**layer.params.fields, "px_unroll": 1}, scratch.conv2d) if slower else None
    if layer.function == "tinytvm_depthwise_conv2d_s8" and slower:
        return _smaller(layer, {**layer.params.fields, "ch_block": 1}, scratch.depthwise_conv2d)
    return None


def _smaller(layer: LoweredLayer, fields: dict, scratch_bytes) -> LoweredLayer | None:
    return _with(layer, fields, scratch_bytes) if scratch_bytes(fields) < layer.scratch_bytes else None


def _with(layer: LoweredLayer, fields: dict, scratch_bytes) -> LoweredLayer:
    return dataclasses.replace(layer, params=CStruct(fields), scratch_bytes=scratch_bytes(fields))
