"""InPlaceElementwise: let ADD and MUL write their result over their first operand.

Element i of the result reads only element i of each operand, and the flat kernels read both
operands' elements before writing the same positions, so the result can take the first operand's
place (a residual block's add then needs two tensors, not three).

When both operands die at the operator, the result takes the place of the *older* one (the
residual stream): the operands are swapped first if needed (ADD and MUL are symmetric in their
operands and their quantization parameters). The younger operand is usually the end of a block
whose storage shrank in place (an inverted residual's projection); freeing it whole leaves one
contiguous region for the next block instead of a hole the next expansion cannot use.

Assumes: an integer-only tinytvm module (``main`` with one dataflow block).
Guarantees: only the ``in_place`` field of qualifying ``tinytvm.add`` / ``tinytvm.mul`` calls
changes - and the order of their operands, with their quantization parameters, where both die -
and only where it is legal: both operands have the output's shape (no broadcasting), the
overwritten operand lives in the arena and nothing reads it (or a view of it) afterwards.
Values are unchanged (bit-exact).
"""

from __future__ import annotations

import tvm
from tvm import relax

from ..ir.graph import Layer
from ..ir.op import decode
from ..memory.liveness import analyze_lifetimes
from ._in_place import dying_same_size_inputs, mark_in_place, rewrite_calls


def _qualifies(layer: Layer) -> bool:
    return (layer.kernel in ("add", "mul") and isinstance(layer.call.args[0], relax.Var)
            and all(shape == layer.out_shape for shape in layer.in_shapes))


def in_place_candidates(mod: tvm.IRModule) -> set[str]:
    return dying_same_size_inputs(mod, _qualifies)


SWAPPED_FIELDS = (("lhs_zp", "rhs_zp"), ("lhs_multiplier", "rhs_multiplier"), ("lhs_shift", "rhs_shift"))


def older_operand_first(mod: tvm.IRModule) -> tvm.IRModule:
    """``mod`` with the operands of qualifying ADD/MUL swapped where both die there and the second
    one's storage is older (it then becomes the one overwritten)."""
    lifetimes = analyze_lifetimes(mod)
    storages = {s.name: s for s in lifetimes.storages}
    swap = set()
    for step, layer in enumerate(lifetimes.layers):
        if not _qualifies(layer) or layer.record.in_place or not isinstance(layer.call.args[1], relax.Var):
            continue
        first, second = (storages[lifetimes.storage_of[arg.name]] for arg in layer.call.args)
        if first is second or first.external or second.external:
            continue
        if first.last == second.last == step and second.first < first.first:
            swap.add(layer.var.name)
    return rewrite_calls(mod, swap, _swapped) if swap else mod


def _swapped(call: relax.Call) -> relax.Call:
    record = decode(call)
    changes = {name: getattr(record, other) for pair in SWAPPED_FIELDS if hasattr(record, pair[0])
               for name, other in (pair, pair[::-1])}
    return record.replace(**changes).call(list(call.args)[::-1], call.ty)


@tvm.transform.module_pass(opt_level=0, name="tinytvm.InPlaceElementwise")
class InPlaceElementwise:
    def transform_module(self, mod: tvm.IRModule, ctx: tvm.transform.PassContext) -> tvm.IRModule:
        mod = older_operand_first(mod)
        return mark_in_place(mod, in_place_candidates(mod))
