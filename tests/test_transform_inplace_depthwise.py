"""InPlaceDepthwise: structure before/after, legality, lifetimes (shrinking storages), and bit-exact
execution (host ASan, QEMU) against the reference and TFLite Micro."""

from pathlib import Path

import numpy as np
import pytest
import tvm
from bitexact import int8_sets
from oracle import tflm_run_many
from tflite_builder import ModelBuilder
from tvm import relax

import tinytvm
from tinytvm.ir import ops
from tinytvm.ir.graph import layers
from tinytvm.memory.buffers import BufferSpec
from tinytvm.memory.liveness import analyze_lifetimes
from tinytvm.micro.runners import get_runner
from tinytvm.transform.inplace_depthwise import InPlaceDepthwise

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"


def _dw(in_place: bool, stride=(1, 1)) -> ops.DepthwiseConv2D:
    return ops.DepthwiseConv2D(output_scale=0.1, output_zp=-3, input_zp=-128, stride=stride, dilation=(1, 1),
                               padding=(1, 1, 1, 1), depth_multiplier=1, act_min=-128, act_max=127,
                               in_place=in_place)


def _module(in_place_first: bool, second_reads_input: bool = False):
    """x -> conv (arena) -> dw -> dw [-> add(dw1, conv) when the conv output is read again]."""
    rng = np.random.default_rng(0)
    builder = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 8, 8, 4), "int8"))
    conv = ops.Conv2D(output_scale=0.1, output_zp=0, input_zp=0, stride=(1, 1), dilation=(1, 1),
                      padding=(0, 0, 0, 0), act_min=-128, act_max=127)

    def constants(channels, weight_shape):
        return [relax.const(rng.integers(-127, 128, weight_shape, dtype=np.int8)),
                relax.const(rng.integers(-500, 500, channels, dtype=np.int32)),
                relax.const(np.full(channels, 1 << 30, np.int32)), relax.const(np.full(channels, -6, np.int32))]

    ty = relax.TensorType((1, 8, 8, 4), "int8")
    with builder.function("main", [x]):
        with builder.dataflow():
            c = builder.emit(conv.call([x, *constants(4, (4, 1, 1, 4))], ty), name_hint="c")
            d1 = builder.emit(_dw(in_place_first).call([c, *constants(4, (1, 3, 3, 4))], ty), name_hint="d1")
            d2 = builder.emit(_dw(not second_reads_input).call([d1, *constants(4, (1, 3, 3, 4))], ty),
                              name_hint="d2")
            result = d2
            if second_reads_input:
                add = ops.Add(output_scale=0.1, output_zp=0, lhs_zp=0, rhs_zp=0, left_shift=20,
                              lhs_multiplier=1 << 30, lhs_shift=0, rhs_multiplier=1 << 30, rhs_shift=0,
                              output_multiplier=1 << 30, output_shift=-19, act_min=-128, act_max=127)
                result = builder.emit(add.call([d2, c], ty), name_hint="a")
            out = builder.emit_output(result)
        builder.emit_func_output(out)
    return builder.get()


def test_marks_depthwise_whose_input_dies():
    before = _module(in_place_first=False, second_reads_input=False)
    before = _set_second(before, False)
    after = InPlaceDepthwise()(before)
    tvm.ir.assert_structural_equal(after, _set_second(_module(in_place_first=True), True))


def test_input_still_needed_blocks_in_place():
    # d1 reads c, but the final add reads c again: d1 must not overwrite it. d2 may overwrite d1.
    before = _module(in_place_first=False, second_reads_input=True)
    before = _set_second(before, False)
    after = InPlaceDepthwise()(before)
    assert [l.record.in_place for l in layers(after) if l.kernel == "depthwise_conv2d"] == [False, True]


def _set_second(mod, value: bool):
    """The helper module's second depthwise with in_place forced to ``value``."""
    second = [l for l in layers(mod) if l.kernel == "depthwise_conv2d"][1]
    blocks = []
    for block in mod["main"].body.blocks:
        bindings = []
        for binding in block.bindings:
            if binding.var.same_as(second.var):
                record = second.record.replace(in_place=value)
                call = relax.BlockBuilder().normalize(record.call(list(second.call.args), second.call.ty))
                binding = relax.VarBinding(binding.var, call)
            bindings.append(binding)
        blocks.append(relax.DataflowBlock(bindings))
    func = mod["main"]
    new = relax.BlockBuilder().normalize(
        relax.Function(func.params, relax.SeqExpr(blocks, func.body.body), func.ret_ty, func.is_pure, func.attrs))
    return tvm.IRModule({mod.get_global_var("main"): new})


