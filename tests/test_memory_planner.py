"""Arena planners: property tests on random lifetimes, and lifetimes of real modules."""

from pathlib import Path

from hypothesis import given, strategies as st

import tinytvm
from tinytvm.memory import BufferSpec, lower_bound, plan_arena
from tinytvm.memory.liveness import analyze_lifetimes
from tinytvm.memory.plan import PLANNERS

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"


@st.composite
def buffer_sets(draw):
    count = draw(st.integers(1, 24))
    buffers = []
    for index in range(count):
        first = draw(st.integers(0, 20))
        last = draw(st.integers(first, first + 8))
        buffers.append(BufferSpec(f"b{index}", draw(st.integers(0, 5000)), first, last))
    return buffers


@given(buffer_sets(), st.sampled_from([1, 4, 8, 16]))
def test_plans_never_overlap_live_buffers(buffers, alignment):
    for planner in PLANNERS:
        plan = plan_arena(buffers, planner, alignment)
        for a in buffers:
            for b in buffers:
                if a.name < b.name and a.size and b.size and a.overlaps_in_time(b):
                    a0, b0 = plan.offset(a.name), plan.offset(b.name)
                    assert a0 + a.size <= b0 or b0 + b.size <= a0, (a, b, plan.offsets)
        assert all(plan.offset(b.name) % alignment == 0 for b in buffers)
        assert plan.size >= plan.lower_bound == lower_bound(buffers)


def test_lower_bound_counts_simultaneous_bytes():
    buffers = [BufferSpec("a", 100, 0, 1), BufferSpec("b", 50, 1, 2), BufferSpec("c", 70, 2, 3)]
    assert lower_bound(buffers) == 150
    assert plan_arena(buffers).size >= 150


def test_mlperf_lifetimes_keep_io_outside_the_arena():
    mod = tinytvm.from_tflite(MODELS / "kws_dscnn_int8.tflite")
    lifetimes = analyze_lifetimes(mod)
    externals = sorted(s.external for s in lifetimes.storages if s.external)
    assert externals == ["input:0", "output:0"]
    plan = plan_arena([s.spec() for s in lifetimes.arena_storages])
    # KWS: two 25x5x64 int8 activations are alive at each step.
    assert plan.lower_bound == 2 * 25 * 5 * 64
    assert plan.size == plan.lower_bound
