"""PatchBasedInference: run the first, high-resolution stage of a CNN patch by patch (MCUNetV2).

The first ``split`` operators of ``main`` move into a private Relax function (the *stage*)
carrying ``tinytvm.patch_grid = [rows, cols]``; ``main`` calls it where they were. The stage
function still computes the whole tensor, so the module means what it meant before; the
attribute tells the backend and the reference executor to compute the stage's output one
grid patch at a time, each from its receptive field (:mod:`tinytvm.analysis.receptive_field`),
so that only one patch's intermediates are alive. Later operators run per layer as before.

Assumes: tinytvm's integer-only form (``main`` with its operators as the leading bindings of
its first block, static NHWC shapes, batch 1), in the execution order the earlier passes chose
(run after MemoryAwareSchedule, before the in-place passes, which leave the stage call alone).

Guarantees: the stage is legal - every operator in it is spatial (:data:`PATCHABLE`), it reads
one tensor from outside (a model input) and exactly one of its values is used after it (the
stage output) - or the pass raises :class:`~tinytvm.errors.TinyTVMError` naming the operator
and the reason. The operators, their records and constants are unchanged; outputs are
bit-exact with per-layer execution (padding appears only at the image border).
"""

from __future__ import annotations

import tvm
from tvm import relax

from ..analysis.receptive_field import check_patchable, stage_patches
from ..errors import TinyTVMError
from ..ir.graph import Layer, layers, main_function
from ..ir.patch_stage import PATCH_GRID_ATTR

STAGE_FUNCTION = "main_patch_stage"


@tvm.transform.module_pass(opt_level=0, name="tinytvm.PatchBasedInference")
class PatchBasedInference:
    """Move ``main``'s first ``split`` operators into a stage run on a ``grid`` of output patches."""

    def __init__(self, split: int, grid: tuple[int, int]):
        self.split = int(split)
        self.grid = (int(grid[0]), int(grid[1]))

    def transform_module(self, mod: tvm.IRModule, ctx: tvm.transform.PassContext) -> tvm.IRModule:
        problem = split_problem(mod, self.split)
        if problem:
            raise TinyTVMError(f"cannot run the first {self.split} operators patch by patch: {problem}")
        return _split(mod, self.split, self.grid)


def split_problem(mod: tvm.IRModule, split: int, layer_list: list[Layer] | None = None) -> str | None:
    """Why the first ``split`` operators of ``main`` cannot form a patched stage (None if they can)."""
    func = main_function(mod)
    layer_list = layers(mod) if layer_list is None else layer_list
    if not 1 <= split <= len(layer_list):
        return f"split must be between 1 and {len(layer_list)} (the number of operators)"
    stage = layer_list[:split]
    for index, layer in enumerate(stage):
        reason = check_patchable(layer)
        if reason:
            return f"operator {index} ({layer.kernel} -> {layer.var.name}): {reason}"
    leading = list(func.body.blocks[0].bindings[:split])
    if [b.var.name for b in leading] != [layer.var.name for layer in stage]:
        return "the stage's operators are not the leading bindings of main's first block"
    outside = set(_read_from_outside(stage))
    params = {p.name for p in func.params}
    if len(outside) != 1 or not outside <= params:
        return f"the stage must read exactly one model input, it reads {sorted(outside)}"
    escaping = _escaping(func, split, {layer.var.name for layer in stage})
    if len(escaping) != 1:
        return f"exactly one stage value may be used after the stage, found {sorted(escaping) or 'none'}"
    (output,) = (layer for layer in stage if layer.var.name in escaping)
    if output.out_shape[1] * output.out_shape[2] < 2:
        return f"the stage output ({output.var.name}) has a single pixel: there is nothing to split"
    return None


def split_candidates(mod: tvm.IRModule) -> list[int]:
    """Every ``split`` for which :func:`split_problem` finds nothing."""
    layer_list = layers(mod)
    candidates = []
    for split in range(1, len(layer_list) + 1):
        if check_patchable(layer_list[split - 1]):
            break  # every longer stage contains this operator too
        if split_problem(mod, split, layer_list) is None:
            candidates.append(split)
    return candidates


def stage_boundary(mod: tvm.IRModule, split: int, layer_list: list[Layer] | None = None) -> tuple[relax.Var, Layer]:
    """The model input a legal stage of ``split`` operators reads, and the layer whose value leaves it."""
    stage = (layers(mod) if layer_list is None else layer_list)[:split]
    (source,) = _read_from_outside(stage).values()
    (name,) = _escaping(main_function(mod), split, {layer.var.name for layer in stage})
    return source, next(layer for layer in stage if layer.var.name == name)


def _read_from_outside(stage: list[Layer]) -> dict[str, relax.Var]:
    produced = {layer.var.name for layer in stage}
    return {arg.name: arg for layer in stage for arg in layer.activation_inputs if arg.name not in produced}


def _escaping(func: relax.Function, split: int, produced: set[str]) -> set[str]:
    used_after = set()
    bindings = [b for block in func.body.blocks for b in block.bindings][split:]
    for expr in [b.value for b in bindings] + [func.body.body]:
        used_after |= {name for name in _var_names(expr) if name in produced}
    return used_after


def _var_names(expr) -> set[str]:
    if isinstance(expr, relax.Var):
        return {expr.name}
    if isinstance(expr, relax.Call):
        return set().union(*(_var_names(a) for a in expr.args)) if expr.args else set()
    if isinstance(expr, relax.Tuple):
        return set().union(*(_var_names(f) for f in expr.fields)) if expr.fields else set()
    if isinstance(expr, relax.TupleGetItem):
        return _var_names(expr.tuple_value)
    return set()


def _split(mod: tvm.IRModule, split: int, grid: tuple[int, int]) -> tvm.IRModule:
    func = main_function(mod)
    stage = layers(mod)[:split]
    source, output = stage_boundary(mod, split, stage)
    stage_patches(stage, source.name, output.var.name, grid)  # raises if the grid does not fit

    renamed: dict[str, relax.Var] = {source.name: relax.Var(source.name, source.ty)}
    bindings = []
    for layer in stage:
        args = [renamed[a.name] if isinstance(a, relax.Var) else a for a in layer.call.args]
        var = relax.Var(layer.var.name, layer.var.ty)
        renamed[layer.var.name] = var
        bindings.append(relax.VarBinding(var, relax.Call(layer.call.op, args, layer.call.attrs,
                                                         layer.call.ty_args)))
    body = relax.SeqExpr([relax.BindingBlock(bindings)], renamed[output.var.name])
    stage_func = relax.Function([renamed[source.name]], body, output.var.ty, True)
    stage_func = stage_func.with_attr(PATCH_GRID_ATTR, list(grid))

    builder = relax.BlockBuilder(mod)
    stage_gv = builder.add_func(builder.normalize(stage_func), STAGE_FUNCTION)
    call = builder.normalize(relax.Call(stage_gv, [source]))
    first, *rest = func.body.blocks
    block_type = relax.DataflowBlock if isinstance(first, relax.DataflowBlock) else relax.BindingBlock
    new_first = block_type([relax.VarBinding(output.var, call), *first.bindings[split:]])
    new_main = relax.Function(func.params, relax.SeqExpr([new_first, *rest], func.body.body), func.ret_ty,
                              func.is_pure, func.attrs, func.span)
    result = builder.get()
    result.update_func(result.get_global_var("main"), relax.BlockBuilder().normalize(new_main))
    return result
