"""InPlaceDepthwise: let depthwise convolutions overwrite their own input (TinyEngine's in-place rule).

A depthwise convolution with depth multiplier 1 reads only input channel c to produce output
channel c. The kernel's buffered paths copy a channel's input rows into scratch before they write
the output rows that replace them, so the output never needs its own buffer: activation memory
drops from 2N to N + a few rows of one channel block.

A shrinking layer (stride 2, or valid padding) works the same way: output pixel k of channel c
lands on input pixel k's slot of channel c, at or before every input pixel that channel's later
outputs still read, so the output sits at the start of the input's bytes. Its storage then
shrinks after the layer - N bytes up to and including it, N/4 (stride 2) afterwards - and the
planner places that as an L-shaped region (two anchored blocks, see ``memory.liveness``), so the
freed bytes serve other tensors.

Assumes: an integer-only tinytvm module (``main`` with one dataflow block).
Guarantees: only the ``in_place`` field of qualifying ``tinytvm.depthwise_conv2d`` calls changes,
and only where the kernel allows it (``depthwise_conv2d.h``): depth multiplier 1, output height
and width not above the input's, top padding within the kernel's reach; the input lives in the
arena (not the caller's input buffer, not a model output), the input (and every view of it) is
not read after this layer, and a result smaller than its input's storage is not (a view of) a
model output (the caller's buffer would have to hold the input). The memory planner then gives
the output the input's storage, at the input's offset; values are unchanged (bit-exact).
"""

from __future__ import annotations

import tvm

from ..ir.graph import Layer
from ._in_place import dying_same_size_inputs, mark_in_place


def _qualifies(layer: Layer) -> bool:
    record = layer.record
    if layer.kernel != "depthwise_conv2d" or record.depth_multiplier != 1:
        return False
    (_, in_h, in_w, _), (_, kernel_height, _, _) = layer.in_shapes[0], layer.in_shapes[1]
    _, out_h, out_w, _ = layer.out_shape
    # Output pixel k must land at or before the input pixels later outputs read, and the buffered
    # paths need the first rows read before output row 0 is written.
    return out_h <= in_h and out_w <= in_w and record.padding[0] <= (kernel_height - 1) * record.dilation[0]


def in_place_candidates(mod: tvm.IRModule) -> set[str]:
    """Names of the depthwise outputs that may overwrite their input."""
    return dying_same_size_inputs(mod, _qualifies, may_shrink=True)


@tvm.transform.module_pass(opt_level=0, name="tinytvm.InPlaceDepthwise")
class InPlaceDepthwise:
    def transform_module(self, mod: tvm.IRModule, ctx: tvm.transform.PassContext) -> tvm.IRModule:
        return mark_in_place(mod, in_place_candidates(mod))
