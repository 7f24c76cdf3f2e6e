"""AnnotateQDQ: insert quantize/dequantize into a float Relax module from calibrated ranges.

Assumes: a float Relax module with static shapes (e.g. a float ONNX model imported with
TVM's frontend) and ``ranges``: the min/max of its float tensors over calibration data
(:func:`tinytvm.quantization.calibrate.calibrate`), keyed by the module's variables.

Guarantees: the result is in the QDQ form the ONNX frontend produces for quantized
models, with TFLite's int8 post-training quantization scheme, so the lowering passes
(:func:`tinytvm.transform.lower_qdq`) turn it into integer operators:

* a *quantization point* gets ``dequantize(quantize(v))`` with per-tensor asymmetric int8
  parameters from its range (TFLite nudging, range widened to include 0): float model
  inputs, and the outputs of layers - conv2d / matmul with their constant bias ``add``
  and a following relu / relu6 / clip fused in, element-wise add / mul / sub / div, concat,
  mean (TFLite's MEAN requantizes);
  sigmoid and softmax outputs get scale 1/256, zero point -128;
* conv2d / matmul weights become ``dequantize`` of int8 weights quantized symmetrically
  per output channel (scale = max|w| / 127); a fused bias becomes ``dequantize`` of int32
  values with scale ``input_scale * weight_scale[c]``, shaped to broadcast along channels;
* data movement (reshape, transpose, pad, flatten), max / average / global pooling and
  stand-alone activations share their input's quantization (no new point);
* the inputs of a concat that have no other use take the concat's parameters, so no
  requantization is needed (TFLite's same-scale constraint).

Operators of other kinds are copied unchanged (and reported by the integer-only check).
"""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from ..errors import QuantizationError, TinyTVMError
from ..quantization.calibrate import (
    PROBABILITY_PARAMS,
    QParams,
    asymmetric_params,
    bias_scales,
    quantize_bias,
    symmetric_per_channel,
)
from . import _common as C

WEIGHTED = ("relax.nn.conv2d", "relax.matmul")
ARITHMETIC = ("relax.add", "relax.multiply", "relax.subtract", "relax.divide")
FIXED_OUTPUT = ("relax.sigmoid", "relax.nn.softmax")
OWN_RANGE = ("relax.concat", "relax.mean")
SHARING = ("relax.reshape", "relax.permute_dims", "relax.flatten", "relax.squeeze", "relax.expand_dims",
           "relax.nn.pad", "relax.nn.max_pool2d", "relax.nn.avg_pool2d", "relax.nn.adaptive_avg_pool2d"
           ) + C.ACTIVATION_OPS


def _float(var) -> bool:
    return C.dtype_of(var) == "float32"


