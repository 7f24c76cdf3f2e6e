"""ConvertLayoutNHWC: NCHW conv/pool components move to NHWC; everything else keeps its layout."""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from tinytvm.transform import ConvertLayoutNHWC

RNG = np.random.default_rng(7)
WEIGHT = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
BIAS = RNG.standard_normal((1, 4, 1, 1)).astype(np.float32)


def f32(value):
    return relax.const(np.asarray(value, dtype=np.float32))


def i8(value):
    return relax.const(np.asarray(value, dtype=np.int8))


def function(params, body):
    bb = relax.BlockBuilder()
    with bb.function("main", params):
        with bb.dataflow():
            out = bb.emit_output(body(bb, *params))
        bb.emit_func_output(out)
    return bb.get()


def x_var(shape=(1, 3, 8, 8)):
    return relax.Var("x", relax.TensorType(shape, "float32"))


def before_conv_block():
    def body(bb, x):
        q = bb.emit(relax.op.quantize(x, f32(0.1), i8(0), axis=1, out_dtype="int8"))
        d = bb.emit(relax.op.dequantize(q, f32(0.1), i8(0), axis=1))
        c = bb.emit(relax.op.nn.conv2d(d, relax.const(WEIGHT), padding=[1, 1, 1, 1]))
        a = bb.emit(relax.op.add(c, relax.const(BIAS)))
        r = bb.emit(relax.op.nn.relu(a))
        p = bb.emit(relax.op.nn.max_pool2d(r, pool_size=[2, 2], strides=[2, 2]))
        return relax.op.reshape(p, (1, 64))
    return function([x_var()], body)


def expected_conv_block():
    def body(bb, x):
        xt = bb.emit(relax.op.permute_dims(x, [0, 2, 3, 1]))
        q = bb.emit(relax.op.quantize(xt, f32(0.1), i8(0), axis=3, out_dtype="int8"))
        d = bb.emit(relax.op.dequantize(q, f32(0.1), i8(0), axis=3))
        c = bb.emit(relax.op.nn.conv2d(d, relax.const(WEIGHT), strides=[1, 1], padding=[1, 1, 1, 1], dilation=[1, 1],
                                       data_layout="NHWC", kernel_layout="OIHW", out_layout="NHWC"))
        a = bb.emit(relax.op.add(c, relax.const(np.ascontiguousarray(BIAS.transpose(0, 2, 3, 1)))))
        r = bb.emit(relax.op.nn.relu(a))
        p = bb.emit(relax.op.nn.max_pool2d(r, pool_size=[2, 2], strides=[2, 2], padding=[0, 0, 0, 0], dilation=[1, 1],
                                           ceil_mode=False, layout="NHWC", out_layout="NHWC"))
        back = bb.emit(relax.op.permute_dims(p, [0, 3, 1, 2]))
        return relax.op.reshape(back, (1, 64))
    return function([x_var()], body)


def run(mod, *inputs):
    executable = relax.build(mod, target=tvm.target.Target({"kind": "llvm"}))
    vm = relax.VirtualMachine(executable, tvm.cpu())
    result = vm["main"](*[tvm.runtime.tensor(a) for a in inputs])
    return result.numpy()


def test_conv_block_structure():
    tvm.ir.assert_structural_equal(ConvertLayoutNHWC()(before_conv_block()), expected_conv_block())


def test_conv_block_computes_the_same():
    x = RNG.standard_normal((1, 3, 8, 8)).astype(np.float32)
    before, after = before_conv_block(), ConvertLayoutNHWC()(before_conv_block())
    np.testing.assert_allclose(run(after, x), run(before, x), rtol=1e-5, atol=1e-5)


def test_concat_pad_mean_softmax_are_remapped():
    def body(bb, x):
        c = bb.emit(relax.op.nn.conv2d(x, relax.const(WEIGHT), padding=[1, 1, 1, 1]))
        both = bb.emit(relax.op.concat([c, c], axis=1))
        padded = bb.emit(relax.op.nn.pad(both, [0, 0, 0, 0, 1, 2, 0, 1], "constant", 0.0))
        soft = bb.emit(relax.op.nn.softmax(padded, axis=1))
        return relax.op.mean(soft, axis=[2, 3], keepdims=False)

    before = function([x_var()], body)
    after = ConvertLayoutNHWC()(before)
    calls = [b.value for b in after["main"].body.blocks[0].bindings]
    ops = [c.op.name for c in calls]
    assert ops == ["relax.permute_dims", "relax.nn.conv2d", "relax.concat", "relax.nn.pad", "relax.nn.softmax",
                   "relax.mean"]
    assert int(calls[2].attrs.axis) == 3
    assert [int(v) for v in calls[3].attrs.pad_width] == [0, 0, 1, 2, 0, 1, 0, 0]
    assert int(calls[4].attrs.axis) == 3
    assert [int(a) for a in calls[5].attrs.axis] == [1, 2]  # (N, C) result: no transpose back
    x = RNG.standard_normal((1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(run(after, x), run(before, x), rtol=1e-5, atol=1e-6)


def test_module_without_nchw_anchors_is_unchanged():
    def body(bb, x):
        q = bb.emit(relax.op.quantize(x, f32(0.1), i8(0), axis=1, out_dtype="int8"))
        d = bb.emit(relax.op.dequantize(q, f32(0.1), i8(0), axis=1))
        return relax.op.reshape(d, (1, 192))

    before = function([x_var()], body)
    tvm.ir.assert_structural_equal(ConvertLayoutNHWC()(before), before)


def test_unrelated_4d_values_keep_their_layout():
    z = relax.Var("z", relax.TensorType((1, 2, 5, 7), "float32"))

    def body(bb, x, z):
        c = bb.emit(relax.op.nn.conv2d(x, relax.const(WEIGHT), padding=[1, 1, 1, 1]))
        s = bb.emit(relax.op.sigmoid(z))  # not connected to the convolution: stays NCHW
        return relax.Tuple([c, s])

    after = ConvertLayoutNHWC()(function([x_var(), z], body))
    calls = {b.var.name: b.value for b in after["main"].body.blocks[0].bindings}
    sigmoid = [v for v in calls.values() if isinstance(v, relax.Call) and v.op.name == "relax.sigmoid"][0]
    assert sigmoid.args[0].same_as(after["main"].params[1])
