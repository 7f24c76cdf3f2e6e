"""ConvertLayoutNHWC: run NCHW convolutions and pools in NHWC, with as few transposes as possible.

Assumes: a Relax module with static shapes (float, QDQ or mixed). NCHW ``conv2d`` and
``max_pool2d`` / ``avg_pool2d`` / ``adaptive_avg_pool2d`` are the layout-sensitive
operators ("anchors"); everything else is left in the layout it was written for.

Guarantees: every anchor with ``data_layout``/``layout`` NCHW is replaced by its NHWC form
(conv2d keeps its kernel and kernel layout; only the data and output layouts change).
4-D values connected to an anchor through layout-agnostic operators (quantize,
dequantize, activations, element-wise arithmetic, concat, pad, mean, softmax) are
computed in NHWC as well: one *component* of such values switches layout together,
with axis attributes remapped and constant operands transposed (folded when they are
``relax.Constant``; otherwise left as ``permute_dims`` of the constant expression).
Every other consumer (reshape, matmul, function outputs, unknown operators) still sees
the original NCHW value, through one ``permute_dims`` per value (memoized). Function
signatures are unchanged; the module computes the same values as before.
"""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from ..errors import TinyTVMError
from . import _common as C

TO_NHWC = (0, 2, 3, 1)
TO_NCHW = (0, 3, 1, 2)
#: position of NCHW axis a in NHWC
NHWC_AXIS = {0: 0, 1: 3, 2: 1, 3: 2}

ANCHORS = ("relax.nn.conv2d", "relax.nn.max_pool2d", "relax.nn.avg_pool2d", "relax.nn.adaptive_avg_pool2d")
UNARY = ("relax.nn.relu", "relax.nn.relu6", "relax.clip", "relax.sigmoid", "relax.tanh", "relax.nn.leaky_relu",
         "relax.nn.gelu", "relax.nn.silu", "relax.exp", "relax.negative", "relax.abs", "relax.sqrt",
         "relax.rsqrt", "relax.square", "relax.astype", "relax.quantize", "relax.dequantize")
BINARY = ("relax.add", "relax.subtract", "relax.multiply", "relax.divide", "relax.maximum", "relax.minimum",
          "relax.power")
OTHER_AGNOSTIC = ("relax.concat", "relax.nn.pad", "relax.mean", "relax.nn.softmax")


def _rank(expr) -> int | None:
    shape = C.shape_of(expr)
    return None if shape is None else len(shape)


def _anchor_layout(call) -> str | None:
    name = C.op_name(call)
    if name == "relax.nn.conv2d":
        return str(call.attrs.data_layout)
    if name in ANCHORS:
        return str(call.attrs.layout)
    return None


