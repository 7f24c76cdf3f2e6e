"""FuseActivation: relu / relu6 / clip of a dequantized int8 value becomes an integer clamp.

Assumes: int8 QDQ form after the layer-lowering passes, with activations that were not
fused into a layer's ``quantize`` (e.g. a relu after a pool or after an add without
its own quantize): ``act(dequantize(x))`` with per-tensor int8 ``x``.

Guarantees: ``act(dequantize(x))`` -> ``dequantize(x')`` with the same parameters, where

* ``x'`` is ``x``'s own tinytvm op with ``act_min``/``act_max`` tightened, when ``x`` is a
  tinytvm op that has these fields and both ``x`` and its dequantize have no other use;
* otherwise (unless ``clamp=False``) ``x'`` clamps ``x`` with a 1x1 ``tinytvm.max_pool2d``
  (reshaped to 4-D and back when needed).

The clamp bounds are the activation's bounds quantized with ``x``'s parameters (TFLite's
``CalculateActivationRangeQuantized``), so the result equals the float activation of the
dequantized value up to that rounding (exactly for relu).
"""

from __future__ import annotations

import dataclasses
import math

import tvm
from tvm import relax

from ..ir.op import decode, is_tinytvm_op
from ..ir.ops import MaxPool2D, Reshape
from . import _common as C


def _has_activation_fields(record) -> bool:
    names = {f.name for f in dataclasses.fields(record)}
    return {"act_min", "act_max"} <= names


@relax.expr_functor.mutator
class _Mutator(relax.PyExprMutator):
    def __init__(self, mod, counts, clamp):
        super().__init__(mod)
        self.counts = counts
        self.clamp = clamp

    def visit_call_(self, call):
        call = self.visit_expr_post_order(call)
        bounds = C.activation_bounds(call)
        if bounds is None:
            return call
        source = C.dequantize_source(call.args[0], self.lookup_binding)
        shape = C.shape_of(call)
        if source is None or shape is None:
            return call
        x, params = source
        act_min, act_max = C.act_range(bounds, params)
        producer = C.resolve(x, self.lookup_binding)
        if (is_tinytvm_op(producer) and self.counts.get(x, 0) == 1 and self.counts.get(call.args[0], 0) == 1
                and _has_activation_fields(decode(producer))):
            record = decode(producer)
            tightened = record.replace(act_min=max(record.act_min, act_min), act_max=min(record.act_max, act_max))
            fused = self.builder_.emit(C.record_call(tightened, producer.args, shape))
            return C.dequantize(fused, params)
        if not self.clamp:
            return call
        return C.dequantize(self._clamp(x, params, shape, act_min, act_max), params)

    def _clamp(self, x, params, shape, act_min, act_max):
        four_d = shape if len(shape) == 4 else (1, 1, math.prod(shape[:-1]) if shape else 1, shape[-1] if shape else 1)
        value = x
        if four_d != shape:
            view = Reshape(output_scale=params.scale, output_zp=params.zero_point)
            value = self.builder_.emit(C.record_call(view, [value], four_d))
        clamp = MaxPool2D(output_scale=params.scale, output_zp=params.zero_point, pool=(1, 1), stride=(1, 1),
                          padding=(0, 0, 0, 0), act_min=act_min, act_max=act_max)
        value = self.builder_.emit(C.record_call(clamp, [value], four_d))
        if four_d != shape:
            back = Reshape(output_scale=params.scale, output_zp=params.zero_point)
            value = self.builder_.emit(C.record_call(back, [value], shape))
        return value


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.FuseActivation")
class FuseActivation:
    """Turn leftover activations on quantized values into integer clamps (fused when possible).

    With ``clamp=False`` only the fusion into a producer is done (the lowering pipeline
    runs that to a fixed point before allowing stand-alone clamps).
    """

    def __init__(self, clamp: bool = True):
        self.clamp = clamp

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        return C.rewrite_module(mod, lambda m, f: _Mutator(m, C.use_counts(f), self.clamp))
