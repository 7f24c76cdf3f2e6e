"""LowerDense: quantized matmul layers (ONNX Gemm / MatMul) become tinytvm.fully_connected.

Assumes: int8 QDQ form (after ConvertQDQToInt8); the layer is

    quantize(act?(add?(matmul(dequantize(x), W), B)))

with ``x`` int8 per-tensor of shape ``[..., K]``, ``W`` a constant ``[K, N]`` (``dequantize`` of
int8 weights, per tensor or per output column, or a float constant; ONNX Gemm's
``transB`` arrives as a ``permute_dims`` of the constant) and ``B`` a constant bias
broadcast along the last axis.

Guarantees: the ``quantize`` is replaced by ``tinytvm.fully_connected`` with weights
``[N, K]`` int8 symmetric, int32 bias at scale ``input_scale * weight_scale[c]``, TFLite's
multipliers (``per_tensor_fc_multiplier`` when the weights have one scale,
``per_channel_multipliers`` otherwise) and the activation folded into
``act_min``/``act_max``. Inputs of rank other than 2 are flattened to ``[rows, K]`` with a
``tinytvm.reshape`` and the result reshaped back, as TFLite's FULLY_CONNECTED does.
Non-matching matmuls are left unchanged.
"""

from __future__ import annotations

import math

import numpy as np
import tvm
from tvm import relax

from ..ir.ops import FullyConnected, Reshape
from ..quantization.params import per_channel_multipliers, per_tensor_fc_multiplier
from . import _common as C


@relax.expr_functor.mutator
class _Mutator(relax.PyExprMutator):
    def visit_call_(self, call):
        call = self.visit_expr_post_order(call)
        match = C.match_layer(call, self.lookup_binding, ("relax.matmul",))
        if match is None:
            return call
        return C.first(self._lower(call, match), call)

    def _lower(self, call, match: C.LayerMatch):
        matmul = match.anchor
        source = C.dequantize_source(matmul.args[0], self.lookup_binding)
        weight_shape = C.shape_of(matmul.args[1])
        if source is None or weight_shape is None or len(weight_shape) != 2:
            return None
        x, in_params = source
        weight = C.weight_int8(matmul.args[1], self.lookup_binding, 1)
        if weight is None:
            return None
        values, scales = weight
        depth, units = weight_shape
        bias = C.bias_int32(match.bias, self.lookup_binding, in_params.scale, scales, units)
        if bias is None:
            return None
        if np.all(scales == scales[0]):
            single = per_tensor_fc_multiplier(in_params.scale, float(scales[0]), match.output.scale)
            multiplier = np.full(units, single[0], dtype=np.int32)
            shift = np.full(units, single[1], dtype=np.int32)
        else:
            multiplier, shift = per_channel_multipliers(in_params.scale, scales, match.output.scale, units)
        act_min, act_max = C.act_range(match.activation, match.output)
        in_shape = C.shape_of(x)
        rows = math.prod(in_shape) // depth
        if in_shape != (rows, depth):
            flat = Reshape(output_scale=in_params.scale, output_zp=in_params.zero_point)
            x = self.builder_.emit(C.record_call(flat, [x], (rows, depth)))
        record = FullyConnected(output_scale=match.output.scale, output_zp=match.output.zero_point,
                                input_zp=in_params.zero_point, act_min=act_min, act_max=act_max)
        operands = [x, C.int_const(np.ascontiguousarray(values.T), "int8"), C.int_const(bias, "int32"),
                    C.int_const(multiplier, "int32"), C.int_const(shift, "int32")]
        out_shape = C.shape_of(call)
        if out_shape == (rows, units):
            return C.record_call(record, operands, out_shape)
        dense = self.builder_.emit(C.record_call(record, operands, (rows, units)))
        back = Reshape(output_scale=match.output.scale, output_zp=match.output.zero_point)
        return C.record_call(back, [dense], out_shape)


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.LowerDense")
class LowerDense:
    """Fold quantize(act(matmul(dequantize, W) + bias)) into tinytvm.fully_connected."""

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        return C.rewrite_module(mod, lambda m, f: _Mutator(m))
