"""InPlaceConv2D: let stride-1, same-width convolutions overwrite their own input.

1x1: output pixel p reads only input pixel p, and the kernel's 1X1 path widens a block of input
pixels into its int16 columns before writing the block's outputs, so the output takes the
input's place exactly: 2N -> N + a column block. An expanding 1x1 (more output channels) puts its
input at the end of the output region: out + in -> out bytes. A narrowing 1x1 (the projection of
an inverted residual block) writes from the start of its input - pixel p's outputs end at
out_c * (p + 1) <= in_c * (p + 1), where the next input pixel to stage begins - and its storage
shrinks to the output after this step (``memory.liveness``): in + out -> in bytes.
kxk: output pixel n is written once the windows of pixels n and n+1 are in the im2col columns;
later windows read input pixels no lower than n - pad_top * W - pad_left. With the output placed
that many pixels (+1) *before* the input, no write reaches an input pixel still to be read
(``conv2d.h``), so the pair needs N + (pad_top * W + pad_left + 1) pixels instead of 2N
(``memory.liveness.input_lead`` gives the offset; the planner places the overlapped pair).

Assumes: an integer-only tinytvm module (``main`` with one dataflow block).
Guarantees: only the ``in_place`` field of qualifying ``tinytvm.conv2d`` calls changes, and only
where it is legal: stride 1, ungrouped, the same spatial size, as many output as input channels
(or any number, for an unpadded 1x1), the input lives in the arena and nothing reads it (or a view of it) afterwards, and a kxk
layer's output is not (a view of) a model output. Values are unchanged (bit-exact); the lowering runs
these layers on the 1X1 or IM2COL path.
"""

from __future__ import annotations

import tvm

from ..ir.graph import Layer
from ._in_place import dying_same_size_inputs, mark_in_place


def _qualifies(layer: Layer) -> bool:
    if layer.kernel != "conv2d" or layer.record.stride != (1, 1):
        return False
    out_c, k_h, k_w, in_c = layer.in_shapes[1]
    if layer.in_shapes[0][:3] != layer.out_shape[:3] or in_c != layer.in_shapes[0][3]:
        return False
    if (k_h, k_w) == (1, 1) and not any(layer.record.padding):
        return True  # narrowing too: the storage shrinks to the output after this step
    return out_c == in_c


def in_place_candidates(mod: tvm.IRModule) -> set[str]:
    # Only 1x1 layers may narrow (kxk ones qualify with as many output as input channels).
    return dying_same_size_inputs(mod, _qualifies, may_shrink=True)


@tvm.transform.module_pass(opt_level=0, name="tinytvm.InPlaceConv2D")
class InPlaceConv2D:
    def transform_module(self, mod: tvm.IRModule, ctx: tvm.transform.PassContext) -> tvm.IRModule:
        return mark_in_place(mod, in_place_candidates(mod))
