"""Shared machinery of the in-place passes: which layers may overwrite their input, and the rewrite.

A layer may write its result over its activation input when that input lives in the arena (not
in the caller's input buffer, not a model output), nothing reads it (or a view of it) afterwards,
and the result has the input's size: the planner places a shared storage as one block, so a
smaller result would keep the larger input block alive for longer.
"""

from __future__ import annotations

from typing import Callable

import tvm
from tvm import relax

from ..ir.graph import Layer, layers
from ..ir.op import decode
from ..memory.liveness import analyze_lifetimes


def dying_same_size_inputs(mod: tvm.IRModule, qualifies: Callable[[Layer], bool]) -> set[str]:
    """Output names of the layers that pass ``qualifies`` and may overwrite their first operand."""
    lifetimes = analyze_lifetimes(mod)
    storages = {s.name: s for s in lifetimes.storages}
    chosen = set()
    for step, layer in enumerate(layers(mod)):
        if getattr(layer.record, "in_place", True) or not qualifies(layer):
            continue
        source = layer.call.args[0]
        if not isinstance(source, relax.Var) or source.name not in lifetimes.storage_of:
            continue
        storage = storages[lifetimes.storage_of[source.name]]
        if storage.external is None and storage.last == step and layer.output_bytes == storage.size:
            chosen.add(layer.var.name)
    return chosen


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
