"""Buffers to place in the arena and the lower bound any placement must respect."""

from __future__ import annotations

import dataclasses
from typing import Sequence


@dataclasses.dataclass(frozen=True)
class BufferSpec:
    """A block of ``size`` bytes, alive from step ``first`` to step ``last`` (both inclusive)."""

    name: str
    size: int
    first: int
    last: int

    def __post_init__(self):
        if self.size < 0 or self.first > self.last:
            raise ValueError(f"invalid buffer {self}")

    def overlaps_in_time(self, other: "BufferSpec") -> bool:
        return self.first <= other.last and other.first <= self.last


def lower_bound(buffers: Sequence[BufferSpec]) -> int:
    """The largest total of bytes alive at one step: no arena can be smaller (without aliasing)."""
    if not buffers:
        return 0
    events: dict[int, int] = {}
    for buffer in buffers:
        events[buffer.first] = events.get(buffer.first, 0) + buffer.size
        events[buffer.last + 1] = events.get(buffer.last + 1, 0) - buffer.size
    alive = peak = 0
    for step in sorted(events):
        alive += events[step]
        peak = max(peak, alive)
    return peak
