"""Relax passes that turn quantized (QDQ) Relax modules into tinytvm's integer-only form.

Pipeline (:func:`lower_qdq`), one pass per module:

1. :class:`ConvertQDQToInt8` (convert_qdq_to_int8.py) - uint8 Q/DQ -> int8 (zero point - 128)
2. :class:`ConvertLayoutNHWC` (convert_layout_nhwc.py) - NCHW convs/pools and their neighbourhood -> NHWC
3. to a fixed point:
   :class:`LowerDataMovement` (lower_data_movement.py) - reshape/transpose/pad/concat
   :class:`LowerPooling` (lower_pooling.py) - max/avg/global pooling, mean
   :class:`LowerConvolution` (lower_convolution.py) - conv2d / depthwise conv2d (+bias, activation)
   :class:`LowerDense` (lower_dense.py) - matmul (+bias, activation) -> fully_connected
   :class:`LowerElementwise` (lower_elementwise.py) - add / mul (sub/div by constants)
   :class:`LowerNonlinear` (lower_nonlinear.py) - sigmoid / softmax
   :class:`LowerBoundaryQDQ` (lower_boundary.py) - Q(DQ) -> requantize; input quantize
   :class:`FuseActivation` (fuse_activation.py) - leftover relu/clip -> fused or integer clamp
   then once more LowerBoundaryQDQ for the output dequantize
4. :class:`SimplifyTransposes` (simplify_transposes.py) - cancel / fold integer transposes,
   then TVM's ``EliminateCommonSubexpr`` and ``CanonicalizeBindings`` (drop duplicates and aliases)
   and unique layer names (``conv2d_0``, ``add_1``, ...)

and for post-training quantization of float modules, :class:`AnnotateQDQ`
(annotate_qdq.py) inserts the Q/DQ pairs from calibrated ranges first.

Memory passes on the integer-only form (run by ``build``/``analyze``, each can be switched off):
:class:`MemoryAwareSchedule` (memory_aware_schedule.py) orders operators for the lowest arena peak,
then :class:`InPlaceDepthwise` (inplace_depthwise.py) and :class:`InPlaceConv2D` (inplace_conv2d.py)
and :class:`InPlaceElementwise` (inplace_elementwise.py) let depthwise, same-width convolution and
element-wise outputs overwrite their dying inputs.
"""

from __future__ import annotations

import tvm
import tvm_ffi
from tvm import relax

from ..errors import QuantizationError, UnsupportedOperatorError
from ..ir.graph import INPUT_SCALES_ATTR, INPUT_ZERO_POINTS_ATTR
from ..ir.op import is_tinytvm_op
from . import _common
from .annotate_qdq import AnnotateQDQ
from .convert_layout_nhwc import ConvertLayoutNHWC
from .convert_qdq_to_int8 import ConvertQDQToInt8
from .fuse_activation import FuseActivation
from .inplace_depthwise import InPlaceDepthwise
from .inplace_conv2d import InPlaceConv2D
from .inplace_elementwise import InPlaceElementwise
from .lower_boundary import LowerBoundaryQDQ, input_quantization
from .lower_convolution import LowerConvolution
from .lower_data_movement import LowerDataMovement
from .lower_dense import LowerDense
from .lower_elementwise import LowerElementwise
from .lower_nonlinear import LowerNonlinear
from .lower_pooling import LowerPooling
from .memory_aware_schedule import MemoryAwareSchedule, schedule_peak
from .simplify_transposes import SimplifyTransposes

__all__ = [
    "AnnotateQDQ", "ConvertLayoutNHWC", "ConvertQDQToInt8", "FuseActivation", "LowerBoundaryQDQ",
    "LowerConvolution", "LowerDataMovement", "LowerDense", "LowerElementwise", "LowerNonlinear", "LowerPooling",
    "SimplifyTransposes", "lower_qdq", "check_integer_only", "InPlaceDepthwise", "InPlaceConv2D", "InPlaceElementwise", "MemoryAwareSchedule",
    "schedule_peak",
]

MAX_ROUNDS = 32
#: Relax operators the lowering passes turn into tinytvm integer operators.
LOWERED_OPERATORS = [
    "relax.nn.conv2d", "relax.matmul", "relax.add", "relax.subtract (constant)", "relax.multiply",
    "relax.divide (constant)", "relax.nn.max_pool2d", "relax.nn.avg_pool2d", "relax.nn.adaptive_avg_pool2d",
    "relax.mean", "relax.concat", "relax.nn.pad", "relax.reshape", "relax.permute_dims", "relax.sigmoid",
    "relax.nn.softmax", "relax.nn.relu", "relax.nn.relu6", "relax.clip",
]