def test_model_input_is_never_overwritten():
    mod = tinytvm.from_tflite(MODELS / "kws_dscnn_int8.tflite")
    after = InPlaceDepthwise()(mod)
    lifetimes = analyze_lifetimes(after)
    for layer in layers(after):
        if layer.kernel == "depthwise_conv2d" and layer.record.in_place:
            source = lifetimes.storage_of[layer.call.args[0].name]
            assert lifetimes.storage_of[layer.var.name] == source
            assert next(s for s in lifetimes.storages if s.name == source).external is None


def test_mlperf_in_place_is_bit_exact_and_smaller():
    for name, runners in (("kws_dscnn_int8", ("host-asan", "qemu")), ("vww_mbv1_int8", ("host",))):
        mod = tinytvm.from_tflite(MODELS / f"{name}.tflite")
        after = InPlaceDepthwise()(mod)
        assert sum(l.record.in_place for l in layers(after) if l.kernel == "depthwise_conv2d") > 0
        artifact = tinytvm.build(after, target="cortex-m7", name="m")
        sets = [[np.random.default_rng(seed).integers(-128, 128, artifact.inputs[0].shape, dtype=np.int8)]
                for seed in range(2)]
        for runner in runners:
            for inputs, result in zip(sets, get_runner(runner).run_many(artifact, sets)):
                np.testing.assert_array_equal(result.outputs[0], tinytvm.reference_run(mod, inputs)[0])
        plain = analyze_lifetimes(mod)
        assert sum(s.size for s in analyze_lifetimes(after).arena_storages) < sum(s.size for s in plain.arena_storages)


# -- shrinking layers: stride 2, valid padding ------------------------------------------------------

def _strided(in_place: bool, tail: str = "conv"):
    """x (9x9x4) -> conv 1x1 (arena) -> depthwise 3x3 stride 2 (5x5x4, ``in_place``) -> the model's
    output: a conv 1x1 (``tail`` "conv"), the depthwise itself ("none") or a depthwise 3x3 stride 1
    ("depthwise", not in place)."""
    rng = np.random.default_rng(2)
    builder = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 9, 9, 4), "int8"))
    conv = ops.Conv2D(output_scale=0.1, output_zp=0, input_zp=0, stride=(1, 1), dilation=(1, 1),
                      padding=(0, 0, 0, 0), act_min=-128, act_max=127)

    def constants(weight_shape):
        return [relax.const(rng.integers(-127, 128, weight_shape, dtype=np.int8)),
                relax.const(rng.integers(-500, 500, 4, dtype=np.int32)),
                relax.const(np.full(4, 1 << 30, np.int32)), relax.const(np.full(4, -6, np.int32))]

    small = relax.TensorType((1, 5, 5, 4), "int8")
    with builder.function("main", [x]):
        with builder.dataflow():
            c = builder.emit(conv.call([x, *constants((4, 1, 1, 4))], x.ty), name_hint="c")
            d = builder.emit(_dw(in_place, stride=(2, 2)).call([c, *constants((1, 3, 3, 4))], small), name_hint="d")
            tails = {"conv": lambda: builder.emit(conv.call([d, *constants((4, 1, 1, 4))], small), name_hint="p"),
                     "depthwise": lambda: builder.emit(_dw(False).call([d, *constants((1, 3, 3, 4))], small),
                                                       name_hint="e"),
                     "none": lambda: d}
            result = tails[tail]()
            out = builder.emit_output(result)
        builder.emit_func_output(out)
    return builder.get()


def test_marks_stride_2_depthwise_whose_input_dies():
    after = InPlaceDepthwise()(_strided(in_place=False))
    tvm.ir.assert_structural_equal(after, _strided(in_place=True))


def test_shrinking_depthwise_output_is_never_a_model_output():
    # The caller's output buffer (5x5x4) could not hold the 9x9x4 input the result overwrites.
    before = _strided(in_place=False, tail="none")
    tvm.ir.assert_structural_equal(InPlaceDepthwise()(before), before)


def test_a_model_output_never_joins_a_shrunk_storage():
    # The second depthwise (5x5x4, the model output) would overwrite the stride-2 result, whose
    # storage also holds the 9x9x4 input: the caller's buffer could not hold that storage.
    after = InPlaceDepthwise()(_strided(in_place=False, tail="depthwise"))
    tvm.ir.assert_structural_equal(after, _strided(in_place=True, tail="depthwise"))
    lifetimes = analyze_lifetimes(after)
    assert [s.size for s in lifetimes.storages if s.external == "output:0"] == [100]


