"""Per-operator models through the whole backend: build -> AOT C + src_cpp kernels -> host (ASan/UBSan) and QEMU.

Every model is made with ``tflite_builder``, compiled once with ``tinytvm.build(target="cortex-m7")``
and run with ``run_many`` (one compile per runner for all input sets) on

* ``host-asan``: gcc ``-Wall -Wextra -Werror -DTINYTVM_CHECK_SCRATCH`` with AddressSanitizer and
  UndefinedBehaviorSanitizer (any report fails the run), and
* ``qemu``: arm-none-eabi-gcc for Cortex-M7 on QEMU mps2-an500,

and every output element must equal TFLite Micro's (the oracle) for every input set (seeded
random full-range int8 plus all -128 / all 127 / alternating / every-int8-value patterns).

To keep the file fast (the sanitizer build of ``depthwise_conv2d.c`` alone takes ~10 s), cases of
one operator family are bundled into one model: several independent branches from one input, each
a model output named after its case, so a mismatch still names the exact case. The host and QEMU
runs of one model go in parallel (two threads, each mostly waiting on a compiler subprocess).
"""

from __future__ import annotations

import concurrent.futures

import numpy as np
import pytest

import tinytvm
from bitexact import int8_multi_sets
from oracle import model_io, random_inputs, tflm_run_many
from tflite_builder import ModelBuilder
from tinytvm.micro.runners import get_runner

