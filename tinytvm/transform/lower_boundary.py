"""LowerBoundaryQDQ: the Q/DQ left after layer lowering become requantize / boundary ops.

Assumes: int8 QDQ form after the layer-lowering passes: what remains of
``relax.quantize``/``relax.dequantize`` is quantize(dequantize(q)) chains between layers,
quantize of float model inputs and dequantize feeding model outputs.

Guarantees:

* ``quantize(dequantize(q))`` -> ``q`` when the parameters agree, else
  ``tinytvm.requantize(q)`` (TFLM's QUANTIZE int8 -> int8 parameters);
* ``quantize(x)`` of a float function parameter -> ``tinytvm.quantize(x)``;
* ``dequantize(q)`` returned by the function (and used nowhere else) -> ``tinytvm.dequantize(q)``
  (``outputs=False`` leaves outputs alone: the lowering pipeline converts them last, once the
  layers that read the same dequantize have been lowered).

With ``int8_io=True`` the float boundary disappears instead: a float parameter whose
every use is a quantize with one set of parameters becomes an int8 parameter (same name
and shape; the caller passes the quantized values), and returned dequantize results are
returned as int8. Quantize/dequantize elsewhere (around float operators that were not
lowered) are left for the integer-only check to report.
"""

from __future__ import annotations

import tvm
from tvm import relax

from ..ir.ops import Dequantize, Quantize, Requantize
from ..quantization.nonlinear_params import requantize_params
from . import _common as C


def output_vars(func: relax.Function) -> list[relax.Var]:
    """Variables whose values the function returns (looking through returned tuples)."""
    bindings = {b.var: b.value for block in func.body.blocks for b in block.bindings}
    result, pending = [], [func.body.body]
    while pending:
        expr = pending.pop()
        if isinstance(expr, relax.Tuple):
            pending.extend(expr.fields)
        elif isinstance(expr, relax.Var):
            value = bindings.get(expr)
            if isinstance(value, (relax.Tuple, relax.Var)):
                pending.append(value)
            else:
                result.append(expr)
    return result


def _int8_inputs(func: relax.Function) -> dict:
    """Float parameters used only by quantize calls sharing one set of parameters -> (int8 var, params)."""
    bindings = {b.var: b.value for block in func.body.blocks for b in block.bindings}
    counts = C.use_counts(func)
    lookup = bindings.get
    result = {}
    for param in func.params:
        if C.dtype_of(param) != "float32":
            continue
        quantizes = [v for v in bindings.values() if C.is_op(v, "relax.quantize") and v.args[0].same_as(param)]
        params = [C.quantize_params(q, lookup) for q in quantizes]
        if not quantizes or len(quantizes) != counts.get(param, 0) or any(p is None for p in params):
            continue
        if all(p.same_as(params[0]) for p in params):
            result[param] = (relax.Var(param.name, C.tensor_type(C.shape_of(param), "int8")), params[0])
    return result


def input_quantization(func: relax.Function) -> list[C.QParams | None]:
    """Per function parameter: the per-tensor quantization the model applies to it (the parameters of
    the quantize reading a float input, or of the dequantize reading an int8 input), if any."""
    bindings = {b.var: b.value for block in func.body.blocks for b in block.bindings}
    lookup = bindings.get
    result = []
    for param in func.params:
        found = None
        for value in bindings.values():
            if C.is_op(value, "relax.quantize", "relax.dequantize") and value.args[0].same_as(param):
                params = (C.quantize_params(value, lookup) if C.is_op(value, "relax.quantize")
                          else C.dequantize_source(value, lookup))
                found = params[1] if isinstance(params, tuple) else params
                if found is not None:
                    break
        result.append(found)
    return result


@relax.expr_functor.mutator
class _Mutator(relax.PyExprMutator):
    def __init__(self, mod, outputs, int8_inputs, int8_io):
        super().__init__(mod)
        self.outputs = outputs
        self.int8_inputs = int8_inputs
        self.int8_io = int8_io

    def visit_call_(self, call):
        original = call
        call = self.visit_expr_post_order(call)
        name = C.op_name(call)
        if name == "relax.quantize":
            return C.first(self._quantize(call), call)
        if name == "relax.dequantize" and any(original.same_as(o) for o in self.outputs):
            source = C.dequantize_source(call, self.lookup_binding)
            if source is None:
                return call
            q, params = source
            if self.int8_io:
                return q
            record = Dequantize(output_scale=params.scale, output_zp=params.zero_point, input_scale=params.scale,
                                input_zp=params.zero_point)
            return record.call([q], C.tensor_type(C.shape_of(call), "float32"))
        return call

    def _quantize(self, call):
        out = C.quantize_params(call, self.lookup_binding)
        shape = C.shape_of(call)
        if out is None or shape is None:
            return None
        source = C.dequantize_source(call.args[0], self.lookup_binding)
        if source is not None:
            q, params = source
            if params.same_as(out):
                return q
            multiplier, shift = requantize_params(params.scale, out.scale)
            record = Requantize(output_scale=out.scale, output_zp=out.zero_point, input_zp=params.zero_point,
                                multiplier=multiplier, shift=shift)
            return C.record_call(record, [q], shape)
        data = call.args[0]
        if data in self.int8_inputs:
            return self.int8_inputs[data][0]
        if isinstance(data, relax.Var) and self.lookup_binding(data) is None and C.dtype_of(data) == "float32":
            record = Quantize(output_scale=out.scale, output_zp=out.zero_point)
            return C.record_call(record, [data], shape)
        return None


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.LowerBoundaryQDQ")
class LowerBoundaryQDQ:
    """Fold quantize(dequantize) to requantize and lower the model-boundary quantize/dequantize."""

    def __init__(self, int8_io: bool = False, outputs: bool = True):
        self.int8_io = int8_io
        self.outputs = outputs

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        result = tvm.IRModule(dict(mod.functions), attrs=mod.attrs, global_infos=mod.global_infos)
        for gv, func in C.relax_functions(mod):
            bindings = {b.var: b.value for block in func.body.blocks for b in block.bindings}
            counts = C.use_counts(func)
            outputs = [bindings[v] for v in output_vars(func) if self.outputs
                       and C.is_op(bindings.get(v), "relax.dequantize") and counts.get(v, 0) == 1]
            int8_inputs = _int8_inputs(func) if self.int8_io else {}
            new_func = _Mutator(mod, outputs, int8_inputs, self.int8_io).visit_expr(func)
            if int8_inputs:
                params = [int8_inputs[p][0] if p in int8_inputs else p for p in new_func.params]
                new_func = relax.Function(params, new_func.body, None, new_func.is_pure, new_func.attrs, new_func.span)
            result[gv] = C.finish_function(new_func)
        return C.canonicalize(result)
