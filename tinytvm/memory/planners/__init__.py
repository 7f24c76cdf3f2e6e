"""Arena planners: ``(buffers, alignment) -> {name: offset}``, one module per planner.

Heuristics (fast, ``O(n^2)`` or less, run by ``plan_arena(planner="auto")`` in this order until
one meets the lower bound):

* ``greedy_by_size`` - TFLite Micro's planner (largest first, lowest free offset);
* ``ping_pong`` - schedule order, alternating between the two ends of a lower-bound arena;
* ``greedy_by_size_best_fit`` - largest first, smallest free gap (TFLite GPU);
* ``greedy_by_breadth`` - the most crowded steps first (TFLite GPU);
* ``greedy_by_conflicts`` - most bytes alive alongside first (TVM USMP, weighted);
* ``greedy_by_lifetime`` - longest-lived first;
* ``first_fit_by_start`` / ``best_fit_by_start`` - allocation in schedule order.

Search:

* ``hill_climb`` - local search over placement orders (bounded, seeded); a fallback for when
  OR-Tools is missing;
* ``cpsat`` - exact (OR-Tools CP-SAT) under a time limit, hinted with a heuristic plan.

Planners receive alias-free buffers: :func:`tinytvm.memory.plan.plan_arena` collapses alias
groups into their roots first. Some may be anchored, each directly to an unanchored buffer of the
list at a multiple of the alignment: a planner places such an anchor group as one unit
(:class:`._common.Unit`; the heuristics order units by their envelope) and returns every
member's offset (the anchor's plus ``anchor_offset``). Planners must be deterministic.
"""

from __future__ import annotations

from typing import Callable, Sequence

from ..buffers import BufferSpec
from ._common import Unit, best_fit_offset, compact, first_fit_offset, place_in_order, units
from .by_start import best_fit_by_start, first_fit_by_start
from .cpsat import cpsat_plan
from .greedy_by_breadth import greedy_by_breadth, greedy_by_conflicts, greedy_by_lifetime
from .greedy_by_size import greedy_by_size, greedy_by_size_best_fit
from .hill_climb import hill_climb
from .ping_pong import ping_pong

Planner = Callable[[Sequence[BufferSpec], int], dict[str, int]]

#: The cheap heuristics ``auto`` tries, best-first on real models (it stops at the lower bound).
HEURISTICS: dict[str, Planner] = {
    "greedy_by_size": greedy_by_size,
    "ping_pong": ping_pong,
    "greedy_by_size_best_fit": greedy_by_size_best_fit,
    "greedy_by_breadth": greedy_by_breadth,
    "greedy_by_conflicts": greedy_by_conflicts,
    "greedy_by_lifetime": greedy_by_lifetime,
    "first_fit_by_start": first_fit_by_start,
    "best_fit_by_start": best_fit_by_start,
}

#: Every planner by name (``plan_arena`` also accepts ``"auto"``).
PLANNERS: dict[str, Planner] = {**HEURISTICS, "hill_climb": hill_climb, "cpsat": cpsat_plan}

__all__ = ["HEURISTICS", "PLANNERS", "Planner", "Unit", "best_fit_offset", "compact", "first_fit_offset",
           "place_in_order", "units", "cpsat_plan", "hill_climb"] + sorted(HEURISTICS)