class _Plan:
    """Which variables are quantization points, with which parameters; weights and biases to quantize."""

    def __init__(self, func: relax.Function, ranges: dict):
        self.func = func
        self.ranges = ranges
        self.bindings = {b.var: b.value for block in func.body.blocks for b in block.bindings
                         if isinstance(b, relax.VarBinding)}
        self.counts = C.use_counts(func)
        self.lookup = self.bindings.get
        self.weighted: dict[relax.Var, int] = {}  # anchor var -> channel axis of its output
        self.bias_add: dict[relax.Var, relax.Var] = {}  # add var -> anchor var
        self.fused: set[relax.Var] = set()  # vars whose quantization is done by a consumer
        self.points: dict[relax.Var, QParams] = {}
        self._classify()

    def single_use(self, var) -> bool:
        return self.counts.get(var, 0) == 1

    def constant(self, expr) -> bool:
        return C.is_tensor_const(expr) or (isinstance(expr, relax.Var) and expr in self.bindings
                                           and C.const_eval(expr, self.lookup) is not None)

    def _classify(self):
        for param in self.func.params:
            if _float(param):
                self.points[param] = self._params(param)
        for var, value in self.bindings.items():
            name = C.op_name(value)
            if name is None or not _float(var) or self.constant(var):
                continue
            if name in WEIGHTED and self._weighted_axis(value) is not None:
                self.weighted[var] = self._weighted_axis(value)
                self.points[var] = None
            elif name == "relax.add" and self._bias_anchor(value) is not None:
                anchor = self._bias_anchor(value)
                self.bias_add[var] = anchor
                self.fused.add(anchor)
                self.points[var] = None
            elif name in ARITHMETIC:
                self.points[var] = None
            elif name in FIXED_OUTPUT:
                self.points[var] = PROBABILITY_PARAMS
            elif name in OWN_RANGE:
                self.points[var] = None
            elif name in C.ACTIVATION_OPS:
                producer = value.args[0]
                if producer in self.points and producer not in self.fused and self.single_use(producer) \
                        and self.points[producer] is None:
                    self.fused.add(producer)
                    self.points[var] = None
        for var in list(self.points):
            if var in self.fused:
                del self.points[var]
            elif self.points[var] is None:
                self.points[var] = self._params(var)
        self._unify_concat_inputs()

    def _params(self, var) -> QParams:
        if var not in self.ranges:
            raise QuantizationError(f"no calibration range for '{var.name}' (calibrate the same module)")
        low, high = self.ranges[var]
        return asymmetric_params(low, high)

    def _weighted_axis(self, call) -> int | None:
        """Channel axis of the output of a conv2d / matmul with a constant weight, else None."""
        if not self.constant(call.args[1]) or self.constant(call.args[0]):
            return None
        if C.op_name(call) == "relax.nn.conv2d":
            return str(call.attrs.out_layout).index("C")
        shape = C.shape_of(call.args[1])
        return None if shape is None or len(shape) != 2 else len(C.shape_of(call)) - 1

    def _bias_anchor(self, call):
        for anchor, bias in ((call.args[0], call.args[1]), (call.args[1], call.args[0])):
            value = self.bindings.get(anchor)
            if (isinstance(anchor, relax.Var) and C.op_name(value) in WEIGHTED and self.single_use(anchor)
                    and self._weighted_axis(value) is not None and self.constant(bias)):
                if self._channel_bias(bias, call, self._weighted_axis(value)) is not None:
                    return anchor
        return None

    def _channel_bias(self, bias, call, axis: int) -> np.ndarray | None:
        """The bias as a per-channel vector if it only varies along the output's channel axis."""
        values = C.const_eval(bias, self.lookup)
        out_shape = C.shape_of(call)
        if values is None or out_shape is None or values.ndim > len(out_shape):
            return None
        full = values.reshape((1,) * (len(out_shape) - values.ndim) + values.shape)
        channels = out_shape[axis]
        if any(d != 1 for i, d in enumerate(full.shape) if i != axis) or full.shape[axis] not in (1, channels):
            return None
        return np.broadcast_to(full.reshape(-1), (channels,)).astype(np.float32)

    def _unify_concat_inputs(self):
        for var, value in self.bindings.items():
            if C.op_name(value) != "relax.concat" or var not in self.points:
                continue
            tup = C.resolve(value.args[0], self.lookup)
            if not isinstance(tup, relax.Tuple):
                continue
            for field in tup.fields:
                source = field
                while (isinstance(source, relax.Var) and source not in self.points and self.single_use(source)
                       and C.op_name(self.bindings.get(source)) in SHARING):
                    source = self.bindings[source].args[0]
                if (isinstance(source, relax.Var) and source in self.bindings and source in self.points
                        and self.single_use(source) and self.points[source] is not PROBABILITY_PARAMS):
                    self.points[source] = self.points[var]


