"""Shared machinery of the in-place passes: which layers may overwrite their input, and the rewrite.

A layer may write its result over its activation input when that input lives in the arena (not
in the caller's input buffer, not a model output), nothing reads it (or a view of it) afterwards,
and, when the output must start before the input (kxk convolutions), the result is not (a view
of) a model output: the caller's output buffer has no room before it.

A result smaller than the input's storage is allowed only where the pass says so
(``may_shrink``: its kernel writes the result from the start of the input's bytes): the storage
then shrinks to the result after this step (the planner places it as an L-shaped pair of blocks,
see ``memory.liveness``), and the result must not be a model output (the caller's buffer is too
small for the input).
"""

from __future__ import annotations

import math
from typing import Callable

import tvm
from tvm import relax

from ..ir.graph import Layer
from ..ir.op import decode
from ..memory.liveness import analyze_lifetimes, input_lead


def dying_same_size_inputs(mod: tvm.IRModule, qualifies: Callable[[Layer], bool],
                           may_shrink: bool = False) -> set[str]:
    """Output names of the layers that pass ``qualifies`` and may overwrite their first operand
    (with ``may_shrink``, also when the result is smaller than the operand's storage)."""
    lifetimes = analyze_lifetimes(mod)
    storages = {s.name: s for s in lifetimes.storages}
    caller_owned = _views_of_outputs(lifetimes)
    # Values whose storage holds an overlapping (offset) pair: it cannot become a caller's buffer.
    offset_values = {value for s in storages.values() if s.offsets for value in s.values}
    alive = lifetimes.alive_bytes()
    chosen = set()
    # Largest bytes of the storage a value ends up in once the results chosen so far join it
    # (a chain of in-place layers makes one storage; the snapshot above predates the chain).
    group_bytes: dict[str, int] = {}
    for step, layer in enumerate(lifetimes.layers):
        if getattr(layer.record, "in_place", True) or not qualifies(layer):
            continue
        source = layer.call.args[0]
        if not isinstance(source, relax.Var) or source.name not in lifetimes.storage_of:
            continue
        storage = storages[lifetimes.storage_of[source.name]]
        size = group_bytes.get(source.name, storage.size)
        shrinks = layer.output_bytes < size
        if storage.external is not None or storage.last != step or (shrinks and not may_shrink):
            continue
        # A result reaching past the input's end moves the storage's values up by the difference
        # (int8 activations, as in input_lead).
        shift = layer.output_bytes - lifetimes.value_offset[source.name] - math.prod(layer.in_shapes[0])
        if shift > 0 and not _growth_pays(alive, storage.first, step, shift, layer.output_bytes):
            continue
        overlapping = bool(input_lead(layer)) or source.name in offset_values
        if (overlapping or shrinks) and layer.var.name in caller_owned:
            continue  # the caller's output buffer has no room for an overlapping pair or a larger input
        chosen.add(layer.var.name)
        group_bytes[layer.var.name] = max(size, layer.output_bytes)
        if overlapping:
            offset_values.update((source.name, layer.var.name))
    return chosen


def _growth_pays(alive: list[int], first: int, step: int, shift: int, output_bytes: int) -> bool:
    """An in-place result ending ``shift`` bytes past its input's end starts the storage: every
    value in it moves up by ``shift``, so the storage grows by ``shift`` bytes at each step of
    the input's lifetime, and at this step the result no longer needs bytes of its own. Worth it
    only if the peak over that span does not rise."""
    before = max(alive[first:step + 1])
    after = max([bytes_ + shift for bytes_ in alive[first:step]] + [alive[step] - output_bytes + shift])
    return after <= before


def _views_of_outputs(lifetimes) -> set[str]:
    """Model outputs and the values they are views of: they live in the caller's output buffers."""
    owned = set(lifetimes.outputs)
    for layer in reversed(lifetimes.layers):
        if layer.kernel == "reshape" and layer.var.name in owned and layer.activation_inputs:
            owned.add(layer.activation_inputs[0].name)
    return owned


def mark_in_place(mod: tvm.IRModule, chosen: set[str]) -> tvm.IRModule:
    """``mod`` with ``in_place=True`` on the records of the bindings named in ``chosen``."""
    if not chosen:
        return mod
    return rewrite_calls(mod, chosen, lambda call: decode(call).replace(in_place=True).call(list(call.args), call.ty))


def rewrite_calls(mod: tvm.IRModule, chosen: set[str], rewrite) -> tvm.IRModule:
    """``mod`` with ``rewrite(call)`` bound instead of the calls of the bindings named in ``chosen``."""
    func = mod["main"]
    blocks = []
    for block in func.body.blocks:
        bindings = [_rewrite(binding, chosen, rewrite) for binding in block.bindings]
        blocks.append(relax.DataflowBlock(bindings) if isinstance(block, relax.DataflowBlock)
                      else relax.BindingBlock(bindings))
    body = relax.SeqExpr(blocks, func.body.body)
    new_func = relax.BlockBuilder().normalize(
        relax.Function(func.params, body, func.ret_ty, func.is_pure, func.attrs, func.span))
    result = tvm.IRModule(dict(mod.functions))
    result.update_func(mod.get_global_var("main"), new_func)
    return result


def _rewrite(binding, chosen: set[str], rewrite):
    if binding.var.name not in chosen:
        return binding
    # Normalizing infers the new call's type (a bare relax.Call has none).
    return relax.VarBinding(binding.var, relax.BlockBuilder().normalize(rewrite(binding.value)))
