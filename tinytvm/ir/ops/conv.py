"""Convolution-like operators: int8 activations, int8 symmetric weights, int32 bias.

Operands: ``data`` (NHWC int8), ``weight`` (int8), ``bias`` (int32, one per output
channel), ``multiplier`` and ``shift`` (int32, one per output channel; a per-tensor
quantized layer repeats its single value). The accumulator of output channel ``c``
is requantized TFLM-style: ``MultiplyByQuantizedMultiplier(acc, multiplier[c], shift[c])
+ output_zp``, then clamped to ``[act_min, act_max]`` (the fused activation).
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, Sequence

from ..op import OpRecord

CONV_OPERANDS = ("data", "weight", "bias", "multiplier", "shift")


@dataclasses.dataclass(frozen=True)
class Conv2D(OpRecord):
    """2-D convolution; weight layout OHWI (as TFLite)."""

    KERNEL: ClassVar[str] = "conv2d"
    OPERANDS: ClassVar[tuple[str, ...]] = CONV_OPERANDS

    output_scale: float
    output_zp: int
    input_zp: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, left, bottom, right
    act_min: int
    act_max: int
    #: Output overwrites (part of) the input (set by the InPlaceConv2D pass).
    in_place: bool = False

    def macs(self, in_shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...]) -> int:
        _, kh, kw, cin = in_shapes[1]
        return math.prod(out_shape) * kh * kw * cin


@dataclasses.dataclass(frozen=True)
class DepthwiseConv2D(OpRecord):
    """Depthwise convolution; weight layout 1HW(C*M) (as TFLite), M = depth_multiplier."""

    KERNEL: ClassVar[str] = "depthwise_conv2d"
    OPERANDS: ClassVar[tuple[str, ...]] = CONV_OPERANDS

    output_scale: float
    output_zp: int
    input_zp: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[int, int, int, int]
    depth_multiplier: int
    act_min: int
    act_max: int
    #: Output overwrites the input channel by channel (set by the InPlaceDepthwise pass).
    in_place: bool = False

    def macs(self, in_shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...]) -> int:
        _, kh, kw, _ = in_shapes[1]
        return math.prod(out_shape) * kh * kw


@dataclasses.dataclass(frozen=True)
class FullyConnected(OpRecord):
    """Fully connected layer on a 2-D ``[batch, in]`` input; weight layout ``[out, in]``."""

    KERNEL: ClassVar[str] = "fully_connected"
    OPERANDS: ClassVar[tuple[str, ...]] = CONV_OPERANDS

    output_scale: float
    output_zp: int
    input_zp: int
    act_min: int
    act_max: int

    def macs(self, in_shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...]) -> int:
        return math.prod(out_shape) * in_shapes[1][1]
