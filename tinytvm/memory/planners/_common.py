"""Shared pieces of the placement heuristics.

Every heuristic here is "order + fit": visit the buffers in some order and put each at an
offset that is free (for the buffer's whole lifetime) among the buffers placed so far. The
fit is first-fit (lowest free offset, TFLM) or best-fit (smallest free gap that holds the
buffer, falling back to the top). Planners see alias-free buffers (``plan_arena`` collapses
alias groups into their roots before calling them).
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from ..buffers import BufferSpec, align_up

Fit = Callable[[int, Sequence[tuple[int, int]], int], int]


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


def place_in_order(order: Iterable[BufferSpec], alignment: int, fit: Fit = first_fit_offset) -> dict[str, int]:
    """Offsets from placing ``order`` one by one with ``fit`` against the buffers alive at the same time."""
    offsets: dict[str, int] = {}
    placed: list[tuple[int, int, int, int]] = []  # (first, last, offset, end)
    for buffer in order:
        if not buffer.size:
            offsets[buffer.name] = 0
            continue
        first, last = buffer.first, buffer.last
        intervals = [(o, e) for f, l, o, e in placed if f <= last and first <= l]
        offset = fit(buffer.size, intervals, alignment)
        offsets[buffer.name] = offset
        placed.append((first, last, offset, offset + buffer.size))
    return offsets


def arena_size(buffers: Sequence[BufferSpec], offsets: dict[str, int], alignment: int) -> int:
    return align_up(max((offsets[b.name] + b.size for b in buffers), default=0), alignment)


def compact(buffers: Sequence[BufferSpec], offsets: dict[str, int]) -> dict[str, int]:
    """Drop every buffer as low as the buffers below it allow ("gravity"); no offset grows.

    Buffers are visited by offset; each lands on the highest end of the already-visited
    buffers it shares a step with. Relative order of conflicting pairs is kept, so the result
    is valid, and every offset becomes 0 or a sum of sizes (a multiple of their gcd).
    """
    result: dict[str, int] = {}
    done: list[tuple[int, int, int]] = []  # (first, last, end)
    for buffer in sorted(buffers, key=lambda b: (offsets[b.name], b.name)):
        if not buffer.size:
            result[buffer.name] = 0
            continue
        offset = max((e for f, l, e in done if f <= buffer.last and buffer.first <= l), default=0)
        result[buffer.name] = offset
        done.append((buffer.first, buffer.last, offset + buffer.size))
    return result


def aligned(buffers: Sequence[BufferSpec], alignment: int) -> list[BufferSpec]:
    """The buffers with sizes rounded up to ``alignment``: placing these with any planner and then
    the real sizes at the same offsets gives the same arena (nothing else can start in the padding)."""
    if alignment == 1 or all(b.size % alignment == 0 for b in buffers):
        return list(buffers)
    return [BufferSpec(b.name, align_up(b.size, alignment), b.first, b.last) for b in buffers]
