"""Arena plans and :func:`plan_arena`, which makes them.

A plan assigns each buffer an offset in one arena such that buffers alive at the same step
never share a byte, except buffers of one alias group (see :mod:`.buffers`), which share on
purpose; an anchored buffer sits at its anchor's offset plus its ``anchor_offset``. The
planners live in :mod:`.planners`; ``plan_arena(planner="auto")`` (the default) runs the cheap
heuristics, keeps the smallest plan, and calls the exact CP-SAT solver only if that plan is
above the lower bound.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from .buffers import BufferSpec, align_up, alias_groups, lower_bound
from .planners import HEURISTICS, PLANNERS, Planner, first_fit_offset, greedy_by_size  # noqa: F401 (re-exported)
from .planners import cpsat as _cpsat  # the module (the planner function is cpsat_plan)
from .planners._common import arena_size
from .planners.hill_climb import hill_climb

AUTO = "auto"
DEFAULT_TIME_LIMIT = _cpsat.DEFAULT_TIME_LIMIT


@dataclasses.dataclass(frozen=True)
class ArenaPlan:
    """Offsets of ``buffers`` (aliases included) in an arena of ``size`` bytes.

    ``lower_bound`` is the alignment-aware bound (:func:`.buffers.lower_bound` with the plan's
    alignment), so ``gap == 0`` means the plan is optimal. ``planner`` names the planner whose
    offsets were kept; ``optimal`` is True when the plan is proven optimal (gap 0, or the exact
    solver proved it); ``trials`` lists ``(planner, arena size)`` for every planner run.
    """

    buffers: tuple[BufferSpec, ...]
    offsets: dict[str, int]
    size: int
    lower_bound: int
    planner: str
    optimal: bool = False
    trials: tuple[tuple[str, int], ...] = ()

    @property
    def gap(self) -> int:
        """Bytes above the lower bound."""
        return self.size - self.lower_bound

    def offset(self, name: str) -> int:
        return self.offsets[name]

    def conflicts(self) -> list[tuple[str, str]]:
        """Pairs of buffers alive at the same time whose bytes overlap and that are not aliases
        of each other (empty for a valid plan). Anchored buffers are checked like any other."""
        root_of = alias_groups(self.buffers).root_of
        found = []
        ordered = sorted((b for b in self.buffers if b.size), key=lambda b: (self.offsets[b.name], b.name))
        for i, a in enumerate(ordered):
            a_end = self.offsets[a.name] + a.size
            for b in ordered[i + 1:]:
                if self.offsets[b.name] >= a_end:
                    break
                if a.overlaps_in_time(b) and root_of[a.name][0] != root_of[b.name][0]:
                    found.append((a.name, b.name))
        return found


def plan_arena(buffers: Sequence[BufferSpec], planner: str = AUTO, alignment: int = 8,
               time_limit: float = DEFAULT_TIME_LIMIT) -> ArenaPlan:
    """Place ``buffers`` in one arena; the result is checked for overlaps and alignment.

    ``planner`` is ``"auto"`` or a name in :data:`PLANNERS`. ``auto`` runs the heuristics in
    order, stopping at the first that meets the lower bound (the common case, well under a
    millisecond per ten buffers); otherwise it runs CP-SAT on the best heuristic plan for at
    most ``time_limit`` seconds (wall clock) - or, without OR-Tools, ``hill_climb``.
    ``time_limit=0`` never searches (for tight loops; the first solver call also pays about
    0.5 s to import OR-Tools). ``"cpsat"`` runs the solver unless a heuristic already meets the
    bound. ``ArenaPlan.planner`` names whoever produced the kept offsets.

    Deterministic: the heuristics sort by (key, name), so the same buffers - in any order - give
    the same offsets; so does the solver whenever it proves optimality within ``time_limit``
    (``ArenaPlan.optimal``); a solver run cut by the limit may depend on machine speed.

    Planners place the roots of alias groups (see :class:`BufferSpec`) at ``alignment``-aligned
    offsets; an alias lands at its root's offset plus its accumulated ``alias_offset`` (aligned
    only if those offsets are). An anchored root moves with its anchor: it lands at the anchor's
    offset plus its (accumulated) ``anchor_offset``, which must be a multiple of ``alignment``
    (ValueError otherwise) so that it is aligned too and the lower bound holds.
    """
    if alignment < 1:
        raise ValueError(f"alignment must be >= 1, got {alignment}")
    if planner != AUTO and planner not in PLANNERS:
        raise ValueError(f"unknown planner '{planner}'; available: {', '.join([AUTO, *sorted(PLANNERS)])}")
    groups = alias_groups(buffers)
    roots = list(groups.roots)
    unaligned = [r.name for r in roots if r.anchor_offset % alignment]
    if unaligned:
        raise ValueError(f"anchored buffers {', '.join(unaligned[:3])} are not a multiple of the alignment "
                         f"({alignment}) away from their anchor")
    bound = lower_bound(roots, alignment)

    if planner == AUTO:
        name, offsets, optimal, trials = _auto(roots, alignment, bound, time_limit)
    elif planner == "cpsat":
        if not _cpsat.available():
            raise ImportError("planner 'cpsat' needs OR-Tools: pip install ortools")
        name, offsets, optimal, trials = _auto(roots, alignment, bound, time_limit, force_exact=True)
    else:
        offsets = PLANNERS[planner](roots, alignment)
        size = arena_size(roots, offsets, alignment)
        name, optimal, trials = planner, size <= bound, ((planner, size),)

    root_of = groups.root_of
    offsets = {b.name: offsets[root_of[b.name][0]] + root_of[b.name][1] for b in buffers}  # in input order
    size = align_up(max((offsets[b.name] + b.size for b in buffers), default=0), alignment)
    plan = ArenaPlan(tuple(buffers), offsets, size, bound, name, optimal or size <= bound, trials)
    misaligned = [r.name for r in roots if offsets[r.name] % alignment]
    adrift = [r.name for r in roots if r.anchor is not None and offsets[r.name] != offsets[r.anchor] + r.anchor_offset]
    if misaligned or adrift or plan.conflicts():
        raise AssertionError(f"planner {name} produced an invalid plan: overlapping {plan.conflicts()[:3]}, "
                             f"misaligned {misaligned[:3]}, away from their anchor {adrift[:3]}")
    return plan


def _auto(roots: list[BufferSpec], alignment: int, bound: int, time_limit: float, force_exact: bool = False):
    trials = []
    best_name, best, best_size = "", {}, 0
    for name, heuristic in HEURISTICS.items():
        offsets = heuristic(roots, alignment)
        size = arena_size(roots, offsets, alignment)
        trials.append((name, size))
        if not trials[:-1] or size < best_size:
            best_name, best, best_size = name, offsets, size
        if size <= bound:
            return best_name, best, True, tuple(trials)
    optimal = False
    if time_limit > 0 or force_exact:
        if _cpsat.available():
            solution = _cpsat.solve(roots, alignment, best, time_limit)
            trials.append(("cpsat", solution.size))
            optimal = solution.optimal
            if solution.size < best_size:
                best_name, best, best_size = "cpsat", solution.offsets, solution.size
        else:
            offsets = hill_climb(roots, alignment)
            size = arena_size(roots, offsets, alignment)
            trials.append(("hill_climb", size))
            if size < best_size:
                best_name, best, best_size = "hill_climb", offsets, size
    return best_name, best, optimal or best_size <= bound, tuple(trials)
