"""LowerDataMovement: reshape / transpose / pad / concat of quantized values become tinytvm ops.

Assumes: int8 QDQ form (after ConvertQDQToInt8); per-tensor activation quantization.

Guarantees (both rewrites are exact, since data movement commutes with per-tensor
affine quantization):

* ``move(dequantize(q))`` -> ``dequantize(tinytvm.move(q))`` with the same scale and zero
  point, for ``reshape``/``flatten``/``expand_dims``/``squeeze`` (-> ``tinytvm.reshape``),
  ``permute_dims`` (-> ``tinytvm.transpose``), constant ``nn.pad`` (-> ``tinytvm.pad``, pad
  value quantized with the input's parameters) and ``concat`` of operands that all share
  one scale and zero point (-> ``tinytvm.concat``);
* int8 values moved directly (int8 model inputs and outputs around which ConvertLayoutNHWC
  put transposes): ``dequantize(move(q))`` and ``move(quantize(y))`` use the parameters of
  that dequantize / quantize;
* ``quantize(move(y))`` -> ``tinytvm.move(quantize(y))`` when ``y`` is not a dequantize
  (quantization is pulled above data movement, so the producer of ``y`` meets its
  quantize directly); ``quantize(concat(y1, y2, ...))`` -> ``tinytvm.concat(quantize(y1),
  quantize(y2), ...)`` for any operands (a ``quantize(dequantize(.))`` left behind is
  folded to a requantize by LowerBoundaryQDQ).

Dequantized constants (weights, biases) are left alone: the layer passes fold them whole.
Other operators are untouched.
"""

from __future__ import annotations

import tvm
from tvm import relax

from ..ir.ops import Concat, Pad, Reshape, Transpose
from . import _common as C

RESHAPES = ("relax.reshape", "relax.flatten", "relax.expand_dims", "relax.squeeze")
MOVEMENT = RESHAPES + ("relax.permute_dims", "relax.nn.pad")


def _perm(call, rank: int) -> tuple[int, ...]:
    axes = call.attrs.axes
    return tuple(range(rank))[::-1] if axes is None else tuple(int(a) % rank for a in axes)


def _movement_record(call, params: C.QParams):
    """The tinytvm record of a single-operand data-movement call, or None if unsupported."""
    name = C.op_name(call)
    if name in RESHAPES:
        return Reshape(output_scale=params.scale, output_zp=params.zero_point)
    if name == "relax.permute_dims":
        rank = len(C.shape_of(call.args[0]))
        return Transpose(output_scale=params.scale, output_zp=params.zero_point, perm=_perm(call, rank))
    if name == "relax.nn.pad":
        if str(call.attrs.pad_mode) != "constant":
            return None
        return Pad(output_scale=params.scale, output_zp=params.zero_point,
                   padding=tuple(C.int_list(call.attrs.pad_width)),
                   pad_value=params.quantize(float(call.attrs.pad_value)))
    return None


def _concat_fields(call, lookup):
    tup = C.resolve(call.args[0], lookup)
    return list(tup.fields) if isinstance(tup, relax.Tuple) else None


