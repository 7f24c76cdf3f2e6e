"""InPlaceElementwise: structure before/after, legality, and bit-exact execution (ResNet-8, host ASan + QEMU)."""

from pathlib import Path

import numpy as np
import tvm
from tvm import relax

import tinytvm
from tinytvm.ir import ops
from tinytvm.ir.graph import layers
from tinytvm.micro.runners import get_runner
from tinytvm.transform.inplace_elementwise import InPlaceElementwise

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
TY = relax.TensorType((1, 4, 4, 8), "int8")


def _add(in_place: bool) -> ops.Add:
    return ops.Add(output_scale=0.1, output_zp=0, lhs_zp=0, rhs_zp=0, left_shift=20, lhs_multiplier=1 << 30,
                   lhs_shift=0, rhs_multiplier=1 << 30, rhs_shift=0, output_multiplier=1 << 30, output_shift=-19,
                   act_min=-128, act_max=127, in_place=in_place)


def _module(first_in_place: bool, second_in_place: bool, reuse_first: bool = False):
    """a = x + x (reads the caller's input: never in place); b = a + x; c = b + (a or x)."""
    builder = relax.BlockBuilder()
    x = relax.Var("x", TY)
    with builder.function("main", [x]):
        with builder.dataflow():
            a = builder.emit(_add(False).call([x, x], TY), name_hint="a")
            b = builder.emit(_add(first_in_place).call([a, x], TY), name_hint="b")
            c = builder.emit(_add(second_in_place).call([b, a if reuse_first else x], TY), name_hint="c")
            d = builder.emit(_add(False).call([c, x], TY), name_hint="d")
            out = builder.emit_output(d)
        builder.emit_func_output(out)
    return builder.get()


def test_marks_adds_whose_first_operand_dies():
    after = InPlaceElementwise()(_module(False, False))
    # b, c and d overwrite their first operand (d's lands in the caller's output buffer: same size).
    assert [l.record.in_place for l in layers(after)] == [False, True, True, True]
    changed = [l for l in layers(after) if l.record.in_place]
    tvm.ir.assert_structural_equal(changed[0].call.attrs, _add(True).call([], TY).attrs)


def test_first_operand_read_later_blocks_in_place():
    after = InPlaceElementwise()(_module(False, False, reuse_first=True))
    assert [l.record.in_place for l in layers(after)] == [False, False, True, True]


def test_resnet8_residual_adds_in_place_are_bit_exact():
    mod = tinytvm.from_tflite(MODELS / "resnet8_int8.tflite")
    assert sum(l.record.in_place for l in layers(InPlaceElementwise()(mod)) if l.kernel == "add") == 3
    artifact = tinytvm.build(mod, target="cortex-m7", name="resnet8")
    without = tinytvm.build(mod, target="cortex-m7", name="resnet8", in_place=False)
    assert artifact.arena_bytes < 0.7 * without.arena_bytes
    sets = [[np.random.default_rng(seed).integers(-128, 128, (1, 32, 32, 3), dtype=np.int8)] for seed in range(3)]
    for runner in ("host-asan", "qemu"):
        for inputs, result in zip(sets, get_runner(runner).run_many(artifact, sets)):
            np.testing.assert_array_equal(result.outputs[0], tinytvm.reference_run(mod, inputs)[0])


def _asymmetric(in_place: bool, swapped: bool) -> ops.Add:
    lhs, rhs = ((2, 1 << 29, -1), (-3, 1 << 30, 0))[::-1 if swapped else 1]
    return ops.Add(output_scale=0.1, output_zp=0, lhs_zp=lhs[0], rhs_zp=rhs[0], left_shift=20,
                   lhs_multiplier=lhs[1], lhs_shift=lhs[2], rhs_multiplier=rhs[1], rhs_shift=rhs[2],
                   output_multiplier=1 << 30, output_shift=-19, act_min=-128, act_max=127, in_place=in_place)


def _residual(after: bool):
    """p = x + x (the older value); q = x + x; r = q + p (both die: r overwrites p); out = r + x."""
    builder = relax.BlockBuilder()
    x = relax.Var("x", TY)
    with builder.function("main", [x]):
        with builder.dataflow():
            p = builder.emit(_add(False).call([x, x], TY), name_hint="p")
            q = builder.emit(_add(False).call([x, x], TY), name_hint="q")
            operands = [p, q] if after else [q, p]
            r = builder.emit(_asymmetric(after, swapped=after).call(operands, TY), name_hint="r")
            out = builder.emit_output(builder.emit(_add(after).call([r, x], TY), name_hint="s"))
        builder.emit_func_output(out)
    return builder.get()


def test_overwrites_the_older_of_two_dying_operands():
    before = _residual(after=False)
    after = InPlaceElementwise()(before)
    tvm.ir.assert_structural_equal(after, _residual(after=True))
    x = np.random.default_rng(0).integers(-128, 128, (1, 4, 4, 8), dtype=np.int8)
    np.testing.assert_array_equal(tinytvm.reference_run(after, x)[0], tinytvm.reference_run(before, x)[0])
    (result,) = get_runner("host-asan").run_many(tinytvm.build(after, target="host"), [[x]])
    np.testing.assert_array_equal(result.outputs[0], tinytvm.reference_run(before, x)[0])
