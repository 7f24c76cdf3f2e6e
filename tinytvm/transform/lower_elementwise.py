"""LowerElementwise: quantized add / mul (and sub / div by a constant) become tinytvm.add / tinytvm.mul.

Assumes: int8 QDQ form (after ConvertQDQToInt8); the layer is

    quantize(act?(op(a, b)))    op in add, multiply, subtract, divide

where each operand is ``dequantize`` of an int8 value (per tensor) or a float constant;
``subtract`` and ``divide`` need a constant right-hand side.

Guarantees: the ``quantize`` is replaced by ``tinytvm.add`` (TFLM's ADD parameters from
:func:`tinytvm.quantization.params.add_params`) or ``tinytvm.mul`` (``mul_multiplier``)
with numpy broadcasting and the activation folded into ``act_min``/``act_max``. Float
constant operands are quantized per tensor with TFLite's asymmetric rule; ``a - c``
becomes ``a + (-c)`` and ``a / c`` becomes ``a * (1/c)``. Anything else is left unchanged.
"""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from ..ir.ops import Add, Mul
from ..quantization.params import add_params, mul_multiplier
from . import _common as C

OPS = ("relax.add", "relax.multiply", "relax.subtract", "relax.divide")


@relax.expr_functor.mutator
class _Mutator(relax.PyExprMutator):
    def visit_call_(self, call):
        call = self.visit_expr_post_order(call)
        match = C.match_layer(call, self.lookup_binding, OPS, allow_bias=False)
        if match is None:
            return call
        return C.first(self._lower(call, match), call)

    def _operand(self, expr, transform=None):
        """(int8 expr, params) of an operand; ``transform`` maps a constant's float values first."""
        if transform is None:
            source = C.dequantize_source(expr, self.lookup_binding)
            if source is not None:
                return source
        values = C.const_eval(expr, self.lookup_binding)
        if values is None or values.dtype.kind != "f":
            return None
        if transform is not None:
            values = transform(values.astype(np.float64)).astype(np.float32)
        q, params = C.quantize_float_const(values)
        return relax.const(q), params

    def _lower(self, call, match: C.LayerMatch):
        node = match.anchor
        name = C.op_name(node)
        lhs = self._operand(node.args[0])
        if name == "relax.subtract":
            rhs = self._operand(node.args[1], transform=np.negative)
        elif name == "relax.divide":
            rhs = self._operand(node.args[1], transform=lambda v: 1.0 / v)
        else:
            rhs = self._operand(node.args[1])
        if lhs is None or rhs is None:
            return None
        (a, a_params), (b, b_params) = lhs, rhs
        out = match.output
        act_min, act_max = C.act_range(match.activation, out)
        if name in ("relax.add", "relax.subtract"):
            record = Add(output_scale=out.scale, output_zp=out.zero_point, lhs_zp=a_params.zero_point,
                         rhs_zp=b_params.zero_point, act_min=act_min, act_max=act_max,
                         **add_params(a_params.scale, b_params.scale, out.scale))
        else:
            multiplier, shift = mul_multiplier(a_params.scale, b_params.scale, out.scale)
            record = Mul(output_scale=out.scale, output_zp=out.zero_point, lhs_zp=a_params.zero_point,
                         rhs_zp=b_params.zero_point, output_multiplier=multiplier, output_shift=shift,
                         act_min=act_min, act_max=act_max)
        return C.record_call(record, [a, b], C.shape_of(call))


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.LowerElementwise")
class LowerElementwise:
    """Fold quantize(act(add/mul(dequantize, dequantize))) into tinytvm.add / tinytvm.mul."""

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        return C.rewrite_module(mod, lambda m, f: _Mutator(m))
