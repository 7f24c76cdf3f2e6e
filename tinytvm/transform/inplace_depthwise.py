"""InPlaceDepthwise: let depthwise convolutions overwrite their own input (TinyEngine's in-place rule).

A depthwise convolution with depth multiplier 1 reads only input channel c to produce output
channel c. The kernel's buffered paths copy a channel's input rows into scratch before they write
the output rows that replace them, so the output never needs its own buffer: activation memory
drops from 2N to N + a few rows of one channel block.
(Stride-2 layers could shrink in place -- output pixel k lands on input pixel k's slot of the
same channel, which only that channel's computation still reads -- and the kernel supports it,
but the arena planner places a shared storage as one block, which would keep the large input
alive for the small output; they are left alone until the planner places L-shaped regions.)

Assumes: an integer-only tinytvm module (``main`` with one dataflow block).
Guarantees: only the ``in_place`` field of qualifying ``tinytvm.depthwise_conv2d`` calls changes,
and only where it is legal: depth multiplier 1, top padding within the kernel's reach, the input
lives in the arena (not the caller's input buffer, not a model output), the input (and every
view of it) is not read after this layer, and the output has the input's size. The memory
planner then gives the output the input's storage; values are unchanged (bit-exact).
"""

from __future__ import annotations

import tvm

from ..ir.graph import Layer
from ._in_place import dying_same_size_inputs, mark_in_place


def _qualifies(layer: Layer) -> bool:
    record = layer.record
    if layer.kernel != "depthwise_conv2d" or record.depth_multiplier != 1:
        return False
    kernel_height = layer.in_shapes[1][1]
    # The buffered paths need the first rows read before output row 0 is written.
    return record.padding[0] <= (kernel_height - 1) * record.dilation[0]


def in_place_candidates(mod: tvm.IRModule) -> set[str]:
    """Names of the depthwise outputs that may overwrite their input."""
    return dying_same_size_inputs(mod, _qualifies)


@tvm.transform.module_pass(opt_level=0, name="tinytvm.InPlaceDepthwise")
class InPlaceDepthwise:
    def transform_module(self, mod: tvm.IRModule, ctx: tvm.transform.PassContext) -> tvm.IRModule:
        return mark_in_place(mod, in_place_candidates(mod))