RUNNERS = ("host-asan", "qemu")


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
def weights(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.normal(size=shape)


def int8_inputs(data: bytes, rng: np.random.Generator, count: int = 3) -> list[list[np.ndarray]]:
    """``count`` random full-range sets + the extreme patterns (for every int8 input)."""
    return int8_multi_sets(rng, [info.shape for info in model_io(data).inputs], count, extremes=True)


def run_both(art: tinytvm.Artifact, sets) -> dict[str, list]:
    """``run_many`` on host-asan and QEMU at the same time (each is a compile + one process)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(RUNNERS)) as pool:
        futures = {name: pool.submit(get_runner(name).run_many, art, sets) for name in RUNNERS}
        return {name: future.result() for name, future in futures.items()}


def every_layer(data: bytes, **knobs) -> tuple:
    """``build(tuning=...)``: the same kernel knobs for every layer of the model."""
    count = len(tinytvm.build(tinytvm.from_tflite(data), target="cortex-m7").layers)
    return tuple((i, tuple(sorted(knobs.items()))) for i in range(count))


def tuning_by_output(data: bytes, knobs: dict[str, dict]) -> tuple:
    """``build(tuning=...)`` for the layers whose output tensor is named in ``knobs`` (TFLite name)."""
    layers = tinytvm.build(tinytvm.from_tflite(data), target="cortex-m7").layers
    tuning = []
    for layer in layers:
        matches = [name for name in knobs if layer.output.endswith(f"_{name}")]
        if matches:
            tuning.append((layer.index, tuple(sorted(knobs[max(matches, key=len)].items()))))
    assert len(tuning) == len(knobs), (len(tuning), len(knobs))
    return tuple(tuning)


def identical(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f":
        return a.view(np.int32) == b.view(np.int32)  # bit patterns
    return a == b


def assert_backend_matches_tflm(data: bytes, sets, expected_kernels: set[str] | None = None,
                                name: str = "model", build_module=None, **build_options) -> tinytvm.Artifact:
    """Build ``data`` (or ``build_module``, a transformed import of it) once for cortex-m7, run all ``sets`` on
    host-asan and QEMU, compare with TFLM."""
    io = model_io(data)
    mod = build_module if build_module is not None else tinytvm.from_tflite(data)
    art = tinytvm.build(mod, target="cortex-m7", board="stm32f746", name=name, **build_options)
    kernels = {layer.kernel for layer in art.layers}
    if expected_kernels is not None:
        assert expected_kernels <= kernels, f"expected kernels {expected_kernels}, the build has {kernels}"
    reference = tflm_run_many(data, sets)
    results = run_both(art, sets)
    failures: dict[tuple[str, str], list[str]] = {}  # (runner, output) -> one line per failing set
    for runner, runs in results.items():
        assert len(runs) == len(sets)
        for k, (run, expected) in enumerate(zip(runs, reference)):
            assert len(run.outputs) == len(expected) == len(io.outputs)
            if runner == "qemu":
                assert run.instructions is not None and run.instructions > 0
            for info, got, want in zip(io.outputs, run.outputs, expected):
                assert got.shape == want.shape and got.dtype == want.dtype, (info.name, got.shape, want.shape)
                same = identical(got, want)
                if not same.all():
                    where = [tuple(int(i) for i in w) for w in np.argwhere(~same)[:3]]
                    failures.setdefault((runner, info.name), []).append(
                        f"set {k}: {int((~same).sum())}/{same.size} differ, e.g. "
                        + ", ".join(f"{w}: ours {got[w]} tflm {want[w]}" for w in where))
    failures = [f"{runner} output '{name}' wrong for {len(lines)}/{len(sets)} input sets; {lines[0]}"
                for (runner, name), lines in failures.items()]
    assert not failures, "\n".join(failures)
    return art


# ------------------------------------------------------------------------------------------------
# CONV_2D: 1x1 / 3x3 / 5x5 / 7x7, stride 1 / 2, SAME / VALID, dilation, fused activations
# ------------------------------------------------------------------------------------------------
CONV_CASES = [  # name, out channels, kernel, stride, dilation, padding, activation
    ("k1_s1", 8, 1, 1, 1, "SAME", "NONE"),
    ("k1_s2_valid", 5, 1, 2, 1, "VALID", "RELU"),
    ("k3_s1_same", 8, 3, 1, 1, "SAME", "RELU6"),
    ("k3_s2_same", 6, 3, 2, 1, "SAME", "NONE"),
    ("k3_s1_valid", 4, 3, 1, 1, "VALID", "NONE"),
    ("k3_s2_valid", 7, 3, 2, 1, "VALID", "RELU"),
    ("k3_dil2_same", 4, 3, 1, 2, "SAME", "NONE"),
    ("k3_dil2_valid", 3, 3, 1, 2, "VALID", "RELU_N1_TO_1"),
    ("k5_s1_same", 6, 5, 1, 1, "SAME", "NONE"),
    ("k5_s2_valid", 5, 5, 2, 1, "VALID", "RELU"),
    ("k7_s1_same", 4, 7, 1, 1, "SAME", "NONE"),
    ("k7_s2_same", 8, 7, 2, 1, "SAME", "RELU6"),
]


#: Two inputs (odd channel count / zero point -128, and 8 channels): every case runs on both.
CONV_INPUTS = [((1, 13, 11, 3), (0.05, -128)), ((1, 10, 9, 8), (0.1, 5))]


def test_conv2d(rng):
    b = ModelBuilder()
    for i, (in_shape, in_q) in enumerate(CONV_INPUTS):
        x = b.input(f"x{i}", in_shape, scale=in_q[0], zero_point=in_q[1])
        for name, oc, k, stride, dilation, padding, activation in CONV_CASES:
            w = weights(rng, (oc, k, k, in_shape[3]))
            b.output(b.conv2d(x, w, rng.normal(size=oc) * 3, stride=stride, dilation=dilation, padding=padding,
                              activation=activation, name=f"x{i}_{name}"))
    data = b.build()
    assert_backend_matches_tflm(data, int8_inputs(data, rng), {"conv2d"})


#: Kernel paths the default choice does not take (tuning knobs): the direct loops, and im2col with one
#: output channel / one pixel per step, also for 1x1 kernels (which AUTO sends to the pointwise path),
#: and the scratch-free pointwise path (GENERIC for the other kernels).
CONV_VARIANTS = {"generic": dict(impl=1), "im2col_unroll1": dict(impl=2, oc_unroll=1, px_unroll=1),
                 "im2col_oc1": dict(impl=2, oc_unroll=1), "pointwise_px1": dict(impl=3, px_unroll=1),
                 "pointwise_direct": {"impl": 4}}


def test_conv2d_implementations(rng):
    """Half the conv cases (+ a VALID 1x1 and a conv -> conv chain through the arena) once per variant,
    all in one model; each layer gets its variant's knobs through ``build(tuning=...)``."""
    b = ModelBuilder()
    x = b.input("x", (1, 9, 8, 5), scale=0.05, zero_point=-9)
    knobs = {}
    for variant, variant_knobs in CONV_VARIANTS.items():
        for name, oc, k, stride, dilation, padding, activation in CONV_CASES[::2] + [
                ("k1_valid_s1", 7, 1, 1, 1, "VALID", "RELU")]:
            y = b.conv2d(x, weights(rng, (oc, k, k, 5)), rng.normal(size=oc) * 3, stride=stride,
                         dilation=dilation, padding=padding, activation=activation, name=f"{variant}_{name}")
            b.output(y)
            knobs[y.name] = variant_knobs
        hidden = b.conv2d(x, weights(rng, (4, 3, 3, 5)), rng.normal(size=4), activation="RELU",
                          name=f"{variant}_hidden")
        y = b.conv2d(hidden, weights(rng, (3, 1, 1, 4)), rng.normal(size=3), padding="VALID",
                     name=f"{variant}_chained")
        b.output(y)
        knobs[hidden.name] = knobs[y.name] = variant_knobs
    data = b.build()
    assert_backend_matches_tflm(data, int8_inputs(data, rng, count=2), {"conv2d"},
                                tuning=tuning_by_output(data, knobs))


#: 1x1 inputs for the scratch-free pointwise path: odd channel counts (partial words) and whole words
#: (the DSP assembly routine), input zero points at the extremes; shape, input zero point.
POINTWISE_INPUTS = [((1, 7, 9, 1), -128), ((1, 9, 7, 3), 127), ((1, 6, 5, 5), -128), ((1, 5, 8, 7), 127),
                    ((1, 7, 7, 17), -128), ((1, 8, 6, 8), 127), ((1, 6, 9, 16), -128)]


def test_conv2d_pointwise_direct(rng):
    """Every 1x1 case on 1X1_DIRECT: stride 1 and 2, odd and even output channels, per-channel scales
    spread over a decade, output zero points at the extremes too."""
    b = ModelBuilder()
    for i, (shape, zero_point) in enumerate(POINTWISE_INPUTS):
        x = b.input(f"x{i}", shape, scale=0.05, zero_point=zero_point)
        for stride, oc in ((1, 4 + i), (2, 3 + 2 * i)):
            w = weights(rng, (oc, 1, 1, shape[3])) * np.geomspace(0.3, 3.0, oc)[:, None, None, None]
            b.output(b.conv2d(x, w, rng.normal(size=oc) * 3, stride=stride, padding="VALID",
                              out_zero_point=-zero_point if stride == 2 else None, name=f"x{i}_s{stride}"))
    data = b.build()
    art = assert_backend_matches_tflm(data, int8_inputs(data, rng), {"conv2d"}, tuning=every_layer(data, impl=4))
    assert art.generated.source.count(".impl = 4,") == len(art.layers)
    assert not any(layer.scratch_bytes for layer in art.layers)


def test_conv2d_scratch_aware_selection(rng):
    """conv 3x3 -> 1x1 8 -> 24 (its scratch on the arena peak) -> 1x1 24 -> 4 s2, built without in-place:
    only the middle layer takes the scratch-free path and the arena is its input + output."""
    b = ModelBuilder()
    x = b.input("x", (1, 12, 12, 8), scale=0.05, zero_point=-128)
    h = b.conv2d(x, weights(rng, (8, 3, 3, 8)), rng.normal(size=8), activation="RELU", name="stem")
    h = b.conv2d(h, weights(rng, (24, 1, 1, 8)), rng.normal(size=24), name="expand")
    b.output(b.conv2d(h, weights(rng, (4, 1, 1, 24)), rng.normal(size=4), stride=2, name="project"))
    data = b.build()
    art = assert_backend_matches_tflm(data, int8_inputs(data, rng), {"conv2d"}, in_place=False)
    assert [layer.scratch_bytes == 0 for layer in art.layers] == [False, True, False]
    assert art.arena_bytes == 12 * 12 * (8 + 24)


# ------------------------------------------------------------------------------------------------
# DEPTHWISE_CONV_2D: k3 / 5 / 7, stride 1 / 2, depth multiplier 2
# ------------------------------------------------------------------------------------------------
DW_CASES = [  # name, multiplier, kernel, stride, dilation, padding, activation
    ("k3_s1_same", 1, 3, 1, 1, "SAME", "RELU6"),
    ("k3_s2_same", 1, 3, 2, 1, "SAME", "NONE"),
    ("k3_s2_valid", 1, 3, 2, 1, "VALID", "RELU"),
    ("k5_s1_same", 1, 5, 1, 1, "SAME", "NONE"),
    ("k5_s2_same", 1, 5, 2, 1, "SAME", "RELU"),
    ("k7_s1_same", 1, 7, 1, 1, "SAME", "NONE"),
    ("k7_s2_valid", 1, 7, 2, 1, "VALID", "NONE"),
    ("k3_m2_s1", 2, 3, 1, 1, "SAME", "NONE"),
    ("k3_m2_s2", 2, 3, 2, 1, "SAME", "RELU6"),
    ("k5_m2_s2_valid", 2, 5, 2, 1, "VALID", "NONE"),
    ("k3_dil2", 1, 3, 1, 2, "SAME", "NONE"),
]


DW_INPUTS = [((1, 13, 11, 8), (0.05, -3)), ((1, 9, 10, 3), (0.1, 127))]


def test_depthwise_conv2d(rng):
    b = ModelBuilder()
    for i, (in_shape, in_q) in enumerate(DW_INPUTS):
        x = b.input(f"x{i}", in_shape, scale=in_q[0], zero_point=in_q[1])
        for name, mult, k, stride, dilation, padding, activation in DW_CASES:
            cm = in_shape[3] * mult
            b.output(b.depthwise_conv2d(x, weights(rng, (1, k, k, cm)), rng.normal(size=cm) * 3, stride=stride,
                                        dilation=dilation, padding=padding, activation=activation,
                                        depth_multiplier=mult, name=f"x{i}_{name}"))
    data = b.build()
    assert_backend_matches_tflm(data, int8_inputs(data, rng), {"depthwise_conv2d"})


#: Paths AUTO does not take for these shapes (AUTO: ROWS, GENERIC for 1x1 and taller-than-16 kernels).
DW_VARIANTS = {"generic": dict(impl=1), "plane": dict(impl=2), "rows_ch1": dict(impl=3, ch_block=1),
               "rows_ch7": dict(impl=3, ch_block=7)}


def test_depthwise_conv2d_implementations(rng):
    """Every DW case once per implementation variant, all in one model (one sanitizer build of
    depthwise_conv2d.c); each layer gets its variant's knobs through ``build(tuning=...)``."""
    b = ModelBuilder()
    x = b.input("x", (1, 11, 9, 6), scale=0.05, zero_point=7)
    knobs = {}
    for variant, variant_knobs in DW_VARIANTS.items():
        for name, mult, k, stride, dilation, padding, activation in DW_CASES:
            cm = 6 * mult
            y = b.depthwise_conv2d(x, weights(rng, (1, k, k, cm)), rng.normal(size=cm) * 3, stride=stride,
                                   dilation=dilation, padding=padding, activation=activation,
                                   depth_multiplier=mult, name=f"{variant}_{name}")
            b.output(y)
            knobs[y.name] = variant_knobs
        hidden = b.depthwise_conv2d(x, weights(rng, (1, 3, 3, 6)), rng.normal(size=6), activation="RELU6",
                                    name=f"{variant}_hidden")
        y = b.depthwise_conv2d(hidden, weights(rng, (1, 3, 3, 6)), rng.normal(size=6), stride=2,
                               name=f"{variant}_chained")
        b.output(y)
        knobs[hidden.name] = knobs[y.name] = variant_knobs
    data = b.build()
    assert_backend_matches_tflm(data, int8_inputs(data, rng, count=2), {"depthwise_conv2d"},
                                tuning=tuning_by_output(data, knobs))


#: Depthwise chains made in-place by ``transform.InPlaceDepthwise``: tensor-name prefix -> impl knob of
#: their depthwise layers. In-place layers never run the direct GENERIC path (the lowering switches
#: them to ROWS): it would read neighbours it has already overwritten.
IN_PLACE_CHAINS = {"auto": 0, "generic": 1, "plane": 2, "rows": 3}


def test_depthwise_conv2d_in_place(rng):
    """The depthwise output overwrites its input in the arena (TinyEngine's in-place rule): one chain
    conv 1x1 -> dw 3x3 s1 -> dw 5x5 s2 -> conv 1x1 per implementation, plus a 17x1 kernel under AUTO
    (taller than 16 rows: AUTO picks GENERIC)."""
    from tinytvm.transform.inplace_depthwise import InPlaceDepthwise

    b = ModelBuilder()
    x = b.input("x", (1, 20, 10, 4), scale=0.05, zero_point=-3)
    knobs = {}
    for chain, impl in [*IN_PLACE_CHAINS.items(), ("auto_17x1", 0)]:
        h = b.conv2d(x, weights(rng, (8, 1, 1, 4)), rng.normal(size=8), activation="RELU", name=f"{chain}_in")
        if chain == "auto_17x1":
            kernels = [((1, 17, 1, 8), 1)]
        else:
            kernels = [((1, 3, 3, 8), 1), ((1, 5, 5, 8), 2)]
        for j, (shape, stride) in enumerate(kernels):
            h = b.depthwise_conv2d(h, weights(rng, shape), rng.normal(size=8), stride=stride, name=f"{chain}_dw{j}")
            knobs[h.name] = dict(impl=impl)
        b.output(b.conv2d(h, weights(rng, (4, 1, 1, 8)), rng.normal(size=4), name=f"{chain}_out"))
    data = b.build()
    mod = InPlaceDepthwise()(tinytvm.from_tflite(data))
    plain = tinytvm.build(tinytvm.from_tflite(data), target="cortex-m7", in_place=False)
    art = assert_backend_matches_tflm(data, int8_inputs(data, rng, count=3), build_module=mod,
                                      tuning=tuning_by_output(data, knobs))
    dw = [k for k, layer in enumerate(art.layers) if layer.kernel == "depthwise_conv2d"]
    assert len(dw) == 9
    for k in dw:  # every depthwise layer writes where its input was (stride-2 ones: at its start)
        assert art.layers[k].output_location == art.layers[k - 1].output_location, art.layers[k]
    assert art.arena_bytes < plain.arena_bytes


# ------------------------------------------------------------------------------------------------
# FULLY_CONNECTED: 2-D and 4-D input, per-tensor / per-channel, with and without bias
# ------------------------------------------------------------------------------------------------
def test_fully_connected(rng):
    b = ModelBuilder()
    x2 = b.input("x2d", (3, 40), scale=0.05, zero_point=-7)
    x4 = b.input("x4d", (1, 2, 3, 8), scale=0.1, zero_point=20)
    b.output(b.fully_connected(x2, weights(rng, (10, 40)), rng.normal(size=10), name="fc2d"))
    b.output(b.fully_connected(x2, weights(rng, (6, 40)), None, activation="RELU", per_channel=True,
                               name="fc2d_per_channel_relu"))
    b.output(b.fully_connected(x4, weights(rng, (7, 48)), rng.normal(size=7), name="fc4d_flatten"))
    b.output(b.fully_connected(x4, weights(rng, (5, 8)), rng.normal(size=5), keep_num_dims=True,
                               name="fc4d_keep_dims"))
    data = b.build()
    assert_backend_matches_tflm(data, int8_inputs(data, rng), {"fully_connected"})
    # One output feature per step instead of two.
    assert_backend_matches_tflm(data, int8_inputs(data, rng, count=1), {"fully_connected"},
                                tuning=every_layer(data, oc_unroll=1))


# ------------------------------------------------------------------------------------------------
# ADD / MUL: same shape, broadcast, constant operand, fused activation
# ------------------------------------------------------------------------------------------------
def test_add_mul(rng):
    b = ModelBuilder()
    a = b.input("a", (1, 5, 7, 3), scale=0.05, zero_point=-3)
    c = b.input("c", (1, 5, 7, 3), scale=0.02, zero_point=9)
    v = b.input("v", (1, 1, 1, 3), scale=0.1, zero_point=127)
    const = b.const("k", rng.integers(-128, 128, (3,), dtype=np.int8), 0.07, 11)
    scalar = b.const("s", rng.integers(-128, 128, (1,), dtype=np.int8), 0.03, -4)
    b.output(b.add(a, c, name="add"))
    b.output(b.mul(a, c, name="mul"))
    b.output(b.add(a, v, activation="RELU", name="add_broadcast_relu"))
    b.output(b.mul(v, a, name="mul_broadcast_first"))
    b.output(b.add(const, a, name="add_constant"))
    b.output(b.mul(a, scalar, activation="RELU6", name="mul_scalar_constant"))
    b.output(b.mul(b.add(a, c), v, name="chained_add_mul"))  # arena -> arena
    data = b.build()
    assert_backend_matches_tflm(data, int8_inputs(data, rng, count=2), {"add", "mul"})


# ------------------------------------------------------------------------------------------------
# AVERAGE_POOL_2D / MAX_POOL_2D
# ------------------------------------------------------------------------------------------------
def test_pooling(rng):
    b = ModelBuilder()
    x = b.input("x", (1, 9, 10, 4), scale=0.05, zero_point=-128)
    b.output(b.avg_pool2d(x, 2, 2, padding="VALID", name="avg_2x2_s2_valid"))
    b.output(b.avg_pool2d(x, 3, 2, padding="SAME", activation="RELU", name="avg_3x3_s2_same_relu"))
    b.output(b.avg_pool2d(x, (9, 10), 1, padding="VALID", name="avg_global"))
    b.output(b.max_pool2d(x, 2, 2, padding="VALID", name="max_2x2_s2_valid"))
    b.output(b.max_pool2d(x, 3, 1, padding="SAME", activation="RELU6", name="max_3x3_s1_same_relu6"))
    b.output(b.max_pool2d(b.avg_pool2d(x, 3, 1, padding="SAME"), 2, 2, padding="SAME", name="chained_avg_max"))
    data = b.build()
    assert_backend_matches_tflm(data, int8_inputs(data, rng), {"avg_pool2d", "max_pool2d"})


# ------------------------------------------------------------------------------------------------
# MEAN: axes [1, 2] with and without keep_dims, and other axes
# ------------------------------------------------------------------------------------------------
def mean_model(shape, axes, keep_dims, in_q, out_q) -> bytes:
    b = ModelBuilder()
    x = b.input("x", shape, scale=in_q[0], zero_point=in_q[1])
    b.output(b.mean(x, axes, keep_dims=keep_dims, out_scale=out_q[0], out_zero_point=out_q[1], name="mean"))
    # The same MEAN reading from the arena (and an arena user: see test_codegen's arena-less model test).
    pooled = b.max_pool2d(x, 1, 1)
    b.output(b.mean(pooled, axes, keep_dims=keep_dims, out_scale=out_q[0], out_zero_point=out_q[1],
                    name="mean_of_arena_tensor"))
    return b.build()


@pytest.mark.parametrize("axes,keep_dims", [([1, 2], True), ([1, 2], False), ([3], True), ([2], False)], ids=str)
def test_mean(axes, keep_dims, rng):
    data = mean_model((2, 6, 7, 8), axes, keep_dims, (0.05, -3), (0.03, 4))
    assert_backend_matches_tflm(data, int8_inputs(data, rng), {"mean"})


# ------------------------------------------------------------------------------------------------
# Data movement: PAD, TRANSPOSE, CONCATENATION, RESHAPE, RESIZE_NEAREST_NEIGHBOR
# ------------------------------------------------------------------------------------------------
def test_data_movement(rng):
    b = ModelBuilder()
    x = b.input("x", (1, 5, 6, 4), scale=0.05, zero_point=-20)
    y = b.input("y", (1, 5, 6, 3), scale=0.05, zero_point=-20)
    b.output(b.pad(x, [[0, 0], [1, 2], [2, 1], [0, 0]], name="pad_hw"))
    b.output(b.pad(y, [[0, 0], [0, 0], [0, 0], [1, 3]], name="pad_channels"))
    b.output(b.transpose(x, [0, 3, 1, 2], name="transpose_nchw"))
    b.output(b.transpose(y, [2, 1, 3, 0], name="transpose_mixed"))
    b.output(b.concat([x, y, x], axis=3, name="concat_channels"))
    b.output(b.concat([x, x], axis=1, name="concat_height"))
    b.output(b.reshape(x, (1, 30, 4), name="reshape"))
    b.output(b.resize_nearest(y, (10, 12), name="resize_2x"))
    b.output(b.resize_nearest(x, (7, 5), half_pixel_centers=True, name="resize_odd_half_pixel"))
    b.output(b.transpose(b.concat([b.pad(x, [[0, 0], [1, 0], [0, 1], [0, 0]]), b.resize_nearest(y, (6, 7))], 3),
                         [0, 2, 1, 3], name="chained_pad_resize_concat_transpose"))
    data = b.build()
    assert_backend_matches_tflm(data, int8_inputs(data, rng),
                                {"pad", "transpose", "concat", "reshape", "resize_nearest"})


def test_reshape_between_operators(rng):
    """A reshape whose input and output live in the arena (between two kernels), not at the I/O."""
    b = ModelBuilder()
    x = b.input("x", (1, 4, 4, 6), scale=0.05, zero_point=3)
    pooled = b.avg_pool2d(x, 2, 2)
    flat = b.reshape(pooled, (1, 24))
    b.output(b.fully_connected(flat, weights(rng, (5, 24)), rng.normal(size=5), name="head"))
    data = b.build()
    assert_backend_matches_tflm(data, int8_inputs(data, rng), {"reshape", "fully_connected"})


# ------------------------------------------------------------------------------------------------
# SOFTMAX / LOGISTIC
# ------------------------------------------------------------------------------------------------
def test_softmax_logistic(rng):
    b = ModelBuilder()
    x = b.input("x", (4, 10), scale=0.14469251036643982, zero_point=-12)
    z = b.input("z", (2, 3, 17), scale=0.05, zero_point=3)
    b.output(b.softmax(x, 1.0, name="softmax"))
    b.output(b.softmax(z, 0.5, name="softmax_beta"))
    b.output(b.logistic(x, name="logistic"))
    b.output(b.logistic(z, name="logistic_3d"))
    b.output(b.softmax(b.logistic(x), name="chained_logistic_softmax"))
    data = b.build()
    assert_backend_matches_tflm(data, int8_inputs(data, rng), {"softmax", "logistic"})


# ------------------------------------------------------------------------------------------------
# QUANTIZE (float -> int8 and int8 -> int8) and DEQUANTIZE
# ------------------------------------------------------------------------------------------------
def test_float_boundary_quantize_dequantize(rng):
    """float32 input -> QUANTIZE -> conv -> DEQUANTIZE -> float32 output, and a dequantized pool."""
    b = ModelBuilder()
    q = b.quantized_input("x", (1, 6, 6, 3), 0.1, 2)
    y = b.conv2d(q, weights(rng, (4, 3, 3, 3)), rng.normal(size=4), activation="RELU")
    b.dequantized_output(y, name="conv_float")
    b.dequantized_output(b.max_pool2d(q, 2, 2), name="pool_float")
    data = b.build()
    io = model_io(data)
    assert [info.dtype for info in io.inputs] == [np.float32]
    assert [info.dtype for info in io.outputs] == [np.float32, np.float32]
    sets = random_inputs(data, seed=11, count=4)
    scale = np.float32(0.1)
    ties = ((np.arange(108) - 54).astype(np.float32) + np.float32(0.5)) * scale   # .5 rounding ties
    wide = rng.uniform(-40, 40, 108).astype(np.float32)                            # saturates both ways
    sets += [[ties.reshape(1, 6, 6, 3)], [wide.reshape(1, 6, 6, 3)]]
    assert_backend_matches_tflm(data, sets, {"quantize", "dequantize", "conv2d"})


def test_requantize_int8_to_int8(rng):
    b = ModelBuilder()
    x = b.input("x", (4, 64), scale=0.3, zero_point=-7)
    b.output(b.quantize(x, 0.07, 11, name="finer"))
    b.output(b.quantize(x, 1.1, -128, name="coarser"))
    b.output(b.quantize(b.quantize(x, 0.5, 100), 0.01, -1, name="chained"))
    data = b.build()
    sets = [[np.arange(-128, 128, dtype=np.int8).reshape(4, 64)]] + int8_inputs(data, rng)
    assert_backend_matches_tflm(data, sets, {"requantize"})


# ------------------------------------------------------------------------------------------------
# Several inputs and outputs
# ------------------------------------------------------------------------------------------------
def test_two_inputs_two_outputs(rng):
    b = ModelBuilder()
    a = b.input("a", (1, 8, 8, 4), scale=0.05, zero_point=-3)
    c = b.input("c", (1, 8, 8, 4), scale=0.04, zero_point=10)
    s = b.add(a, c, activation="RELU")
    y = b.avg_pool2d(s, 2, 2)
    b.output(b.max_pool2d(s, 2, 2, name="pooled_sum"))
    b.output(b.conv2d(y, weights(rng, (6, 1, 1, 4)), rng.normal(size=6), name="pointwise"))
    data = b.build()
    art = assert_backend_matches_tflm(data, int8_inputs(data, rng), name="two_by_two")
    assert [io.shape for io in art.inputs] == [(1, 8, 8, 4), (1, 8, 8, 4)]
    assert [io.shape for io in art.outputs] == [(1, 4, 4, 4), (1, 4, 4, 6)]
    header = art.files()["model/two_by_two.h"].decode()
    assert ("int tinytvm_two_by_two_run(const int8_t* input0, const int8_t* input1, int8_t* output0, "
            "int8_t* output1)") in header
