"""NetworkBuilder / mobilenet_v2: well-formed integer-only modules, bit-exact on the host, not saturated."""

import time
from collections import Counter

import numpy as np
import pytest
from tvm import relax

import tinytvm
from tinytvm.ir.graph import (
    INPUT_SCALES_ATTR,
    INPUT_ZERO_POINTS_ATTR,
    layers,
    main_function,
)
from tinytvm.ir.network import NetworkBuilder, make_divisible, mobilenet_v2
from tinytvm.micro.runners import get_runner
from tinytvm.reference.interpreter import trace


def _toy():
    net = NetworkBuilder((1, 12, 10, 3), seed=3)
    net.conv(8, 3, 2)
    net.depthwise(3, 1)
    net.pointwise(12, activation="NONE")
    return net


def _inputs(shape, count=2):
    return [[np.random.default_rng(seed).integers(-128, 128, shape, dtype=np.int8)] for seed in range(count)]


def _check_not_saturated(mod, inputs):
    values = trace(mod, inputs)
    for layer in layers(mod):
        out = values[layer.var.name].astype(np.int64)
        hi = getattr(layer.record, "act_max", 127)
        assert np.mean(out >= hi) < 0.2, f"{layer.var.name} saturates at {hi}"
        assert np.mean(out == out.flat[0]) < 0.9 or out.size < 4, f"{layer.var.name} is (almost) constant"
        if layer.kernel in ("conv2d", "depthwise_conv2d", "add", "fully_connected"):
            assert out.std() > 2.0, f"{layer.var.name} uses only {out.std():.2f} levels of int8"


def test_toy_network_structure_and_bit_exact():
    net = _toy()
    mod = net.build()
    relax.analysis.well_formed(mod)  # raises unless well-formed (returns None in TVM 0.27)
    assert [layer.kernel for layer in layers(mod)] == ["conv2d", "depthwise_conv2d", "conv2d"]
    assert [layer.out_shape for layer in layers(mod)] == [(1, 6, 5, 8), (1, 6, 5, 8), (1, 6, 5, 12)]
    func = main_function(mod)
    assert [float(s) for s in func.attrs[INPUT_SCALES_ATTR]] == [net.input.scale]
    assert [int(z) for z in func.attrs[INPUT_ZERO_POINTS_ATTR]] == [net.input.zero_point]
    conv = layers(mod)[0]
    weight, bias, multiplier, _shift = (arg.value.numpy() for arg in conv.call.args[1:])
    assert weight.dtype == np.int8 and weight.shape == (8, 3, 3, 3)
    assert bias.dtype == np.int32 and bias.shape == (8,)
    assert np.all((multiplier >= 1 << 30) & (multiplier.astype(np.int64) < 1 << 31))
    assert len(set(multiplier.tolist())) > 1  # per-channel weight scales
    sets = _inputs((1, 12, 10, 3))
    _check_not_saturated(mod, sets[0])
    artifact = tinytvm.build(mod, target="host")
    for inputs, result in zip(sets, get_runner("host").run_many(artifact, sets)):
        np.testing.assert_array_equal(result.outputs[0], tinytvm.reference_run(mod, inputs)[0])


def test_same_seed_same_module_and_value_tracking():
    a, b = _toy(), _toy()
    assert [layer.record for layer in layers(a.build())] == [layer.record for layer in layers(b.build())]
    net = NetworkBuilder((8, 8, 4), seed=0)  # HWC gets a batch of 1
    x = net.current
    y = net.pointwise(4, activation="NONE")
    z = net.add(y, x)
    assert net.current is z and z.shape == (1, 8, 8, 4) and net.num_layers == 2
    with pytest.raises(ValueError):
        net.dense(3)  # needs flatten first
    net.global_avg_pool()
    assert net.flatten().shape == (1, 4)


@pytest.mark.parametrize("resolution", [32, 48])
def test_small_mobilenet_v2_runs_bit_exact_on_host(resolution):
    mod = mobilenet_v2(width=0.35, resolution=resolution, num_classes=10, seed=1)
    relax.analysis.well_formed(mod)  # raises unless well-formed (returns None in TVM 0.27)
    kinds = Counter(layer.kernel for layer in layers(mod))
    assert kinds["conv2d"] + kinds["depthwise_conv2d"] == 52 and kinds["add"] == 10
    sets = _inputs((1, resolution, resolution, 3))
    _check_not_saturated(mod, sets[0])
    artifact = tinytvm.build(mod, target="host")
    for inputs, result in zip(sets, get_runner("host").run_many(artifact, sets)):
        expected = tinytvm.reference_run(mod, inputs)[0]
        assert expected.shape == (1, 10) and len(set(expected.ravel().tolist())) > 3
        np.testing.assert_array_equal(result.outputs[0], expected)


def test_mobilenet_v2_224_shape_macs_and_construction_time():
    mobilenet_v2(0.35, 32)  # warm up Relax/FFI
    start = time.perf_counter()
    mod = mobilenet_v2(1.0, 224)
    assert time.perf_counter() - start < 2.0
    ls = layers(mod)
    kinds = Counter(layer.kernel for layer in ls)
    assert kinds == {"conv2d": 35, "depthwise_conv2d": 17, "add": 10, "avg_pool2d": 1, "reshape": 1,
                     "fully_connected": 1, "softmax": 1}
    macs = sum(layer.macs for layer in ls)
    assert 290e6 < macs < 310e6, macs
    params = sum(arg.value.numpy().size for layer in ls for arg in layer.call.args[1:2]
                 if layer.kernel in ("conv2d", "depthwise_conv2d", "fully_connected"))
    assert 3.3e6 < params < 3.6e6, params  # MobileNetV2 1.0 has 3.5 M weights
    assert ls[0].out_shape == (1, 112, 112, 32) and ls[-1].out_shape == (1, 1000)
    assert [l.out_shape for l in ls if l.kernel == "avg_pool2d"] == [(1, 1, 1, 1280)]


def test_channel_rounding():
    assert [make_divisible(c * 0.35) for c in (32, 16, 24, 96, 320)] == [16, 8, 8, 32, 112]
    assert make_divisible(1280 * 1.4) == 1792
    last = next(l for l in layers(mobilenet_v2(1.4, 32, num_classes=5)) if l.kernel == "avg_pool2d")
    assert last.out_shape == (1, 1, 1, 1792)
