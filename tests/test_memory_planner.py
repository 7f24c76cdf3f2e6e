"""Arena planners: validity, optimality against brute force and lower bounds, aliasing,
determinism and speed - on random lifetimes, hand-made instances and real modules.

Plans are checked here independently of ``ArenaPlan.conflicts()``.
"""

import dataclasses
import itertools
import random
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import tinytvm
from tinytvm.memory import BufferSpec, lower_bound, plan_arena
from tinytvm.memory.buffers import align_up, alias_groups
from tinytvm.memory.liveness import analyze_lifetimes
from tinytvm.memory.plan import HEURISTICS, PLANNERS
from tinytvm.memory.planners import cpsat, greedy_by_size, place_in_order

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
MLPERF = ["ad01_int8", "kws_dscnn_int8", "resnet8_int8", "vww_mbv1_int8"]
FAST_PLANNERS = [*HEURISTICS, "hill_climb"]
ALIGNMENTS = st.sampled_from([1, 4, 8, 16])

import ortools  # noqa: E402,F401  (a core dependency: the exact planner's tests must run, never skip)


# -- helpers ---------------------------------------------------------------------------------------

def roots(buffers):
    """name -> (root, offset in root), by walking alias_of (independent of the library)."""
    by_name = {b.name: b for b in buffers}
    result = {}
    for b in buffers:
        name, offset = b.name, 0
        while by_name[name].alias_of is not None:
            offset += by_name[name].alias_offset
            name = by_name[name].alias_of
        result[b.name] = (name, offset)
    return result


def assert_valid(plan, buffers, alignment):
    root_of = roots(buffers)
    offsets = plan.offsets
    assert set(offsets) == {b.name for b in buffers}
    for a, b in itertools.combinations(buffers, 2):
        if root_of[a.name][0] == root_of[b.name][0]:
            continue  # declared aliases share bytes on purpose
        if a.size and b.size and a.overlaps_in_time(b):
            a0, b0 = offsets[a.name], offsets[b.name]
            assert a0 + a.size <= b0 or b0 + b.size <= a0, (a, b, offsets)
    for b in buffers:
        root, delta = root_of[b.name]
        assert offsets[root] % alignment == 0, (root, offsets[root])
        assert offsets[b.name] == offsets[root] + delta
        assert offsets[b.name] + b.size <= plan.size
    assert plan.size % alignment == 0
    assert plan.size >= plan.lower_bound == lower_bound(buffers, alignment) >= lower_bound(buffers)
    assert plan.gap == plan.size - plan.lower_bound
    assert not plan.conflicts()


def brute_force_optimum(buffers, alignment):
    """The optimal arena: first-fit over every placement order. (Exact: place an optimal plan's
    buffers in order of offset; by induction first-fit puts each one no higher than the plan.)"""
    return min(max((o[b.name] + b.size for b in buffers), default=0)
               for order in itertools.permutations(buffers)
               for o in [place_in_order(order, alignment)])


def fits(buffers, arena):
    """Whether the buffers fit in ``arena`` bytes (alignment 1), by exhaustive search."""
    ordered = sorted(buffers, key=lambda b: -b.size)
    offsets = {}

    def place(i):
        if i == len(ordered):
            return True
        b = ordered[i]
        for o in range(arena - b.size + 1):
            if all(not (b.overlaps_in_time(c) and o < offsets[c.name] + c.size and offsets[c.name] < o + b.size)
                   for c in ordered[:i]):
                offsets[b.name] = o
                if place(i + 1):
                    return True
        return False
    return place(0)


def chain(sizes, scratch=()):
    """A sequential network: activation i is written at step i and read at step i + 1; layer i
    may also need kernel scratch at step i."""
    buffers = [BufferSpec(f"t{i}", size, i, i + 1) for i, size in enumerate(sizes)]
    buffers += [BufferSpec(f"scratch{i}", size, i, i) for i, size in enumerate(scratch) if size]
    return buffers


