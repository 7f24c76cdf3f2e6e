"""LowerConvolution: quantized NHWC conv2d layers become tinytvm.conv2d / tinytvm.depthwise_conv2d.

Assumes: int8 QDQ form in NHWC (after ConvertQDQToInt8 and ConvertLayoutNHWC); the layer is

    quantize(act?(add?(conv2d(dequantize(x), W), B)))

with ``x`` int8 per-tensor, ``W`` a constant (``dequantize`` of int8 weights quantized per
output channel or per tensor, or a float constant), any kernel layout, and ``B`` a constant
bias broadcast along channels (``dequantize`` of int32, or float). ``act`` is relu, relu6
or clip.

Guarantees: the ``quantize`` is replaced by one integer op with TFLite's parameters:
weights OHWI int8 symmetric per channel (1HW(C*M) for depthwise, i.e. ``groups`` equal to
the input channels), int32 bias at scale ``input_scale * weight_scale[c]`` (the given
int32 bias when it already has that scale; otherwise it is re-rounded), per-channel
multipliers/shifts from :func:`tinytvm.quantization.params.per_channel_multipliers`, and
the activation folded into ``act_min``/``act_max``. Asymmetric or float weights are
quantized symmetrically per channel. Grouped convolutions (1 < groups < channels) raise
:class:`UnsupportedOperatorError`; other non-matching convolutions are left unchanged.
"""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax

from ..ir.ops import Conv2D, DepthwiseConv2D
from ..quantization.params import per_channel_multipliers
from ..errors import UnsupportedOperatorError
from . import _common as C


def _padding(attrs) -> tuple[int, int, int, int]:
    padding = C.int_list(attrs.padding)
    if len(padding) == 2:
        padding = padding + padding
    return tuple(padding)


@relax.expr_functor.mutator
class _Mutator(relax.PyExprMutator):
    def visit_call_(self, call):
        call = self.visit_expr_post_order(call)
        match = C.match_layer(call, self.lookup_binding, ("relax.nn.conv2d",))
        if match is None:
            return call
        return C.first(self._lower(call, match), call)

    def _lower(self, call, match: C.LayerMatch):
        conv = match.anchor
        attrs = conv.attrs
        if str(attrs.data_layout) != "NHWC" or str(attrs.out_layout) not in ("NHWC", ""):
            return None
        source = C.dequantize_source(conv.args[0], self.lookup_binding)
        if source is None:
            return None
        x, in_params = source
        layout = str(attrs.kernel_layout)
        if sorted(layout) != sorted("OIHW"):
            return None
        weight = C.weight_int8(conv.args[1], self.lookup_binding, layout.index("O"))
        if weight is None:
            return None
        values, scales = weight
        ohwi = np.ascontiguousarray(np.transpose(values, [layout.index(c) for c in "OHWI"]))
        channels = ohwi.shape[0]
        in_channels = C.shape_of(x)[3]
        groups = int(attrs.groups)
        bias = C.bias_int32(match.bias, self.lookup_binding, in_params.scale, scales, channels)
        if bias is None:
            return None
        multiplier, shift = per_channel_multipliers(in_params.scale, scales, match.output.scale, channels)
        act_min, act_max = C.act_range(match.activation, match.output)
        common = dict(output_scale=match.output.scale, output_zp=match.output.zero_point,
                      input_zp=in_params.zero_point, stride=tuple(C.int_list(attrs.strides)),
                      dilation=tuple(C.int_list(attrs.dilation)), padding=_padding(attrs),
                      act_min=act_min, act_max=act_max)
        if groups == 1:
            record = Conv2D(**common)
            kernel = ohwi
        elif groups == in_channels and ohwi.shape[3] == 1 and channels % in_channels == 0:
            record = DepthwiseConv2D(depth_multiplier=channels // in_channels, **common)
            kernel = np.ascontiguousarray(np.transpose(ohwi, (3, 1, 2, 0)))
        else:
            raise UnsupportedOperatorError(
                "Conv", None, f"grouped convolution with group={groups} over {in_channels} input channels is not "
                "supported (only group=1 and depthwise group=channels)")
        operands = [x, C.int_const(kernel, "int8"), C.int_const(bias, "int32"),
                    C.int_const(multiplier, "int32"), C.int_const(shift, "int32")]
        return C.record_call(record, operands, C.shape_of(call))


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.LowerConvolution")
class LowerConvolution:
    """Fold quantize(act(conv2d(dequantize) + bias)) into tinytvm (depthwise) convolutions."""

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        return C.rewrite_module(mod, lambda m, f: _Mutator(m))
