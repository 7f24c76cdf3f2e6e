"""SimplifyTransposes: cancel/compose integer transposes, turn trivial ones into reshapes, fold into FC weights."""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from tinytvm.ir.ops import FullyConnected, MaxPool2D, Reshape, Transpose
from tinytvm.reference import reference_run
from tinytvm.transform import SimplifyTransposes

S, ZP = float(np.float32(0.1)), 2
RNG = np.random.default_rng(11)


def int8(shape):
    return relax.TensorType(shape, "int8")


def transpose(x, perm, shape):
    return Transpose(output_scale=S, output_zp=ZP, perm=perm).call([x], int8(shape))


def reshape(x, shape):
    return Reshape(output_scale=S, output_zp=ZP).call([x], int8(shape))


def pool(x, shape):
    record = MaxPool2D(output_scale=S, output_zp=ZP, pool=(1, 1), stride=(1, 1), padding=(0, 0, 0, 0),
                       act_min=-128, act_max=127)
    return record.call([x], int8(shape))


def function(body, shape):
    bb = relax.BlockBuilder()
    x = relax.Var("x", int8(shape))
    with bb.function("main", [x]):
        with bb.dataflow():
            out = bb.emit_output(body(bb, x))
        bb.emit_func_output(out)
    return bb.get()


def check(before, expected, shape):
    tvm.ir.assert_structural_equal(SimplifyTransposes()(function(before, shape)), function(expected, shape))


def test_inverse_transposes_cancel():
    def before(bb, x):
        t = bb.emit(transpose(x, (0, 3, 1, 2), (1, 3, 2, 4)))
        back = bb.emit(transpose(t, (0, 2, 3, 1), (1, 2, 4, 3)))
        return pool(back, (1, 2, 4, 3))

    check(before, lambda bb, x: pool(x, (1, 2, 4, 3)), (1, 2, 4, 3))


def test_transposes_compose():
    def before(bb, x):
        t = bb.emit(transpose(x, (0, 3, 1, 2), (1, 3, 2, 4)))
        return transpose(t, (0, 1, 3, 2), (1, 3, 4, 2))

    check(before, lambda bb, x: transpose(x, (0, 3, 2, 1), (1, 3, 4, 2)), (1, 2, 4, 3))


def test_transpose_of_unit_dimensions_is_a_reshape():
    check(lambda bb, x: transpose(x, (0, 3, 1, 2), (1, 5, 1, 1)),
          lambda bb, x: reshape(x, (1, 5, 1, 1)), (1, 1, 1, 5))


def test_reshape_chains_collapse():
    def before(bb, x):
        r = bb.emit(reshape(x, (1, 24)))
        r2 = bb.emit(reshape(r, (2, 12)))
        same = bb.emit(reshape(r2, (2, 12)))
        return pool(bb.emit(reshape(same, (1, 2, 4, 3))), (1, 2, 4, 3))

    check(before, lambda bb, x: pool(x, (1, 2, 4, 3)), (1, 2, 4, 3))


def test_flatten_transpose_folds_into_fully_connected_weights():
    weight = RNG.integers(-127, 128, (5, 24)).astype(np.int8)
    operands = [relax.const(weight), relax.const(RNG.integers(-100, 100, 5).astype(np.int32)),
                relax.const(np.full(5, 1 << 30, np.int32)), relax.const(np.full(5, -6, np.int32))]
    fc = FullyConnected(output_scale=0.5, output_zp=0, input_zp=ZP, act_min=-128, act_max=127)

    def before(bb, x):  # x: NHWC; ONNX flattens NCHW
        t = bb.emit(transpose(x, (0, 3, 1, 2), (1, 3, 2, 4)))
        flat = bb.emit(reshape(t, (1, 24)))
        return fc.call([flat, *operands], int8((1, 5)))

    module = function(before, (1, 2, 4, 3))
    after = SimplifyTransposes()(module)
    kernels = [str(b.value.op.global_symbol) for b in after["main"].body.blocks[0].bindings]
    assert kernels == ["tinytvm.reshape", "tinytvm.fully_connected"]
    x = RNG.integers(-128, 128, (1, 2, 4, 3)).astype(np.int8)
    np.testing.assert_array_equal(reference_run(after, [x])[0], reference_run(module, [x])[0])