def mobilenet_like():
    """A MobileNet-v1-like chain (96x96 input, alpha 0.25): 15 conv/depthwise pairs, each
    layer with its im2col / depthwise scratch, then pool and classifier: 64 buffers."""
    sizes, scratch = [], []
    hw, channels = 48, 8
    for block, (stride, out) in enumerate([(1, 16), (2, 32), (1, 32), (2, 64), (1, 64), (2, 128), (1, 128),
                                           (1, 128), (1, 128), (1, 128), (1, 128), (2, 256), (1, 256),
                                           (1, 128), (1, 64)]):
        hw = hw // stride
        sizes.append(hw * hw * channels)            # depthwise output
        scratch.append(9 * channels * 2)            # depthwise kernel taps (int16)
        channels = out
        sizes.append(hw * hw * channels)            # pointwise output
        scratch.append(2 * channels * 4 + 64)       # pointwise accumulators
    sizes += [channels, 2]
    scratch += [0, 0]
    return chain(sizes, scratch)


@st.composite
def buffer_sets(draw, max_count=24, max_size=5000, steps=20, max_life=8):
    count = draw(st.integers(1, max_count))
    buffers = []
    for index in range(count):
        first = draw(st.integers(0, steps))
        last = draw(st.integers(first, first + max_life))
        buffers.append(BufferSpec(f"b{index}", draw(st.integers(0, max_size)), first, last))
    return buffers


def dense_buffer_sets(max_count, max_size=64):
    """Few steps, many buffers alive together: where heuristics miss the bound."""
    return buffer_sets(max_count=max_count, max_size=max_size, steps=4, max_life=3)


@st.composite
def aliased_buffer_sets(draw):
    buffers = draw(buffer_sets(max_count=12))
    result = []
    for i, b in enumerate(buffers):
        if i and draw(st.booleans()):
            target = result[draw(st.integers(0, i - 1))]
            b = dataclasses.replace(b, alias_of=target.name,
                                    alias_offset=draw(st.sampled_from([0, 0, 8, 16, 100])))
        result.append(b)
    return result


# -- validity --------------------------------------------------------------------------------------

@given(buffer_sets(), ALIGNMENTS)
def test_plans_never_overlap_live_buffers(buffers, alignment):
    for planner in FAST_PLANNERS:
        plan = plan_arena(buffers, planner, alignment)
        assert_valid(plan, buffers, alignment)
        assert plan.planner == planner


@settings(max_examples=30)
@given(st.one_of(buffer_sets(max_count=16), dense_buffer_sets(max_count=16, max_size=5000)), ALIGNMENTS)
def test_auto_is_valid_and_never_worse_than_a_heuristic(buffers, alignment):
    plan = plan_arena(buffers, alignment=alignment, time_limit=0.5)
    assert_valid(plan, buffers, alignment)
    heuristic = {name: plan_arena(buffers, name, alignment).size for name in HEURISTICS}
    assert plan.size <= min(heuristic.values())
    assert plan.planner in (*HEURISTICS, "cpsat")
    assert dict(plan.trials)[plan.planner] == plan.size
    assert plan.optimal == (plan.gap == 0) or "cpsat" in dict(plan.trials)


def test_lower_bound_counts_simultaneous_bytes():
    buffers = [BufferSpec("a", 100, 0, 1), BufferSpec("b", 50, 1, 2), BufferSpec("c", 70, 2, 3)]
    assert lower_bound(buffers) == 150
    assert lower_bound(buffers, alignment=64) == 128 + 64
    assert plan_arena(buffers).size >= 150


def test_backward_compatible_api():
    buffers = [BufferSpec("a", 40, 0, 1), BufferSpec("b", 24, 1, 2), BufferSpec("c", 40, 2, 3)]
    plan = plan_arena(buffers, "greedy_by_size", 8)  # positional, as codegen/build.py calls it
    assert plan.offsets == {"a": 0, "b": 40, "c": 0} and plan.size == 64 and plan.planner == "greedy_by_size"
    assert plan_arena(buffers).offset("b") == plan.offset("b")
    assert set(HEURISTICS) < set(PLANNERS) and {"greedy_by_size", "cpsat", "hill_climb"} <= set(PLANNERS)
    assert plan_arena([]).size == 0
    with pytest.raises(ValueError, match="unknown planner"):
        plan_arena(buffers, "nope")
    with pytest.raises(ValueError, match="unique"):
        plan_arena(buffers + [buffers[0]])


