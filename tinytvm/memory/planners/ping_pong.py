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
from ._common import first_fit_offset


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
    placed: list[tuple[int, int, int, int]] = []  # (first, last, offset, end)
    from_top = False
    for buffer in sorted(buffers, key=lambda b: (b.first, -b.size, b.last, b.name)):
        if not buffer.size:
            offsets[buffer.name] = 0
            continue
        intervals = [(o, e) for f, l, o, e in placed if f <= buffer.last and buffer.first <= l]
        bottom = first_fit_offset(buffer.size, intervals, alignment)
        top = top_fit_offset(buffer.size, intervals, alignment, limit)
        bottom_fits = bottom + buffer.size <= limit
        if top is not None and (from_top or not bottom_fits):
            offset, from_top = top, False  # next one from the bottom
        else:
            offset, from_top = bottom, True
        offsets[buffer.name] = offset
        placed.append((buffer.first, buffer.last, offset, offset + buffer.size))
    return offsets
