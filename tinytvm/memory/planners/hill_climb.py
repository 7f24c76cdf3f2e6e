"""Hill climbing over placement orders (after TVM USMP's ``hill_climb``).

A plan is decoded from an order of the buffers by first-fit (as in greedy by size). Starting
from the size order, each move takes a buffer that ends at the top of the arena - one that
sets the size - and moves it to an earlier, random position of the order, or swaps two
buffers alive at the same time; the move is kept when the arena does not grow (sideways moves
cross plateaus). The random generator has a fixed seed and the number of decodes is bounded,
so the result is deterministic. Costs ``O(budget * n^2)``: a fallback for when no exact solver
is available, not something ``auto`` runs by default.
"""

from __future__ import annotations

import random
from typing import Sequence

from ..buffers import BufferSpec, lower_bound
from ._common import arena_size, first_fit_offset, place_in_order


def hill_climb(buffers: Sequence[BufferSpec], alignment: int, budget: int | None = None,
               seed: int = 0) -> dict[str, int]:
    live = [b for b in buffers if b.size]
    order = sorted(live, key=lambda b: (-b.size, b.first, b.name))
    target = lower_bound(live, alignment)
    offsets = place_in_order(order, alignment, first_fit_offset)
    size = arena_size(live, offsets, alignment)
    best, best_size = offsets, size
    rng = random.Random(seed)
    budget = max(64, 8 * len(live)) if budget is None else budget
    for _ in range(budget):
        if best_size <= target or len(order) < 2:
            break
        candidate = list(order)
        tops = [i for i, b in enumerate(candidate) if offsets[b.name] + b.size > size - alignment]
        index = rng.choice(tops)
        if index and rng.random() < 0.7:
            candidate.insert(rng.randrange(index), candidate.pop(index))
        else:
            other = rng.randrange(len(candidate))
            candidate[index], candidate[other] = candidate[other], candidate[index]
        trial = place_in_order(candidate, alignment, first_fit_offset)
        trial_size = arena_size(live, trial, alignment)
        if trial_size <= size:
            order, offsets, size = candidate, trial, trial_size
            if size < best_size:
                best, best_size = offsets, size
    result = {b.name: 0 for b in buffers}
    result.update(best)
    return result