# -- optimality ------------------------------------------------------------------------------------

@settings(max_examples=40)
@given(dense_buffer_sets(max_count=6), st.sampled_from([1, 8]))
def test_exact_solver_matches_brute_force(buffers, alignment):
    optimum = align_up(brute_force_optimum(buffers, alignment), alignment)
    plan = plan_arena(buffers, "cpsat", alignment, time_limit=5)
    assert_valid(plan, buffers, alignment)
    assert plan.optimal and plan.size == optimum
    # The solver itself, from the (often suboptimal) greedy-by-size plan.
    solution = cpsat.solve(buffers, alignment, greedy_by_size(buffers, alignment), time_limit=5)
    assert solution.optimal and solution.size == optimum


@settings(max_examples=40)
@given(st.one_of(buffer_sets(max_count=14), dense_buffer_sets(max_count=14, max_size=5000)), ALIGNMENTS)
def test_exact_solver_never_worse_than_any_heuristic(buffers, alignment):
    plan = plan_arena(buffers, "cpsat", alignment, time_limit=0.3)
    assert_valid(plan, buffers, alignment)
    heuristics = {name: plan_arena(buffers, name, alignment).size for name in FAST_PLANNERS}
    assert plan.size <= min(heuristics.values())
    # Hinted only with greedy by size, a proven optimum still beats or ties every heuristic.
    solution = cpsat.solve(buffers, alignment, greedy_by_size(buffers, alignment), time_limit=2)
    if solution.optimal:
        assert solution.size == plan.size <= min(heuristics.values())


@settings(max_examples=30)
@given(st.lists(st.integers(1, 5000), min_size=2, max_size=30), st.lists(st.integers(0, 3000), max_size=30),
       ALIGNMENTS)
def test_chains_reach_the_lower_bound(sizes, scratch, alignment):
    # Bound achievable: even activations at the bottom, odd ones at the top, scratch between.
    buffers = chain(sizes, scratch[:len(sizes)])
    plan = plan_arena(buffers, alignment=alignment, time_limit=5)
    assert_valid(plan, buffers, alignment)
    assert plan.gap == 0 and plan.optimal
    solution = cpsat.solve(buffers, alignment, greedy_by_size(buffers, alignment), time_limit=5)
    assert solution.size == plan.lower_bound


# a and c (64 B) are never alive together, so every heuristic stacks them at offset 0; b and d
# (48 B) are alive with a and c respectively and with each other (step 3), so they end up side
# by side above 64: 160 B. Optimum: d below c, b above a: 112 B = the bound (a + b at step 2).
ALL_HEURISTICS_MISS = [BufferSpec("a", 64, 2, 2), BufferSpec("b", 48, 1, 3), BufferSpec("c", 64, 4, 5),
                       BufferSpec("d", 48, 3, 5)]


def test_exact_solver_beats_the_heuristics():
    buffers = ALL_HEURISTICS_MISS
    assert {plan_arena(buffers, name).size for name in FAST_PLANNERS} - {112} <= {160}
    assert plan_arena(buffers, "greedy_by_size").size == 160
    assert brute_force_optimum(buffers, 8) == 112
    solution = cpsat.solve(buffers, 8, greedy_by_size(buffers, 8), time_limit=5)
    assert solution.size == 112 and solution.optimal
    plan = plan_arena(buffers)
    assert_valid(plan, buffers, 8)
    assert plan.size == plan.lower_bound == 112 and plan.optimal and plan.planner == "cpsat"
    assert dict(plan.trials)["greedy_by_size"] == 160
    assert plan_arena(buffers, "cpsat").offsets == plan.offsets


