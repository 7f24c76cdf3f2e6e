"""Build small full-integer (int8) TFLite flatbuffers for tests.

Two layers, both on top of the object API of the TFLite schema shipped with tflite-micro:

* Low level: :meth:`ModelBuilder.input`, :meth:`~ModelBuilder.tensor`, :meth:`~ModelBuilder.const`,
  :meth:`~ModelBuilder.add_op`, :meth:`~ModelBuilder.output`, :meth:`~ModelBuilder.build`. Any
  builtin or custom operator with any options can be written; nothing is inferred or checked
  beyond what is needed to produce a well-formed flatbuffer.
* High level: one method per operator (:meth:`~ModelBuilder.conv2d`, :meth:`~ModelBuilder.add`,
  :meth:`~ModelBuilder.softmax`, ...) that infers the output shape, quantizes float weights and
  biases the way the TFLite converter does, and picks an output quantization that satisfies
  TFLM's constraints and keeps outputs for random full-range int8 inputs mostly unsaturated.
  Every choice can be overridden (``out_scale=``, ``out_zero_point=``).

Example::

    b = ModelBuilder()
    x = b.input("x", (1, 9, 9, 3), scale=0.05, zero_point=-128)
    w = np.random.default_rng(0).normal(size=(4, 3, 3, 3))          # OHWI, float
    y = b.conv2d(x, w, bias=np.zeros(4), stride=2, padding="SAME", activation="RELU6")
    b.output(y)
    data: bytes = b.build()

Module-level helpers (:func:`quantize_weights_per_channel`, :func:`quantize_bias`,
:func:`choose_qparams`, ...) are usable on their own, and :func:`float_conv_model`,
:func:`hybrid_fc_model`, :func:`hybrid_conv_model`, :func:`unsupported_op_model` make deliberately
bad models for error tests.

TFLM (reference kernels) conventions the high-level layer follows (the harness tests check the
enforced ones and document the silent ones):

* int8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED weights are symmetric (zero point 0;
  TFLM silently *ignores* a non-zero weight zero point), per channel along axis 0 (conv, fully
  connected) or axis 3 (depthwise); bias is int32 with zero point 0 and scale
  ``input_scale * weight_scale[c]`` (TFLM does not read the bias scale).
* SOFTMAX int8 output: scale 1/256 and zero point -128 (both enforced). LOGISTIC int8 output:
  zero point -128 enforced, scale not checked and always treated as 1/256.
* AVERAGE_POOL_2D / MAX_POOL_2D / CONCATENATION: output quantization must equal the inputs'
  (enforced); PADV2: the pad value's quantization must equal the output's (enforced).
  RESHAPE / SQUEEZE / TRANSPOSE / PAD / PADV2 / RESIZE_NEAREST_NEIGHBOR: input vs output
  quantization is not checked and bytes are copied without requantization (PAD fills with the
  output zero point), so the output keeps the input's.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

__all__ = [
    "QuantParams",
    "TensorRef",
    "OpInfo",
    "ModelBuilder",
    "pack_model",
    "builtin_code",
    "builtin_name",
    "conv_output_size",
    "choose_qparams",
    "quantize",
    "dequantize",
    "quantize_weights_per_channel",
    "quantize_weights_per_tensor",
    "quantize_bias",
    "estimate_linear_output_qparams",
    "float_conv_model",
    "hybrid_fc_model",
    "hybrid_conv_model",
    "unsupported_op_model",
    "ACTIVATIONS",
]

FILE_IDENTIFIER = b"TFL3"
_BUFFER_ALIGNMENT = 16  # as the TFLite converter aligns constant data

# ---------------------------------------------------------------------------------------------
# Enumerations
# ---------------------------------------------------------------------------------------------

_DTYPE_TO_TFLITE: dict[np.dtype, int] = {
    np.dtype("float32"): schema.TensorType.FLOAT32,
    np.dtype("float16"): schema.TensorType.FLOAT16,
    np.dtype("float64"): schema.TensorType.FLOAT64,
    np.dtype("int8"): schema.TensorType.INT8,
    np.dtype("uint8"): schema.TensorType.UINT8,
    np.dtype("int16"): schema.TensorType.INT16,
    np.dtype("int32"): schema.TensorType.INT32,
    np.dtype("int64"): schema.TensorType.INT64,
    np.dtype("bool"): schema.TensorType.BOOL,
}
TFLITE_TO_DTYPE: dict[int, np.dtype] = {v: k for k, v in _DTYPE_TO_TFLITE.items()}

_BUILTIN_CODES: dict[str, int] = {
    k: v for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")
}
_BUILTIN_NAMES: dict[int, str] = {v: k for k, v in _BUILTIN_CODES.items()}

ACTIVATIONS: dict[str, int] = {
    k: v for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith("_")
}
_PADDINGS: dict[str, int] = {"SAME": schema.Padding.SAME, "VALID": schema.Padding.VALID}

# Builtin operator -> name of its BuiltinOptions table (only operators that have one).
_OPTIONS_TABLE: dict[str, str] = {
    "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions",
    "ADD": "AddOptions",
    "SUB": "SubOptions",
    "MUL": "MulOptions",
    "DIV": "DivOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions",
    "L2_POOL_2D": "Pool2DOptions",
    "MEAN": "ReducerOptions",
    "SUM": "ReducerOptions",
    "REDUCE_MAX": "ReducerOptions",
    "REDUCE_MIN": "ReducerOptions",
    "REDUCE_PROD": "ReducerOptions",
    "PAD": "PadOptions",
    "PADV2": "PadV2Options",
    "RESHAPE": "ReshapeOptions",
    "SQUEEZE": "SqueezeOptions",
    "TRANSPOSE": "TransposeOptions",
    "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions",
    "RESIZE_BILINEAR": "ResizeBilinearOptions",
    "SOFTMAX": "SoftmaxOptions",
    "CONCATENATION": "ConcatenationOptions",
    "LSTM": "LSTMOptions",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions",
    "TRANSPOSE_CONV": "TransposeConvOptions",
    "STRIDED_SLICE": "StridedSliceOptions",
    "LEAKY_RELU": "LeakyReluOptions",
    "SPLIT": "SplitOptions",
    "GATHER": "GatherOptions",
    "ARG_MAX": "ArgMaxOptions",
}

# Defaults that differ from the schema's zero defaults (e.g. stride 0 is invalid).
_OPTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "CONV_2D": {"stride": 1, "dilation": 1, "padding": "SAME"},
    "DEPTHWISE_CONV_2D": {"stride": 1, "dilation": 1, "padding": "SAME", "depth_multiplier": 1},
    "AVERAGE_POOL_2D": {"stride": 1, "padding": "VALID"},
    "MAX_POOL_2D": {"stride": 1, "padding": "VALID"},
    "L2_POOL_2D": {"stride": 1, "padding": "VALID"},
    "TRANSPOSE_CONV": {"stride": 1, "padding": "SAME"},
    "SOFTMAX": {"beta": 1.0},
}


def builtin_code(op: str | int) -> int:
    """Builtin operator code for a name like ``"CONV_2D"`` (or pass a code through)."""
    if isinstance(op, int):
        return op
    try:
        return _BUILTIN_CODES[op.upper()]
    except KeyError:
        raise ValueError(f"unknown builtin operator {op!r}") from None


def builtin_name(code: int) -> str:
    """Name of a builtin operator code, e.g. ``3 -> "CONV_2D"``."""
    return _BUILTIN_NAMES.get(code, f"BUILTIN_{code}")


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _make_options(op_name: str, options: Mapping[str, Any] | Any | None) -> tuple[int, Any]:
    """(builtinOptionsType, options object) for an operator.

    ``options`` is either a schema options object (used as is) or a dict of snake_case keys.
    Besides the schema fields in snake_case (``depth_multiplier``, ``keep_num_dims``,
    ``keep_dims``, ``new_shape``, ``squeeze_dims``, ``align_corners``, ``half_pixel_centers``,
    ``beta``, ``axis``, ...) these shorthands are understood: ``padding`` ("SAME"/"VALID"),
    ``stride`` / ``dilation`` / ``filter`` (int or (h, w)), ``activation`` ("NONE", "RELU",
    "RELU6", "RELU_N1_TO_1", ...).
    """
    table = _OPTIONS_TABLE.get(op_name)
    if options is not None and not isinstance(options, Mapping):
        cls_name = type(options).__name__
        return getattr(schema.BuiltinOptions, cls_name.removesuffix("T")), options
    if table is None:
        if options:
            raise ValueError(f"{op_name} has no builtin options table; got {dict(options)}")
        return schema.BuiltinOptions.NONE, None
    opts = getattr(schema, table + "T")()
    merged = {**_OPTION_DEFAULTS.get(op_name, {}), **(options or {})}
    for key, value in merged.items():
        if key == "padding":
            opts.padding = _PADDINGS[value.upper()] if isinstance(value, str) else int(value)
        elif key == "activation":
            opts.fusedActivationFunction = (
                ACTIVATIONS[value.upper()] if isinstance(value, str) else int(value)
            )
        elif key in ("stride", "dilation", "filter"):
            h, w = _pair(value)
            names = {
                "stride": ("strideH", "strideW"),
                "dilation": ("dilationHFactor", "dilationWFactor"),
                "filter": ("filterHeight", "filterWidth"),
            }[key]
            for attr, v in zip(names, (h, w)):
                if not hasattr(opts, attr):
                    raise ValueError(f"{op_name} options have no {key!r}")
                setattr(opts, attr, v)
        else:
            attr = _camel(key)
            if not hasattr(opts, attr):
                raise ValueError(f"{op_name} options ({table}) have no field {key!r} ({attr})")
            if isinstance(value, (tuple, np.ndarray)):
                value = [int(v) for v in value]
            setattr(opts, attr, value)
    return getattr(schema.BuiltinOptions, table), opts


# ---------------------------------------------------------------------------------------------
# Quantization helpers
# ---------------------------------------------------------------------------------------------


def _f32(x: float) -> float:
    """Round to the float32 value the flatbuffer will hold."""
    return float(np.float32(x))


def _qrange(dtype: np.dtype | str) -> tuple[int, int]:
    info = np.iinfo(np.dtype(dtype))
    return int(info.min), int(info.max)


def choose_qparams(
    fmin: float, fmax: float, dtype: np.dtype | str = np.int8
) -> tuple[float, int]:
    """Asymmetric (scale, zero_point) covering ``[fmin, fmax]`` (widened to include 0).

    The scale is rounded to float32 (as stored in the flatbuffer); the zero point is rounded
    so that 0.0 is exactly representable.
    """
    qmin, qmax = _qrange(dtype)
    fmin, fmax = min(float(fmin), 0.0), max(float(fmax), 0.0)
    if fmax - fmin < 1e-6:
        fmax = fmin + 1e-6
    scale = _f32((fmax - fmin) / (qmax - qmin))
    zero_point = int(np.clip(round(qmin - fmin / scale), qmin, qmax))
    return scale, zero_point


def quantize(
    x: np.ndarray, scale: float | np.ndarray, zero_point: int | np.ndarray = 0,
    dtype: np.dtype | str = np.int8,
) -> np.ndarray:
    """Round-to-nearest affine quantization with saturation."""
    qmin, qmax = _qrange(dtype)
    q = np.round(np.asarray(x, np.float64) / np.asarray(scale, np.float64)) + zero_point
    return np.clip(q, qmin, qmax).astype(dtype)


def dequantize(
    q: np.ndarray, scale: float | np.ndarray, zero_point: int | np.ndarray = 0
) -> np.ndarray:
    """``scale * (q - zero_point)`` in float64."""
    return (np.asarray(q, np.float64) - zero_point) * np.asarray(scale, np.float64)


def _bcast(v: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return np.reshape(v, shape)


def quantize_weights_per_channel(
    w: np.ndarray, axis: int, narrow: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-channel int8 quantization along ``axis``.

    Returns ``(int8 weights, float32 scales)`` with ``scale[c] = max|w[c]| / 127`` and zero
    point 0 (TFLM requires symmetric int8 weights). ``narrow`` keeps -128 out of the weights,
    as the TFLite converter does.
    """
    w = np.asarray(w, np.float64)
    axis = axis % w.ndim
    other = tuple(i for i in range(w.ndim) if i != axis)
    maxabs = np.max(np.abs(w), axis=other) if other else np.abs(w)
    scales = np.where(maxabs > 0, maxabs / 127.0, 1.0 / 127.0).astype(np.float32)
    q = np.round(w / _bcast(scales.astype(np.float64), axis, w.ndim))
    q = np.clip(q, -127 if narrow else -128, 127).astype(np.int8)
    return q, scales


