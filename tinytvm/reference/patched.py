"""Reference execution of a patched stage: the stage output computed one grid patch at a time.

Each operator runs on tiles with the padding :mod:`tinytvm.analysis.receptive_field` derived
for the patch, so this checks the receptive-field geometry itself against per-layer execution
(and the generated C is checked against this).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..analysis.receptive_field import Patch, Window, tile_shape
from ..ir.graph import Layer, tensor_dtype
from ..ir.patch_stage import PatchStage


def run_stage(stage: PatchStage, data: np.ndarray, kernels: dict[str, Callable]) -> np.ndarray:
    output = np.empty(stage.shapes[stage.output_name], dtype=np.int8)
    for patch in stage.patches:
        window = patch.windows[stage.output_name]
        tiles = {stage.input_name: _crop(data, patch.windows[stage.input_name], None)}
        for position, layer in enumerate(stage.layers):
            tiles[layer.var.name] = _run_layer(position, layer, patch, tiles, kernels)
        output[:, window.rows.start:window.rows.stop, window.cols.start:window.cols.stop] = tiles[stage.output_name]
    return output


def _crop(tile: np.ndarray, window: Window, tile_window: Window | None) -> np.ndarray:
    top, left = window.relative_to(tile_window) if tile_window else (window.rows.start, window.cols.start)
    return tile[:, top:top + window.rows.size, left:left + window.cols.size]


def _run_layer(position: int, layer: Layer, patch: Patch, tiles: dict, kernels) -> np.ndarray:
    operands = []
    for k, arg in enumerate(layer.call.args):
        if (position, k) in patch.reads:
            operands.append(_crop(tiles[arg.name], patch.reads[(position, k)], patch.windows[arg.name]))
        else:
            operands.append(arg.value.numpy())
    record = with_patch_padding(layer, patch.padding.get(position))
    shape = tile_shape(layer, patch.windows[layer.var.name])
    return kernels[layer.kernel](record, operands, shape, tensor_dtype(layer.call.ty))


def with_patch_padding(layer: Layer, padding: tuple[int, int, int, int] | None):
    """``layer``'s record with the padding one patch sees (only at the image border)."""
    if padding is None:
        return layer.record
    if layer.kernel == "pad":
        top, left, bottom, right = padding
        return layer.record.replace(padding=(0, 0, top, bottom, left, right, 0, 0))
    return layer.record.replace(padding=padding)
