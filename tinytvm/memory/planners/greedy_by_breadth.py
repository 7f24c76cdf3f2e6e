"""Greedy by breadth and by conflicts: the most crowded parts of the schedule first.

``greedy_by_breadth`` (Pisarchyk & Lee, "Efficient Memory Management for Deep Neural Net
Inference", 2020, TFLite GPU) visits steps by *breadth* - total bytes alive at the step -
largest first, and places the not-yet-placed buffers alive there, largest first. The peak
step is packed tightly before anything else can fragment it.

``greedy_by_conflicts`` (TVM USMP's ``greedy_by_conflicts``, weighted by bytes) orders buffers
by conflict degree: their size plus the bytes of every buffer alive at the same time as them.

``greedy_by_lifetime`` places long-lived buffers first (then larger): they end up at the
bottom, and short-lived ones reuse the space above them.
"""

from __future__ import annotations

from typing import Sequence

from ..buffers import BufferSpec
from ._common import Unit, first_fit_offset, place_in_order, units


def greedy_by_breadth(buffers: Sequence[BufferSpec], alignment: int) -> dict[str, int]:
    breadth: dict[int, int] = {}
    alive: dict[int, list[Unit]] = {}
    for unit in units(buffers):
        for buffer, _ in unit.parts:
            for step in range(buffer.first, buffer.last + 1):
                breadth[step] = breadth.get(step, 0) + buffer.size
                alive.setdefault(step, []).append(unit)
    order: list[Unit] = []
    seen: set[str] = set()
    for step in sorted(breadth, key=lambda s: (-breadth[s], s)):
        for unit in sorted(alive[step], key=lambda u: (-u.size, u.first, u.name)):
            if unit.name not in seen:
                seen.add(unit.name)
                order.append(unit)
    return place_in_order(order, alignment, first_fit_offset)


def greedy_by_conflicts(buffers: Sequence[BufferSpec], alignment: int) -> dict[str, int]:
    placeable = units(buffers)
    degree = {u.name: u.size for u in placeable}
    ordered = sorted(placeable, key=lambda u: (u.first, u.name))
    for i, a in enumerate(ordered):  # sweep: only units starting before a ends can overlap it
        for b in ordered[i + 1:]:
            if b.first > a.last:
                break
            degree[a.name] += b.size
            degree[b.name] += a.size
    order = sorted(placeable, key=lambda u: (-degree[u.name], -u.size, u.first, u.name))
    return place_in_order(order, alignment, first_fit_offset)


def greedy_by_lifetime(buffers: Sequence[BufferSpec], alignment: int) -> dict[str, int]:
    order = sorted(units(buffers), key=lambda u: (u.first - u.last, -u.size, u.first, u.name))
    return place_in_order(order, alignment, first_fit_offset)