class _Rewriter:
    def __init__(self, func: relax.Function, plan: _Plan):
        self.func = func
        self.plan = plan
        self.builder = relax.BlockBuilder()
        self.env: dict[relax.Var, relax.Expr] = {}
        self.params_of: dict[relax.Var, QParams] = {}
        self.weight_scales: dict[relax.Var, np.ndarray] = {}

    def arg(self, expr):
        if isinstance(expr, relax.Var):
            return self.env.get(expr, expr)
        if isinstance(expr, relax.Tuple):
            return relax.Tuple([self.arg(f) for f in expr.fields])
        return expr

    def source_params(self, expr) -> QParams | None:
        return self.params_of.get(expr) if isinstance(expr, relax.Var) else None

    def value(self, var, value):
        plan = self.plan
        name = C.op_name(value)
        if var in plan.weighted:
            return self._weighted(var, value)
        if var in plan.bias_add:
            return self._bias_add(var, value)
        if isinstance(value, relax.Call):
            new_args = [self.arg(a) for a in value.args]
            if name in SHARING and value.args and self.source_params(value.args[0]) is not None \
                    and var not in plan.points:
                self.params_of[var] = self.source_params(value.args[0])
            return relax.Call(value.op, new_args, value.attrs, value.ty_args)
        if isinstance(value, relax.TupleGetItem):
            return relax.TupleGetItem(self.arg(value.tuple_value), value.index)
        return self.arg(value)

    def _weighted(self, var, call):
        weight = C.const_eval(call.args[1], self.plan.lookup)
        axis = str(call.attrs.kernel_layout).index("O") if C.op_name(call) == "relax.nn.conv2d" else 1
        quantized, scales = symmetric_per_channel(weight, axis)
        self.weight_scales[var] = scales
        dq = relax.op.dequantize(relax.const(quantized), relax.const(scales),
                                 relax.const(np.zeros(len(scales), np.int8)), axis=axis, out_dtype="float32")
        weight_var = self.builder.emit(dq, name_hint=f"{var.name}_weight")
        args = [self.arg(call.args[0]), weight_var] + [self.arg(a) for a in call.args[2:]]
        return relax.Call(call.op, args, call.attrs, call.ty_args)

    def _bias_add(self, var, call):
        anchor = self.plan.bias_add[var]
        anchor_value = self.plan.bindings[anchor]
        axis = self.plan.weighted[anchor]
        bias_expr = call.args[1] if call.args[0].same_as(anchor) else call.args[0]
        vector = self.plan._channel_bias(bias_expr, call, axis)
        in_params = self.source_params(anchor_value.args[0])
        if in_params is None:
            raise TinyTVMError(f"internal error: the input of '{anchor.name}' has no quantization parameters")
        scales = bias_scales(in_params.scale, self.weight_scales[anchor])
        values = quantize_bias(vector, scales)
        rank = len(C.shape_of(call))
        shape = [1] * rank
        shape[axis] = len(values)
        if C.op_name(anchor_value) == "relax.matmul":
            shape, axis = [len(values)], 0
        dq = relax.op.dequantize(relax.const(values.reshape(shape)), relax.const(scales),
                                 relax.const(np.zeros(len(values), np.int32)), axis=axis, out_dtype="float32")
        bias_var = self.builder.emit(dq, name_hint=f"{var.name}_bias")
        return relax.op.add(self.arg(anchor), bias_var)

    def emit(self, var, value, is_output: bool):
        params = self.plan.points.get(var)
        if params is None:
            out = self.builder.emit_output(value, name_hint=var.name) if is_output else \
                self.builder.emit(value, name_hint=var.name)
            self.env[var] = out
            return
        float_value = self.builder.emit(value, name_hint=var.name)
        q = self.builder.emit(C.quantize(float_value, params), name_hint=f"{var.name}_q")
        dq = C.dequantize(q, params)
        out = self.builder.emit_output(dq, name_hint=f"{var.name}_dq") if is_output else \
            self.builder.emit(dq, name_hint=f"{var.name}_dq")
        self.env[var] = out
        self.params_of[var] = params

    def run(self) -> relax.Function:
        func = self.func
        with self.builder.function("main", list(func.params), pure=func.is_pure, private=True):
            for param in func.params:
                params = self.plan.points.get(param)
                if params is not None:
                    self.env[param] = param
            entered = False
            for block in func.body.blocks:
                if not isinstance(block, relax.DataflowBlock):
                    raise TinyTVMError("AnnotateQDQ expects the function body in dataflow blocks")
                with self.builder.dataflow():
                    if not entered:
                        for param in func.params:
                            params = self.plan.points.get(param)
                            if params is not None:
                                q = self.builder.emit(C.quantize(param, params), name_hint=f"{param.name}_q")
                                self.env[param] = self.builder.emit(C.dequantize(q, params),
                                                                    name_hint=f"{param.name}_dq")
                                self.params_of[param] = params
                        entered = True
                    for binding in block.bindings:
                        if not isinstance(binding, relax.VarBinding):
                            raise TinyTVMError("AnnotateQDQ does not handle match_cast bindings")
                        self.emit(binding.var, self.value(binding.var, binding.value),
                                  not isinstance(binding.var, relax.DataflowVar))
            self.builder.emit_func_output(self.arg(func.body.body))
        new = self.builder.get()["main"]
        return relax.Function(new.params, new.body, new.ret_ty, func.is_pure, func.attrs, func.span)


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.AnnotateQDQ")
class AnnotateQDQ:
    """Insert TFLite-style int8 quantize/dequantize pairs into a float module from calibrated ranges."""

    def __init__(self, ranges: dict):
        self.ranges = ranges

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        result = tvm.IRModule(dict(mod.functions), attrs=mod.attrs, global_infos=mod.global_infos)
        for gv, func in C.relax_functions(mod):
            plan = _Plan(func, self.ranges)
            result[gv] = C.finish_function(_Rewriter(func, plan).run())
        return result
