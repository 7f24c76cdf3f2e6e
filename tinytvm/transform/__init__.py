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
   :class:`LowerBoundaryQDQ` (lower_boundary.py) - Q(DQ) -> requantize; boundary quantize/dequantize
   :class:`FuseActivation` (fuse_activation.py) - leftover relu/clip -> fused or integer clamp
4. :class:`SimplifyTransposes` (simplify_transposes.py) - cancel / fold integer transposes,
   then TVM's ``EliminateCommonSubexpr`` and ``CanonicalizeBindings`` (drop duplicates and aliases)

and for post-training quantization of float modules, :class:`AnnotateQDQ`
(annotate_qdq.py) inserts the Q/DQ pairs from calibrated ranges first.
"""

from __future__ import annotations

import tvm
import tvm_ffi
from tvm import relax

from ..errors import QuantizationError, UnsupportedOperatorError
from ..ir.op import is_tinytvm_op
from . import _common
from .annotate_qdq import AnnotateQDQ
from .convert_layout_nhwc import ConvertLayoutNHWC
from .convert_qdq_to_int8 import ConvertQDQToInt8
from .fuse_activation import FuseActivation
from .lower_boundary import LowerBoundaryQDQ
from .lower_convolution import LowerConvolution
from .lower_data_movement import LowerDataMovement
from .lower_dense import LowerDense
from .lower_elementwise import LowerElementwise
from .lower_nonlinear import LowerNonlinear
from .lower_pooling import LowerPooling
from .simplify_transposes import SimplifyTransposes

__all__ = [
    "AnnotateQDQ", "ConvertLayoutNHWC", "ConvertQDQToInt8", "FuseActivation", "LowerBoundaryQDQ",
    "LowerConvolution", "LowerDataMovement", "LowerDense", "LowerElementwise", "LowerNonlinear", "LowerPooling",
    "SimplifyTransposes", "lower_qdq", "check_integer_only",
]

MAX_ROUNDS = 32


def _lowering_round(int8_io: bool, clamp: bool) -> tvm.ir.transform.Pass:
    return tvm.ir.transform.Sequential([
        LowerDataMovement(), LowerPooling(), LowerConvolution(), LowerDense(), LowerElementwise(),
        LowerNonlinear(), LowerBoundaryQDQ(int8_io=int8_io), FuseActivation(clamp=clamp),
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
    mod = ConvertLayoutNHWC()(mod)
    mod = _to_fixed_point(mod, _lowering_round(int8_io, clamp=False))
    mod = _to_fixed_point(mod, _lowering_round(int8_io, clamp=True))
    mod = SimplifyTransposes()(mod)
    mod = relax.transform.EliminateCommonSubexpr()(mod)
    mod = relax.transform.CanonicalizeBindings()(mod)
    if check:
        check_integer_only(mod)
    return mod


def check_integer_only(mod: tvm.IRModule) -> None:
    """Raise if a Relax function of ``mod`` computes anything but tinytvm integer operators.

    Float values may only enter through ``tinytvm.quantize`` and leave through ``tinytvm.dequantize``.
    """
    for gv, func in _common.relax_functions(mod):
        for block in func.body.blocks:
            for binding in block.bindings:
                value = binding.value
                if isinstance(value, (relax.Var, relax.Tuple, relax.TupleGetItem)) or is_tinytvm_op(value):
                    continue
                name = _common.op_name(value) or type(value).__name__
                var = binding.var.name
                if name in ("relax.quantize", "relax.dequantize"):
                    raise QuantizationError(
                        f"{gv.name_hint}: '{var}' = {name} could not be folded into an integer operator: the "
                        "float operator next to it is not supported in quantized form or is not quantized on "
                        "all its inputs and outputs")
                raise UnsupportedOperatorError(
                    name, None, f"'{var}' in {gv.name_hint} is still a float operator after integer lowering "
                    "(its inputs must come from DequantizeLinear and its output go to QuantizeLinear, and the "
                    "operator must be one tinytvm supports in int8)")
