"""Patch-based inference through the whole backend: the generated patch loop on host-asan and QEMU.

Every build is compared with TFLite Micro element by element (host-asan also checks every
kernel's scratch against the planner's figure for every patch). The VWW test also measures the
recomputation overhead in QEMU instructions against per-layer inference.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_backend_ops import assert_backend_matches_tflm, int8_inputs
from test_transform_patch_based_inference import STAGES

import tinytvm
from tinytvm.codegen.build import BuildOptions, plan_model
from tinytvm.ir.graph import layers
from tinytvm.micro.runners import get_runner

#: (stage, grid): the whole synthetic model is the stage, on an uneven grid.
SYNTHETIC = [("residual", (3, 2)), ("valid_dilated", (2, 3)), ("branchy", (4, 3))]


@pytest.mark.parametrize("name, grid", SYNTHETIC)
def test_synthetic_stage_loops_over_patches_bit_exact(name, grid):
    data = STAGES[name](np.random.default_rng(7))
    mod = tinytvm.from_tflite(data)
    art = assert_backend_matches_tflm(data, int8_inputs(data, np.random.default_rng(3), count=2),
                                      patch={"split": len(layers(mod)), "grid": grid})
    source = art.generated.source
    assert source.count("for (int32_t patch = 0;") == 1  # one loop, not one copy of the stage per patch
    assert f"patch < {grid[0] * grid[1]}" in source


@pytest.fixture(scope="module")
def vww(shared_model):
    return shared_model("vww_mbv1_int8").read_bytes()


def test_vww_patched_is_bit_exact_and_its_overhead_is_measured(vww):
    mod = tinytvm.from_tflite(vww)
    chosen = plan_model(mod, BuildOptions(patch="auto")).patch_choice
    assert chosen.config is not None and chosen.arena_bytes < chosen.per_layer_arena_bytes
    assert chosen.extra_macs <= 0.2 * chosen.model_macs
    sets = int8_inputs(vww, np.random.default_rng(5), count=2)
    patched = assert_backend_matches_tflm(vww, sets, name="vww_patched",
                                          patch={"split": chosen.config.split, "grid": chosen.config.grid})
    report = tinytvm.analyze(mod, board="stm32f746", patch="auto")
    assert patched.arena_bytes == chosen.arena_bytes == report.arena_bytes
    assert patched.image.symbols["tinytvm_vww_patched_arena"] == report.arena_bytes  # the linked .bss array
    assert tuple(patched.metadata()["patch"]["grid"]) == chosen.config.grid
    per_layer = tinytvm.build(mod, target="cortex-m7", board="stm32f746")
    x = [sets[0]]
    patched_run = get_runner("qemu").run_many(patched, x)[0]
    per_layer_run = get_runner("qemu").run_many(per_layer, x)[0]
    assert all(np.array_equal(a, b) for a, b in zip(patched_run.outputs, per_layer_run.outputs))
    # Recomputed halos cost instructions, and so do the tile copies and kernels running on small
    # tiles (bench/patch.py prints the figures); bound it loosely so a runaway loop is caught.
    overhead = patched_run.instructions / per_layer_run.instructions - 1
    assert chosen.extra_macs / chosen.model_macs < overhead < 0.6


@pytest.mark.parametrize("name, split, grid", [("kws_dscnn_int8", 9, (3, 2)), ("resnet8_int8", 12, (2, 2))])
def test_shared_models_patched_are_bit_exact(shared_model, name, split, grid):
    """KWS (every operator up to the pooling: patching does not pay there, so the configuration is
    forced) and ResNet-8 (residual blocks with 1x1 shortcuts inside the stage). AD has no spatial
    operator: nothing to patch."""
    data = shared_model(name).read_bytes()
    art = assert_backend_matches_tflm(data, int8_inputs(data, np.random.default_rng(4), count=2), name=name,
                                      patch={"split": split, "grid": grid})
    assert art.patch.split == split and art.patch.grid == grid