def _lowering_round(int8_io: bool, clamp: bool) -> tvm.ir.transform.Pass:
    return tvm.ir.transform.Sequential([
        LowerDataMovement(), LowerPooling(), LowerConvolution(), LowerDense(), LowerElementwise(),
        LowerNonlinear(), LowerBoundaryQDQ(int8_io=int8_io, outputs=False), FuseActivation(clamp=clamp),
    ], name="tinytvm.LowerQDQRound")


def _to_fixed_point(mod: tvm.IRModule, round_pass) -> tvm.IRModule:
    for _ in range(MAX_ROUNDS):
        new = round_pass(mod)
        if tvm_ffi.structural_equal(new, mod):
            return new
        mod = new
    return mod


def lower_qdq(mod: tvm.IRModule, int8_io: bool = False, check: bool = True) -> tvm.IRModule:
    """A Relax module in QDQ form (quantize/dequantize around float ops) -> integer-only tinytvm form.

    ``int8_io=True`` drops the float boundary (int8 inputs/outputs instead of tinytvm.quantize /
    tinytvm.dequantize). With ``check`` (default) anything that could not be lowered raises.
    """
    mod = ConvertQDQToInt8()(mod)
    inputs = {gv: input_quantization(func) for gv, func in _common.relax_functions(mod)}
    mod = ConvertLayoutNHWC()(mod)
    mod = _to_fixed_point(mod, _lowering_round(int8_io, clamp=False))
    mod = _to_fixed_point(mod, _lowering_round(int8_io, clamp=True))
    mod = LowerBoundaryQDQ(int8_io=int8_io)(mod)
    mod = SimplifyTransposes()(mod)
    mod = relax.transform.EliminateCommonSubexpr()(mod)
    mod = relax.transform.CanonicalizeBindings()(mod)
    mod = _common.name_layers(mod)
    mod = _attach_input_quantization(mod, inputs)
    if check:
        check_integer_only(mod)
    return mod


def _attach_input_quantization(mod: tvm.IRModule, inputs: dict) -> tvm.IRModule:
    """Record each input's quantization in the function attributes, as the TFLite importer does
    (``tinytvm.input_scales`` / ``tinytvm.input_zero_points``; 0.0 / 0 for unquantized inputs)."""
    for gv, params in inputs.items():
        if gv not in mod.functions:
            continue
        func = mod[gv]
        func = func.with_attr(INPUT_SCALES_ATTR, [float(p.scale) if p else 0.0 for p in params])
        func = func.with_attr(INPUT_ZERO_POINTS_ATTR, [int(p.zero_point) if p else 0 for p in params])
        mod.update_func(gv, func)
    return mod


def check_integer_only(mod: tvm.IRModule) -> None:
    """Raise if a Relax function of ``mod`` computes anything but tinytvm integer operators.

    Float values may only enter through ``tinytvm.quantize`` and leave through ``tinytvm.dequantize``.
    A leftover float operator is reported first (UnsupportedOperatorError), then leftover
    quantize/dequantize (QuantizationError).
    """
    for gv, func in _common.relax_functions(mod):
        leftovers = []
        for block in func.body.blocks:
            for binding in block.bindings:
                value = binding.value
                if isinstance(value, (relax.Var, relax.Tuple, relax.TupleGetItem)) or is_tinytvm_op(value):
                    continue
                leftovers.append((_common.op_name(value) or type(value).__name__, binding.var.name))
        for name, var in leftovers:
            if name not in ("relax.quantize", "relax.dequantize"):
                raise UnsupportedOperatorError(
                    name, None, f"'{var}' in {gv.name_hint} is still a float operator after integer lowering: "
                    "either tinytvm has no int8 form of it, or its inputs are not dequantized int8 values / its "
                    "output is not quantized (a partially quantized model)", supported=LOWERED_OPERATORS)
        for name, var in leftovers:
            raise QuantizationError(
                f"{gv.name_hint}: '{var}' = {name} could not be folded into an integer operator: the float "
                "operator next to it is not supported in quantized form or is not quantized on all its inputs "
                "and outputs")
