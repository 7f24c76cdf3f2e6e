"""A human-readable table of an integer-only module's layers."""

from __future__ import annotations

import dataclasses

import tvm
from tvm import relax

from .graph import layers, main_function, tensor_dtype, tensor_shape


@dataclasses.dataclass(frozen=True)
class ModuleSummary:
    rows: list[tuple[int, str, str, tuple[int, ...], int, int]]  # index, var, kernel, shape, MACs, weights
    inputs: list[tuple[str, tuple[int, ...], str]]
    outputs: int

    @property
    def total_macs(self) -> int:
        return sum(row[4] for row in self.rows)

    @property
    def weight_bytes(self) -> int:
        return sum(row[5] for row in self.rows)

    def kernel_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row[2]] = counts.get(row[2], 0) + 1
        return counts

    def __str__(self) -> str:
        lines = ["inputs: " + ", ".join(f"{n} {d}{list(s)}" for n, s, d in self.inputs),
                 f"{'#':>3}  {'kernel':<18} {'output':<36} {'shape':<20} {'MACs':>10} {'weights':>8}"]
        for index, var, kernel, shape, macs, weights in self.rows:
            lines.append(f"{index:>3}  {kernel:<18} {var[:36]:<36} {str(list(shape)):<20} {macs:>10,} {weights:>8,}")
        lines.append(f"{len(self.rows)} ops, {self.total_macs:,} MACs, {self.weight_bytes:,} bytes of constants, "
                     f"{self.outputs} output(s)")
        return "\n".join(lines)


def summarize(mod: tvm.IRModule, function: str = "main") -> ModuleSummary:
    func = main_function(mod, function)
    rows = [(i, layer.var.name, layer.kernel, layer.out_shape, layer.macs, layer.weight_bytes)
            for i, layer in enumerate(layers(mod, function))]
    inputs = [(p.name, tensor_shape(p.ty), tensor_dtype(p.ty)) for p in func.params]
    body = func.body.body
    outputs = len(body.ty.fields) if isinstance(body.ty, relax.TupleType) else 1
    return ModuleSummary(rows, inputs, outputs)
