"""Helpers shared by the Q/DQ lowering passes (not a pass itself).

The passes work on Relax functions in "QDQ form": float operators whose activation
operands are ``relax.dequantize`` of int8 values and whose results feed
``relax.quantize``. This module reads that form: operator names, constant
sub-expressions evaluated with numpy, per-tensor quantization parameters, fused
activations, weights and biases in TFLite's int8/int32 form, use counts; it emits the
canonical Q/DQ and tinytvm calls; and it has the driver that runs a ``PyExprMutator``
over every Relax function of a module and drops the bindings the rewrite left unused,
plus :func:`name_layers` (unique binding names). It also registers tinytvm's errors
with TVM's FFI so that they keep their type when raised inside a pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import tvm
import tvm_ffi
from tvm import relax

from ..ir.op import OpRecord, kernel_name
from ..quantization.calibrate import QParams, asymmetric_params
from ..quantization.fixed_point import round_half_away
from ..quantization.params import ACTIVATIONS, activation_range

INT8_MIN, INT8_MAX = -128, 127


PRIM_IMMS = (tvm.ir.prim.expr.IntImm, tvm.ir.prim.expr.FloatImm)

Lookup = Callable[[relax.Var], Optional[relax.Expr]]

#: Shape-only operators: they copy values, so constants and per-tensor quantization pass through.
SHAPE_OPS = ("relax.reshape", "relax.permute_dims", "relax.expand_dims", "relax.squeeze", "relax.flatten")
#: Operators that are a fused activation (clamp) when they follow a layer.
ACTIVATION_OPS = ("relax.nn.relu", "relax.nn.relu6", "relax.clip")


# -- expressions ------------------------------------------------------------------------------
def op_name(expr) -> str | None:
    """``"relax.add"`` for a call to a Relax operator, else None."""
    if isinstance(expr, relax.Call) and isinstance(expr.op, tvm.ir.Op):
        return expr.op.name
    return None


def is_op(expr, *names: str) -> bool:
    return op_name(expr) in names


def resolve(expr, lookup: Lookup):
    """The value bound to ``expr`` if it is a variable bound in the function (followed through aliases)."""
    seen = 0
    while isinstance(expr, relax.Var) and seen < 64:
        value = lookup(expr)
        if value is None:
            return expr
        expr = value
        seen += 1
    return expr


def shape_of(expr) -> tuple[int, ...] | None:
    ty = getattr(expr, "ty", None)
    if not isinstance(ty, relax.TensorType) or ty.shape is None:
        return None
    try:
        return tuple(int(d) for d in ty.shape)
    except (TypeError, ValueError):
        return None


def dtype_of(expr) -> str | None:
    ty = getattr(expr, "ty", None)
    return str(ty.dtype) if isinstance(ty, relax.TensorType) else None


def tensor_type(shape, dtype: str = "int8") -> relax.TensorType:
    return relax.TensorType(tuple(int(d) for d in shape), dtype)


def is_tensor_const(expr) -> bool:
    return isinstance(expr, tvm.ir.GenericConst)


def is_prim(expr) -> bool:
    return isinstance(expr, PRIM_IMMS)


def prim_value(expr) -> float | None:
    """The number held by an IntImm / FloatImm argument (e.g. clip bounds)."""
    if is_prim(expr):
        return float(expr.value)
    return None


def int_list(values) -> list[int]:
    return [int(v) for v in values]


# -- constants --------------------------------------------------------------------------------
def const_eval(expr, lookup: Lookup, depth: int = 0) -> np.ndarray | None:
    """The numpy value of ``expr`` if it is computed from constants by shape ops, ``astype``,
    ``dequantize`` and element-wise arithmetic only; None otherwise."""
    if depth > 64:
        return None
    expr = resolve(expr, lookup)
    if is_tensor_const(expr):
        return expr.value.numpy()
    if is_prim(expr):
        return np.array(expr.value)
    name = op_name(expr)
    if name is None:
        return None
    if name in SHAPE_OPS:
        value = const_eval(expr.args[0], lookup, depth + 1)
        if value is None:
            return None
        if name == "relax.permute_dims":
            axes = expr.attrs.axes
            return np.transpose(value, None if axes is None else int_list(axes))
        shape = shape_of(expr)
        return None if shape is None else value.reshape(shape)
    if name == "relax.astype":
        value = const_eval(expr.args[0], lookup, depth + 1)
        return None if value is None else value.astype(str(expr.attrs.dtype))
    if name == "relax.dequantize":
        q = quantized_const(expr, lookup, depth + 1)
        return None if q is None else q.dequantized()
    if name == "relax.quantize":  # a float constant quantized in the graph (ONNX QuantizeLinear on weights)
        values = const_eval(expr.args[0], lookup, depth + 1)
        scale = const_eval(expr.args[1], lookup, depth + 1)
        zero_point = const_eval(expr.args[2], lookup, depth + 1)
        if values is None or scale is None or zero_point is None:
            return None
        view = [1] * values.ndim
        if scale.size > 1 or zero_point.size > 1:
            view[int(expr.attrs.axis) % values.ndim] = -1
        dtype = np.dtype(str(expr.attrs.out_dtype))
        info = np.iinfo(dtype)
        q = np.round(values.astype(np.float32) / scale.astype(np.float32).reshape(view if scale.size > 1 else ()))
        q = q + zero_point.astype(np.int64).reshape(view if zero_point.size > 1 else ())
        return np.clip(q, info.min, info.max).astype(dtype)
    if name == "relax.negative":
        value = const_eval(expr.args[0], lookup, depth + 1)
        return None if value is None else -value
    if name in ("relax.add", "relax.subtract", "relax.multiply", "relax.divide"):
        lhs = const_eval(expr.args[0], lookup, depth + 1)
        rhs = const_eval(expr.args[1], lookup, depth + 1)
        if lhs is None or rhs is None:
            return None
        function = {"relax.add": np.add, "relax.subtract": np.subtract,
                    "relax.multiply": np.multiply, "relax.divide": np.divide}[name]
        return function(lhs, rhs).astype(dtype_of(expr) or lhs.dtype)
    return None


@dataclass
class QuantizedConst:
    """A constant in quantized form; ``scale`` and ``zero_point`` are broadcast to ``values``' shape."""

    values: np.ndarray  # integers (int64)
    scale: np.ndarray  # float32
    zero_point: np.ndarray  # int64
    storage: str  # dtype the integers were stored in (int8, uint8, int32)

    def dequantized(self) -> np.ndarray:
        return ((self.values - self.zero_point).astype(np.float64) * self.scale.astype(np.float64)).astype(np.float32)

    def along(self, axis: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(scale[c], zero_point[c]) if the parameters vary along ``axis`` only, else None."""
        axis = axis % max(self.values.ndim, 1)
        if self.values.ndim == 0:
            return self.scale.reshape(1), self.zero_point.reshape(1)
        moved_s = np.moveaxis(self.scale, axis, 0).reshape(self.values.shape[axis], -1)
        moved_z = np.moveaxis(self.zero_point, axis, 0).reshape(self.values.shape[axis], -1)
        if moved_s.shape[1] and not ((moved_s == moved_s[:, :1]).all() and (moved_z == moved_z[:, :1]).all()):
            return None
        if moved_s.shape[1] == 0:
            return None
        return moved_s[:, 0].copy(), moved_z[:, 0].copy()

    def transform(self, function: Callable[[np.ndarray], np.ndarray]) -> "QuantizedConst":
        return QuantizedConst(function(self.values), function(self.scale), function(self.zero_point), self.storage)


def quantized_const(expr, lookup: Lookup, depth: int = 0) -> QuantizedConst | None:
    """A constant ``dequantize`` (possibly followed by shape ops) in quantized form, else None."""
    if depth > 64:
        return None
    expr = resolve(expr, lookup)
    name = op_name(expr)
    if name == "relax.dequantize":
        values = const_eval(expr.args[0], lookup, depth + 1)
        scale = const_eval(expr.args[1], lookup, depth + 1)
        zero_point = const_eval(expr.args[2], lookup, depth + 1)
        if values is None or scale is None or zero_point is None or values.dtype.kind not in "iu":
            return None
        storage = str(values.dtype)
        values = values.astype(np.int64)
        shape = values.shape
        scale = np.asarray(scale, dtype=np.float32)
        zero_point = np.asarray(zero_point).astype(np.int64)
        if scale.size > 1 or zero_point.size > 1:
            axis = int(expr.attrs.axis) % max(len(shape), 1)
            view = [1] * len(shape)
            view[axis] = shape[axis]
            scale = scale.reshape(view) if scale.size > 1 else scale.reshape(())
            zero_point = zero_point.reshape(view) if zero_point.size > 1 else zero_point.reshape(())
        else:
            scale, zero_point = scale.reshape(()), zero_point.reshape(())
        return QuantizedConst(values, np.broadcast_to(scale, shape).copy(),
                              np.broadcast_to(zero_point, shape).copy(), storage)
    if name in SHAPE_OPS:
        inner = quantized_const(expr.args[0], lookup, depth + 1)
        if inner is None:
            return None
        if name == "relax.permute_dims":
            axes = expr.attrs.axes
            return inner.transform(lambda a: np.transpose(a, None if axes is None else int_list(axes)))
        shape = shape_of(expr)
        return None if shape is None else inner.transform(lambda a: a.reshape(shape))
    return None


# -- quantization parameters of activations -----------------------------------------------------
def _scalar_params(scale_expr, zp_expr, lookup: Lookup) -> QParams | None:
    scale = const_eval(scale_expr, lookup)
    zero_point = const_eval(zp_expr, lookup)
    if scale is None or zero_point is None or scale.size != 1 or zero_point.size != 1:
        return None
    return QParams(float(np.float32(scale.reshape(-1)[0])), int(zero_point.reshape(-1)[0]))


def dequantize_source(expr, lookup: Lookup, dtypes=("int8",)) -> tuple[relax.Expr, QParams] | None:
    """``(q, params)`` if ``expr`` is ``dequantize(q)`` with per-tensor parameters and q of ``dtypes``."""
    call = resolve(expr, lookup)
    if not is_op(call, "relax.dequantize"):
        return None
    params = _scalar_params(call.args[1], call.args[2], lookup)
    if params is None or dtype_of(call.args[0]) not in dtypes:
        return None
    return call.args[0], params


def quantize_params(call: relax.Call, lookup: Lookup, dtypes=("int8",)) -> QParams | None:
    """Per-tensor parameters of a ``relax.quantize`` call to one of ``dtypes``, else None."""
    if not is_op(call, "relax.quantize") or str(call.attrs.out_dtype) not in dtypes:
        return None
    return _scalar_params(call.args[1], call.args[2], lookup)


def quantize_float_const(values: np.ndarray) -> tuple[np.ndarray, QParams]:
    """A float constant operand quantized per tensor with TFLite's asymmetric int8 nudging."""
    params = asymmetric_params(float(np.min(values)) if values.size else 0.0,
                               float(np.max(values)) if values.size else 0.0)
    q = np.clip(np.vectorize(round_half_away, otypes=[np.float64])(
        values.astype(np.float32) / np.float32(params.scale)) + params.zero_point, INT8_MIN, INT8_MAX)
    return q.astype(np.int8), params


# -- fused activations --------------------------------------------------------------------------
def activation_bounds(call) -> tuple[float, float] | None:
    """The float clamp range of a relu / relu6 / clip call, else None."""
    name = op_name(call)
    if name == "relax.nn.relu":
        return 0.0, math.inf
    if name == "relax.nn.relu6":
        return 0.0, 6.0
    if name == "relax.clip":
        lo, hi = prim_value(call.args[1]), prim_value(call.args[2])
        if lo is None or hi is None:
            return None
        return lo, hi
    return None


def split_activation(expr, lookup: Lookup) -> tuple[relax.Expr, tuple[float, float] | None]:
    """``(inner, bounds)`` for ``act(inner)``; ``(expr, None)`` when there is no activation."""
    call = resolve(expr, lookup)
    bounds = activation_bounds(call)
    if bounds is None:
        return expr, None
    return call.args[0], bounds


def activation_name(bounds: tuple[float, float] | None) -> str | None:
    if bounds is None:
        return "NONE"
    return {(0.0, math.inf): "RELU", (0.0, 6.0): "RELU6", (-1.0, 1.0): "RELU_N1_TO_1"}.get(tuple(bounds))


def act_range(bounds: tuple[float, float] | None, params: QParams) -> tuple[int, int]:
    """int8 clamp of a fused activation, computed like TFLite's ``CalculateActivationRangeQuantized``."""
    name = activation_name(bounds)
    if name in ACTIVATIONS:
        return activation_range(name, params.scale, params.zero_point)
    lo, hi = bounds
    act_min = INT8_MIN if lo == -math.inf else max(INT8_MIN, params.quantize(lo))
    act_max = INT8_MAX if hi == math.inf else min(INT8_MAX, params.quantize(hi))
    return act_min, act_max


# -- module driver ------------------------------------------------------------------------------
def use_counts(func: relax.Function) -> dict[relax.Var, int]:
    """How often each variable is read in ``func`` (bindings and the returned value)."""
    counts: dict[relax.Var, int] = {}

    def count(expr):
        if isinstance(expr, relax.Var):
            counts[expr] = counts.get(expr, 0) + 1

    relax.analysis.post_order_visit(func.body, count)
    return counts


def relax_functions(mod: tvm.IRModule):
    return [(gv, func) for gv, func in mod.functions.items() if isinstance(func, relax.Function)]


def finish_function(func: relax.Function) -> relax.Function:
    """Drop unused bindings and refresh the declared return type after a rewrite."""
    func = relax.analysis.remove_all_unused(func)
    body_ty = func.body.body.ty
    if not tvm_ffi.structural_equal(func.ret_ty, body_ty):
        func = relax.Function(func.params, func.body, body_ty, func.is_pure, func.attrs, func.span)
    return func


def rewrite_module(mod: tvm.IRModule, make_mutator: Callable[[tvm.IRModule, relax.Function], relax.PyExprMutator]
                   ) -> tvm.IRModule:
    """Run a fresh mutator over every Relax function of ``mod``; unused bindings and aliases are removed."""
    result = tvm.IRModule(dict(mod.functions), attrs=mod.attrs, global_infos=mod.global_infos)
    changed = False
    for gv, func in relax_functions(mod):
        mutator = make_mutator(mod, func)
        new_func = mutator.visit_expr(func)
        if not new_func.same_as(func):
            changed = True
            result[gv] = finish_function(new_func)
    return canonicalize(result) if changed else mod


def canonicalize(mod: tvm.IRModule) -> tvm.IRModule:
    """TVM's CanonicalizeBindings: ``y = x`` aliases (left where a rewrite returned a variable) go away."""
    return relax.transform.CanonicalizeBindings()(mod)


# -- emission -------------------------------------------------------------------------------------
def dequantize(expr, params: QParams) -> relax.Call:
    """Per-tensor ``relax.dequantize`` of an int8 value (canonical form used by the passes)."""
    return relax.op.dequantize(expr, relax.const(np.float32(params.scale)), relax.const(np.int8(params.zero_point)),
                               axis=-1, out_dtype="float32")


def quantize(expr, params: QParams) -> relax.Call:
    """Per-tensor ``relax.quantize`` to int8 (canonical form used by the passes)."""
    return relax.op.quantize(expr, relax.const(np.float32(params.scale)), relax.const(np.int8(params.zero_point)),
                             axis=-1, out_dtype="int8")


def record_call(record: OpRecord, operands, shape) -> relax.Call:
    """``record(operands)`` with an int8 result of ``shape``."""
    return record.call(list(operands), tensor_type(shape))


def int_const(values, dtype: str) -> relax.Expr:
    return relax.const(np.ascontiguousarray(np.asarray(values).astype(dtype)))


def first(*candidates):
    """The first candidate that is not None (Relax expressions cannot be used with ``or``)."""
    for candidate in candidates:
        if candidate is not None:
            return candidate
    return None


# -- layers: quantize(act(add(anchor(dequantize(x), W), B))) -----------------------------------
@dataclass
class LayerMatch:
    """A quantized layer ending in a ``relax.quantize``."""

    anchor: relax.Call  # the conv2d / matmul / add / ... call
    bias: relax.Expr | None  # constant operand of a bias ``add``, if any
    activation: tuple[float, float] | None
    output: QParams


def is_constant_expr(expr, lookup: Lookup) -> bool:
    return const_eval(expr, lookup) is not None or quantized_const(expr, lookup) is not None


def match_layer(call, lookup: Lookup, anchors: tuple[str, ...], allow_bias: bool = True) -> LayerMatch | None:
    """Match ``quantize(act?(add?(anchor(...), bias)))`` where ``anchor`` is one of ``anchors``."""
    output = quantize_params(call, lookup)
    if output is None:
        return None
    inner, bounds = split_activation(call.args[0], lookup)
    value = resolve(inner, lookup)
    if is_op(value, *anchors):
        return LayerMatch(value, None, bounds, output)
    if allow_bias and is_op(value, "relax.add"):
        for anchor_expr, bias in ((value.args[0], value.args[1]), (value.args[1], value.args[0])):
            anchor = resolve(anchor_expr, lookup)
            if is_op(anchor, *anchors) and is_constant_expr(bias, lookup):
                return LayerMatch(anchor, bias, bounds, output)
    return None


def weight_int8(expr, lookup: Lookup, channel_axis: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(int8 weights in ``expr``'s layout, float32 scale per channel along ``channel_axis``).

    Symmetric int8 weights are used as they are; asymmetric, uint8-derived or float weights are
    (re)quantized per channel with TFLite's symmetric rule. None if ``expr`` is not constant.
    """
    from ..quantization.calibrate import symmetric_per_channel

    quantized = quantized_const(expr, lookup)
    if quantized is not None:
        along = quantized.along(channel_axis)
        if along is not None and not along[1].any() and quantized.values.min(initial=0) >= INT8_MIN \
                and quantized.values.max(initial=0) <= INT8_MAX and (along[0] > 0).all():
            return quantized.values.astype(np.int8), along[0].astype(np.float32)
        return symmetric_per_channel(quantized.dequantized(), channel_axis)
    values = const_eval(expr, lookup)
    if values is None or values.dtype.kind != "f":
        return None
    return symmetric_per_channel(values, channel_axis)


def channel_vector(values: np.ndarray, channels: int) -> np.ndarray | None:
    """A constant broadcast only along the last axis, as a length-``channels`` vector (else None)."""
    values = np.asarray(values)
    if values.ndim and any(d != 1 for d in values.shape[:-1]):
        return None
    flat = values.reshape(-1)
    if flat.size == channels:
        return flat
    if flat.size == 1:
        return np.repeat(flat, channels)
    return None


def bias_int32(expr, lookup: Lookup, input_scale: float, weight_scales: np.ndarray, channels: int
               ) -> np.ndarray | None:
    """int32 bias with TFLite's scale ``input_scale * weight_scale[c]``; None if not a channel bias."""
    from ..quantization.calibrate import bias_scales, quantize_bias

    expected = bias_scales(input_scale, weight_scales)
    if expr is None:
        return np.zeros(channels, dtype=np.int32)
    quantized = quantized_const(expr, lookup)
    if quantized is not None:
        values = channel_vector(quantized.values, channels)
        scales = channel_vector(quantized.scale, channels)
        zero_points = channel_vector(quantized.zero_point, channels)
        if values is None or scales is None or zero_points is None:
            return None
        if not zero_points.any() and np.allclose(scales, expected, rtol=1e-5, atol=0.0):
            return values.astype(np.int32)
        floats = channel_vector(quantized.dequantized(), channels)
    else:
        constant = const_eval(expr, lookup)
        if constant is None:
            return None
        floats = channel_vector(constant, channels)
        if floats is None:
            return None
    return quantize_bias(floats, expected)


def _substitute(expr, env: dict):
    if isinstance(expr, relax.Var):
        return env.get(expr, expr)
    if isinstance(expr, relax.Tuple):
        return relax.Tuple([_substitute(f, env) for f in expr.fields])
    if isinstance(expr, relax.TupleGetItem):
        return relax.TupleGetItem(_substitute(expr.tuple_value, env), expr.index)
    if isinstance(expr, relax.Call):
        return relax.Call(expr.op, [_substitute(a, env) for a in expr.args], expr.attrs, expr.ty_args)
    return expr


def name_layers(mod: tvm.IRModule) -> tvm.IRModule:
    """Give every binding a unique, readable name: ``<kernel>_<n>`` for tinytvm ops (e.g. ``conv2d_0``).

    Per-layer tools key intermediate values by variable name, so names must not repeat. Several
    outputs are returned as a tuple of output variables (``return (a, b)``), as the TFLite
    importer does, instead of a variable bound to a tuple.
    """
    result = tvm.IRModule(dict(mod.functions), attrs=mod.attrs, global_infos=mod.global_infos)
    for gv, func in relax_functions(mod):
        used = {p.name for p in func.params}
        counters: dict[str, int] = {}
        env: dict[relax.Var, relax.Var] = {}
        blocks = []
        returned = func.body.body
        bound = {b.var: b.value for block in func.body.blocks for b in block.bindings}
        tuple_output = None
        if isinstance(returned, relax.Var) and isinstance(bound.get(returned), relax.Tuple) \
                and all(isinstance(f, relax.Var) and f in bound for f in bound[returned].fields):
            tuple_output = returned
            returned = bound[returned]
        outputs = {f for f in returned.fields} if tuple_output is not None else set()
        for block in func.body.blocks:
            bindings = []
            for binding in block.bindings:
                if not isinstance(binding, relax.VarBinding):
                    return mod
                if binding.var.same_as(tuple_output):
                    continue
                kernel = kernel_name(binding.value)
                base = kernel or binding.var.name
                while True:
                    index = counters.get(base, 0)
                    counters[base] = index + 1
                    name = f"{base}_{index}" if kernel or index else base
                    if name not in used:
                        break
                used.add(name)
                dataflow = isinstance(binding.var, relax.DataflowVar) and binding.var not in outputs
                var = (relax.DataflowVar if dataflow else relax.Var)(name, binding.var.ty)
                env[binding.var] = var
                bindings.append(relax.VarBinding(var, _substitute(binding.value, env)))
            blocks.append(relax.DataflowBlock(bindings) if isinstance(block, relax.DataflowBlock)
                          else relax.BindingBlock(bindings))
        body = relax.SeqExpr(blocks, _substitute(returned, env))
        result[gv] = relax.Function(func.params, body, func.ret_ty, func.is_pure, func.attrs, func.span)
    return relax.transform.Normalize()(result)
