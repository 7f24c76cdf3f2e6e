"""InPlaceDepthwise: let depthwise convolutions overwrite their own input (TinyEngine's in-place rule).

A depthwise convolution with depth multiplier 1 reads only input channel c to produce output
channel c. Computing one output channel into a one-channel scratch buffer and then writing it
over input channel c is therefore safe once channel c has been read completely, and the
output never needs its own buffer: activation memory drops from 2N to N + one channel.
(Stride-2 layers could shrink in place -- output pixel k lands on input pixel k's slot of the
same channel, which only that channel's computation still reads -- and the kernel supports it,
but the arena planner places a shared storage as one block, which would keep the large input
alive for the small output; they are left alone until the planner places L-shaped regions.)

Assumes: an integer-only tinytvm module (``main`` with one dataflow block).
Guarantees: only the ``in_place`` field of qualifying ``tinytvm.depthwise_conv2d`` calls changes,
and only where it is legal: depth multiplier 1, top padding within the kernel's reach, the input lives in the arena (not the caller's
input buffer, not a model output), the input (and every view of it) is not read after this
layer, and the output has the input's size. The memory planner then gives the output
the input's storage; values are unchanged (bit-exact).
"""

from __future__ import annotations

import tvm
from tvm import relax

from ..ir.graph import layers
from ..ir.op import decode
from ..memory.liveness import analyze_lifetimes


def in_place_candidates(mod: tvm.IRModule) -> set[str]:
    """Names of the depthwise outputs that may overwrite their input."""
    lifetimes = analyze_lifetimes(mod)
    storages = {s.name: s for s in lifetimes.storages}
    chosen = set()
    for step, layer in enumerate(layers(mod)):
        record = layer.record
        if layer.kernel != "depthwise_conv2d" or record.in_place or record.depth_multiplier != 1:
            continue
        kernel_height = layer.in_shapes[1][1]
        if record.padding[0] > (kernel_height - 1) * record.dilation[0]:
            continue  # the kernel's buffered paths need the first rows read before row 0 is written
        source = layer.call.args[0]
        if not isinstance(source, relax.Var) or source.name not in lifetimes.storage_of:
            continue
        storage = storages[lifetimes.storage_of[source.name]]
        # A shrinking (stride-2) layer would keep the whole input storage alive for the smaller
        # output: the planner places a shared storage as one block (size x union of lifetimes),
        # so only same-size layers are rewritten until it can place L-shaped regions.
        if storage.external is None and storage.last == step and layer.output_bytes == storage.size:
            chosen.add(layer.var.name)
    return chosen


@tvm.transform.module_pass(opt_level=0, name="tinytvm.InPlaceDepthwise")
class InPlaceDepthwise:
    def transform_module(self, mod: tvm.IRModule, ctx: tvm.transform.PassContext) -> tvm.IRModule:
        chosen = in_place_candidates(mod)
        if not chosen:
            return mod
        func = mod["main"]
        blocks = []
        for block in func.body.blocks:
            bindings = [_rewrite(binding, chosen) for binding in block.bindings]
            blocks.append(relax.DataflowBlock(bindings) if isinstance(block, relax.DataflowBlock)
                          else relax.BindingBlock(bindings))
        body = relax.SeqExpr(blocks, func.body.body)
        new_func = relax.Function(func.params, body, func.ret_ty, func.is_pure, func.attrs, func.span)
        result = mod.shallow_copy() if hasattr(mod, "shallow_copy") else tvm.IRModule(dict(mod.functions))
        result.update_func(mod.get_global_var("main"), new_func)
        return result


def _rewrite(binding, chosen: set[str]):
    if binding.var.name not in chosen:
        return binding
    call = binding.value
    record = decode(call).replace(in_place=True)
    # Normalizing infers the new call's type (a bare relax.Call has none).
    return relax.VarBinding(binding.var, relax.BlockBuilder().normalize(record.call(list(call.args), call.ty)))
