"""InPlaceConv2D: structure before/after, legality, overlap offsets, and bit-exact execution (host ASan, QEMU)."""

from pathlib import Path

import numpy as np
import tvm
from tvm import relax

import tinytvm
from tinytvm.ir import ops
from tinytvm.ir.graph import layers
from tinytvm.codegen.build import BuildOptions, optimize_memory
from tinytvm.memory.liveness import analyze_lifetimes
from tinytvm.micro.runners import get_runner
from tinytvm.transform.inplace_conv2d import InPlaceConv2D

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"


def _conv(in_place: bool, stride=(1, 1), padding=(0, 0, 0, 0)) -> ops.Conv2D:
    return ops.Conv2D(output_scale=0.1, output_zp=-3, input_zp=-5, stride=stride, dilation=(1, 1),
                      padding=padding, act_min=-128, act_max=127, in_place=in_place)


def _chain(marks: tuple[bool, bool, bool], widths=(8, 8, 8, 4), keep_first: bool = False):
    """x -> conv1x1 (w0->w1) -> conv1x1 (w1->w2) -> conv1x1 (w2->w3) [-> add(last, first) if keep_first]."""
    rng = np.random.default_rng(1)
    builder = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 6, 5, widths[0]), "int8"))
    with builder.function("main", [x]):
        with builder.dataflow():
            value, first = x, None
            for k, mark in enumerate(marks):
                cin, cout = widths[k], widths[k + 1]
                operands = [value, relax.const(rng.integers(-127, 128, (cout, 1, 1, cin), dtype=np.int8)),
                            relax.const(rng.integers(-900, 900, cout, dtype=np.int32)),
                            relax.const(np.full(cout, 1 << 30, np.int32)), relax.const(np.full(cout, -7, np.int32))]
                value = builder.emit(_conv(mark).call(operands, relax.TensorType((1, 6, 5, cout), "int8")),
                                     name_hint=f"c{k}")
                first = value if first is None else first
            if keep_first:
                add = ops.Add(output_scale=0.1, output_zp=0, lhs_zp=0, rhs_zp=0, left_shift=20,
                              lhs_multiplier=1 << 30, lhs_shift=0, rhs_multiplier=1 << 30, rhs_shift=0,
                              output_multiplier=1 << 30, output_shift=-19, act_min=-128, act_max=127)
                value = builder.emit(add.call([value, first], relax.TensorType((1, 6, 5, widths[3]), "int8")))
            out = builder.emit_output(value)
        builder.emit_func_output(out)
    return builder.get()


def test_marks_same_width_convs_whose_input_dies():
    # c0 reads the caller's input (never overwritten); c1 (8->8) may overwrite c0; c2 (8->4) shrinks.
    after = InPlaceConv2D()(_chain((False, False, False)))
    tvm.ir.assert_structural_equal(after, _chain((False, True, False)))


def test_input_read_later_blocks_in_place():
    after = InPlaceConv2D()(_chain((False, False, False), widths=(8, 8, 8, 8), keep_first=True))
    # c1 would overwrite c0, which the final add still reads; c2 may overwrite c1.
    assert [layer.record.in_place for layer in layers(after) if layer.kernel == "conv2d"] == [False, False, True]


def test_kws_pointwise_in_place_is_bit_exact_and_halves_the_arena():
    mod = tinytvm.from_tflite(MODELS / "kws_dscnn_int8.tflite")
    artifact = tinytvm.build(mod, target="cortex-m7", name="kws")
    assert sum(l.record.in_place for l in layers(InPlaceConv2D()(mod)) if l.kernel == "conv2d") == 4
    assert artifact.arena_bytes < tinytvm.build(mod, target="cortex-m7", name="kws", in_place=False).arena_bytes // 2 + 1024
    sets = [[np.random.default_rng(seed).integers(-128, 128, (1, 49, 10, 1), dtype=np.int8)] for seed in range(3)]
    for runner in ("host-asan", "qemu"):
        for inputs, result in zip(sets, get_runner(runner).run_many(artifact, sets)):
            np.testing.assert_array_equal(result.outputs[0], tinytvm.reference_run(mod, inputs)[0])


def test_synthetic_chain_runs_bit_exact_in_place():
    mod = _chain((False, False, False), widths=(8, 8, 8, 8))
    artifact = tinytvm.build(mod, target="host")
    assert sum(l.record.in_place for l in layers(InPlaceConv2D()(mod))) == 2
    sets = [[np.random.default_rng(seed).integers(-128, 128, (1, 6, 5, 8), dtype=np.int8)] for seed in range(3)]
    for inputs, result in zip(sets, get_runner("host-asan").run_many(artifact, sets)):
        np.testing.assert_array_equal(result.outputs[0], tinytvm.reference_run(mod, inputs)[0])