def quantize_weights_per_tensor(w: np.ndarray, narrow: bool = True) -> tuple[np.ndarray, float]:
    """Symmetric per-tensor int8 quantization: ``(int8 weights, scale)``."""
    w = np.asarray(w, np.float64)
    maxabs = float(np.max(np.abs(w))) if w.size else 0.0
    scale = _f32(maxabs / 127.0 if maxabs > 0 else 1.0 / 127.0)
    q = np.clip(np.round(w / scale), -127 if narrow else -128, 127).astype(np.int8)
    return q, scale


def quantize_bias(
    bias: np.ndarray, input_scale: float, weight_scales: float | Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """int32 bias with ``scale[c] = input_scale * weight_scale[c]`` (zero point 0).

    Returns ``(int32 bias, float32 scales)``; a per-tensor weight scale gives one scale per
    element, broadcast (TFLM ignores the bias scale, but importers read it).
    """
    bias = np.asarray(bias, np.float64)
    ws = np.broadcast_to(np.asarray(weight_scales, np.float64), bias.shape)
    scales = (np.float64(input_scale) * ws).astype(np.float32)
    q = np.round(bias / scales.astype(np.float64))
    q = np.clip(q, np.iinfo(np.int32).min, np.iinfo(np.int32).max).astype(np.int32)
    return q, scales


def _clip_to_activation(lo: float, hi: float, activation: str) -> tuple[float, float]:
    act = activation.upper()
    bounds = {
        "NONE": (-math.inf, math.inf),
        "RELU": (0.0, math.inf),
        "RELU6": (0.0, 6.0),
        "RELU_N1_TO_1": (-1.0, 1.0),
    }.get(act)
    if bounds is None:
        raise ValueError(f"unsupported fused activation {activation!r}")
    lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    if hi <= lo:  # everything clipped to one side: keep a small valid range
        lo, hi = (bounds[0], bounds[0] + 1.0) if math.isfinite(bounds[0]) else (hi - 1.0, hi)
    return lo, hi


def _uniform_stats(q: "QuantParams", dtype: np.dtype) -> tuple[float, float]:
    """Mean and variance of the dequantized value of a uniformly random integer in ``dtype``."""
    qmin, qmax = _qrange(dtype)
    s, zp = q.scale[0], q.zero_point[0]
    n = qmax - qmin + 1
    return ((qmin + qmax) / 2 - zp) * s, s * s * (n * n - 1) / 12.0


def estimate_linear_output_qparams(
    x: "TensorRef",
    w_float: np.ndarray,
    out_axis: int,
    bias_float: np.ndarray | None = None,
    activation: str = "NONE",
    spread: float = 3.0,
) -> tuple[float, int]:
    """Output (scale, zero_point) of ``y[c] = sum(w[c, ...] * x) + b[c]`` for random inputs.

    Treats each input element as independent and uniform over ``x``'s integer range (what
    :func:`oracle.random_inputs` produces) and covers ``mean +- spread * std`` of every output
    channel ``c`` (the weights' ``out_axis``), clipped to the fused activation.
    """
    if x.quant is None:
        raise ValueError(f"{x.name} is not quantized")
    mu, var = _uniform_stats(x.quant, x.dtype)
    w = np.asarray(w_float, np.float64)
    w = np.moveaxis(w, out_axis, 0).reshape(w.shape[out_axis], -1)
    mean = mu * w.sum(axis=1)
    if bias_float is not None:
        mean = mean + np.asarray(bias_float, np.float64)
    std = np.sqrt(var * (w * w).sum(axis=1))
    lo = float(np.min(mean - spread * std))
    hi = float(np.max(mean + spread * std))
    return choose_qparams(*_clip_to_activation(lo, hi, activation), dtype=x.dtype)


def conv_output_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """TFLite's output extent for SAME / VALID padding."""
    eff = (kernel - 1) * dilation + 1
    if padding.upper() == "SAME":
        return (size + stride - 1) // stride
    if padding.upper() == "VALID":
        return (size - eff + stride) // stride
    raise ValueError(f"padding must be SAME or VALID, got {padding!r}")


# ---------------------------------------------------------------------------------------------
# Tensors
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class QuantParams:
    """Affine quantization: ``real = scale * (q - zero_point)``; per channel along ``axis``
    when there is more than one scale. Scales are float32 values (as stored)."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @staticmethod
    def make(
        scale: float | Sequence[float] | np.ndarray,
        zero_point: int | Sequence[int] | np.ndarray | None = None,
        axis: int = 0,
    ) -> "QuantParams":
        scales = tuple(_f32(s) for s in np.atleast_1d(np.asarray(scale, np.float64)))
        if zero_point is None:
            zps: tuple[int, ...] = (0,) * len(scales)
        else:
            zps = tuple(int(z) for z in np.atleast_1d(np.asarray(zero_point)))
            if len(zps) == 1 and len(scales) > 1:
                zps = zps * len(scales)
        if len(zps) != len(scales):
            raise ValueError(f"{len(scales)} scales but {len(zps)} zero points")
        if any(not (s > 0 and math.isfinite(s)) for s in scales):
            raise ValueError(f"scales must be positive and finite, got {scales}")
        return QuantParams(scales, zps, int(axis))

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1

    def to_schema(self) -> schema.QuantizationParametersT:
        q = schema.QuantizationParametersT()
        q.scale = list(self.scale)
        q.zeroPoint = list(self.zero_point)
        q.quantizedDimension = self.axis
        return q


@dataclasses.dataclass(frozen=True)
class TensorRef:
    """Handle of a tensor in a :class:`ModelBuilder` (``index`` is its subgraph index)."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    quant: QuantParams | None = None
    data: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def scale(self) -> float:
        """The (first) scale; raises if unquantized."""
        if self.quant is None:
            raise ValueError(f"tensor {self.name!r} is not quantized")
        return self.quant.scale[0]

    @property
    def zero_point(self) -> int:
        if self.quant is None:
            raise ValueError(f"tensor {self.name!r} is not quantized")
        return self.quant.zero_point[0]

    def float_range(self) -> tuple[float, float]:
        """Real values representable by a per-tensor quantized integer tensor."""
        qmin, qmax = _qrange(self.dtype)
        return (qmin - self.zero_point) * self.scale, (qmax - self.zero_point) * self.scale

    def dequantized(self) -> np.ndarray:
        """Real values of a quantized constant (per channel aware)."""
        if self.data is None or self.quant is None:
            raise ValueError(f"tensor {self.name!r} is not a quantized constant")
        s = np.asarray(self.quant.scale, np.float64)
        z = np.asarray(self.quant.zero_point, np.float64)
        if self.quant.per_channel:
            s = _bcast(s, self.quant.axis, self.data.ndim)
            z = _bcast(z, self.quant.axis, self.data.ndim)
        return (self.data.astype(np.float64) - z) * s


@dataclasses.dataclass(frozen=True)
class OpInfo:
    """An operator added to a :class:`ModelBuilder` (``options`` as given to ``add_op``)."""

    op: str
    inputs: tuple[TensorRef | None, ...]
    outputs: tuple[TensorRef, ...]
    options: Any = None
    custom_code: str | None = None


TensorLike = Union[TensorRef, None]
Shape = Sequence[int]
QuantArg = Union[float, Sequence[float], np.ndarray, None]


class _AlignedBufferT(schema.BufferT):
    """BufferT whose data vector is 16-byte aligned (the schema asks for it, the generated
    Python packer does not do it)."""

    def Pack(self, builder: flatbuffers.Builder) -> int:
        data_off = None
        if self.data is not None:
            raw = np.ascontiguousarray(self.data).view(np.uint8).reshape(-1).tobytes()
            builder.StartVector(1, len(raw), _BUFFER_ALIGNMENT)
            builder.head = builder.head - len(raw)
            builder.Bytes[builder.head : builder.head + len(raw)] = raw
            data_off = builder.EndVector()
        schema.BufferStart(builder)
        if data_off is not None:
            schema.BufferAddData(builder, data_off)
        return schema.BufferEnd(builder)


# ---------------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------------


class ModelBuilder:
    """Incrementally build a single-subgraph TFLite model.

    Tensor and operator order in the flatbuffer is creation order; operators must be added in a
    valid execution order (TFLM runs them as listed).
    """

    def __init__(self, description: str = "tinytvm test model") -> None:
        self.description = description
        self._tensors: list[schema.TensorT] = []
        self._refs: list[TensorRef] = []
        self._buffers: list[schema.BufferT] = [schema.BufferT()]  # buffer 0: empty sentinel
        self._operators: list[schema.OperatorT] = []
        self._opcodes: list[schema.OperatorCodeT] = []
        self._opcode_index: dict[tuple[int, str | None, int], int] = {}
        self._inputs: list[int] = []
        self._outputs: list[int] = []
        self._names: set[str] = set()
        self._counter = 0
        self._ops: list[OpInfo] = []
        self._producer: dict[int, OpInfo] = {}

    # --- tensors ------------------------------------------------------------------------------

    @property
    def tensors(self) -> tuple[TensorRef, ...]:
        """All tensors, by subgraph index."""
        return tuple(self._refs)

    @property
    def ops(self) -> tuple[OpInfo, ...]:
        """All operators, in execution order."""
        return tuple(self._ops)

    @property
    def inputs(self) -> tuple[TensorRef, ...]:
        return tuple(self._refs[i] for i in self._inputs)

    @property
    def outputs(self) -> tuple[TensorRef, ...]:
        return tuple(self._refs[i] for i in self._outputs)

    def producer(self, t: TensorRef) -> OpInfo:
        """The operator that writes ``t`` (e.g. to get the quantized weights a helper made:
        ``b.producer(y).inputs[1].dequantized()``)."""
        try:
            return self._producer[t.index]
        except KeyError:
            raise ValueError(f"tensor {t.name!r} is not produced by any operator") from None

    def _fresh(self, stem: str) -> str:
        while True:
            self._counter += 1
            name = f"{stem}_{self._counter}"
            if name not in self._names:
                return name

    def _add_tensor(
        self,
        name: str | None,
        shape: Shape,
        dtype: np.dtype | str,
        quant: QuantParams | None,
        data: np.ndarray | None,
        is_variable: bool = False,
    ) -> TensorRef:
        dtype = np.dtype(dtype)
        if dtype not in _DTYPE_TO_TFLITE:
            raise ValueError(f"unsupported tensor dtype {dtype}")
        name = name or self._fresh("t")
        if name in self._names:
            raise ValueError(f"duplicate tensor name {name!r}")
        shape = tuple(int(d) for d in shape)
        if quant is not None and quant.per_channel:
            if not 0 <= quant.axis < len(shape) or shape[quant.axis] != len(quant.scale):
                raise ValueError(
                    f"{name}: {len(quant.scale)} scales do not match axis {quant.axis} of {shape}"
                )
        t = schema.TensorT()
        t.name = name
        t.shape = list(shape)
        t.type = _DTYPE_TO_TFLITE[dtype]
        t.quantization = quant.to_schema() if quant is not None else None
        t.isVariable = is_variable
        buf = _AlignedBufferT() if data is not None else schema.BufferT()
        if data is not None:
            if tuple(data.shape) != shape:
                raise ValueError(f"{name}: data shape {data.shape} != {shape}")
            data = np.array(data, dtype=dtype.newbyteorder("<"), copy=True, order="C")
            data.flags.writeable = False  # the model holds it: later edits would be silent
            buf.data = data
        t.buffer = len(self._buffers)
        self._buffers.append(buf)
        self._tensors.append(t)
        ref = TensorRef(len(self._refs), name, shape, dtype, quant, data)
        self._refs.append(ref)
        self._names.add(name)
        return ref

    @staticmethod
    def _quant(
        scale: QuantArg,
        zero_point: int | Sequence[int] | None,
        axis: int,
        scales: QuantArg = None,
        zero_points: Sequence[int] | None = None,
    ) -> QuantParams | None:
        scale = scales if scale is None else scale
        zero_point = zero_points if zero_point is None else zero_point
        if scale is None:
            if zero_point is not None:
                raise ValueError("zero_point given without scale")
            return None
        return QuantParams.make(scale, zero_point, axis)

    def tensor(
        self,
        name: str | None,
        shape: Shape,
        dtype: np.dtype | str = "int8",
        scale: QuantArg = None,
        zero_point: int | Sequence[int] | None = None,
        *,
        axis: int = 0,
        scales: QuantArg = None,
        zero_points: Sequence[int] | None = None,
        is_variable: bool = False,
    ) -> TensorRef:
        """An activation tensor (no data). int8/int16/uint8 tensors need a ``scale``.

        ``scales``/``zero_points`` are accepted as aliases of ``scale``/``zero_point``.
        """
        dtype = np.dtype(dtype)
        q = self._quant(scale, zero_point, axis, scales, zero_points)
        if q is None and dtype in (np.dtype("int8"), np.dtype("uint8"), np.dtype("int16")):
            raise ValueError(f"{name}: quantized dtype {dtype} needs a scale")
        return self._add_tensor(name, shape, dtype, q, None, is_variable=is_variable)

    def input(
        self,
        name: str | None,
        shape: Shape,
        dtype: np.dtype | str = "int8",
        scale: QuantArg = None,
        zero_point: int | Sequence[int] | None = None,
        **kwargs: Any,
    ) -> TensorRef:
        """A new activation tensor that is a model input (inputs keep creation order)."""
        t = self.tensor(name, shape, dtype, scale, zero_point, **kwargs)
        self._inputs.append(t.index)
        return t

    def const(
        self,
        name: str | None,
        data: np.ndarray | Sequence[Any],
        scale: QuantArg = None,
        zero_point: int | Sequence[int] | None = None,
        *,
        axis: int = 0,
        dtype: np.dtype | str | None = None,
        scales: QuantArg = None,
        zero_points: Sequence[int] | None = None,
    ) -> TensorRef:
        """A constant tensor (own buffer). Python lists default to int32 (shape/axis tensors).

        Quantization is optional (weights and biases have it; shape tensors do not). A list of
        scales makes it per-channel along ``axis``.
        """
        arr = np.asarray(data)
        if dtype is not None:
            arr = arr.astype(dtype)
        elif not isinstance(data, np.ndarray) and arr.dtype.kind in "iu":
            arr = arr.astype(np.int32)
        elif arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        q = self._quant(scale, zero_point, axis, scales, zero_points)
        return self._add_tensor(name, arr.shape, arr.dtype, q, arr)

    def output(self, *tensors: TensorRef) -> None:
        """Mark tensors as model outputs (in call order)."""
        for t in tensors:
            self._outputs.append(t.index)

    # --- operators ----------------------------------------------------------------------------

    def _opcode(self, code: int, custom_code: str | None, version: int) -> int:
        key = (code, custom_code, version)
        if key not in self._opcode_index:
            oc = schema.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)  # PLACEHOLDER_FOR_GREATER_OP_CODES
            oc.customCode = custom_code
            oc.version = version
            self._opcode_index[key] = len(self._opcodes)
            self._opcodes.append(oc)
        return self._opcode_index[key]

    def add_op(
        self,
        op: str | int,
        inputs: Sequence[TensorLike],
        out: TensorRef | Sequence[TensorRef],
        options: Mapping[str, Any] | Any | None = None,
        *,
        custom_code: str | None = None,
        custom_options: bytes | None = None,
        version: int = 1,
        intermediates: Sequence[TensorRef] = (),
    ) -> Any:
        """Append an operator; returns ``out`` (a tensor or the sequence given).

        ``op`` is a builtin name ("CONV_2D") or code, or "CUSTOM" with ``custom_code``. ``None``
        in ``inputs`` is an omitted optional input (index -1). ``options``: see
        :func:`_make_options` (a dict of snake_case fields, or a schema ``*OptionsT`` object).
        """
        code = builtin_code(op)
        name = builtin_name(code)
        if (custom_code is not None) != (code == schema.BuiltinOperator.CUSTOM):
            raise ValueError("custom_code is required for, and only for, CUSTOM operators")
        outs = [out] if isinstance(out, TensorRef) else list(out)
        o = schema.OperatorT()
        o.opcodeIndex = self._opcode(code, custom_code, version)
        o.inputs = [-1 if t is None else t.index for t in inputs]
        o.outputs = [t.index for t in outs]
        if code == schema.BuiltinOperator.CUSTOM:
            if options:
                raise ValueError("CUSTOM operators take custom_options (bytes), not options")
            o.builtinOptionsType = schema.BuiltinOptions.NONE
        else:
            o.builtinOptionsType, o.builtinOptions = _make_options(name, options)
        if custom_options is not None:
            o.customOptions = list(custom_options)
            o.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
        if intermediates:
            o.intermediates = [t.index for t in intermediates]
        self._operators.append(o)
        info = OpInfo(name, tuple(inputs), tuple(outs), options, custom_code)
        self._ops.append(info)
        for t in outs:
            self._producer[t.index] = info
        return out

    # --- output -------------------------------------------------------------------------------

    def model_t(self) -> schema.ModelT:
        """The schema object (a fresh one per call; safe to edit)."""
        if not self._outputs:
            raise ValueError("model has no outputs: call output()")
        g = schema.SubGraphT()
        g.name = "main"
        g.tensors = copy.deepcopy(self._tensors)
        g.inputs = list(self._inputs)
        g.outputs = list(self._outputs)
        g.operators = copy.deepcopy(self._operators)
        m = schema.ModelT()
        m.version = 3
        m.description = self.description
        m.operatorCodes = copy.deepcopy(self._opcodes)
        m.subgraphs = [g]
        m.buffers = list(self._buffers)
        return m

    def build(self) -> bytes:
        """Serialize to a TFLite flatbuffer (file identifier ``TFL3``)."""
        return pack_model(self.model_t())

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.write_bytes(self.build())
        return path

    # =========================================================================================
    # High-level, per-operator helpers. Each returns the output tensor.
    # =========================================================================================

    def _out(
        self,
        stem: str,
        shape: Shape,
        like: TensorRef | None,
        out_scale: float | None,
        out_zero_point: int | None,
        name: str | None,
        default: tuple[float, int] | None = None,
        dtype: np.dtype | str | None = None,
    ) -> TensorRef:
        """Output tensor: explicit quantization > ``default`` > same as ``like``."""
        dtype = np.dtype(dtype) if dtype is not None else (like.dtype if like else np.int8)
        if out_scale is not None:
            q: QuantParams | None = QuantParams.make(out_scale, out_zero_point or 0)
        elif default is not None:
            q = QuantParams.make(*default)
        else:
            q = like.quant if like is not None else None
        if dtype.kind == "f":
            q = None
        return self._add_tensor(name or self._fresh(stem), shape, dtype, q, None)

    def _weights(
        self, w: np.ndarray | TensorRef, axis: int, per_channel: bool, stem: str
    ) -> TensorRef:
        if isinstance(w, TensorRef):
            return w
        if per_channel:
            q, scales = quantize_weights_per_channel(w, axis)
            return self.const(self._fresh(stem), q, scales, 0, axis=axis)
        q, scale = quantize_weights_per_tensor(w)
        return self.const(self._fresh(stem), q, scale, 0)

    def _bias(
        self, bias: np.ndarray | TensorRef | None, x: TensorRef, w: TensorRef, stem: str
    ) -> TensorRef | None:
        if bias is None or isinstance(bias, TensorRef):
            return bias
        assert w.quant is not None
        q, scales = quantize_bias(bias, x.scale, np.asarray(w.quant.scale))
        return self.const(self._fresh(stem), q, scales, 0, axis=0)

    @staticmethod
    def _bias_float(bias: np.ndarray | TensorRef | None) -> np.ndarray | None:
        if bias is None:
            return None
        if isinstance(bias, TensorRef):
            return bias.dequantized() if bias.quant is not None else bias.data
        return np.asarray(bias, np.float64)

    def _linear_out_q(
        self, x: TensorRef, w: TensorRef, out_axis: int, bias: Any, activation: str,
        out_scale: float | None, out_zero_point: int | None,
    ) -> tuple[float, int] | None:
        if out_scale is not None:
            return None
        return estimate_linear_output_qparams(
            x, w.dequantized(), out_axis, self._bias_float(bias), activation
        )

    def conv2d(
        self,
        x: TensorRef,
        weights: np.ndarray | TensorRef,
        bias: np.ndarray | TensorRef | None = None,
        *,
        stride: int | Sequence[int] = 1,
        padding: str = "SAME",
        dilation: int | Sequence[int] = 1,
        activation: str = "NONE",
        per_channel: bool = True,
        out_scale: float | None = None,
        out_zero_point: int | None = None,
        name: str | None = None,
    ) -> TensorRef:
        """CONV_2D on NHWC ``x`` with float OHWI ``weights`` (quantized per channel, axis 0)
        and a float ``bias`` (int32 at ``in_scale * w_scale``); ``bias=None`` omits it."""
        wq = self._weights(weights, 0, per_channel, "conv_w")
        oc, kh, kw, _ = wq.shape
        (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
        n, h, w_, _ = x.shape
        shape = (n, conv_output_size(h, kh, sh, dh, padding),
                 conv_output_size(w_, kw, sw, dw, padding), oc)
        dq = self._linear_out_q(x, wq, 0, bias, activation, out_scale, out_zero_point)
        bq = self._bias(bias, x, wq, "conv_b")
        y = self._out("conv", shape, x, out_scale, out_zero_point, name, dq)
        return self.add_op("CONV_2D", [x, wq, bq], y, dict(
            padding=padding, stride=(sh, sw), dilation=(dh, dw), activation=activation))

    def depthwise_conv2d(
        self,
        x: TensorRef,
        weights: np.ndarray | TensorRef,
        bias: np.ndarray | TensorRef | None = None,
        *,
        stride: int | Sequence[int] = 1,
        padding: str = "SAME",
        dilation: int | Sequence[int] = 1,
        activation: str = "NONE",
        depth_multiplier: int | None = None,
        per_channel: bool = True,
        out_scale: float | None = None,
        out_zero_point: int | None = None,
        name: str | None = None,
    ) -> TensorRef:
        """DEPTHWISE_CONV_2D with float ``weights`` of shape (1, KH, KW, C*M) (per channel along
        axis 3); ``depth_multiplier`` defaults to ``(C*M) / C``."""
        wq = self._weights(weights, 3, per_channel, "dw_w")
        _, kh, kw, cm = wq.shape
        c = x.shape[3]
        mult = depth_multiplier if depth_multiplier is not None else cm // c
        (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
        n, h, w_, _ = x.shape
        shape = (n, conv_output_size(h, kh, sh, dh, padding),
                 conv_output_size(w_, kw, sw, dw, padding), cm)
        dq = self._linear_out_q(x, wq, 3, bias, activation, out_scale, out_zero_point)
        bq = self._bias(bias, x, wq, "dw_b")
        y = self._out("dwconv", shape, x, out_scale, out_zero_point, name, dq)
        return self.add_op("DEPTHWISE_CONV_2D", [x, wq, bq], y, dict(
            padding=padding, stride=(sh, sw), dilation=(dh, dw), activation=activation,
            depth_multiplier=mult))

    def fully_connected(
        self,
        x: TensorRef,
        weights: np.ndarray | TensorRef,
        bias: np.ndarray | TensorRef | None = None,
        *,
        activation: str = "NONE",
        keep_num_dims: bool = False,
        per_channel: bool = False,
        out_scale: float | None = None,
        out_zero_point: int | None = None,
        name: str | None = None,
    ) -> TensorRef:
        """FULLY_CONNECTED with float ``weights`` (units, in_features) on ``x`` of any rank.

        TFLM flattens ``x`` to (-1, in_features); the output is (batches, units), or
        ``x.shape[:-1] + (units,)`` with ``keep_num_dims``. Weights are per-tensor by default,
        like the TFLite converter's."""
        wq = self._weights(weights, 0, per_channel, "fc_w")
        units, depth = wq.shape
        size = int(np.prod(x.shape))
        if size % depth:
            raise ValueError(f"input {x.shape} is not a multiple of in_features={depth}")
        if keep_num_dims:
            if x.shape[-1] != depth:
                raise ValueError("keep_num_dims needs input's last dim == in_features")
            shape: tuple[int, ...] = (*x.shape[:-1], units)
        else:
            shape = (size // depth, units)
        dq = self._linear_out_q(x, wq, 0, bias, activation, out_scale, out_zero_point)
        bq = self._bias(bias, x, wq, "fc_b")
        y = self._out("fc", shape, x, out_scale, out_zero_point, name, dq)
        return self.add_op("FULLY_CONNECTED", [x, wq, bq], y, dict(
            activation=activation, keep_num_dims=keep_num_dims))

    def _binary(
        self, op: str, a: TensorRef, b: TensorRef, activation: str,
        out_scale: float | None, out_zero_point: int | None, name: str | None,
    ) -> TensorRef:
        shape = tuple(np.broadcast_shapes(a.shape, b.shape))
        default = None
        if out_scale is None:
            assert a.quant is not None and b.quant is not None
            (ma, va), (mb, vb) = _uniform_stats(a.quant, a.dtype), _uniform_stats(b.quant, b.dtype)
            if op == "ADD":
                mean, var = ma + mb, va + vb
            else:  # MUL of independent values
                mean, var = ma * mb, (va + ma * ma) * (vb + mb * mb) - ma * ma * mb * mb
            std = math.sqrt(var)
            lo, hi = _clip_to_activation(mean - 3 * std, mean + 3 * std, activation)
            default = choose_qparams(lo, hi, a.dtype)
        y = self._out(op.lower(), shape, a, out_scale, out_zero_point, name, default)
        return self.add_op(op, [a, b], y, dict(activation=activation))

    def add(self, a: TensorRef, b: TensorRef, *, activation: str = "NONE",
            out_scale: float | None = None, out_zero_point: int | None = None,
            name: str | None = None) -> TensorRef:
        """ADD (broadcasting); output range covers the sum of random inputs."""
        return self._binary("ADD", a, b, activation, out_scale, out_zero_point, name)

    def mul(self, a: TensorRef, b: TensorRef, *, activation: str = "NONE",
            out_scale: float | None = None, out_zero_point: int | None = None,
            name: str | None = None) -> TensorRef:
        """MUL (broadcasting); output range covers the product of random inputs."""
        return self._binary("MUL", a, b, activation, out_scale, out_zero_point, name)

    def _pool(self, op: str, x: TensorRef, filter: int | Sequence[int],
              stride: int | Sequence[int] | None, padding: str, activation: str,
              name: str | None) -> TensorRef:
        fh, fw = _pair(filter)
        sh, sw = _pair(stride if stride is not None else (fh, fw))
        n, h, w, c = x.shape
        shape = (n, conv_output_size(h, fh, sh, 1, padding),
                 conv_output_size(w, fw, sw, 1, padding), c)
        y = self._out(op.lower(), shape, x, None, None, name)
        return self.add_op(op, [x], y, dict(
            padding=padding, stride=(sh, sw), filter=(fh, fw), activation=activation))

    def avg_pool2d(self, x: TensorRef, filter: int | Sequence[int],
                   stride: int | Sequence[int] | None = None, *, padding: str = "VALID",
                   activation: str = "NONE", name: str | None = None) -> TensorRef:
        """AVERAGE_POOL_2D (stride defaults to the filter size); output keeps x's quantization."""
        return self._pool("AVERAGE_POOL_2D", x, filter, stride, padding, activation, name)

    def max_pool2d(self, x: TensorRef, filter: int | Sequence[int],
                   stride: int | Sequence[int] | None = None, *, padding: str = "VALID",
                   activation: str = "NONE", name: str | None = None) -> TensorRef:
        """MAX_POOL_2D (stride defaults to the filter size); output keeps x's quantization."""
        return self._pool("MAX_POOL_2D", x, filter, stride, padding, activation, name)

    def mean(self, x: TensorRef, axis: int | Sequence[int], *, keep_dims: bool = False,
             out_scale: float | None = None, out_zero_point: int | None = None,
             name: str | None = None) -> TensorRef:
        """MEAN over ``axis`` (an int32 const axis tensor); quantization defaults to x's."""
        axes = sorted({a % len(x.shape) for a in np.atleast_1d(axis).tolist()})
        shape = tuple(
            1 if i in axes else d for i, d in enumerate(x.shape) if keep_dims or i not in axes
        )
        ax = self.const(self._fresh("mean_axis"), np.asarray(axes, np.int32))
        y = self._out("mean", shape, x, out_scale, out_zero_point, name)
        return self.add_op("MEAN", [x, ax], y, dict(keep_dims=keep_dims))

    def pad(self, x: TensorRef, paddings: Sequence[Sequence[int]], *,
            name: str | None = None) -> TensorRef:
        """PAD with an int32 (rank, 2) paddings tensor; pads with the output zero point."""
        p = np.asarray(paddings, np.int32).reshape(len(x.shape), 2)
        shape = tuple(int(d + lo + hi) for d, (lo, hi) in zip(x.shape, p))
        pt = self.const(self._fresh("paddings"), p)
        y = self._out("pad", shape, x, None, None, name)
        return self.add_op("PAD", [x, pt], y)

    def padv2(self, x: TensorRef, paddings: Sequence[Sequence[int]], value: float = 0.0, *,
              name: str | None = None) -> TensorRef:
        """PADV2 with a constant pad ``value`` (real), quantized to x's parameters."""
        p = np.asarray(paddings, np.int32).reshape(len(x.shape), 2)
        shape = tuple(int(d + lo + hi) for d, (lo, hi) in zip(x.shape, p))
        pt = self.const(self._fresh("paddings"), p)
        if x.quant is not None:
            qv = quantize(np.asarray([value]), x.scale, x.zero_point, x.dtype).reshape(())
            vt = self.const(self._fresh("pad_value"), qv, x.scale, x.zero_point)
        else:
            vt = self.const(self._fresh("pad_value"), np.asarray(value, x.dtype))
        y = self._out("padv2", shape, x, None, None, name)
        return self.add_op("PADV2", [x, pt, vt], y)

    def reshape(self, x: TensorRef, new_shape: Sequence[int], *, as_option: bool = True,
                as_tensor: bool = True, name: str | None = None) -> TensorRef:
        """RESHAPE (one -1 allowed) with the shape as ``new_shape`` option and/or int32 tensor."""
        ns = [int(d) for d in new_shape]
        if ns.count(-1) > 1:
            raise ValueError("at most one -1 in new_shape")
        size = int(np.prod(x.shape))
        known = int(np.prod([d for d in ns if d != -1]))
        shape = tuple(size // known if d == -1 else d for d in ns)
        if int(np.prod(shape)) != size:
            raise ValueError(f"cannot reshape {x.shape} to {ns}")
        inputs: list[TensorLike] = [x]
        if as_tensor:
            inputs.append(self.const(self._fresh("shape"), np.asarray(ns, np.int32)))
        y = self._out("reshape", shape, x, None, None, name)
        return self.add_op("RESHAPE", inputs, y, dict(new_shape=ns) if as_option else {})

    def squeeze(self, x: TensorRef, dims: Sequence[int] | None = None, *,
                name: str | None = None) -> TensorRef:
        """SQUEEZE ``dims`` (all size-1 dims when None)."""
        rank = len(x.shape)
        drop = {d % rank for d in dims} if dims else {i for i, d in enumerate(x.shape) if d == 1}
        shape = tuple(d for i, d in enumerate(x.shape) if i not in drop)
        y = self._out("squeeze", shape, x, None, None, name)
        return self.add_op("SQUEEZE", [x], y, dict(squeeze_dims=list(dims or [])))

    def transpose(self, x: TensorRef, perm: Sequence[int], *,
                  name: str | None = None) -> TensorRef:
        """TRANSPOSE with an int32 perm tensor."""
        shape = tuple(x.shape[p] for p in perm)
        pt = self.const(self._fresh("perm"), np.asarray(perm, np.int32))
        y = self._out("transpose", shape, x, None, None, name)
        return self.add_op("TRANSPOSE", [x, pt], y)

    def resize_nearest(self, x: TensorRef, size: Sequence[int], *, align_corners: bool = False,
                       half_pixel_centers: bool = False, name: str | None = None) -> TensorRef:
        """RESIZE_NEAREST_NEIGHBOR of NHWC ``x`` to ``size`` = (H, W) (int32 size tensor)."""
        oh, ow = _pair(size)
        st = self.const(self._fresh("size"), np.asarray([oh, ow], np.int32))
        y = self._out("resize", (x.shape[0], oh, ow, x.shape[3]), x, None, None, name)
        return self.add_op("RESIZE_NEAREST_NEIGHBOR", [x, st], y, dict(
            align_corners=align_corners, half_pixel_centers=half_pixel_centers))

    def softmax(self, x: TensorRef, beta: float = 1.0, *, name: str | None = None) -> TensorRef:
        """SOFTMAX over the last axis; int8 output at scale 1/256, zero point -128 (TFLM)."""
        y = self._out("softmax", x.shape, x, None, None, name, (1.0 / 256, -128))
        return self.add_op("SOFTMAX", [x], y, dict(beta=float(beta)))

    def logistic(self, x: TensorRef, *, name: str | None = None) -> TensorRef:
        """LOGISTIC; int8 output at scale 1/256, zero point -128 (TFLM)."""
        y = self._out("logistic", x.shape, x, None, None, name, (1.0 / 256, -128))
        return self.add_op("LOGISTIC", [x], y)

    def concat(self, xs: Sequence[TensorRef], axis: int, *, activation: str = "NONE",
               name: str | None = None) -> TensorRef:
        """CONCATENATION along ``axis``; output takes the first input's quantization (TFLM's
        int8 kernel copies bytes, so all inputs should share it)."""
        rank = len(xs[0].shape)
        ax = axis % rank
        shape = list(xs[0].shape)
        shape[ax] = sum(t.shape[ax] for t in xs)
        y = self._out("concat", shape, xs[0], None, None, name)
        return self.add_op("CONCATENATION", list(xs), y, dict(axis=axis, activation=activation))

    def quantize(self, x: TensorRef, scale: float, zero_point: int = 0,
                 dtype: np.dtype | str = "int8", *, name: str | None = None) -> TensorRef:
        """QUANTIZE: float -> int8, or int8 -> int8 requantization (also int16 / uint8)."""
        y = self._out("quantize", x.shape, x, scale, zero_point, name, dtype=dtype)
        return self.add_op("QUANTIZE", [x], y)

    def dequantize(self, x: TensorRef, *, name: str | None = None) -> TensorRef:
        """DEQUANTIZE: int8 -> float32."""
        y = self._out("dequantize", x.shape, None, None, None, name, dtype="float32")
        return self.add_op("DEQUANTIZE", [x], y)

    def quantized_input(self, name: str, shape: Shape, scale: float, zero_point: int = 0,
                        dtype: np.dtype | str = "int8") -> TensorRef:
        """A float32 model input followed by QUANTIZE; returns the quantized tensor."""
        xf = self.input(name, shape, "float32")
        return self.quantize(xf, scale, zero_point, dtype, name=f"{name}_q")

    def dequantized_output(self, x: TensorRef, name: str | None = None) -> TensorRef:
        """DEQUANTIZE ``x`` and mark the float32 result as a model output."""
        y = self.dequantize(x, name=name)
        self.output(y)
        return y


def pack_model(model: schema.ModelT) -> bytes:
    """Serialize a schema ModelT with the ``TFL3`` identifier, constant data 16-byte aligned.

    ``model`` is not modified.
    """
    model = copy.copy(model)
    model.buffers = [_as_aligned(b) for b in model.buffers or []]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def _as_aligned(b: schema.BufferT) -> schema.BufferT:
    if isinstance(b, _AlignedBufferT) or b.data is None or len(b.data) == 0:
        return b
    a = _AlignedBufferT()
    a.data = np.asarray(b.data, np.uint8) if not isinstance(b.data, np.ndarray) else b.data
    return a


# ---------------------------------------------------------------------------------------------
# Deliberately bad models (for error tests)
# ---------------------------------------------------------------------------------------------


def float_conv_model(seed: int = 0) -> bytes:
    """A fully float32 model: input (1, 8, 8, 3) -> CONV_2D 3x3 (4 filters) -> output."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder("float32 conv (not quantized)")
    x = b.input("x", (1, 8, 8, 3), "float32")
    w = b.const("w", rng.normal(size=(4, 3, 3, 3)).astype(np.float32))
    bias = b.const("bias", rng.normal(size=4).astype(np.float32))
    y = b.tensor("y", (1, 8, 8, 4), "float32")
    b.add_op("CONV_2D", [x, w, bias], y, dict(padding="SAME", activation="RELU"))
    b.output(y)
    return b.build()


def hybrid_fc_model(seed: int = 0) -> bytes:
    """A hybrid (dynamic-range) model: float32 activations, int8 per-tensor weights, float
    bias: input (1, 16) -> FULLY_CONNECTED (8 units) -> output (1, 8)."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder("hybrid fully connected (int8 weights, float activations)")
    x = b.input("x", (1, 16), "float32")
    wq, ws = quantize_weights_per_tensor(rng.normal(size=(8, 16)))
    w = b.const("w", wq, ws, 0)
    bias = b.const("bias", rng.normal(size=8).astype(np.float32))
    y = b.tensor("y", (1, 8), "float32")
    b.add_op("FULLY_CONNECTED", [x, w, bias], y, dict(activation="NONE"), version=3)
    b.output(y)
    return b.build()


def hybrid_conv_model(seed: int = 0) -> bytes:
    """A hybrid model: float32 activations, int8 per-channel weights, float bias:
    input (1, 8, 8, 3) -> CONV_2D 3x3 (4 filters) -> output."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder("hybrid conv (int8 weights, float activations)")
    x = b.input("x", (1, 8, 8, 3), "float32")
    wq, ws = quantize_weights_per_channel(rng.normal(size=(4, 3, 3, 3)), 0)
    w = b.const("w", wq, ws, 0, axis=0)
    bias = b.const("bias", rng.normal(size=4).astype(np.float32))
    y = b.tensor("y", (1, 8, 8, 4), "float32")
    b.add_op("CONV_2D", [x, w, bias], y, dict(padding="SAME"), version=2)
    b.output(y)
    return b.build()


def unsupported_op_model(op: str = "CUSTOM", seed: int = 0) -> bytes:
    """An otherwise int8 model with an operator TFLM (and tinytvm) does not support.

    ``op="CUSTOM"``: a CUSTOM operator ``"TinyTvmTestUnknownOp"`` between int8 tensors.
    ``op="LSTM"``: a full-integer (non-sequence) LSTM cell with int8 weights, int32 biases and
    variable activation/cell state tensors (TFLM has no LSTM kernel, only the sequence one).
    Any other builtin name: that operator with one int8 input and one int8 output.
    """
    rng = np.random.default_rng(seed)
    b = ModelBuilder(f"int8 model with unsupported operator {op}")
    if op.upper() == "LSTM":
        n_in, n_cell = 4, 3
        x = b.input("x", (1, n_in), "int8", 0.05, 0)
        gate_w = [
            b.const(f"w_in_{g}", rng.integers(-127, 128, (n_cell, n_in), dtype=np.int8), 0.01, 0)
            for g in ("i", "f", "c", "o")
        ]
        rec_w = [
            b.const(f"w_rec_{g}", rng.integers(-127, 128, (n_cell, n_cell), dtype=np.int8), 0.01, 0)
            for g in ("i", "f", "c", "o")
        ]
        biases = [b.const(f"b_{g}", np.zeros(n_cell, np.int32), 0.0005, 0) for g in "ifco"]
        act_state = b.tensor("act_state", (1, n_cell), "int8", 0.05, 0, is_variable=True)
        cell_state = b.tensor("cell_state", (1, n_cell), "int16", 2.0**-11, 0, is_variable=True)
        y = b.tensor("y", (1, n_cell), "int8", 0.05, 0)
        inputs: list[TensorLike] = [x, *gate_w, *rec_w, None, None, None, *biases, None, None,
                                    act_state, cell_state, None, None, None, None]
        b.add_op("LSTM", inputs, y, dict(activation="TANH"))
    elif op.upper() == "CUSTOM":
        x = b.input("x", (1, 8), "int8", 0.05, 0)
        y = b.tensor("y", (1, 8), "int8", 0.05, 0)
        b.add_op("CUSTOM", [x], y, custom_code="TinyTvmTestUnknownOp", custom_options=b"\x00")
    else:
        x = b.input("x", (1, 8), "int8", 0.05, 0)
        y = b.tensor("y", (1, 8), "int8", 0.05, 0)
        b.add_op(op, [x], y)
    b.output(y)
    return b.build()
