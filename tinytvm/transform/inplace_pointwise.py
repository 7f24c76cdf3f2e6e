"""InPlacePointwise: let 1x1 convolutions overwrite their own input.

Output pixel p of a 1x1, stride-1, unpadded convolution reads only input pixel p. The kernel's
1X1 path widens a block of input pixels into its int16 columns before it writes the block's
output pixels, and with out_c <= in_c an output pixel never reaches an input pixel not yet read
(``conv2d.h``), so the output can take the input's place: 2N -> N + a column block.

Assumes: an integer-only tinytvm module (``main`` with one dataflow block).
Guarantees: only the ``in_place`` field of qualifying ``tinytvm.conv2d`` calls changes, and only
where it is legal: 1x1 kernel, stride 1, no padding, as many output channels as input channels
(same size), the input lives in the arena, and nothing reads it (or a view of it) afterwards.
Values are unchanged (bit-exact); the lowering runs these layers on the 1X1 path.
"""

from __future__ import annotations

import tvm

from ..ir.graph import Layer
from ._in_place import dying_same_size_inputs, mark_in_place


def _qualifies(layer: Layer) -> bool:
    record = layer.record
    if layer.kernel != "conv2d":
        return False
    out_c, k_h, k_w, in_c = layer.in_shapes[1]
    return ((k_h, k_w) == (1, 1) and record.stride == (1, 1) and not any(record.padding)
            and out_c == in_c and layer.in_shapes[0][:3] == layer.out_shape[:3])


def in_place_candidates(mod: tvm.IRModule) -> set[str]:
    return dying_same_size_inputs(mod, _qualifies)


@tvm.transform.module_pass(opt_level=0, name="tinytvm.InPlacePointwise")
class InPlacePointwise:
    def transform_module(self, mod: tvm.IRModule, ctx: tvm.transform.PassContext) -> tvm.IRModule:
        return mark_in_place(mod, in_place_candidates(mod))
