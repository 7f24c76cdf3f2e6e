"""``tinytvm.quantize``: post-training int8 quantization of a float Relax module, as Relax passes.

    float Relax IRModule
      -> calibrate  (run the float function on the calibration samples; min/max per tensor)
      -> AnnotateQDQ (TFLite's scheme: per-tensor asymmetric int8 activations, per-channel
                      symmetric int8 weights, int32 bias, softmax/logistic at 1/256, -128,
                      pooling/reshape/concat sharing their input's quantization)
      -> lower_qdq   (the same passes that lower QDQ-quantized ONNX models)
      -> integer-only tinytvm IRModule
"""

from __future__ import annotations

import tvm
from tvm import relax

from ..errors import QuantizationError
from .calibrate import CalibrationResult, calibrate


def quantize(mod: tvm.IRModule, calibration, *, int8_io: bool = False, function: str = "main",
             check: bool = True) -> tvm.IRModule:
    """Quantize a float Relax module to tinytvm's integer-only form.

    Parameters
    ----------
    mod : tvm.IRModule
        Float32 Relax module with static shapes (NCHW or NHWC convolutions, e.g. from TVM's ONNX
        frontend or built with ``relax.BlockBuilder``).
    calibration : list of samples
        Representative inputs: one array per sample for single-input models, a list of arrays
        (one per input) or a dict keyed by input name otherwise; or one array stacking samples.
    int8_io : bool
        Take and return int8 tensors instead of float ones.
    check : bool
        Raise if anything could not be lowered to integer operators.
    """
    if not isinstance(mod, tvm.IRModule):
        raise QuantizationError(f"tinytvm.quantize expects a float tvm.IRModule, got {type(mod).__name__}")
    names = [gv.name_hint for gv, f in mod.functions.items() if isinstance(f, relax.Function)]
    if function not in names:
        raise QuantizationError(f"the module has no Relax function '{function}' (it has: {', '.join(names)})")
    ranges = calibrate(mod, calibration, function)
    annotated = annotate(mod, ranges)
    from ..transform import lower_qdq

    return lower_qdq(annotated, int8_io=int8_io, check=check)


def annotate(mod: tvm.IRModule, ranges: CalibrationResult | dict) -> tvm.IRModule:
    """The float module with TFLite-style quantize/dequantize pairs (QDQ form), from calibrated ranges."""
    from ..transform import AnnotateQDQ

    table = ranges.ranges if isinstance(ranges, CalibrationResult) else ranges
    return AnnotateQDQ(table)(mod)
