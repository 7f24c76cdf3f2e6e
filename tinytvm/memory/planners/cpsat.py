"""Exact arena planning with OR-Tools CP-SAT, under a time limit.

The problem (dynamic storage allocation) is NP-hard, but the instances of one model are small
(tens of buffers). Why CP-SAT rather than a MILP (HiGHS): "two live buffers do not overlap" is
a disjunction per pair. A MILP needs a big-M binary per pair, whose LP relaxation gives nothing
beyond the clique bound, so the MILP solver branches blindly. CP-SAT has the disjunction as a
global constraint with dedicated propagation (``NoOverlap``: edge finding, energetic
reasoning), clause learning and LNS, and takes a full solution hint. Measured on 10 adversarial
instances (42-104 buffers, every step at full load, heuristics 4-30 % above the bound), 1 s
each, one thread: HiGHS 1.16 with a big-M binary per live pair proved 1/10, never raised its
bound above the clique bound, found no plan at all for one and plans 5-18 % larger than
CP-SAT's for the others; CP-SAT proved 7/10 optimal and ended within 1.7 % of the bound on the
other three.

Model (sizes in units of ``alignment * g``, ``g`` the gcd of the aligned sizes and anchor
offsets; this loses nothing, since a "gravity" compaction of any plan puts every offset at a
sum of those):

* one offset variable ``k_u`` per placement unit (a buffer and the buffers anchored to it, see
  :mod:`._common`); each buffer ``i`` of the unit, ``d_i`` from its start, has its own address
  interval ``[k_u + d_i, k_u + d_i + w_i)``;
* buffers alive at the same time form cliques of the interval graph of lifetimes; for every
  *maximal* clique (the buffers alive at one step, when that set is not contained in another
  step's) an ``AddNoOverlap`` over their address intervals - equivalent to a ``NoOverlap2D``
  with fixed time intervals (measured: same speed), and simpler;
* arena ``m >= k_u + extent_u``, ``m >= lower bound`` (the biggest clique), minimize ``m``;
* the best heuristic plan (compacted) as a hint and as the upper bound of every domain;
* symmetry: mirroring a plan (``offset -> arena - offset - size``) gives another plan of the
  same size, so the largest buffer is kept in the lower half (``2 k + w <= m``) - only without
  anchored buffers: a mirrored anchor group is a different shape, not a plan of the same buffers.

Determinism: one worker and a fixed seed make the search sequential and reproducible, and the
buffers enter the model sorted by name; the wall-clock ``time_limit`` only decides where the
search is cut. So whenever the solver *proves* optimality within the limit (small instances:
milliseconds), the same buffers give the same offsets on any machine. When the limit cuts the
search first (large adversarial instances), the plan is the best found by then and may depend
on machine speed and load; it is never worse than the hint. (CP-SAT's "deterministic time"
limit would make those reproducible too, but on these models one unit of it takes 10-100 s of
wall time, so it cannot express a budget.)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Sequence

from ..buffers import BufferSpec
from ._common import aligned, arena_size, compact, place_in_order, put, units

DEFAULT_TIME_LIMIT = 1.0


@dataclasses.dataclass(frozen=True)
class Solution:
    offsets: dict[str, int]
    size: int
    optimal: bool  # proven optimal (by the solver, or because the hint met the lower bound)
    status: str


@functools.cache
def available() -> bool:
    try:
        from ortools.sat.python import cp_model  # noqa: F401
    except ImportError:
        return False
    return True


def maximal_cliques(buffers: Sequence[BufferSpec]) -> list[list[int]]:
    """Indices of the buffers alive at each step whose alive set is not inside another step's."""
    starts = sorted({b.first for b in buffers})
    cliques: list[list[int]] = []
    for k, step in enumerate(starts):
        # A clique at a start step is maximal unless the next start comes before anything ends.
        alive = [i for i, b in enumerate(buffers) if b.first <= step <= b.last]
        if k + 1 < len(starts) and all(buffers[i].last >= starts[k + 1] for i in alive):
            continue
        cliques.append(alive)
    return cliques


