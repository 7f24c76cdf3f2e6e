"""``tinytvm.analyze``: the exact memory report of a model, without emitting or compiling C.

It runs the same memory passes, lowering and arena planning as ``tinytvm.build`` (one shared
function, :func:`tinytvm.codegen.build.plan_model`), so its figures are the bytes ``build``
reserves: the arena is the ``.bss`` array of the generated code, the I/O buffers are the
caller's. The NAS loop calls it thousands of times: nothing here touches a C compiler.
"""

from __future__ import annotations

import dataclasses
import json
import time

import tvm

from ..codegen.build import BuildOptions, plan_model
from ..codegen.code_size import CodeSize, estimate_code
from ..micro.targets import get_board, get_target
from .layer_memory import LayerMemory, memory_rows
from .patch_summary import PatchSummary


@dataclasses.dataclass(frozen=True)
class MemoryReport:
    board: str
    target: str
    arena_bytes: int
    lower_bound: int
    io_bytes: int
    weight_bytes: int
    code: CodeSize  # flash besides the constants: kernels, generated model code, runtime
    planner: str
    layers: tuple[LayerMemory, ...]
    #: arena buffer (storage, later block <storage>@<step> of a shrinking one, scratch) -> (offset, size, first, last)
    placements: dict[str, tuple[int, int, int, int]]
    seconds: float
    #: The patched stage, its grid and its extra MACs (None when the model runs per layer).
    patch: PatchSummary | None = None

    @property
    def peak_sram(self) -> int:
        """SRAM the deployed model needs: the arena (incl. scratch) plus the caller's I/O buffers."""
        return self.arena_bytes + self.io_bytes

    @property
    def code_bytes(self) -> int:
        return self.code.total

    @property
    def flash_bytes(self) -> int:
        """Flash of the image ``build`` links for the board (``Artifact.image.flash``): constants + code.

        Code from a per-target table (tinytvm.codegen.code_size), within a few hundred bytes of the ELF; on the
        host (no flash) the code counts 0, so this is the constants (weights, biases, requantization tables).
        """
        return self.weight_bytes + self.code_bytes

    @property
    def peak_layer(self) -> LayerMemory:
        return max(self.layers, key=lambda layer: layer.alive_bytes)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data.update(peak_sram=self.peak_sram, flash_bytes=self.flash_bytes, code_bytes=self.code_bytes,
                    peak_layer=self.peak_layer.index)
        return json.dumps(data, indent=2, sort_keys=True)

    def __str__(self) -> str:
        width = 40
        scale = max((layer.alive_bytes for layer in self.layers), default=1) or 1
        lines = [f"memory report ({self.target}, board {self.board}, planner {self.planner}, "
                 f"{self.seconds * 1e3:.1f} ms)",
                 f"  peak SRAM  {self.peak_sram:>10,} B = arena {self.arena_bytes:,} + I/O buffers {self.io_bytes:,}",
                 f"  arena      {self.arena_bytes:>10,} B (lower bound {self.lower_bound:,}, gap "
                 f"{self.arena_bytes - self.lower_bound:,})",
                 (f"  flash      {self.flash_bytes:>10,} B = constants {self.weight_bytes:,} + code "
                  f"{self.code_bytes:,} (kernels {self.code.kernel_bytes:,}, model {self.code.model:,}, runtime "
                  f"{self.code.runtime:,})"),
                 *([f"  {self.patch.describe()}"] if self.patch else []), "",
                 f"{'#':>3} {'kernel':<17} {'output shape':<18} {'MACs':>11} {'alive B':>9}  timeline"]
        peak = self.peak_layer
        for layer in self.layers:
            bar = "#" * max(1, round(width * layer.alive_bytes / scale))
            marker = "  <- peak" if layer is peak else ""
            kernel = f"| {layer.kernel if layer.tile_step == 'compute' else layer.tile_step}" if layer.tile_step \
                else layer.kernel  # "|": a step of the patch loop
            lines.append(f"{layer.index:>3} {kernel:<17} {str(list(layer.out_shape)):<18} {layer.macs:>11,} "
                         f"{layer.alive_bytes:>9,}  {bar}{marker}")
        lines.append(f"alive at the peak (layer {peak.index}): {', '.join(peak.alive)}")
        return "\n".join(lines)

    def plot(self, path) -> None:
        """Memory over layers, and lifetime x address of the arena (matplotlib)."""
        from .plots import plot_report
        plot_report(self, path)


def analyze(mod: tvm.IRModule, target: str = "cortex-m7", board: str | None = None, **options) -> MemoryReport:
    """The exact memory figures ``tinytvm.build(mod, target, board, **options)`` would produce."""
    start = time.perf_counter()
    get_target(target)
    board_info = get_board(board, target)
    compiled = plan_model(mod, BuildOptions(**options))
    plan = compiled.plan
    layers = memory_rows(compiled)
    placements = {b.name: (plan.offset(b.name), b.size, b.first, b.last) for b in plan.buffers}
    io_bytes = sum(io.nbytes for io in compiled.inputs) + sum(io.nbytes for io in compiled.outputs)
    return MemoryReport(board_info.name, target, plan.size, plan.lower_bound, io_bytes,
                        sum(low.constant_bytes for low in compiled.lowered), estimate_code(target, compiled),
                        plan.planner, tuple(layers),
                        placements, time.perf_counter() - start, PatchSummary.of(compiled))