def _kxk_chain(kernel: int, padding, channels: int = 6, size=(7, 9)):
    """x -> conv kxk (SAME) -> conv kxk (SAME) -> conv 1x1 -> output, all `channels` wide."""
    rng = np.random.default_rng(kernel)
    builder = relax.BlockBuilder()
    shape = (1, *size, channels)
    x = relax.Var("x", relax.TensorType(shape, "int8"))
    with builder.function("main", [x]):
        with builder.dataflow():
            value = x
            for k, (kh, pad) in enumerate([(kernel, padding), (kernel, padding), (1, (0, 0, 0, 0))]):
                operands = [value, relax.const(rng.integers(-127, 128, (channels, kh, kh, channels), dtype=np.int8)),
                            relax.const(rng.integers(-900, 900, channels, dtype=np.int32)),
                            relax.const(np.full(channels, 1 << 30, np.int32)),
                            relax.const(np.full(channels, -9, np.int32))]
                value = builder.emit(_conv(False, padding=pad).call(operands, relax.TensorType(shape, "int8")),
                                     name_hint=f"c{k}")
            out = builder.emit_output(value)
        builder.emit_func_output(out)
    return builder.get()


def test_kxk_convolutions_overlap_their_input_bit_exactly():
    for kernel, padding in ((3, (1, 1, 1, 1)), (5, (2, 2, 2, 2)), (3, (0, 0, 2, 2)), (5, (1, 2, 3, 2))):
        mod = _kxk_chain(kernel, padding)
        after = InPlaceConv2D()(mod)
        # c0 reads the caller's input; c1 overlaps c0; c2 (the model output) cannot join an overlapping pair.
        assert [l.record.in_place for l in layers(after)] == [False, True, False]
        artifact = tinytvm.build(mod, target="cortex-m7", name="m")
        lifetimes = analyze_lifetimes(optimize_memory(mod, BuildOptions()))
        c0, c1 = (l.var.name for l in lifetimes.layers[:2])
        lead = 6 * (padding[0] * 9 + padding[1] + 1)
        assert lifetimes.value_offset[c0] - lifetimes.value_offset[c1] == lead  # the output starts before
        sets = [[np.random.default_rng(seed).integers(-128, 128, (1, 7, 9, 6), dtype=np.int8)] for seed in range(2)]
        for runner in ("host-asan", "qemu"):
            for inputs, result in zip(sets, get_runner(runner).run_many(artifact, sets)):
                np.testing.assert_array_equal(result.outputs[0], tinytvm.reference_run(mod, inputs)[0])


def test_expanding_pointwise_puts_its_input_at_the_end_of_the_output():
    # x -> c0 (8->8) -> c1 (8->16, expanding) -> c2 (16->4): c1 may take c0's place with c0 at its tail.
    mod = _chain((False, False, False), widths=(8, 8, 16, 4))
    after = InPlaceConv2D()(mod)
    assert [l.record.in_place for l in layers(after)] == [False, True, False]
    lifetimes = analyze_lifetimes(after)
    c0, c1 = (l.var.name for l in lifetimes.layers[:2])
    assert lifetimes.storage_of[c0] == lifetimes.storage_of[c1]
    assert lifetimes.value_offset[c0] - lifetimes.value_offset[c1] == 6 * 5 * (16 - 8)
    artifact = tinytvm.build(mod, target="cortex-m7", name="m")
    sets = [[np.random.default_rng(seed).integers(-128, 128, (1, 6, 5, 8), dtype=np.int8)] for seed in range(3)]
    for runner in ("host-asan", "qemu"):
        for inputs, result in zip(sets, get_runner(runner).run_many(artifact, sets)):
            np.testing.assert_array_equal(result.outputs[0], tinytvm.reference_run(mod, inputs)[0])


def test_narrowing_pointwise_writes_from_the_start_and_its_storage_shrinks():
    # c1 (8 -> 4) overwrites c0 from its start; after c1 only the 4-channel result is kept. c2 (the
    # model output) must not join that storage: the caller's 4-channel buffer cannot hold c0.
    before = _chain((False, False, False), widths=(8, 8, 4, 4))
    after = InPlaceConv2D()(before)
    tvm.ir.assert_structural_equal(after, _chain((False, True, False), widths=(8, 8, 4, 4)))
    storage = next(s for s in analyze_lifetimes(after).storages if "c1" in s.values)
    assert storage.external is None and storage.extents == ((0, 1, 6 * 5 * 8), (2, 2, 6 * 5 * 4))
    artifact = tinytvm.build(after, target="host")
    sets = [[np.random.default_rng(seed).integers(-128, 128, (1, 6, 5, 8), dtype=np.int8)] for seed in range(3)]
    for inputs, result in zip(sets, get_runner("host-asan").run_many(artifact, sets)):
        np.testing.assert_array_equal(result.outputs[0], tinytvm.reference_run(before, inputs)[0])