def test_greedy_by_size_is_suboptimal_where_ping_pong_is_not():
    # Greedy by size puts d (64 B) at 0, so a (alive with d) goes to 64 and c to 0; b, alive with
    # both a and c, then only fits at 112: 144 B. Optimum: a and c at 0, d and b above: 112 B.
    buffers = [BufferSpec("a", 48, 0, 2), BufferSpec("b", 32, 2, 4), BufferSpec("c", 48, 3, 3),
               BufferSpec("d", 64, 1, 1)]
    assert plan_arena(buffers, "greedy_by_size").size == 144
    assert brute_force_optimum(buffers, 8) == 112
    assert cpsat.solve(buffers, 8, greedy_by_size(buffers, 8), time_limit=5).size == 112
    plan = plan_arena(buffers)
    assert plan.size == 112 and plan.optimal and plan.planner == "ping_pong"


def test_exact_solver_proves_an_optimum_above_the_lower_bound():
    # Every step of this instance is not full, yet no plan fits in the 10-byte bound
    # (exhaustive search below); the optimum is 11 and CP-SAT must prove it.
    buffers = [BufferSpec("b0", 7, 0, 0), BufferSpec("b1", 2, 0, 3), BufferSpec("b2", 1, 0, 4),
               BufferSpec("b3", 4, 2, 2), BufferSpec("b6", 1, 2, 5), BufferSpec("b8", 2, 3, 4),
               BufferSpec("b9", 5, 4, 5), BufferSpec("b10", 4, 5, 5)]
    assert lower_bound(buffers) == 10 and not fits(buffers, 10) and fits(buffers, 11)
    plan = plan_arena(buffers, "cpsat", alignment=1, time_limit=10)
    assert_valid(plan, buffers, 1)
    assert plan.size == 11 and plan.gap == 1 and plan.optimal


def test_auto_skips_the_solver_when_a_heuristic_meets_the_bound():
    buffers = mobilenet_like()
    plan = plan_arena(buffers)
    assert plan.gap == 0 and plan.optimal
    assert "cpsat" not in dict(plan.trials)
    # time_limit=0: never search, even when the heuristics miss the bound.
    quick = plan_arena(ALL_HEURISTICS_MISS, time_limit=0)
    assert "cpsat" not in dict(quick.trials) and not quick.optimal and quick.size == 160


# -- aliasing --------------------------------------------------------------------------------------

def test_in_place_alias_shares_bytes_and_beats_the_unaliased_bound():
    # conv -> in-place depthwise (writes over its input) -> conv.
    buffers = [BufferSpec("x", 1000, 0, 1), BufferSpec("y", 1000, 1, 2, alias_of="x"),
               BufferSpec("z", 500, 2, 3)]
    plain = [dataclasses.replace(b, alias_of=None) for b in buffers]
    plan = plan_arena(buffers)
    assert_valid(plan, buffers, 8)
    assert plan.offset("y") == plan.offset("x")
    assert plan.lower_bound == lower_bound(buffers, 8) == 1000 + 504
    assert plan.size == 1504 < lower_bound(plain) == 2000
    assert plan_arena(plain).size == 2000


def test_alias_offsets_extents_and_chains():
    # A reshape view of an in-place output that sits 16 bytes into a bigger buffer.
    buffers = [BufferSpec("big", 64, 1, 2), BufferSpec("inplace", 64, 2, 3, alias_of="big", alias_offset=16),
               BufferSpec("view", 32, 3, 4, alias_of="inplace", alias_offset=8), BufferSpec("other", 40, 0, 4)]
    groups = alias_groups(buffers)
    assert groups.root_of == {"big": ("big", 0), "inplace": ("big", 16), "view": ("big", 24), "other": ("other", 0)}
    assert groups.roots[0] == BufferSpec("big", 80, 1, 4)  # extent 16 + 64, combined lifetime
    assert lower_bound(buffers) == 120
    for planner in ["auto", *FAST_PLANNERS, "cpsat"]:
        plan = plan_arena(buffers, planner)
        assert_valid(plan, buffers, 8)
        assert plan.offset("view") == plan.offset("big") + 24 and plan.size == 120