def test_stride_2_storage_shrinks_after_the_layer():
    lifetimes = analyze_lifetimes(InPlaceDepthwise()(_strided(in_place=False)))
    c, d, _ = (layer.var.name for layer in lifetimes.layers)
    storage = next(s for s in lifetimes.storages if s.name == lifetimes.storage_of[d])
    assert storage.name == c and lifetimes.value_offset[c] == lifetimes.value_offset[d] == 0
    # conv at step 0, depthwise at step 1 (needs only its input's bytes), the result alone at step 2.
    assert storage.extents == ((0, 1, 324), (2, 2, 100)) and storage.size == 324
    assert storage.specs() == (BufferSpec(c, 324, 0, 1), BufferSpec(f"{c}@2", 100, 2, 2, anchor=c))


def test_analyze_reports_the_shrunk_storage():
    mod = _strided(in_place=False)
    report = tinytvm.analyze(mod)
    plain = tinytvm.analyze(mod, in_place=False)
    c = layers(mod)[0].var.name
    assert report.placements[f"{c}@2"][:2] == (report.placements[c][0], 100)  # at the storage's offset
    # The last conv sees the 100-byte result, not the 324-byte storage it shares.
    assert report.layers[2].alive_bytes == 100 + report.layers[2].scratch_bytes
    assert report.arena_bytes < plain.arena_bytes


def _shrinking_model(shape, kernel: int, stride: int, padding: str, dilation: int = 1, repeat: int = 1) -> bytes:
    """x -> conv 1x1 (an arena tensor) -> ``repeat`` shrinking depthwise layers -> conv 1x1 -> output."""
    rng = np.random.default_rng(kernel * 100 + stride * 10 + sum(shape))
    channels = shape[3]
    b = ModelBuilder()
    x = b.input("x", shape, scale=0.05, zero_point=-3)
    y = b.conv2d(x, rng.normal(size=(channels, 1, 1, channels)), rng.normal(size=channels), activation="RELU")
    for _ in range(repeat):
        y = b.depthwise_conv2d(y, rng.normal(size=(1, kernel, kernel, channels)), rng.normal(size=channels),
                               stride=stride, padding=padding, dilation=dilation)
    b.output(b.conv2d(y, rng.normal(size=(channels, 1, 1, channels)), rng.normal(size=channels)))
    return b.build()


SHRINKING = [  # input shape, kernel, stride, padding, dilation, depthwise layers
    ((1, 9, 11, 8), 3, 2, "SAME", 1, 1),     # odd sizes: pad top 1
    ((1, 10, 8, 8), 3, 2, "SAME", 1, 1),     # even sizes: pad top 0, bottom 1
    ((1, 9, 11, 5), 3, 2, "VALID", 1, 1),    # odd channel count (partial channel blocks)
    ((1, 13, 11, 4), 5, 2, "SAME", 1, 1),
    ((1, 9, 7, 6), 3, 1, "VALID", 1, 1),     # stride 1, valid padding: shrinks by the kernel's border
    ((1, 11, 9, 4), 3, 1, "VALID", 2, 1),    # dilated
    ((1, 9, 9, 8), 1, 2, "VALID", 1, 1),     # 1x1 kernel (direct path)
    ((1, 15, 13, 4), 3, 2, "SAME", 1, 2),    # two in a row: a storage shrinking twice
]


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, repeat", SHRINKING)
def test_shrinking_depthwise_in_place_is_bit_exact_with_tflm(shape, kernel, stride, padding, dilation, repeat):
    data = _shrinking_model(shape, kernel, stride, padding, dilation, repeat)
    mod = tinytvm.from_tflite(data)
    assert [l.record.in_place for l in layers(InPlaceDepthwise()(mod)) if l.kernel == "depthwise_conv2d"] \
        == [True] * repeat
    artifact = tinytvm.build(mod, target="cortex-m7", name="m")
    assert sum(b.anchor is not None for b in artifact.plan.buffers) == repeat  # one step down per layer
    assert artifact.arena_bytes < tinytvm.build(mod, target="cortex-m7", name="m", in_place=False).arena_bytes
    sets = int8_sets(np.random.default_rng(len(shape) + kernel), shape, count=2)
    expected = tflm_run_many(data, sets)
    for inputs, ref in zip(sets, expected):
        np.testing.assert_array_equal(tinytvm.reference_run(mod, inputs)[0], ref[0])
    for runner in ("host-asan", "qemu"):
        for result, ref in zip(get_runner(runner).run_many(artifact, sets), expected):
            np.testing.assert_array_equal(result.outputs[0], ref[0])
