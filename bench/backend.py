"""Backend figures per MLPerf Tiny model, side by side with TFLite Micro.

For each model: arena bytes, TFLM's arena (activation head) from ../shared/models/README.md,
flash bytes read from the linked Cortex-M7 ELF (text incl. rodata, + data), MACs, instructions
of one inference on QEMU Cortex-M7 (-icount, deterministic) and instructions per MAC.
Exits non-zero when instructions/MAC exceed --max-ipm on VWW or ResNet-8 (the issue's target: 2.0).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import tinytvm
from tinytvm.micro.runners import get_runner

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
#: TFLM arena total and its activation head (bytes), from ../shared/models/README.md.
TFLM = {"kws_dscnn_int8": (24272, 16000), "vww_mbv1_int8": (103672, 73728),
        "resnet8_int8": (55984, 49152), "ad01_int8": (4632, 768)}
GATED = ("vww_mbv1_int8", "resnet8_int8")


def measure(name: str, board: str) -> dict:
    mod = tinytvm.from_tflite(MODELS / f"{name}.tflite")
    artifact = tinytvm.build(mod, target="cortex-m7", board=board, name=name.split("_")[0])
    rng = np.random.default_rng(0)
    inputs = [rng.integers(-128, 128, size=io.shape, dtype=np.int8) for io in artifact.inputs]
    result = get_runner("qemu").run(artifact, inputs)
    expected = tinytvm.reference_run(mod, inputs)
    exact = all((a == b).all() for a, b in zip(result.outputs, expected))
    image = artifact.image
    return {"model": name, "arena": artifact.arena_bytes, "lower_bound": artifact.plan.lower_bound,
            "tflm_arena": TFLM[name][0], "tflm_head": TFLM[name][1], "flash": image.flash, "text": image.text,
            "weights": image.weights, "macs": artifact.total_macs, "instructions": result.instructions,
            "ipm": result.instructions / artifact.total_macs, "exact": exact}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--board", default="stm32f746")
    parser.add_argument("--max-ipm", type=float, default=2.0)
    args = parser.parse_args()
    header = (f"{'model':<16} {'arena':>8} {'TFLM head':>10} {'TFLM arena':>11} {'flash':>9} {'weights':>9} "
              f"{'MACs':>12} {'instructions':>13} {'instr/MAC':>9} {'exact':>6}")
    print(header)
    print("-" * len(header))
    failures = []
    for name in TFLM:
        row = measure(name, args.board)
        print(f"{name:<16} {row['arena']:>8,} {row['tflm_head']:>10,} {row['tflm_arena']:>11,} {row['flash']:>9,} "
              f"{row['weights']:>9,} {row['macs']:>12,} {row['instructions']:>13,} {row['ipm']:>9.2f} "
              f"{'yes' if row['exact'] else 'NO':>6}")
        if not row["exact"]:
            failures.append(f"{name}: QEMU output differs from the reference")
        if name in GATED and row["ipm"] > args.max_ipm:
            failures.append(f"{name}: {row['ipm']:.2f} instructions/MAC > {args.max_ipm}")
    print("\ninstructions are QEMU -icount instruction counts of one inference (not Cortex-M7 cycles)")
    for failure in failures:
        print(f"REGRESSION: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
