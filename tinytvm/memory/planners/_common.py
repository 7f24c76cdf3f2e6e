"""Shared pieces of the placement heuristics.

Every heuristic here is "order + fit": visit the placement units in some order and put each at
an offset that is free (for the unit's whole lifetime) among the units placed so far. The fit
is first-fit (lowest free offset, TFLM) or best-fit (smallest free gap that holds the unit,
falling back to the top). Planners see alias-free buffers (``plan_arena`` collapses alias
groups into their roots before calling them), some of them anchored: a unit is a buffer with
the buffers anchored to it (see :mod:`..buffers`), placed together.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Sequence

from ..buffers import BufferSpec, align_up

Fit = Callable[[int, Sequence[tuple[int, int]], int], int]
#: (first, last, offset, end) of every buffer placed so far.
Placed = list[tuple[int, int, int, int]]


@dataclasses.dataclass(frozen=True)
class Unit:
    """What a planner places: an unanchored buffer and the buffers anchored to it.

    ``parts`` pairs each buffer with its offset from the unit's offset (the unanchored buffer
    first, at 0). ``size`` (the highest end of a part), ``first`` and ``last`` are the unit's
    envelope: what the heuristics order by. Most units are one buffer, and then exactly it.
    """

    name: str
    parts: tuple[tuple[BufferSpec, int], ...]
    size: int
    first: int
    last: int


def units(buffers: Sequence[BufferSpec]) -> list[Unit]:
    """The buffers as placement units, in the order of their unanchored buffers. Anchors must name
    an unanchored buffer of ``buffers`` (``plan_arena`` resolves chains before planning)."""
    anchored: dict[str, list[BufferSpec]] = {}
    for buffer in buffers:
        if buffer.anchor is not None:
            anchored.setdefault(buffer.anchor, []).append(buffer)
    result = []
    for buffer in buffers:
        if buffer.anchor is not None:
            continue
        members = anchored.get(buffer.name)
        if not members:
            result.append(Unit(buffer.name, ((buffer, 0),), buffer.size, buffer.first, buffer.last))
            continue
        parts = ((buffer, 0), *((m, m.anchor_offset) for m in members))
        result.append(Unit(buffer.name, parts, max((d + b.size for b, d in parts if b.size), default=0),
                           min(b.first for b, _ in parts), max(b.last for b, _ in parts)))
    return result


def first_fit_offset(size: int, placed: Sequence[tuple[int, int]], alignment: int) -> int:
    """The lowest aligned offset where ``size`` bytes avoid every (offset, end) interval in ``placed``."""
    candidate = 0
    for start, end in sorted(placed):
        if candidate + size <= start:
            break
        candidate = max(candidate, align_up(end, alignment))
    return candidate


def best_fit_offset(size: int, placed: Sequence[tuple[int, int]], alignment: int) -> int:
    """The aligned start of the smallest free gap below the top that holds ``size`` bytes, else the top."""
    best = best_waste = None
    candidate = 0
    for start, end in sorted(placed):
        if candidate + size <= start:
            waste = start - candidate - size
            if best_waste is None or waste < best_waste:
                best, best_waste = candidate, waste
                if waste == 0:
                    return best
        candidate = max(candidate, align_up(end, alignment))
    return candidate if best is None else best


def blocked(unit: Unit, placed: Placed) -> list[tuple[int, int]]:
    """The intervals ``unit.size`` bytes at the unit's offset must avoid, so that the fits above
    place units like plain buffers.

    A part ``(b, d)`` is alive with a placed ``(o, e)``: the unit's offset ``k`` is free of it iff
    ``k + d + b.size <= o`` or ``k + d >= e``, i.e. iff ``[k, k + unit.size)`` avoids
    ``(o - d - b.size + unit.size, e - d)``. For a one-buffer unit that is ``(o, e)`` itself.
    """
    intervals: list[tuple[int, int]] = []
    for buffer, delta in unit.parts:
        if buffer.size:
            first, last, low, high = buffer.first, buffer.last, unit.size - delta - buffer.size, -delta
            intervals += [(o + low, e + high) for f, l, o, e in placed if f <= last and first <= l]
    return intervals


def put(unit: Unit, offset: int, offsets: dict[str, int], placed: Placed) -> None:
    """Record ``unit`` at ``offset``: every part at its own offset, the non-empty ones in ``placed``."""
    for buffer, delta in unit.parts:
        offsets[buffer.name] = offset + delta
        if buffer.size:
            placed.append((buffer.first, buffer.last, offset + delta, offset + delta + buffer.size))


def place_in_order(order: Iterable[Unit], alignment: int, fit: Fit = first_fit_offset) -> dict[str, int]:
    """Offsets from placing ``order`` one by one with ``fit`` against the units alive at the same time."""
    offsets: dict[str, int] = {}
    placed: Placed = []
    for unit in order:
        put(unit, fit(unit.size, blocked(unit, placed), alignment) if unit.size else 0, offsets, placed)
    return offsets


def arena_size(buffers: Sequence[BufferSpec], offsets: dict[str, int], alignment: int) -> int:
    return align_up(max((offsets[b.name] + b.size for b in buffers), default=0), alignment)


def compact(buffers: Sequence[BufferSpec], offsets: dict[str, int]) -> dict[str, int]:
    """Drop every unit as low as the units below it allow ("gravity"); no offset grows.

    Every pair of parts alive at the same time keeps its order (which one is below), so the
    result is valid; the lowest offsets with those orders are longest paths over the pairs, so
    every unit's offset becomes 0 or a sum of sizes and anchor offsets (a multiple of their gcd).
    Units are relaxed by offset: without anchors every pair points upwards and one sweep suffices.
    """
    order = sorted(units(buffers), key=lambda u: (offsets[u.name], u.name))
    parts = [(i, buffer, delta) for i, unit in enumerate(order) for buffer, delta in unit.parts if buffer.size]
    below = []  # (lower unit, upper unit, least distance between their offsets)
    for n, (i, a, a_delta) in enumerate(parts):
        for j, b, b_delta in parts[n + 1:]:
            if i != j and a.overlaps_in_time(b):
                if offsets[a.name] < offsets[b.name]:
                    below.append((i, j, a_delta + a.size - b_delta))
                else:
                    below.append((j, i, b_delta + b.size - a_delta))
    base = [0] * len(order)
    for _ in range(len(order) + 1):  # a longest path visits each unit once: a later pass changes nothing
        changed = False
        for lower, upper, distance in below:
            if base[lower] + distance > base[upper]:
                base[upper], changed = base[lower] + distance, True
        if not changed:
            break
    else:
        raise ValueError("compact needs a valid plan (its pairs form a cycle that cannot be met)")
    result: dict[str, int] = {}
    for unit, offset in zip(order, base):
        put(unit, offset, result, [])
    return result


def aligned(buffers: Sequence[BufferSpec], alignment: int) -> list[BufferSpec]:
    """The buffers with sizes rounded up to ``alignment``: placing these with any planner and then
    the real sizes at the same offsets gives the same arena (nothing else can start in the padding)."""
    if alignment == 1 or all(b.size % alignment == 0 for b in buffers):
        return list(buffers)
    return [dataclasses.replace(b, size=align_up(b.size, alignment)) for b in buffers]
