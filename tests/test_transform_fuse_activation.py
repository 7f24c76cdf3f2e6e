"""FuseActivation: act(dequantize(x)) -> dequantize(x with a tightened clamp / a 1x1 max-pool clamp)."""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from tinytvm.ir.ops import MaxPool2D
from tinytvm.reference import reference_run
from tinytvm.transform import FuseActivation

S, ZP = float(np.float32(0.05)), -20
SHAPE = (1, 4, 4, 3)


def f32(value):
    return relax.const(np.asarray(value, dtype=np.float32))


def i8(value):
    return relax.const(np.asarray(value, dtype=np.int8))


def dq(x):
    return relax.op.dequantize(x, f32(S), i8(ZP), axis=-1)


def pool(act_min=-128, act_max=127):
    return MaxPool2D(output_scale=S, output_zp=ZP, pool=(2, 2), stride=(1, 1), padding=(0, 0, 1, 1),
                     act_min=act_min, act_max=act_max)


def clamp(act_min, act_max):
    return MaxPool2D(output_scale=S, output_zp=ZP, pool=(1, 1), stride=(1, 1), padding=(0, 0, 0, 0),
                     act_min=act_min, act_max=act_max)


def int8(shape=SHAPE):
    return relax.TensorType(shape, "int8")


def function(body, shape=SHAPE):
    bb = relax.BlockBuilder()
    x = relax.Var("x", int8(shape))
    with bb.function("main", [x]):
        with bb.dataflow():
            out = bb.emit_output(body(bb, x))
        bb.emit_func_output(out)
    return bb.get()


def test_relu_is_fused_into_its_single_use_producer():
    def before(bb, x):
        p = bb.emit(pool().call([x], int8()))
        return relax.op.nn.relu(bb.emit(dq(p)))

    def expected(bb, x):
        return dq(bb.emit(pool(act_min=ZP).call([x], int8())))

    tvm.ir.assert_structural_equal(FuseActivation()(function(before)), function(expected))


def shared_producer(bb, x):
    p = bb.emit(pool().call([x], int8()))
    d = bb.emit(dq(p))
    r = bb.emit(relax.op.clip(d, 0.0, 6.0))
    return relax.Tuple([r, d])


def test_producer_with_other_uses_gets_a_clamp():
    def expected(bb, x):
        p = bb.emit(pool().call([x], int8()))
        d = bb.emit(dq(p))
        c = bb.emit(clamp(ZP, min(127, ZP + 120)).call([p], int8()))
        return relax.Tuple([bb.emit(dq(c)), d])

    after = FuseActivation()(function(shared_producer))
    tvm.ir.assert_structural_equal(after, function(expected))
    x = np.random.default_rng(0).integers(-128, 128, SHAPE).astype(np.int8)
    clamped, plain = reference_run(after_integer(after), [x])
    np.testing.assert_allclose(clamped, np.clip(plain, 0.0, 6.0), atol=S / 2 + 1e-6)


def test_clamp_is_optional():
    module = function(shared_producer)
    tvm.ir.assert_structural_equal(FuseActivation(clamp=False)(module), module)


def test_two_dimensional_relu6_clamp_matches_float():
    shape = (2, 5)

    def before(bb, x):
        return relax.op.clip(bb.emit(dq(x)), 0.0, 6.0)

    after = FuseActivation()(function(before, shape))
    kernels = [str(b.value.op.global_symbol) for b in after["main"].body.blocks[0].bindings[:-1]]
    assert kernels == ["tinytvm.reshape", "tinytvm.max_pool2d", "tinytvm.reshape"]
    x = np.arange(-128, 128, 26, dtype=np.int8)[:10].reshape(shape)
    (out,) = reference_run(after_integer(after), [x])
    real = np.clip(S * (x.astype(np.float64) - ZP), 0.0, 6.0)
    np.testing.assert_allclose(out, real, atol=S / 2 + 1e-6)


def after_integer(module):
    """The module with its float output dequantize replaced by tinytvm.dequantize (reference-runnable)."""
    from tinytvm.transform import LowerBoundaryQDQ

    return LowerBoundaryQDQ()(module)
