"""codegen.scratch_selection: leaner kernel variants (less scratch) only where the scratch raises the arena."""

from pathlib import Path

import numpy as np
import pytest
from tflite_builder import ModelBuilder

import tinytvm
from tinytvm.codegen import scratch
from tinytvm.codegen.build import BuildOptions, plan_memory, plan_model
from tinytvm.codegen.scratch_selection import drop_peak_scratch

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"


@pytest.fixture(scope="module")
def vww():
    return tinytvm.from_tflite(MODELS / "vww_mbv1_int8.tflite")


def direct_steps(planned) -> list[int]:
    return [step for step, low in enumerate(planned.lowered)
            if low.function == "tinytvm_conv2d_s8" and low.params.fields["impl"] == scratch.CONV_1X1_DIRECT]


def test_only_the_peak_layer_switches(vww):
    """VWW without in-place: the 48x48 8 -> 16 channel 1x1 convolution (step 2) carries the only scratch
    above the per-operator bound; every other layer keeps its kernel choice."""
    off = plan_model(vww, BuildOptions(in_place=False, scratch_aware=False))
    on = plan_model(vww, BuildOptions(in_place=False))
    assert (off.plan.size, on.plan.size) == (55_344, 55_296)
    assert direct_steps(off) == [] and direct_steps(on) == [2]
    assert on.lowered[2].scratch_bytes == 0 and 2 not in on.scratch_names
    assert all(a.params == b.params for step, (a, b) in enumerate(zip(on.lowered, off.lowered)) if step != 2)


@pytest.mark.parametrize("name", ["kws_dscnn_int8", "vww_mbv1_int8", "resnet8_int8", "ad01_int8"])
@pytest.mark.parametrize("in_place", [True, False])
@pytest.mark.parametrize("lean", [True, False])
def test_switches_only_where_they_shrink_the_arena(name, in_place, lean):
    """Every switched layer needs less scratch, and a switch happens only if the arena shrinks."""
    mod = tinytvm.from_tflite(MODELS / f"{name}.tflite")
    on = plan_model(mod, BuildOptions(in_place=in_place, lean_scratch=lean))
    off = plan_model(mod, BuildOptions(in_place=in_place, scratch_aware=False))
    switched = [step for step, (a, b) in enumerate(zip(on.lowered, off.lowered)) if a.params != b.params]
    assert on.plan.lower_bound <= on.plan.size <= off.plan.size
    assert bool(switched) == (on.plan.size < off.plan.size)
    assert all(on.lowered[step].scratch_bytes < off.lowered[step].scratch_bytes for step in switched)
    assert all(on.lowered[step].params.fields.get("impl") != scratch.CONV_1X1_DIRECT for step in switched
               if on.lifetimes.layers[step].record.in_place)
    if not lean:  # only the (not slower) direct pointwise path
        assert all(on.lowered[step].params.fields.get("impl") == scratch.CONV_1X1_DIRECT for step in switched)


def test_the_plan_is_kept_unless_the_arena_shrinks(vww):
    options = BuildOptions(in_place=False, scratch_aware=False)
    model = plan_model(vww, options)
    planned = (model.plan, model.scratch_names)
    lowered, kept = drop_peak_scratch(model.lifetimes, model.lowered, planned, lambda trial: planned,
                                      options.alignment)
    assert lowered is model.lowered and kept is planned
    lowered, replanned = drop_peak_scratch(model.lifetimes, model.lowered, planned,
                                           lambda trial: plan_memory(model.lifetimes, trial, options),
                                           options.alignment)
    assert replanned[0].size == 55_296 and lowered[2].params.fields["impl"] == scratch.CONV_1X1_DIRECT


def test_in_place_convolutions_keep_their_path():
    """x -> 1x1 -> 1x1 (in place over the first's output) -> 1x1: steps 0 and 1 tie at the peak, each
    with 48 B of scratch; step 1 must keep the 1X1 path (its aliasing rule) but may stage one pixel
    (lean_scratch)."""
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.input("x", (1, 16, 16, 8), scale=0.05, zero_point=3)
    h = b.conv2d(x, rng.normal(size=(8, 1, 1, 8)), rng.normal(size=8), name="a")
    h = b.conv2d(h, rng.normal(size=(8, 1, 1, 8)), rng.normal(size=8), name="b")
    b.output(b.conv2d(h, rng.normal(size=(4, 1, 1, 8)), rng.normal(size=4), name="c"))
    mod = tinytvm.from_tflite(b.build())
    assert plan_model(mod, BuildOptions()).plan.size == 16 * 16 * 8 + 48  # by default: nothing faster to switch
    model = plan_model(mod, BuildOptions(lean_scratch=True))
    assert model.lifetimes.layers[1].record.in_place
    assert 1 not in direct_steps(model)  # one pixel staged instead of two, still on the 1X1 path
    assert model.lowered[1].params.fields["impl"] == scratch.CONV_1X1 and model.lowered[1].params.fields["px_unroll"] == 1
    assert model.plan.size == 16 * 16 * 8 + 24
