"""ConvertQDQToInt8: uint8 quantize/dequantize -> int8 by shifting the zero point by 128.

Assumes: a Relax module in QDQ form (as the ONNX frontend imports QuantizeLinear /
DequantizeLinear): ``relax.quantize`` to uint8 or int8 and ``relax.dequantize`` of
uint8 / int8 / int32 values; uint8 values are produced by ``relax.quantize`` or are
constants (model inputs must not be uint8).

Guarantees: every ``relax.quantize`` produces int8 and every ``relax.dequantize``
reads int8 or int32; the dequantized float values are unchanged (``q_u8 - zp_u8 ==
(q_u8 - 128) - (zp_u8 - 128)``, quantize saturates to the same shifted range), so
the module computes exactly what it computed before. uint8 constants become int8
constants holding ``value - 128``.
"""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from ..errors import QuantizationError
from . import _common as C


@relax.expr_functor.mutator
class _Int8Mutator(relax.PyExprMutator):
    def visit_call_(self, call):
        call = self.visit_expr_post_order(call)
        name = C.op_name(call)
        if name == "relax.quantize" and str(call.attrs.out_dtype) == "uint8":
            zero_point = self._shifted(call.args[2])
            return relax.op.quantize(call.args[0], call.args[1], zero_point, axis=int(call.attrs.axis),
                                     out_dtype="int8")
        if name == "relax.dequantize" and "uint8" in (C.dtype_of(call.args[0]), C.dtype_of(call.args[2])):
            data = call.args[0]
            if C.dtype_of(data) == "uint8":
                value = C.const_eval(data, self.lookup_binding)
                if value is None:
                    raise QuantizationError(
                        f"a uint8 tensor that is neither a constant nor a quantize result is dequantized "
                        f"({data}); uint8 model inputs are not supported, use float or int8 inputs")
                data = relax.const((value.astype(np.int16) - 128).astype(np.int8))
            zero_point = self._shifted(call.args[2])
            return relax.op.dequantize(data, call.args[1], zero_point, axis=int(call.attrs.axis),
                                       out_dtype=str(call.attrs.out_dtype))
        return call

    def _shifted(self, zero_point):
        value = C.const_eval(zero_point, self.lookup_binding)
        if value is None:
            raise QuantizationError(f"the zero point {zero_point} of a uint8 quantize/dequantize is not a constant")
        if value.dtype == np.int8:
            return zero_point
        return relax.const((value.astype(np.int16) - 128).astype(np.int8))


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.ConvertQDQToInt8")
class ConvertQDQToInt8:
    """Rewrite uint8 Q/DQ pairs (ONNX's default) to int8 with the zero point shifted by -128."""

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        for _, func in C.relax_functions(mod):
            for param in func.params:
                if C.dtype_of(param) == "uint8":
                    raise QuantizationError(f"model input '{param.name}' is uint8; tinytvm supports float32 or "
                                            "int8 model inputs (uint8 activations are converted to int8 inside "
                                            "the model)")
        return C.rewrite_module(mod, lambda m, f: _Int8Mutator(m))
