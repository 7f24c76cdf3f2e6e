"""Arena plans and the planners that make them.

A plan assigns each buffer an offset in one arena such that buffers alive at the same
step never share a byte. Planners are interchangeable functions
``(buffers, alignment) -> offsets``; :func:`plan_arena` runs one and checks the result.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

from .buffers import BufferSpec, lower_bound

Planner = Callable[[Sequence[BufferSpec], int], dict[str, int]]


def align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


@dataclasses.dataclass(frozen=True)
class ArenaPlan:
    buffers: tuple[BufferSpec, ...]
    offsets: dict[str, int]
    size: int
    lower_bound: int
    planner: str

    @property
    def gap(self) -> int:
        """Bytes above the lower bound."""
        return self.size - self.lower_bound

    def offset(self, name: str) -> int:
        return self.offsets[name]

    def conflicts(self) -> list[tuple[str, str]]:
        """Pairs of buffers alive at the same time whose bytes overlap (empty for a valid plan)."""
        found = []
        ordered = sorted(self.buffers, key=lambda b: self.offsets[b.name])
        for i, a in enumerate(ordered):
            a_end = self.offsets[a.name] + a.size
            for b in ordered[i + 1:]:
                if self.offsets[b.name] >= a_end:
                    break
                if a.size and b.size and a.overlaps_in_time(b):
                    found.append((a.name, b.name))
        return found


def first_fit_offset(size: int, placed: Sequence[tuple[int, int]], alignment: int) -> int:
    """The lowest aligned offset where ``size`` bytes avoid every (offset, end) interval in ``placed``."""
    candidate = 0
    for start, end in sorted(placed):
        if candidate + size <= start:
            break
        candidate = max(candidate, align_up(end, alignment))
    return candidate


def greedy_by_size(buffers: Sequence[BufferSpec], alignment: int) -> dict[str, int]:
    """TFLM's planner: largest buffers first, each at the lowest offset free during its lifetime."""
    offsets: dict[str, int] = {}
    placed: list[BufferSpec] = []
    for buffer in sorted(buffers, key=lambda b: (-b.size, b.first, b.name)):
        intervals = [(offsets[p.name], offsets[p.name] + p.size) for p in placed if p.overlaps_in_time(buffer)]
        offsets[buffer.name] = first_fit_offset(buffer.size, intervals, alignment)
        placed.append(buffer)
    return offsets


PLANNERS: dict[str, Planner] = {"greedy_by_size": greedy_by_size}


def plan_arena(buffers: Sequence[BufferSpec], planner: str = "greedy_by_size", alignment: int = 8) -> ArenaPlan:
    """Place ``buffers`` with the named planner; the result is checked for overlaps."""
    if planner not in PLANNERS:
        raise ValueError(f"unknown planner '{planner}'; available: {', '.join(sorted(PLANNERS))}")
    names = [b.name for b in buffers]
    if len(set(names)) != len(names):
        raise ValueError("buffer names must be unique")
    offsets = PLANNERS[planner](buffers, alignment)
    size = max((offsets[b.name] + b.size for b in buffers), default=0)
    plan = ArenaPlan(tuple(buffers), offsets, align_up(size, alignment), lower_bound(buffers), planner)
    if plan.conflicts():
        raise AssertionError(f"planner {planner} produced overlapping buffers: {plan.conflicts()[:3]}")
    return plan
