"""Calibration for post-training quantization, and TFLite's int8 parameter rules.

:func:`calibrate` runs a float Relax function (built for the host with ``relax.build``
and run on TVM's VirtualMachine) over calibration samples and records the min/max of
every float tensor it computes. The helpers below turn ranges and weights into int8
quantization parameters exactly as TensorFlow Lite's converter does:

* activations: per-tensor asymmetric int8; the range is widened to contain 0 and the
  zero point is the nudged integer of MLIR's ``getNudgedScaleAndZeroPoint``
  (double arithmetic, the scale stored as float32);
* weights: per-channel symmetric int8 (narrow range), ``scale = max|w| / 127``;
* bias: int32 with ``scale = input_scale * weight_scale[c]``, zero point 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import tvm
from tvm import relax

from ..errors import QuantizationError
from .fixed_point import round_half_away

INT8_MIN, INT8_MAX = -128, 127
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
#: Output quantization of int8 softmax / logistic in TFLite: [0, 1) in steps of 1/256.
PROBABILITY_SCALE = 1.0 / 256.0
PROBABILITY_ZERO_POINT = -128


@dataclass(frozen=True)
class QParams:
    """Per-tensor affine quantization: real = scale * (q - zero_point)."""

    scale: float
    zero_point: int

    def same_as(self, other: "QParams") -> bool:
        return np.float32(self.scale) == np.float32(other.scale) and self.zero_point == other.zero_point

    def quantize(self, value: float) -> int:
        """round(value / scale) + zero_point, saturated to int8 (float32 division, as TFLite)."""
        if math.isinf(value):
            return INT8_MAX if value > 0 else INT8_MIN
        q = self.zero_point + int(round_half_away(float(np.float32(value) / np.float32(self.scale))))
        return int(min(max(q, INT8_MIN), INT8_MAX))

    def range(self) -> tuple[float, float]:
        return (float(self.scale) * (INT8_MIN - self.zero_point), float(self.scale) * (INT8_MAX - self.zero_point))


PROBABILITY_PARAMS = QParams(float(np.float32(PROBABILITY_SCALE)), PROBABILITY_ZERO_POINT)


# -- TFLite's parameter rules -------------------------------------------------------------------
def asymmetric_params(rmin: float, rmax: float, qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> QParams:
    """Per-tensor int8 parameters of a calibrated range (TFLite/MLIR ``getNudgedScaleAndZeroPoint``).

    The range is widened to contain 0; an all-zero range gets scale 1.0 and zero point ``qmin``.
    The zero point is the integer nearest to the real zero, chosen from whichever end of the
    range gives the smaller rounding error, and is always in ``[qmin, qmax]``.
    """
    rmin, rmax = float(rmin), float(rmax)
    if not (math.isfinite(rmin) and math.isfinite(rmax)):
        raise QuantizationError(f"calibration range [{rmin}, {rmax}] is not finite (the float model produced "
                                "inf/NaN on the calibration data)")
    rmin, rmax = min(rmin, 0.0), max(rmax, 0.0)
    if abs(rmax - rmin) < np.finfo(np.float64).eps:
        return QParams(1.0, qmin)
    scale = (rmax - rmin) / float(qmax - qmin)
    from_min, from_min_error = qmin - rmin / scale, abs(qmin) + abs(rmin / scale)
    from_max, from_max_error = qmax - rmax / scale, abs(qmax) + abs(rmax / scale)
    zero_point = from_min if from_min_error < from_max_error else from_max
    if zero_point < qmin:
        nudged = qmin
    elif zero_point > qmax:
        nudged = qmax
    else:
        nudged = int(round_half_away(zero_point))
    return QParams(float(np.float32(scale)), int(nudged))


def symmetric_per_channel(weights: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """int8 weights and float32 scales per channel along ``axis``: scale = max|w| / 127, values in [-127, 127].

    As the MLIR quantizer of TFLite's converter: the channel's range is made symmetric, the
    scale is computed in double, values are ``round(w / scale)`` in double (ties away from
    zero) and the scale is stored as float32. An all-zero channel gets scale 1.0.
    """
    weights = np.asarray(weights, dtype=np.float32)
    axis = axis % weights.ndim
    moved = np.moveaxis(weights, axis, 0).reshape(weights.shape[axis], -1)
    bound = np.abs(moved).max(axis=1) if moved.shape[1] else np.zeros(moved.shape[0], np.float32)
    scales = bound.astype(np.float64) / 127.0
    scales = np.where(scales > 0, scales, 1.0)
    view = [1] * weights.ndim
    view[axis] = weights.shape[axis]
    quantized = _round_away(weights.astype(np.float64) / scales.reshape(view))
    return np.clip(quantized, -127, 127).astype(np.int8), scales.astype(np.float32)


def bias_scales(input_scale: float, weight_scales: Sequence[float]) -> np.ndarray:
    """float32(double(input_scale) * double(weight_scale[c])): the int32 bias scale per channel."""
    return (float(np.float32(input_scale)) * np.asarray(weight_scales, dtype=np.float32).astype(np.float64)
            ).astype(np.float32)


def quantize_bias(bias: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """round(bias / scale) saturated to int32 (``scales`` broadcasts against ``bias``)."""
    ratio = np.asarray(bias, dtype=np.float64) / np.asarray(scales, dtype=np.float64)
    return np.clip(_round_away(ratio), INT32_MIN, INT32_MAX).astype(np.int32)


def _round_away(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    magnitude = np.abs(values)
    whole = np.floor(magnitude)
    return np.copysign(whole + (magnitude - whole >= 0.5), values)


# -- calibration ----------------------------------------------------------------------------------
@dataclass
class CalibrationResult:
    """min/max of every float tensor of a function over the calibration samples."""

    ranges: dict  # relax.Var -> (min, max), for parameters and bound variables
    samples: int

    def __getitem__(self, var) -> tuple[float, float]:
        return self.ranges[var]

    def get(self, var, default=None):
        return self.ranges.get(var, default)


def _float_tensor(var) -> bool:
    ty = getattr(var, "ty", None)
    return isinstance(ty, relax.TensorType) and str(ty.dtype) in ("float32", "float16", "float64")


def _observed_vars(func: relax.Function) -> list[relax.Var]:
    observed = [p for p in func.params if _float_tensor(p)]
    for block in func.body.blocks:
        for binding in block.bindings:
            if isinstance(binding, relax.VarBinding) and _float_tensor(binding.var):
                observed.append(binding.var)
    return observed


def normalize_samples(calibration, params: Sequence[relax.Var]) -> list[list[np.ndarray]]:
    """Calibration data as a list of samples, each one array per function parameter.

    Accepted: an iterable of samples, where a sample is an array (single-input models), a
    list/tuple of arrays (one per input) or a dict keyed by input name; or one array whose
    shape is the input shape (one sample) or ``(N, *input_shape)`` / ``(N, *input_shape[1:])``
    for a batch-1 input (N samples).
    """
    if calibration is None:
        raise QuantizationError("calibration data is required to quantize a float model")
    shapes = [tuple(int(d) for d in p.ty.shape) for p in params]
    names = [p.name for p in params]
    if isinstance(calibration, np.ndarray):
        if len(params) != 1:
            raise QuantizationError(f"the model has {len(params)} inputs; pass calibration as a list of samples, "
                                    "each a list of one array per input")
        array, shape = calibration, shapes[0]
        if array.shape == shape:
            calibration = [array]
        elif array.shape[1:] == shape:
            calibration = list(array)
        elif shape and shape[0] == 1 and array.shape[1:] == shape[1:]:
            calibration = [a[None] for a in array]
        else:
            raise QuantizationError(f"calibration array of shape {array.shape} does not match input "
                                    f"'{names[0]}' of shape {shape}")
    samples = []
    for index, sample in enumerate(_iterate(calibration)):
        if isinstance(sample, dict):
            missing = [n for n in names if n not in sample]
            if missing:
                raise QuantizationError(f"calibration sample #{index} has no value for input(s) {missing}")
            arrays = [sample[n] for n in names]
        elif isinstance(sample, (list, tuple)):
            arrays = list(sample)
        else:
            arrays = [sample]
        if len(arrays) != len(params):
            raise QuantizationError(f"calibration sample #{index} has {len(arrays)} array(s); the model has "
                                    f"{len(params)} input(s) ({', '.join(names)})")
        checked = []
        for array, param, shape in zip(arrays, params, shapes):
            array = np.asarray(array)
            if array.shape != shape:
                if math.prod(array.shape) == math.prod(shape) and array.shape == shape[1:]:
                    array = array.reshape(shape)
                else:
                    raise QuantizationError(f"calibration sample #{index}: input '{param.name}' must have shape "
                                            f"{shape}, got {array.shape}")
            checked.append(np.ascontiguousarray(array.astype(str(param.ty.dtype))))
        samples.append(checked)
    if not samples:
        raise QuantizationError("the calibration data is empty; pass at least one input sample")
    return samples


def _iterate(calibration) -> Iterable:
    if isinstance(calibration, (str, bytes)) or not hasattr(calibration, "__iter__"):
        raise QuantizationError(f"calibration must be a list of input samples, got {type(calibration).__name__}")
    return iter(calibration)


def calibrate(mod: tvm.IRModule, calibration, function: str = "main") -> CalibrationResult:
    """Run ``function`` of the float module on every sample and record each float tensor's range.

    The function is compiled once for the host (``relax.build``, target llvm) with every float
    intermediate added to its outputs; keys of the result are the variables of ``mod[function]``.
    """
    func = mod[function]
    params = [p for p in func.params]
    if not all(isinstance(p.ty, relax.TensorType) for p in params):
        raise QuantizationError("calibration needs a function whose parameters are all tensors")
    samples = normalize_samples(calibration, params)
    observed = _observed_vars(func)
    runner, probe_vars = _build_probe(mod, function)
    if [v.name for v in probe_vars] != [v.name for v in observed]:
        raise QuantizationError("internal error: the calibration probe does not mirror the function's bindings")
    lows = [math.inf] * len(observed)
    highs = [-math.inf] * len(observed)
    for sample in samples:
        outputs = runner(*[tvm.runtime.tensor(a) for a in sample])
        for i, value in enumerate(outputs):
            array = value.numpy()
            if array.size == 0:
                continue
            lows[i] = min(lows[i], float(np.min(array)))
            highs[i] = max(highs[i], float(np.max(array)))
    ranges = {}
    for var, low, high in zip(observed, lows, highs):
        if not (math.isfinite(low) and math.isfinite(high)):
            low, high = 0.0, 0.0
        ranges[var] = (low, high)
    return CalibrationResult(ranges, len(samples))


def _build_probe(mod: tvm.IRModule, function: str):
    """The function with every float tensor it computes returned, compiled for the host."""
    probe_mod = relax.transform.ToNonDataflow()(tvm.IRModule(dict(mod.functions)))
    probe = probe_mod[function]
    variables = _observed_vars(probe)
    result = relax.Tuple(variables)
    ret_ty = relax.TupleType([v.ty for v in variables])
    new_func = relax.Function(probe.params, relax.SeqExpr(probe.body.blocks, result), ret_ty, probe.is_pure,
                              probe.attrs)
    probe_mod[function] = new_func
    try:
        executable = relax.build(probe_mod, target=tvm.target.Target({"kind": "llvm"}))
    except Exception as error:  # noqa: BLE001 - TVM raises many error types here
        raise QuantizationError(f"could not compile the float model for calibration on the host: {error}") from None
    vm = relax.VirtualMachine(executable, tvm.cpu())
    runner = vm[function]

    def run(*args):
        out = runner(*args)
        return list(out)

    return run, variables
