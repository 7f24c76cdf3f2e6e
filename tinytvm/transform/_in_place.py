"""Shared machinery of the in-place passes: which layers may overwrite their input, and the rewrite.

A layer may write its result over its activation input when that input lives in the arena (not
in the caller's input buffer, not a model output), nothing reads it (or a view of it) afterwards,
the result is not smaller than the input's storage (the planner places a shared storage as one
block, so a smaller result would keep the larger block alive for longer), and, when the output must start before
the input (kxk convolutions), the result is not (a view of) a model output: the caller's output
buffer has no room before it.
"""

from __future__ import annotations

from typing import Callable

import tvm
from tvm import relax

from ..ir.graph import Layer
from ..ir.op import decode
from ..memory.liveness import analyze_lifetimes, input_lead


def dying_same_size_inputs(mod: tvm.IRModule, qualifies: Callable[[Layer], bool]) -> set[str]:
    """Output names of the layers that pass ``qualifies`` and may overwrite their first operand."""
    lifetimes = analyze_lifetimes(mod)
    storages = {s.name: s for s in lifetimes.storages}
    caller_owned = _views_of_outputs(lifetimes)
    # Values whose storage holds an overlapping (offset) pair: it cannot become a caller's buffer.
    offset_values = {value for s in storages.values() if s.offsets for value in s.values}
    alive = _alive_bytes(lifetimes)
    chosen = set()
    for step, layer in enumerate(lifetimes.layers):
        if getattr(layer.record, "in_place", True) or not qualifies(layer):
            continue
        source = layer.call.args[0]
        if not isinstance(source, relax.Var) or source.name not in lifetimes.storage_of:
            continue
        storage = storages[lifetimes.storage_of[source.name]]
        if storage.external is not None or storage.last != step or layer.output_bytes < storage.size:
            continue
        growth = layer.output_bytes - storage.size
        if growth and not _growth_pays(alive, storage.first, step, growth, storage.size):
            continue
        overlapping = bool(input_lead(layer)) or source.name in offset_values
        if overlapping and layer.var.name in caller_owned:
            continue  # the caller's output buffer has no room for an overlapping pair
        chosen.add(layer.var.name)
        if overlapping:
            offset_values.update((source.name, layer.var.name))
    return chosen


def _alive_bytes(lifetimes) -> list[int]:
    """Arena bytes alive at each step (storages only; kernel scratch is not known here)."""
    alive = [0] * (len(lifetimes.layers) + 1)
    for storage in lifetimes.arena_storages:
        for step in range(storage.first, min(storage.last, len(lifetimes.layers)) + 1):
            alive[step] += storage.size
    return alive


def _growth_pays(alive: list[int], first: int, step: int, growth: int, input_bytes: int) -> bool:
    """A larger in-place result makes its storage larger over the input's whole lifetime (the
    planner places one block): worth it only if the peak over that span does not rise."""
    before = max(alive[first:step + 1])
    after = max([bytes_ + growth for bytes_ in alive[first:step]] + [alive[step] - input_bytes])
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
    func = mod["main"]
    blocks = []
    for block in func.body.blocks:
        bindings = [_rewrite(binding, chosen) for binding in block.bindings]
        blocks.append(relax.DataflowBlock(bindings) if isinstance(block, relax.DataflowBlock)
                      else relax.BindingBlock(bindings))
    body = relax.SeqExpr(blocks, func.body.body)
    new_func = relax.BlockBuilder().normalize(
        relax.Function(func.params, body, func.ret_ty, func.is_pure, func.attrs, func.span))
    result = tvm.IRModule(dict(mod.functions))
    result.update_func(mod.get_global_var("main"), new_func)
    return result


def _rewrite(binding, chosen: set[str]):
    if binding.var.name not in chosen:
        return binding
    call = binding.value
    record = decode(call).replace(in_place=True)
    # Normalizing infers the new call's type (a bare relax.Call has none).
    return relax.VarBinding(binding.var, relax.BlockBuilder().normalize(record.call(list(call.args), call.ty)))