class _Analysis:
    """Which 4-D values switch to NHWC: union-find over layout-agnostic operators."""

    def __init__(self, func: relax.Function):
        self.bindings: dict[relax.Var, relax.Expr] = {}
        for block in func.body.blocks:
            for binding in block.bindings:
                if isinstance(binding, relax.VarBinding):
                    self.bindings[binding.var] = binding.value
        self.parent: dict[relax.Var, relax.Var] = {}
        self.forced: set[relax.Var] = set()
        self._constant: dict[relax.Var, bool] = {}
        for var, value in self.bindings.items():
            self._visit(var, value)
        forced_roots = {self.find(v) for v in self.forced}
        self.converted = {v for v in self.parent if self.find(v) in forced_roots}

    def lookup(self, var):
        return self.bindings.get(var)

    def is_constant(self, expr) -> bool:
        if C.is_tensor_const(expr) or C.is_prim(expr):
            return True
        if not isinstance(expr, relax.Var):
            return False
        if expr not in self._constant:
            self._constant[expr] = (C.const_eval(expr, self.lookup) is not None
                                    or C.quantized_const(expr, self.lookup) is not None)
        return self._constant[expr]

    def find(self, var):
        self.parent.setdefault(var, var)
        while self.parent[var] is not var:
            self.parent[var] = self.parent[self.parent[var]]
            var = self.parent[var]
        return var

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra is not rb:
            self.parent[ra] = rb

    def agnostic_operands(self, var, call) -> list[relax.Var] | None:
        """The 4-D variable operands joining ``var``'s component, or None if ``call`` is not agnostic."""
        name = C.op_name(call)
        if name is None or _rank(var) != 4:
            if name == "relax.mean" and _rank(call.args[0]) == 4 and self._mean_keeps_order(call):
                return []  # reduced output identical in both layouts; input may switch
            return None
        if name in UNARY:  # quantize / dequantize included: their axis is remapped
            operands = [call.args[0]]
        elif name in BINARY:
            operands = list(call.args[:2])
        elif name == "relax.concat":
            tup = call.args[0]
            tup = self.lookup(tup) if isinstance(tup, relax.Var) and self.lookup(tup) is not None else tup
            if not isinstance(tup, relax.Tuple):
                return None
            operands = list(tup.fields)
        elif name == "relax.nn.pad":
            if str(call.attrs.pad_mode) != "constant":
                return None
            operands = [call.args[0]]
        elif name in ("relax.mean", "relax.nn.softmax"):
            operands = [call.args[0]]
        else:
            return None
        joined = []
        for operand in operands:
            if self.is_constant(operand):
                continue
            if not isinstance(operand, relax.Var) or _rank(operand) != 4:
                return None
            joined.append(operand)
        return joined

    def _mean_keeps_order(self, call) -> bool:
        axes = [int(a) % 4 for a in call.attrs.axis] if call.attrs.axis is not None else [0, 1, 2, 3]
        if bool(call.attrs.keepdims):
            return False
        kept_nchw = [a for a in range(4) if a not in axes]
        kept_nhwc = [TO_NHWC[i] for i in range(4) if TO_NHWC[i] not in axes]
        return kept_nchw == kept_nhwc

    def _visit(self, var, value):
        layout = _anchor_layout(value)
        if layout == "NCHW":
            self.find(var)
            self.forced.add(var)
            data = value.args[0]
            if isinstance(data, relax.Var) and not self.is_constant(data):
                self.forced.add(data)
                self.find(data)
            return
        operands = self.agnostic_operands(var, value)
        if operands is None:
            return
        if _rank(var) == 4:
            self.find(var)
            for operand in operands:
                self.union(var, operand)
        else:  # rank-reducing mean: only its input may switch
            for operand in operands:
                self.find(operand)


