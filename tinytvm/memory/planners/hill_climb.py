"""Hill climbing over placement orders (after TVM USMP's ``hill_climb``).

A plan is decoded from an order of the placement units (buffers, anchored ones joined to their
anchor) by first-fit (as in greedy by size). Starting from the size order, each move takes a
unit that ends at the top of the arena - one that sets the size - and moves it to an earlier,
random position of the order, or swaps it with another unit; the move is kept when the arena
does not grow (sideways moves cross plateaus). The random generator has a fixed seed and the number of decodes is bounded,
so the result is deterministic. Costs ``O(budget * n^2)``: a fallback for when no exact solver
is available, not something ``auto`` runs by default.
"""

from __future__ import annotations

import random
from typing import Sequence

from ..buffers import BufferSpec, lower_bound
from ._common import arena_size, first_fit_offset, place_in_order, units


def hill_climb(buffers: Sequence[BufferSpec], alignment: int, budget: int | None = None,
               seed: int = 0) -> dict[str, int]:
    live = [b for b in buffers if b.size]
    placeable = units(buffers)
    order = sorted((u for u in placeable if u.size), key=lambda u: (-u.size, u.first, u.name))
    target = lower_bound(buffers, alignment)
    offsets = place_in_order(order, alignment, first_fit_offset)
    size = arena_size(live, offsets, alignment)
    best, best_size = offsets, size
    rng = random.Random(seed)
    budget = max(64, 8 * len(live)) if budget is None else budget
    for _ in range(budget):
        if best_size <= target or len(order) < 2:
            break
        candidate = list(order)
        tops = [i for i, u in enumerate(candidate) if offsets[u.name] + u.size > size - alignment]
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
    result = place_in_order((u for u in placeable if not u.size), alignment)  # empty units: at 0
    result.update(best)
    return result