def solve(buffers: Sequence[BufferSpec], alignment: int, hint: dict[str, int],
          time_limit: float = DEFAULT_TIME_LIMIT, seed: int = 0) -> Solution:
    """The smallest arena CP-SAT finds for alias-free ``buffers`` within ``time_limit``.

    ``hint`` must be a valid plan (e.g. the best heuristic's); the result is never larger.
    Anchor offsets must be multiples of ``alignment`` (``plan_arena`` checks).
    """
    from ortools.sat.python import cp_model

    ordered = sorted(buffers, key=lambda b: b.name)  # independent of input order
    live = [b for b in ordered if b.size]
    hint_size = arena_size(live, hint, alignment)
    every = units(ordered)
    placeable = [unit for unit in every if unit.size]
    if not live:
        return Solution(compact(ordered, hint), 0, True, "trivial")
    parts = [(u, buffer, delta) for u, unit in enumerate(placeable) for buffer, delta in unit.parts if buffer.size]
    units_of = [-(-buffer.size // alignment) for _, buffer, _ in parts]
    g = math.gcd(*units_of, *(delta // alignment for _, _, delta in parts))
    scale = alignment * g
    widths = [n // g for n in units_of]
    steps = [delta // scale for _, _, delta in parts]
    extents = [0] * len(placeable)
    members: list[list[int]] = [[] for _ in placeable]
    for i, (u, _, _) in enumerate(parts):
        extents[u] = max(extents[u], steps[i] + widths[i])
        members[u].append(i)
    cliques = maximal_cliques([buffer for _, buffer, _ in parts])
    lower = max(sum(widths[i] for i in clique) for clique in cliques)
    start = compact(aligned(ordered, alignment), hint)  # offsets now multiples of `scale`, arena no larger
    upper = -(-max(start[b.name] + b.size for b in live) // scale)
    if upper <= lower:
        return Solution(start, arena_size(live, start, alignment), True, "hint")

    rigid = len(parts) != len(placeable) or any(steps)  # some unit is not one buffer at its offset
    big = max(range(len(parts)), key=lambda i: (widths[i], -i))
    if not rigid and 2 * (start[placeable[parts[big][0]].name] // scale) + widths[big] > upper:
        # The hint must satisfy the symmetry breaking: mirror it.
        start = {unit.name: (upper - extents[u]) * scale - start[unit.name] for u, unit in enumerate(placeable)}

    model = cp_model.CpModel()
    arena = model.new_int_var(lower, upper, "arena")
    offsets, intervals = [], []
    for u, unit in enumerate(placeable):
        k = model.new_int_var(0, upper - extents[u], f"k{u}")
        offsets.append(k)
        intervals += [model.new_fixed_size_interval_var(k + steps[i], widths[i], f"x{i}") for i in members[u]]
        model.add(k + extents[u] <= arena)
        model.add_hint(k, start[unit.name] // scale)
    for clique in cliques:
        if len(clique) > 1:
            model.add_no_overlap([intervals[i] for i in clique])
    if not rigid:
        model.add(2 * offsets[parts[big][0]] + widths[big] <= arena)
    model.add_hint(arena, upper)
    model.minimize(arena)

    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = 1
    params.random_seed = seed
    params.max_time_in_seconds = time_limit
    status = solver.solve(model)
    optimal = status == cp_model.OPTIMAL
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        found = place_in_order((unit for unit in every if not unit.size), alignment)  # empty units: at 0
        for u, unit in enumerate(placeable):
            put(unit, solver.value(offsets[u]) * scale, found, [])
        size = arena_size(live, found, alignment)
        if size < hint_size:
            return Solution(found, size, optimal, solver.status_name(status))
    return Solution(dict(hint), hint_size, optimal, solver.status_name(status))


def cpsat_plan(buffers: Sequence[BufferSpec], alignment: int, hint: dict[str, int] | None = None,
               time_limit: float = DEFAULT_TIME_LIMIT) -> dict[str, int]:
    """Planner-shaped entry point: hinted by greedy by size unless ``hint`` is given."""
    if hint is None:
        from .greedy_by_size import greedy_by_size
        hint = greedy_by_size(buffers, alignment)
    return solve(buffers, alignment, hint, time_limit).offsets