class _Rewriter:
    def __init__(self, func: relax.Function):
        self.func = func
        self.analysis = _Analysis(func)
        self.builder = relax.BlockBuilder()
        self.env: dict[relax.Var, tuple[relax.Expr, bool]] = {}
        self.alternate: dict[relax.Var, relax.Expr] = {}

    # -- values in a wanted layout ---------------------------------------------------------------
    def get(self, expr, nhwc: bool):
        if isinstance(expr, relax.Tuple):
            return relax.Tuple([self.get(f, nhwc) for f in expr.fields])
        if not isinstance(expr, relax.Var):
            return expr
        if expr not in self.env:
            raise TinyTVMError(f"variable {expr.name} is used before it is defined")
        value, is_nhwc = self.env[expr]
        if is_nhwc == nhwc:
            return value
        if expr not in self.alternate:
            perm = TO_NHWC if nhwc else TO_NCHW
            self.alternate[expr] = self.builder.emit(relax.op.permute_dims(value, list(perm)),
                                                     name_hint=f"{expr.name}_{'nhwc' if nhwc else 'nchw'}")
        return self.alternate[expr]

    def constant_operand(self, expr):
        """A constant operand of a converted op, broadcast-compatible with NHWC values."""
        shape = C.shape_of(expr)
        if shape is None or int(np.prod(shape)) <= 1 or C.is_prim(expr):
            return self.get(expr, False) if isinstance(expr, relax.Var) else expr
        if len(shape) > 4:
            raise TinyTVMError(f"cannot broadcast a rank-{len(shape)} constant against an NHWC tensor")
        full = (1,) * (4 - len(shape)) + tuple(shape)
        if C.is_tensor_const(expr):
            return relax.const(np.ascontiguousarray(np.transpose(expr.value.numpy().reshape(full), TO_NHWC)))
        value = self.get(expr, False)
        if len(shape) != 4:
            value = relax.op.reshape(value, full)
        return self.builder.emit(relax.op.permute_dims(value, list(TO_NHWC)))

    def operand(self, expr):
        if self.analysis.is_constant(expr) and not (isinstance(expr, relax.Var) and expr in self.analysis.converted):
            return self.constant_operand(expr)
        return self.get(expr, True)

    # -- one binding -------------------------------------------------------------------------------
    def convert(self, var, call):
        """NHWC version of ``call`` (for a converted ``var``), or None to keep it."""
        name = C.op_name(call)
        attrs = call.attrs
        if name == "relax.nn.conv2d":
            return relax.op.nn.conv2d(self.get(call.args[0], True), self.get(call.args[1], False),
                                      strides=C.int_list(attrs.strides), padding=C.int_list(attrs.padding),
                                      dilation=C.int_list(attrs.dilation), groups=int(attrs.groups),
                                      data_layout="NHWC", kernel_layout=str(attrs.kernel_layout),
                                      out_layout="NHWC", out_dtype=_out_dtype(attrs))
        if name in ("relax.nn.max_pool2d", "relax.nn.avg_pool2d"):
            function = relax.op.nn.max_pool2d if name == "relax.nn.max_pool2d" else relax.op.nn.avg_pool2d
            kwargs = dict(pool_size=C.int_list(attrs.pool_size), strides=C.int_list(attrs.strides),
                          padding=C.int_list(attrs.padding), dilation=C.int_list(attrs.dilation),
                          ceil_mode=bool(attrs.ceil_mode), layout="NHWC", out_layout="NHWC")
            if name == "relax.nn.avg_pool2d":
                kwargs["count_include_pad"] = bool(attrs.count_include_pad)
            return function(self.get(call.args[0], True), **kwargs)
        if name == "relax.nn.adaptive_avg_pool2d":
            size = None if attrs.output_size is None else C.int_list(attrs.output_size)
            return relax.op.nn.adaptive_avg_pool2d(self.get(call.args[0], True), size, layout="NHWC",
                                                   out_layout="NHWC")
        if name in ("relax.quantize", "relax.dequantize"):
            function = relax.op.quantize if name == "relax.quantize" else relax.op.dequantize
            return function(self.operand(call.args[0]), call.args[1], call.args[2],
                            axis=NHWC_AXIS[int(attrs.axis) % 4], out_dtype=str(attrs.out_dtype))
        if name in UNARY or name in BINARY:
            args = [self.operand(a) if i < (1 if name in UNARY else 2) else a for i, a in enumerate(call.args)]
            return relax.Call(call.op, args, call.attrs, call.ty_args)
        if name == "relax.concat":
            tup = call.args[0]
            if isinstance(tup, relax.Var):
                tup = self.analysis.lookup(tup)
            fields = [self.operand(f) for f in tup.fields]
            return relax.op.concat(fields, axis=NHWC_AXIS[int(attrs.axis) % 4])
        if name == "relax.nn.pad":
            widths = C.int_list(attrs.pad_width)
            pairs = [widths[2 * a:2 * a + 2] for a in range(4)]
            reordered = [w for a in TO_NHWC for w in pairs[a]]
            return relax.op.nn.pad(self.operand(call.args[0]), reordered, "constant", float(attrs.pad_value))
        if name == "relax.mean":
            axes = None if attrs.axis is None else [NHWC_AXIS[int(a) % 4] for a in attrs.axis]
            return relax.op.mean(self.get(call.args[0], True), axes, bool(attrs.keepdims))
        if name == "relax.nn.softmax":
            return relax.op.nn.softmax(self.get(call.args[0], True), NHWC_AXIS[int(attrs.axis) % 4])
        return None

    def rebuild(self, value):
        """``value`` with every variable operand in its original layout."""
        if isinstance(value, relax.Var):
            return self.get(value, False)
        if isinstance(value, relax.Tuple):
            return relax.Tuple([self.rebuild(f) for f in value.fields])
        if isinstance(value, relax.TupleGetItem):
            return relax.TupleGetItem(self.rebuild(value.tuple_value), value.index)
        if isinstance(value, relax.Call):
            return relax.Call(value.op, [self.rebuild(a) for a in value.args], value.attrs, value.ty_args)
        return value

    def binding(self, binding, is_output: bool):
        var, value = binding.var, binding.value
        converted = var in self.analysis.converted and C.op_name(value) is not None
        new_value = self.convert(var, value) if converted else None
        if new_value is None and C.op_name(value) == "relax.mean" and _rank(value.args[0]) == 4 \
                and value.args[0] in self.analysis.converted and _rank(var) != 4:
            # a rank-reducing mean whose result is the same in both layouts: read the NHWC input
            axes = None if value.attrs.axis is None else [NHWC_AXIS[int(a) % 4] for a in value.attrs.axis]
            out = self._emit(relax.op.mean(self.get(value.args[0], True), axes, False), var.name, is_output)
            self.env[var] = (out, False)
            return
        if new_value is None:
            out = self._emit(self.rebuild(value), var.name, is_output)
            self.env[var] = (out, False)
            return
        if is_output:
            inner = self.builder.emit(new_value, name_hint=f"{var.name}_nhwc")
            out = self.builder.emit_output(relax.op.permute_dims(inner, list(TO_NCHW)), name_hint=var.name)
            self.env[var] = (out, False)
            self.alternate[var] = inner
        else:
            self.env[var] = (self.builder.emit(new_value, name_hint=var.name), True)

    def _emit(self, value, name, is_output):
        if is_output:
            return self.builder.emit_output(value, name_hint=name)
        return self.builder.emit(value, name_hint=name)

    def run(self) -> relax.Function:
        func = self.func
        for param in func.params:
            self.env[param] = (param, False)
        with self.builder.function("main", list(func.params), pure=func.is_pure, private=True):
            for block in func.body.blocks:
                dataflow = isinstance(block, relax.DataflowBlock)
                if dataflow:
                    with self.builder.dataflow():
                        for binding in block.bindings:
                            self._check(binding)
                            self.binding(binding, not isinstance(binding.var, relax.DataflowVar))
                else:
                    for binding in block.bindings:
                        self._check(binding)
                        self.binding(binding, False)
            result = self.rebuild(func.body.body)
            self.builder.emit_func_output(result)
        new = self.builder.get()["main"]
        return relax.Function(new.params, new.body, new.ret_ty, func.is_pure, func.attrs, func.span)

    @staticmethod
    def _check(binding):
        if not isinstance(binding, relax.VarBinding):
            raise TinyTVMError(f"ConvertLayoutNHWC does not handle {type(binding).__name__} bindings")


def _out_dtype(attrs):
    dtype = str(attrs.out_dtype) if attrs.out_dtype is not None else ""
    return dtype if dtype and dtype != "void" else None


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.ConvertLayoutNHWC")
class ConvertLayoutNHWC:
    """Convert NCHW convolutions/pools and their layout-agnostic neighbourhood to NHWC."""

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        result = tvm.IRModule(dict(mod.functions), attrs=mod.attrs, global_infos=mod.global_infos)
        for gv, func in C.relax_functions(mod):
            analysis = _Analysis(func)
            if not analysis.converted:
                continue
            new_func = _Rewriter(func).run()
            result[gv] = C.finish_function(new_func)
        return result
