"""Ping-pong: allocation in schedule order from both ends of the arena.

In a chain (each layer reads the previous output and writes a new one) the optimal plan puts
consecutive activations at opposite ends of an arena as big as the largest adjacent pair; a
bottom-up allocator instead drifts when a small bottleneck tensor breaks the alternation
(e.g. an MLP 128 -> 8 -> 128 bytes: every bottom-up heuristic ends 8 bytes above the bound).
This planner aims at an arena of the lower bound ``T``: buffers, by start step, alternate
between the lowest free offset and the highest free offset that still ends within ``T``;
when the preferred end has no room within ``T`` the other end is tried, and when neither has,
the lowest free offset (growing the arena).
"""

from __future__ import annotations

from typing import Sequence

from ..buffers import BufferSpec, lower_bound
from ._common import Placed, blocked, first_fit_offset, put, units


def top_fit_offset(size: int, placed: Sequence[tuple[int, int]], alignment: int, limit: int) -> int | None:
    """The highest aligned offset where ``size`` bytes avoid ``placed`` and end by ``limit``, or None."""
    top = limit
    for start, end in sorted(placed, key=lambda interval: -interval[1]):
        offset = (top - size) // alignment * alignment
        if offset < 0:
            return None
        if offset >= end:
            return offset
        top = min(top, start)
    offset = (top - size) // alignment * alignment
    return offset if offset >= 0 else None


def ping_pong(buffers: Sequence[BufferSpec], alignment: int) -> dict[str, int]:
    limit = lower_bound(buffers, alignment)
    offsets: dict[str, int] = {}
    placed: Placed = []
    from_top = False
    for unit in sorted(units(buffers), key=lambda u: (u.first, -u.size, u.last, u.name)):
        if not unit.size:
            put(unit, 0, offsets, placed)
            continue
        intervals = blocked(unit, placed)
        bottom = first_fit_offset(unit.size, intervals, alignment)
        top = top_fit_offset(unit.size, intervals, alignment, limit)
        bottom_fits = bottom + unit.size <= limit
        if top is not None and (from_top or not bottom_fits):
            offset, from_top = top, False  # next one from the bottom
        else:
            offset, from_top = bottom, True
        put(unit, offset, offsets, placed)
    return offsets
