"""SimplifyTransposes: remove the layout transposes integer lowering leaves behind.

Assumes: integer tinytvm ops (after the lowering passes); ``tinytvm.transpose`` and
``tinytvm.reshape`` copy values without requantization.

Guarantees (every rewrite computes the same int8 values):

* ``transpose(transpose(x, p1), p2)`` -> ``transpose(x, p1[p2])``, or ``x`` when that is
  the identity;
* a transpose that keeps the order of all non-unit dimensions -> ``tinytvm.reshape``
  (e.g. NHWC -> NCHW of a 1x1xC tensor);
* ``reshape(reshape(x))`` -> ``reshape(x)``; a reshape to ``x``'s own shape -> ``x``;
* ``fully_connected(reshape(transpose(x, p)))`` with ``p[0] == 0`` (the NHWC -> NCHW
  transpose before an ONNX Flatten) -> ``fully_connected(reshape(x))`` with the weight
  columns permuted accordingly, so no transpose runs on the device.
"""

from __future__ import annotations

import math

import numpy as np
import tvm
from tvm import relax

from ..ir.op import decode, is_tinytvm_op
from ..ir.ops import Reshape
from . import _common as C


def _keeps_order(shape, perm) -> bool:
    moved = [axis for axis in perm if shape[axis] != 1]
    return moved == sorted(moved)


@relax.expr_functor.mutator
class _Mutator(relax.PyExprMutator):
    def visit_call_(self, call):
        call = self.visit_expr_post_order(call)
        if is_tinytvm_op(call, "transpose"):
            return self._transpose(call)
        if is_tinytvm_op(call, "reshape"):
            return self._reshape(call)
        if is_tinytvm_op(call, "fully_connected"):
            return C.first(self._dense(call), call)
        return call

    def _transpose(self, call):
        record = decode(call)
        x = call.args[0]
        perm = tuple(record.perm)
        inner = C.resolve(x, self.lookup_binding)
        if is_tinytvm_op(inner, "transpose"):
            first = tuple(decode(inner).perm)
            perm = tuple(first[p] for p in perm)
            x = inner.args[0]
        shape = C.shape_of(x)
        if perm == tuple(range(len(perm))):
            return x
        if _keeps_order(shape, perm):
            return C.record_call(Reshape(output_scale=record.output_scale, output_zp=record.output_zp), [x],
                                 C.shape_of(call))
        if perm != tuple(record.perm):
            return C.record_call(record.replace(perm=perm), [x], C.shape_of(call))
        return call

    def _reshape(self, call):
        x = call.args[0]
        inner = C.resolve(x, self.lookup_binding)
        if is_tinytvm_op(inner, "reshape"):
            x = inner.args[0]
        if C.shape_of(x) == C.shape_of(call):
            return x
        if x is not call.args[0]:
            return C.record_call(decode(call), [x], C.shape_of(call))
        return call

    def _dense(self, call):
        flat = C.resolve(call.args[0], self.lookup_binding)
        if not is_tinytvm_op(flat, "reshape"):
            return None
        transposed = C.resolve(flat.args[0], self.lookup_binding)
        if not is_tinytvm_op(transposed, "transpose"):
            return None
        perm = tuple(decode(transposed).perm)
        x = transposed.args[0]
        x_shape = C.shape_of(x)
        rows, depth = C.shape_of(flat)
        if perm[0] != 0 or x_shape[0] != rows or math.prod(x_shape[1:]) != depth:
            return None
        weight = C.const_eval(call.args[1], self.lookup_binding)
        if weight is None:
            return None
        inner_perm = [p - 1 for p in perm[1:]]
        order = np.arange(depth).reshape(x_shape[1:]).transpose(inner_perm).reshape(-1)
        permuted = np.empty_like(weight)
        permuted[:, order] = weight
        view = decode(flat)
        source = self.builder_.emit(C.record_call(Reshape(output_scale=view.output_scale, output_zp=view.output_zp),
                                                  [x], (rows, depth)))
        args = [source, relax.const(permuted), *call.args[2:]]
        return C.record_call(decode(call), args, C.shape_of(call))


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.SimplifyTransposes")
class SimplifyTransposes:
    """Cancel/compose integer transposes, turn trivial ones into reshapes, fold them into FC weights."""

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        return C.rewrite_module(mod, lambda m, f: _Mutator(m))
