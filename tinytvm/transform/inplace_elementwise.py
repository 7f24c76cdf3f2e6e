"""InPlaceElementwise: let ADD and MUL write their result over their first operand.

Element i of the result reads only element i of each operand, and the flat kernels read both
operands' elements before writing the same positions, so the result can take the first operand's
place (a residual block's add then needs two tensors, not three).

Assumes: an integer-only tinytvm module (``main`` with one dataflow block).
Guarantees: only the ``in_place`` field of qualifying ``tinytvm.add`` / ``tinytvm.mul`` calls
changes, and only where it is legal: both operands have the output's shape (no broadcasting),
the first operand lives in the arena and nothing reads it (or a view of it) afterwards. Values
are unchanged (bit-exact).
"""

from __future__ import annotations

import tvm
from tvm import relax

from ..ir.graph import Layer
from ._in_place import dying_same_size_inputs, mark_in_place


def _qualifies(layer: Layer) -> bool:
    return (layer.kernel in ("add", "mul") and isinstance(layer.call.args[0], relax.Var)
            and all(shape == layer.out_shape for shape in layer.in_shapes))


def in_place_candidates(mod: tvm.IRModule) -> set[str]:
    return dying_same_size_inputs(mod, _qualifies)


@tvm.transform.module_pass(opt_level=0, name="tinytvm.InPlaceElementwise")
class InPlaceElementwise:
    def transform_module(self, mod: tvm.IRModule, ctx: tvm.transform.PassContext) -> tvm.IRModule:
        return mark_in_place(mod, in_place_candidates(mod))
