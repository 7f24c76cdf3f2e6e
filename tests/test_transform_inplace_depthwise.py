"""InPlaceDepthwise: structure before/after, legality, lifetimes, and bit-exact execution."""

from pathlib import Path

import numpy as np
import tvm
from tvm import relax

import tinytvm
from tinytvm.ir import ops
from tinytvm.ir.graph import layers
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