def test_invalid_aliases_are_rejected():
    with pytest.raises(ValueError, match="unknown"):
        plan_arena([BufferSpec("a", 8, 0, 1, alias_of="ghost")])
    with pytest.raises(ValueError, match="cycle"):
        plan_arena([BufferSpec("a", 8, 0, 1, alias_of="b"), BufferSpec("b", 8, 0, 1, alias_of="a")])
    with pytest.raises(ValueError):
        BufferSpec("a", 8, 0, 1, alias_of="a")
    with pytest.raises(ValueError):
        BufferSpec("a", 8, 0, 1, alias_offset=4)


@settings(max_examples=60)
@given(aliased_buffer_sets(), ALIGNMENTS)
def test_aliased_plans_are_valid(buffers, alignment):
    groups = alias_groups(buffers)
    # The bound counts each alias group once: as the block the planners place.
    assert lower_bound(buffers, alignment) == lower_bound(list(groups.roots), alignment)
    for planner in ["auto", *FAST_PLANNERS]:
        plan = plan_arena(buffers, planner, alignment, time_limit=0.2)
        assert_valid(plan, buffers, alignment)


# -- determinism -----------------------------------------------------------------------------------

@settings(max_examples=25)
@given(st.one_of(buffer_sets(max_count=14), dense_buffer_sets(max_count=14, max_size=5000)), ALIGNMENTS,
       st.randoms(use_true_random=False))
def test_plans_are_deterministic_and_independent_of_input_order(buffers, alignment, rnd):
    shuffled = list(buffers)
    rnd.shuffle(shuffled)
    for planner in ["auto", *FAST_PLANNERS]:
        a = plan_arena(buffers, planner, alignment, time_limit=5)
        b = plan_arena(shuffled, planner, alignment, time_limit=5)
        if planner == "auto" and not a.optimal:
            continue  # cut by the time limit: only proven optima are reproducible
        assert a.offsets == b.offsets and a.planner == b.planner, planner


def test_exact_solver_is_deterministic():
    rng = random.Random(7)
    buffers = [BufferSpec(f"b{i}", rng.randrange(1, 60) * 8, f, f + rng.randrange(0, 4))
               for i in range(30) for f in [rng.randrange(0, 12)]]
    plans = [plan_arena(buffers, "cpsat", time_limit=10) for _ in range(3)]
    assert plans[0].optimal
    assert plans[0].offsets == plans[1].offsets == plans[2].offsets


# -- real lifetimes and speed ----------------------------------------------------------------------

def test_mlperf_lifetimes_keep_io_outside_the_arena():
    mod = tinytvm.from_tflite(MODELS / "kws_dscnn_int8.tflite")
    lifetimes = analyze_lifetimes(mod)
    externals = sorted(s.external for s in lifetimes.storages if s.external)
    assert externals == ["input:0", "output:0"]
    plan = plan_arena([s.spec() for s in lifetimes.arena_storages])
    # KWS: two 25x5x64 int8 activations are alive at each step.
    assert plan.lower_bound == 2 * 25 * 5 * 64
    assert plan.size == plan.lower_bound


@pytest.mark.parametrize("model", MLPERF)
def test_mlperf_plans_meet_the_bound_without_the_solver(model):
    lifetimes = analyze_lifetimes(tinytvm.from_tflite(MODELS / f"{model}.tflite"))
    buffers = [s.spec() for s in lifetimes.arena_storages]
    plan = plan_arena(buffers)
    assert_valid(plan, buffers, 8)
    assert plan.gap == 0 and "cpsat" not in dict(plan.trials)


def test_plan_arena_is_fast_on_a_realistic_chain():
    buffers = mobilenet_like()
    assert len(buffers) >= 60
    plan_arena(buffers)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        plan = plan_arena(buffers)
        best = min(best, time.perf_counter() - start)
    assert plan.gap == 0 and "cpsat" not in dict(plan.trials)
    assert best < 0.050, f"plan_arena took {best * 1e3:.1f} ms"