@relax.expr_functor.mutator
class _Mutator(relax.PyExprMutator):
    def visit_call_(self, call):
        call = self.visit_expr_post_order(call)
        name = C.op_name(call)
        if name in MOVEMENT:
            return C.first(self._push_dequantize(call), self._int8_after_quantize(call), call)
        if name == "relax.dequantize":
            return C.first(self._int8_before_dequantize(call), call)
        if name == "relax.concat":
            return C.first(self._push_dequantize_concat(call), call)
        if name == "relax.quantize":
            params = C.quantize_params(call, self.lookup_binding)
            if params is not None and C.dequantize_source(call.args[0], self.lookup_binding) is None:
                pulled = self._pull_quantize(call.args[0], params, top=True)
                if pulled is not None:
                    return pulled
        return call

    # move(dequantize(q)) -> dequantize(move(q))
    def _push_dequantize(self, call):
        source = C.dequantize_source(call.args[0], self.lookup_binding)
        shape = C.shape_of(call)
        if source is None or shape is None or self._constant(source[0]):
            return None
        q, params = source
        record = _movement_record(call, params)
        if record is None:
            return None
        moved = self.builder_.emit(C.record_call(record, [q], shape))
        return C.dequantize(moved, params)

    # int8 values moved directly (int8 model inputs/outputs, after ConvertLayoutNHWC)
    def _int8_after_quantize(self, call):
        """move(quantize(y)) on int8 -> tinytvm.move with the quantize's parameters."""
        source = C.resolve(call.args[0], self.lookup_binding)
        params = C.quantize_params(source, self.lookup_binding)
        shape = C.shape_of(call)
        if params is None or shape is None or self._constant(call.args[0]):
            return None
        record = _movement_record(call, params)
        return None if record is None else C.record_call(record, [call.args[0]], shape)

    def _int8_before_dequantize(self, call):
        """dequantize(move(q)) with int8 q -> dequantize(tinytvm.move(q))."""
        moved = C.resolve(call.args[0], self.lookup_binding)
        source = C.dequantize_source(call, self.lookup_binding)
        shape = C.shape_of(moved)
        if C.op_name(moved) not in MOVEMENT or source is None or shape is None \
                or C.dtype_of(moved.args[0]) != "int8" or self._constant(moved.args[0]):
            return None
        record = _movement_record(moved, source[1])
        if record is None:
            return None
        value = self.builder_.emit(C.record_call(record, [moved.args[0]], shape))
        return C.dequantize(value, source[1])

    def _push_dequantize_concat(self, call):
        fields = _concat_fields(call, self.lookup_binding)
        shape = C.shape_of(call)
        if not fields or shape is None:
            return None
        sources = [C.dequantize_source(f, self.lookup_binding) for f in fields]
        if any(s is None or self._constant(s[0]) for s in sources):
            return None
        params = sources[0][1]
        if not all(s[1].same_as(params) for s in sources):
            return None
        record = Concat(output_scale=params.scale, output_zp=params.zero_point,
                        axis=int(call.attrs.axis) % len(shape))
        joined = self.builder_.emit(C.record_call(record, [s[0] for s in sources], shape))
        return C.dequantize(joined, params)

    def _constant(self, expr) -> bool:
        """Constants (weights) stay in their dequantize; the layer passes fold them whole."""
        return C.const_eval(expr, self.lookup_binding) is not None

    # quantize(move(y)) -> move(quantize(y))
    def _pull_quantize(self, expr, params: C.QParams, top: bool = False):
        """int8 expression equal to quantize(expr); None (at the top) when nothing can be pulled."""
        value = C.resolve(expr, self.lookup_binding)
        name = C.op_name(value)
        shape = C.shape_of(value)
        if name in MOVEMENT and shape is not None and C.dequantize_source(expr, self.lookup_binding) is None:
            record = _movement_record(value, params)
            if record is not None:
                inner = self._pull_quantize(value.args[0], params)
                return self._emit_or_return(C.record_call(record, [inner], shape), top)
        if name == "relax.concat" and shape is not None:
            fields = _concat_fields(value, self.lookup_binding)
            if fields:
                inner = [self._pull_quantize(f, params) for f in fields]
                record = Concat(output_scale=params.scale, output_zp=params.zero_point,
                                axis=int(value.attrs.axis) % len(shape))
                return self._emit_or_return(C.record_call(record, inner, shape), top)
        if top:
            return None
        return self.builder_.emit(C.quantize(expr, params))

    def _emit_or_return(self, call, top: bool):
        return call if top else self.builder_.emit(call)


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.LowerDataMovement")
class LowerDataMovement:
    """Lower reshape/transpose/pad/concat around Q/DQ to tinytvm data-movement ops."""

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        return C.rewrite_module(mod, lambda m, f: _Mutator(m))
