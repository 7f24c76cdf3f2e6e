"""Greedy by size: largest buffers first.

``greedy_by_size`` is TFLite Micro's ``GreedyMemoryPlanner``: each buffer, largest first,
goes to the lowest offset free during its lifetime. ``greedy_by_size_best_fit`` (TFLite GPU's
"greedy by size" offset calculation) puts it in the smallest free gap that holds it instead,
keeping big gaps for big later buffers.
"""

from __future__ import annotations

from typing import Sequence

from ..buffers import BufferSpec
from ._common import Unit, best_fit_offset, first_fit_offset, place_in_order, units


def _by_size(buffers: Sequence[BufferSpec]) -> list[Unit]:
    return sorted(units(buffers), key=lambda u: (-u.size, u.first, u.name))


def greedy_by_size(buffers: Sequence[BufferSpec], alignment: int) -> dict[str, int]:
    """TFLM's planner: largest buffers first, each at the lowest offset free during its lifetime."""
    return place_in_order(_by_size(buffers), alignment, first_fit_offset)


def greedy_by_size_best_fit(buffers: Sequence[BufferSpec], alignment: int) -> dict[str, int]:
    """Largest buffers first, each in the smallest free gap that holds it (else on top)."""
    return place_in_order(_by_size(buffers), alignment, best_fit_offset)
