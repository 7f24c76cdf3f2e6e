"""A small typed builder of integer-only networks, emitted directly with ``relax.BlockBuilder``.

No frontend, no float graph, no passes: every layer is an integer-only operator record
(:mod:`tinytvm.ir.ops`) with random int8 weights, per-channel weight scales, int32 biases
and TFLM-style per-channel requantization multipliers. Output scales come from a rough
analytic estimate of each tensor's real RMS (random weights are scaled He-style), so that
activations stay inside int8 instead of saturating. Built for speed: a MobileNetV2 at
224x224 is constructed in well under a second, which makes it the workload of choice for
timing ``tinytvm.analyze`` and for NAS-style experiments::

    net = NetworkBuilder((1, 32, 32, 3), seed=0)
    net.conv(16, 3, 2)
    net.depthwise(3, 1)
    net.pointwise(24, activation="NONE")
    net.global_avg_pool(); net.flatten(); net.dense(10); net.softmax()
    mod = net.build()

    mod = mobilenet_v2(width=0.35, resolution=48, num_classes=10)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import tvm
from tvm import relax

from ..quantization.nonlinear_params import softmax_params
from ..quantization.params import (
    INT8_MAX,
    INT8_MIN,
    activation_range,
    add_params,
    per_channel_multipliers,
    same_padding,
)
from .graph import INPUT_SCALES_ATTR, INPUT_ZERO_POINTS_ATTR
from .ops import (
    Add,
    AvgPool2D,
    Conv2D,
    DepthwiseConv2D,
    FullyConnected,
    Reshape,
    Softmax,
)

#: Real range covered by a linear (no activation) output, in RMS units: +-4 sigma.
_LINEAR_SPAN = 8.0
#: Real range covered by a ReLU output, in pre-activation sigma units (capped at 6 for ReLU6).
_RELU_SPAN = 4.0


@dataclasses.dataclass(frozen=True)
class Value:
    """A tensor of the network under construction: its shape and per-tensor quantization.

    ``rms`` is the builder's estimate of the real tensor's root mean square (used only to
    choose the scales of the layers that consume it).
    """

    index: int
    shape: tuple[int, ...]
    scale: float
    zero_point: int
    rms: float

    @property
    def channels(self) -> int:
        return self.shape[-1]


@dataclasses.dataclass
class _Node:
    record: object
    inputs: tuple[int, ...]          # Value indices (activation operands, first)
    constants: tuple[np.ndarray, ...]
    out: Value
    name: str


class NetworkBuilder:
    """Builds an integer-only Relax module layer by layer (NHWC int8, batch first).

    Every layer method consumes :attr:`current` (or an explicit ``x``), makes its output
    the new :attr:`current` and returns it as a :class:`Value`.
    """

    def __init__(self, input_shape: Sequence[int], seed: int = 0, input_scale: float = 1.0 / 128,
                 input_zero_point: int = 0):
        shape = tuple(int(d) for d in input_shape)
        if len(shape) == 3:
            shape = (1, *shape)
        if len(shape) != 4 or min(shape) <= 0:
            raise ValueError(f"input shape must be NHWC (or HWC), got {tuple(input_shape)}")
        self.rng = np.random.default_rng(seed)
        self._nodes: list[_Node] = []
        self._names: dict[str, int] = {}
        # Uniform int8 input: real RMS ~ 128 * scale / sqrt(3).
        self.input = Value(0, shape, float(input_scale), int(input_zero_point), 128.0 * input_scale / math.sqrt(3))
        self._count = 1
        self.current = self.input

    # -- bookkeeping ----------------------------------------------------------------------------
    def _name(self, kind: str) -> str:
        k = self._names.get(kind, 0)
        self._names[kind] = k + 1
        return f"{kind}{k}"

    def _emit(self, record, inputs: Sequence[Value], constants: Sequence[np.ndarray], shape, scale, zp, rms,
              kind: str) -> Value:
        out = Value(self._count, tuple(int(d) for d in shape), float(scale), int(zp), float(rms))
        self._count += 1
        self._nodes.append(_Node(record, tuple(v.index for v in inputs), tuple(constants), out, self._name(kind)))
        self.current = out
        return out

    @property
    def num_layers(self) -> int:
        return len(self._nodes)

    @staticmethod
    def _output_quant(sigma: float, activation: str) -> tuple[float, int, float]:
        """(scale, zero point, output RMS) for a pre-activation of standard deviation ``sigma``."""
        sigma = max(sigma, 1e-6)
        if activation in ("RELU", "RELU6"):
            top = _RELU_SPAN * sigma
            if activation == "RELU6":
                top = min(top, 6.0)
            return top / 255.0, INT8_MIN, min(sigma / math.sqrt(2), top)
        if activation == "NONE":
            return _LINEAR_SPAN * sigma / 255.0, 0, sigma
        raise ValueError(f"unsupported activation {activation!r}; use NONE, RELU or RELU6")

    def _weights(self, x: Value, shape: tuple[int, ...], channel_axis: int, fan_in: int, gain: float):
        """Random int8 weights, per-channel scales, and the estimated pre-activation sigma.

        Channel c's real weights have std ``gain * u_c / sqrt(fan_in * E[x^2])`` (``u_c`` uniform in
        [0.7, 1.3]): every layer renormalizes its pre-activation to sigma ~ ``gain``, so the rough RMS
        estimates never compound over depth (as batch normalization would, folded).
        """
        channels = shape[channel_axis]
        limits = self.rng.integers(48, 128, channels)
        raw = self.rng.uniform(-1.0, 1.0, shape)
        bshape = [1] * len(shape)
        bshape[channel_axis] = channels
        weight = np.clip(np.rint(raw * limits.reshape(bshape)), -127, 127).astype(np.int8)
        axes = tuple(a for a in range(len(shape)) if a != channel_axis)
        q_std = np.maximum(weight.astype(np.float64).std(axis=axes), 1.0)
        real_std = gain * self.rng.uniform(0.7, 1.3, channels) / (math.sqrt(fan_in) * max(x.rms, 1e-6))
        weight_scales = real_std / q_std
        # Pre-activation sigma: sum of fan_in products w * x with E[w^2] = real_std^2.
        sigma = float(np.sqrt(np.mean(real_std ** 2) * fan_in)) * x.rms
        return weight, weight_scales, sigma

    def _bias_and_requant(self, x: Value, weight_scales: np.ndarray, sigma: float, out_scale: float):
        channels = len(weight_scales)
        acc_scales = x.scale * weight_scales
        bias = np.rint(self.rng.normal(0.0, 0.1 * sigma, channels) / acc_scales)
        bias = np.clip(bias, -(1 << 24), 1 << 24).astype(np.int32)
        multiplier, shift = per_channel_multipliers(x.scale, [float(s) for s in weight_scales], out_scale, channels)
        return bias, multiplier, shift

    def _value(self, x: Value | None) -> Value:
        return self.current if x is None else x

    # -- layers ---------------------------------------------------------------------------------
    def conv(self, out_c: int, kernel: int = 3, stride: int = 1, activation: str = "RELU6",
             x: Value | None = None) -> Value:
        """Conv2D with SAME padding; weight OHWI."""
        x = self._value(x)
        n, h, w, cin = x.shape
        oh, ow = (h + stride - 1) // stride, (w + stride - 1) // stride
        top, bottom = same_padding(h, kernel, stride, 1, oh)
        left, right = same_padding(w, kernel, stride, 1, ow)
        gain = 1.0  # pre-activation sigma
        weight, scales, sigma = self._weights(x, (out_c, kernel, kernel, cin), 0, kernel * kernel * cin, gain)
        scale, zp, rms = self._output_quant(sigma, activation)
        bias, mult, shift = self._bias_and_requant(x, scales, sigma, scale)
        act_min, act_max = activation_range(activation, scale, zp)
        record = Conv2D(output_scale=scale, output_zp=zp, input_zp=x.zero_point, stride=(stride, stride),
                        dilation=(1, 1), padding=(top, left, bottom, right), act_min=act_min, act_max=act_max)
        kind = "pw" if kernel == 1 else "conv"
        return self._emit(record, [x], [weight, bias, mult, shift], (n, oh, ow, out_c), scale, zp, rms, kind)

    def pointwise(self, out_c: int, activation: str = "RELU6", x: Value | None = None) -> Value:
        """1x1 convolution."""
        return self.conv(out_c, 1, 1, activation, x=x)

    def depthwise(self, kernel: int = 3, stride: int = 1, activation: str = "RELU6",
                  x: Value | None = None) -> Value:
        """Depthwise conv (depth multiplier 1, SAME padding); weight 1HWC."""
        x = self._value(x)
        n, h, w, c = x.shape
        oh, ow = (h + stride - 1) // stride, (w + stride - 1) // stride
        top, bottom = same_padding(h, kernel, stride, 1, oh)
        left, right = same_padding(w, kernel, stride, 1, ow)
        gain = 1.0  # pre-activation sigma
        weight, scales, sigma = self._weights(x, (1, kernel, kernel, c), 3, kernel * kernel, gain)
        scale, zp, rms = self._output_quant(sigma, activation)
        bias, mult, shift = self._bias_and_requant(x, scales, sigma, scale)
        act_min, act_max = activation_range(activation, scale, zp)
        record = DepthwiseConv2D(output_scale=scale, output_zp=zp, input_zp=x.zero_point, stride=(stride, stride),
                                 dilation=(1, 1), padding=(top, left, bottom, right), depth_multiplier=1,
                                 act_min=act_min, act_max=act_max)
        return self._emit(record, [x], [weight, bias, mult, shift], (n, oh, ow, c), scale, zp, rms, "dw")

    def add(self, a: Value, b: Value, activation: str = "NONE") -> Value:
        """Element-wise int8 ADD (TFLM) of two same-shape values."""
        if a.shape != b.shape:
            raise ValueError(f"add of different shapes {a.shape} and {b.shape}")
        rms = math.sqrt(a.rms ** 2 + b.rms ** 2)
        scale, zp, out_rms = self._output_quant(rms, activation)
        act_min, act_max = activation_range(activation, scale, zp)
        record = Add(output_scale=scale, output_zp=zp, lhs_zp=a.zero_point, rhs_zp=b.zero_point,
                     act_min=act_min, act_max=act_max, **add_params(a.scale, b.scale, scale))
        return self._emit(record, [a, b], [], a.shape, scale, zp, out_rms, "add")

    def global_avg_pool(self, x: Value | None = None) -> Value:
        """AvgPool2D over the full HxW (output 1x1, same quantization as the input)."""
        x = self._value(x)
        n, h, w, c = x.shape
        record = AvgPool2D(output_scale=x.scale, output_zp=x.zero_point, pool=(h, w), stride=(1, 1),
                           padding=(0, 0, 0, 0), act_min=INT8_MIN, act_max=INT8_MAX)
        return self._emit(record, [x], [], (n, 1, 1, c), x.scale, x.zero_point, x.rms, "pool")

    def flatten(self, x: Value | None = None) -> Value:
        x = self._value(x)
        record = Reshape(output_scale=x.scale, output_zp=x.zero_point)
        shape = (x.shape[0], math.prod(x.shape[1:]))
        return self._emit(record, [x], [], shape, x.scale, x.zero_point, x.rms, "flat")

    def dense(self, units: int, activation: str = "NONE", x: Value | None = None) -> Value:
        """FullyConnected on a 2-D ``[batch, in]`` value; weight ``[units, in]``, per-channel scales."""
        x = self._value(x)
        if len(x.shape) != 2:
            raise ValueError(f"dense needs a 2-D input (call flatten() first), got {x.shape}")
        gain = 1.0  # pre-activation sigma
        weight, scales, sigma = self._weights(x, (units, x.shape[1]), 0, x.shape[1], gain)
        scale, zp, rms = self._output_quant(sigma, activation)
        bias, mult, shift = self._bias_and_requant(x, scales, sigma, scale)
        act_min, act_max = activation_range(activation, scale, zp)
        record = FullyConnected(output_scale=scale, output_zp=zp, input_zp=x.zero_point,
                                act_min=act_min, act_max=act_max)
        return self._emit(record, [x], [weight, bias, mult, shift], (x.shape[0], units), scale, zp, rms, "fc")

    def softmax(self, beta: float = 1.0, x: Value | None = None) -> Value:
        """TFLM int8 softmax over the last axis (output scale 1/256, zero point -128)."""
        x = self._value(x)
        record = Softmax(output_scale=1.0 / 256, output_zp=-128, **softmax_params(beta, x.scale))
        return self._emit(record, [x], [], x.shape, 1.0 / 256, -128, 0.0, "softmax")

    # -- output ---------------------------------------------------------------------------------
    def build(self, outputs: Sequence[Value] | None = None, name: str = "main") -> tvm.IRModule:
        """The Relax module computing ``outputs`` (default: the current value)."""
        outputs = [self.current] if outputs is None else list(outputs)
        builder = relax.BlockBuilder()
        x = relax.Var("input", relax.TensorType(self.input.shape, "int8"))
        values: dict[int, relax.Expr] = {0: x}
        with builder.function(name, [x]):
            with builder.dataflow():
                for node in self._nodes:
                    operands = [values[i] for i in node.inputs] + [relax.const(c) for c in node.constants]
                    out_type = relax.TensorType(node.out.shape, "int8")
                    values[node.out.index] = builder.emit(node.record.call(operands, out_type), name_hint=node.name)
                results = [builder.emit_output(values[v.index]) for v in outputs]
            builder.emit_func_output(results[0] if len(results) == 1 else relax.Tuple(results))
        module = builder.get()
        func = module[name].with_attr(INPUT_SCALES_ATTR, [float(self.input.scale)])
        func = func.with_attr(INPUT_ZERO_POINTS_ATTR, [int(self.input.zero_point)])
        module.update_func(module.get_global_var(name), func)
        return module


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """MobileNet channel rounding: nearest multiple of ``divisor``, never below 90% of ``value``."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


