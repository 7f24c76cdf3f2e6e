"""Allocation in schedule order, like ``malloc``/``free`` replayed ahead of time.

Buffers are visited by start step (larger first within a step) and put in a free gap among
the buffers still alive then: ``first_fit_by_start`` takes the lowest, ``best_fit_by_start``
the smallest gap that holds the buffer (else the top). This is what a run-time allocator
would do, so it is a good baseline and often wins on long chains with skips.
"""

from __future__ import annotations

from typing import Sequence

from ..buffers import BufferSpec
from ._common import Unit, best_fit_offset, first_fit_offset, place_in_order, units


def _by_start(buffers: Sequence[BufferSpec]) -> list[Unit]:
    return sorted(units(buffers), key=lambda u: (u.first, -u.size, u.last, u.name))


def first_fit_by_start(buffers: Sequence[BufferSpec], alignment: int) -> dict[str, int]:
    return place_in_order(_by_start(buffers), alignment, first_fit_offset)


def best_fit_by_start(buffers: Sequence[BufferSpec], alignment: int) -> dict[str, int]:
    return place_in_order(_by_start(buffers), alignment, best_fit_offset)
