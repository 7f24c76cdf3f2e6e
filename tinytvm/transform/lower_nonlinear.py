"""LowerNonlinear: quantized sigmoid / softmax become tinytvm.logistic / tinytvm.softmax.

Assumes: int8 QDQ form (after ConvertQDQToInt8):
``quantize(sigmoid(dequantize(q)))`` or ``quantize(softmax(dequantize(q), axis=last))``
with per-tensor int8 ``q``.

Guarantees: the ``quantize`` is replaced by ``tinytvm.logistic`` / ``tinytvm.softmax``
(parameters from :mod:`tinytvm.quantization.nonlinear_params`, TFLM's Prepare; softmax
with beta 1). Their output is TFLite's fixed int8 quantization (scale 1/256, zero point
-128); when the ``quantize`` asks for other parameters a ``tinytvm.requantize`` follows.
Parameters TFLM would reject raise :class:`UnsupportedOperatorError`. Softmax over
another axis is left unchanged.
"""

from __future__ import annotations

import dataclasses

import tvm
from tvm import relax

from ..ir.ops import Logistic, Requantize, Softmax
from ..quantization.calibrate import PROBABILITY_PARAMS
from ..quantization.nonlinear_params import logistic_params, requantize_params, softmax_params
from ..errors import UnsupportedOperatorError
from . import _common as C


def make_record(cls, **values):
    """``cls`` built from the values it declares (robust to records gaining optional fields)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


@relax.expr_functor.mutator
class _Mutator(relax.PyExprMutator):
    def visit_call_(self, call):
        call = self.visit_expr_post_order(call)
        out = C.quantize_params(call, self.lookup_binding)
        if out is None:
            return call
        inner = C.resolve(call.args[0], self.lookup_binding)
        name = C.op_name(inner)
        if name not in ("relax.sigmoid", "relax.nn.softmax"):
            return call
        source = C.dequantize_source(inner.args[0], self.lookup_binding)
        shape = C.shape_of(call)
        if source is None or shape is None:
            return call
        q, params = source
        probability = PROBABILITY_PARAMS
        try:
            if name == "relax.sigmoid":
                record = make_record(Logistic, output_scale=probability.scale, output_zp=probability.zero_point,
                                     **logistic_params(params.scale, params.zero_point))
            else:
                if int(inner.attrs.axis) % len(shape) != len(shape) - 1:
                    return call
                record = make_record(Softmax, output_scale=probability.scale, output_zp=probability.zero_point,
                                     **softmax_params(1.0, params.scale))
        except ValueError as error:
            op = "Sigmoid" if name == "relax.sigmoid" else "Softmax"
            raise UnsupportedOperatorError(op, None, str(error)) from None
        result = C.record_call(record, [q], shape)
        if out.same_as(probability):
            return result
        value = self.builder_.emit(result)
        multiplier, shift = requantize_params(probability.scale, out.scale)
        requant = Requantize(output_scale=out.scale, output_zp=out.zero_point, input_zp=probability.zero_point,
                             multiplier=multiplier, shift=shift)
        return C.record_call(requant, [value], shape)


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.LowerNonlinear")
class LowerNonlinear:
    """Fold quantize(sigmoid/softmax(dequantize)) into tinytvm.logistic / tinytvm.softmax."""

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        return C.rewrite_module(mod, lambda m, f: _Mutator(m))