#: MobileNetV2 inverted residual settings: expansion t, channels c, repeats n, first stride s.
MOBILENET_V2_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(width: float = 1.0, resolution: int = 224, num_classes: int = 1000, seed: int = 0,
                 in_channels: int = 3) -> tvm.IRModule:
    """An integer-only MobileNetV2 (random weights) as a Relax module."""
    return mobilenet_v2_builder(width, resolution, num_classes, seed, in_channels).build()


def mobilenet_v2_builder(width: float = 1.0, resolution: int = 224, num_classes: int = 1000, seed: int = 0,
                         in_channels: int = 3) -> NetworkBuilder:
    """The :class:`NetworkBuilder` after adding MobileNetV2's layers (for inspection or extension)."""
    net = NetworkBuilder((1, resolution, resolution, in_channels), seed)
    channels = make_divisible(32 * width)
    net.conv(channels, 3, 2)
    for t, c, n, s in MOBILENET_V2_BLOCKS:
        out_c = make_divisible(c * width)
        for i in range(n):
            stride = s if i == 0 else 1
            block_in = net.current
            if t != 1:
                net.pointwise(channels * t, "RELU6")
            net.depthwise(3, stride)
            out = net.pointwise(out_c, "NONE")
            if stride == 1 and channels == out_c:
                net.add(out, block_in)
            channels = out_c
    net.pointwise(make_divisible(1280 * width) if width > 1.0 else 1280, "RELU6")
    net.global_avg_pool()
    net.flatten()
    net.dense(num_classes)
    net.softmax()
    return net
