"""PatchBasedInference: structure before/after, legality, receptive fields, and bit-exactness.

The synthetic stages are TFLite models (tflite_builder) with every patchable operator kind, odd
sizes, stride 2, dilation, explicit PAD, VALID/SAME padding and 5x5/7x7 kernels. Here the
patched module runs on the reference executor (tile by tile, with the receptive-field geometry)
against TFLite Micro for many split points and grids; tests/test_backend_patch.py runs the
generated C on host-asan and QEMU.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tvm
from bitexact import int8_multi_sets
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import model_io, tflm_run_many
from tflite_builder import ModelBuilder
from tvm import relax

import tinytvm
from tinytvm.analysis.receptive_field import Span, grid_spans, stage_patches
from tinytvm.errors import TinyTVMError
from tinytvm.ir import ops
from tinytvm.ir.graph import layers
from tinytvm.ir.network import NetworkBuilder, mobilenet_v2
from tinytvm.ir.patch_stage import PATCH_GRID_ATTR
from tinytvm.reference import trace
from tinytvm.transform.patch_based_inference import (
    PatchBasedInference,
    split_candidates,
    split_problem,
)


# ------------------------------------------------------------------------------------------------
# Synthetic stages (TFLite, int8 in and out)
# ------------------------------------------------------------------------------------------------
def _w(rng, shape):
    return rng.normal(size=shape)


def residual_stage(rng) -> bytes:
    """conv 3x3/2 -> depthwise 5x5 -> 1x1 -> ADD (residual) -> max-pool 3x3 SAME, on 23x19."""
    b = ModelBuilder()
    x = b.input("x", (1, 23, 19, 4), scale=0.05, zero_point=-128)
    c = b.conv2d(x, _w(rng, (8, 3, 3, 4)), rng.normal(size=8), stride=2, activation="RELU")
    d = b.depthwise_conv2d(c, _w(rng, (1, 5, 5, 8)), rng.normal(size=8), activation="RELU6")
    p = b.conv2d(d, _w(rng, (8, 1, 1, 8)), rng.normal(size=8))
    a = b.add(p, c)
    b.output(b.max_pool2d(a, 3, 1, padding="SAME"))
    return b.build()


def valid_dilated_stage(rng) -> bytes:
    """PAD -> conv 7x7/2 VALID -> depthwise 3x3 dilation 2 -> avg-pool 3x3/2 SAME, on 31x29."""
    b = ModelBuilder()
    x = b.input("x", (1, 31, 29, 3), scale=0.02, zero_point=7)
    p = b.pad(x, [[0, 0], [2, 1], [1, 2], [0, 0]])
    c = b.conv2d(p, _w(rng, (6, 7, 7, 3)), rng.normal(size=6), stride=2, padding="VALID", activation="RELU")
    d = b.depthwise_conv2d(c, _w(rng, (1, 3, 3, 6)), rng.normal(size=6), dilation=2)
    b.output(b.avg_pool2d(d, 3, 2, padding="SAME"))
    return b.build()


def branchy_stage(rng) -> bytes:
    """conv 3x3 -> {depthwise 3x3/2, max-pool 2x2/2 -> 1x1 -> QUANTIZE} -> CONCATENATION, MUL, LOGISTIC,
    on 17x21."""
    b = ModelBuilder()
    x = b.input("x", (1, 17, 21, 5), scale=0.04, zero_point=-3)
    c = b.conv2d(x, _w(rng, (6, 3, 3, 5)), rng.normal(size=6), activation="RELU6")
    left = b.depthwise_conv2d(c, _w(rng, (1, 3, 3, 6)), rng.normal(size=6), stride=2)
    right = b.conv2d(b.max_pool2d(c, 2, 2, padding="SAME"), _w(rng, (6, 1, 1, 6)), rng.normal(size=6))
    right = b.quantize(right, left.scale, left.zero_point)  # int8 -> int8: a requantization
    joined = b.concat([left, right], axis=3)
    product = b.mul(joined, joined)
    b.output(b.logistic(product))
    return b.build()


STAGES = {"residual": residual_stage, "valid_dilated": valid_dilated_stage, "branchy": branchy_stage}


@pytest.fixture(scope="module", params=sorted(STAGES))
def stage_model(request) -> bytes:
    return STAGES[request.param](np.random.default_rng(7))


def _sets(data: bytes, count: int = 3):
    return int8_multi_sets(np.random.default_rng(1), [i.shape for i in model_io(data).inputs], count)


# ------------------------------------------------------------------------------------------------
# Structure
# ------------------------------------------------------------------------------------------------
def _chain():
    net = NetworkBuilder((1, 12, 12, 3), seed=3)
    net.conv(8, 3, 2)
    net.depthwise(3)
    net.pointwise(4)
    net.global_avg_pool()
    net.flatten()
    return net.build()


def _expected_split(before: tvm.IRModule, grid) -> tvm.IRModule:
    """The module PatchBasedInference(3, grid) must produce for :func:`_chain`, built by hand."""
    func = before["main"]
    bindings = list(func.body.blocks[0].bindings)
    x = func.params[0]
    stage_x = relax.Var(x.name, x.ty)
    renamed = {x.name: stage_x}
    stage_bindings = []
    for binding in bindings[:3]:
        call = binding.value
        var = relax.Var(binding.var.name, binding.var.ty)
        args = [renamed[a.name] if isinstance(a, relax.Var) else a for a in call.args]
        stage_bindings.append(relax.VarBinding(var, relax.Call(call.op, args, call.attrs, call.ty_args)))
        renamed[binding.var.name] = var
    stage = relax.Function([stage_x], relax.SeqExpr([relax.BindingBlock(stage_bindings)], renamed["pw0"]),
                           bindings[2].var.ty, True).with_attr(PATCH_GRID_ATTR, list(grid))
    builder = relax.BlockBuilder(before)
    gv = builder.add_func(builder.normalize(stage), "main_patch_stage")
    call = builder.normalize(relax.Call(gv, [x]))
    block = relax.DataflowBlock([relax.VarBinding(bindings[2].var, call), *bindings[3:]])
    main = relax.Function(func.params, relax.SeqExpr([block], func.body.body), func.ret_ty, func.is_pure,
                          func.attrs)
    expected = builder.get()
    expected.update_func(expected.get_global_var("main"), relax.BlockBuilder().normalize(main))
    return expected


def test_moves_the_stage_into_a_patched_function():
    before = _chain()
    after = PatchBasedInference(3, (2, 3))(before)
    tvm.ir.assert_structural_equal(after, _expected_split(before, (2, 3)))
    assert [layer.kernel for layer in layers(after)] == ["patch_stage", "avg_pool2d", "reshape"]
    stage = layers(after)[0].record
    assert stage.grid == (2, 3) and [layer.kernel for layer in stage.layers] == ["conv2d", "depthwise_conv2d",
                                                                                 "conv2d"]


def test_split_candidates_stop_at_the_first_non_spatial_operator():
    mod = _chain()
    assert split_candidates(mod) == [1, 2, 3]  # global pooling: a single pixel; then a reshape
    assert "single pixel" in split_problem(mod, 4)
    assert "not spatial" in split_problem(mod, 5)


def test_rejects_a_stage_with_two_values_used_after_it():
    mod = mobilenet_v2(0.35, 32, num_classes=4)
    bad = next(k for k in range(1, 12) if k not in split_candidates(mod))
    with pytest.raises(TinyTVMError, match="exactly one stage value"):
        PatchBasedInference(bad, (2, 2))(mod)


def test_rejects_a_grid_larger_than_the_stage_output():
    with pytest.raises(TinyTVMError, match="does not fit"):
        PatchBasedInference(3, (7, 2))(_chain())  # the stage output is 6x6


def test_build_option_is_validated():
    with pytest.raises(TinyTVMError, match="patch must be"):
        tinytvm.analyze(_chain(), patch={"split": 3})


# ------------------------------------------------------------------------------------------------
# Receptive fields
# ------------------------------------------------------------------------------------------------
def test_grid_spans_cover_the_axis_without_overlap():
    for size in range(1, 30):
        for parts in range(1, size + 1):
            spans = grid_spans(size, parts)
            assert spans[0].start == 0 and spans[-1].stop == size
            assert all(a.stop == b.start and a.size > 0 for a, b in itertools.pairwise(spans))


def test_windows_include_the_halo_and_padding_only_at_the_border():
    mod = tinytvm.from_tflite(residual_stage(np.random.default_rng(0)))
    stage = layers(mod)
    names = [layer.var.name for layer in stage]
    patches = stage_patches(stage, mod["main"].params[0].name, names[-1], (2, 2))
    top_left, bottom_right = patches[0], patches[-1]
    conv_out = names[0]
    # max-pool 3x3 (+1 halo) after depthwise 5x5 (+2 halo): the conv output window grows by 3.
    assert top_left.windows[conv_out].rows == Span(0, 6 + 3)
    assert top_left.padding[0][:2] == (0, 0) or top_left.padding[0][0] >= 0
    assert top_left.padding[1][0] == 2 and top_left.padding[1][2] == 0  # dw: image top only
    assert bottom_right.padding[1][0] == 0 and bottom_right.padding[1][2] == 2


# ------------------------------------------------------------------------------------------------
# Bit-exactness on the reference executor, against TFLite Micro
# ------------------------------------------------------------------------------------------------
def test_every_split_and_grid_is_bit_exact(stage_model):
    mod = tinytvm.from_tflite(stage_model)
    sets = _sets(stage_model)
    expected = tflm_run_many(stage_model, sets)
    out_shape = layers(mod)[-1].out_shape
    checked = 0
    for split in split_candidates(mod):
        stage_out = layers(mod)[split - 1].out_shape
        for grid in [(1, 2), (2, 1), (2, 2), (3, 2), (stage_out[1], stage_out[2])]:
            if grid[0] > stage_out[1] or grid[1] > stage_out[2]:
                continue
            try:
                patched = PatchBasedInference(split, grid)(mod)
            except TinyTVMError as error:  # a patch entirely in explicit PAD padding: refused, not miscomputed
                assert "reads no pixel" in str(error)
                continue
            for xs, want in zip(sets, expected):
                got = tinytvm.reference_run(patched, xs)
                assert all(np.array_equal(g, w) for g, w in zip(got, want)), (split, grid)
            checked += 1
    assert checked >= 6 and out_shape


def test_mobilenet_stage_outputs_are_bit_exact():
    """Compare the stage output itself (the classifier's softmax could hide a difference)."""
    mod = mobilenet_v2(0.35, 40, num_classes=4)
    x = np.random.default_rng(2).integers(-128, 128, (1, 40, 40, 3), dtype=np.int8)
    for split in (6, 10, 13):
        patched = PatchBasedInference(split, (3, 2))(mod)
        name = layers(patched)[0].var.name
        assert np.array_equal(trace(patched, x)[name], trace(mod, x)[name])


# ------------------------------------------------------------------------------------------------
# Property: any chain of sliding windows, any grid, is bit-exact tile by tile
# ------------------------------------------------------------------------------------------------
WINDOW = st.tuples(st.sampled_from(["conv2d", "depthwise_conv2d", "max_pool2d", "avg_pool2d"]),
                   st.integers(1, 5), st.integers(1, 2), st.integers(1, 2), st.integers(0, 2), st.integers(0, 2))


def _window_chain(height: int, width: int, channels: int, specs, seed: int) -> tvm.IRModule:
    rng = np.random.default_rng(seed)
    builder = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, height, width, channels), "int8"))
    with builder.function("main", [x]):
        with builder.dataflow():
            value, shape = x, (1, height, width, channels)
            for kind, kernel, stride, dilation, before, after in specs:
                if kind.endswith("pool2d"):
                    dilation = 1
                reach = (kernel - 1) * dilation + 1
                top, bottom = min(before, reach - 1), min(after, reach - 1)
                out_h = (shape[1] + top + bottom - reach) // stride + 1
                out_w = (shape[2] + top + bottom - reach) // stride + 1
                if min(out_h, out_w) < 1:
                    continue
                out_c = 3 if kind == "conv2d" else shape[3]
                common = dict(output_scale=0.1, output_zp=-2, stride=(stride, stride),
                              padding=(top, top, bottom, bottom), act_min=-128, act_max=127)
                if kind.endswith("pool2d"):
                    record = (ops.MaxPool2D if kind == "max_pool2d" else ops.AvgPool2D)(pool=(kernel, kernel),
                                                                                       **common)
                    operands = [value]
                else:
                    weight_shape = (out_c, kernel, kernel, shape[3]) if kind == "conv2d" else (1, kernel, kernel,
                                                                                            shape[3])
                    extra = {} if kind == "conv2d" else {"depth_multiplier": 1}
                    record = (ops.Conv2D if kind == "conv2d" else ops.DepthwiseConv2D)(
                        input_zp=5, dilation=(dilation, dilation), **extra, **common)
                    operands = [value, relax.const(rng.integers(-127, 128, weight_shape, dtype=np.int8)),
                                relax.const(rng.integers(-300, 300, out_c, dtype=np.int32)),
                                relax.const(np.full(out_c, 1 << 30, np.int32)),
                                relax.const(np.full(out_c, -6, np.int32))]
                shape = (1, out_h, out_w, out_c)
                value = builder.emit(record.call(operands, relax.TensorType(shape, "int8")))
            out = builder.emit_output(value)
        builder.emit_func_output(out)
    return builder.get()


@settings(max_examples=60, deadline=None)
@given(st.integers(4, 19), st.integers(4, 19), st.integers(1, 4), st.lists(WINDOW, min_size=1, max_size=3),
       st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**16))
def test_any_window_chain_on_any_grid_is_bit_exact(height, width, channels, specs, rows, cols, seed):
    mod = _window_chain(height, width, channels, specs, seed)
    chain = layers(mod)
    if not chain or split_problem(mod, len(chain)):
        return
    _, out_h, out_w, _ = chain[-1].out_shape
    grid = (min(rows, out_h), min(cols, out_w))
    if grid == (1, 1):
        return
    x = np.random.default_rng(seed).integers(-128, 128, (1, height, width, channels), dtype=np.int8)
    patched = PatchBasedInference(len(chain), grid)(mod)
    np.testing.assert_array_equal(tinytvm.reference_run(patched, x)[0], tinytvm.reference_run(mod, x)[0])
