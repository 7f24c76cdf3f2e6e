"""Arena bytes per MLPerf Tiny model with each memory technique switched on in turn.

Columns: TFLM-style greedy planner alone (baseline), + optimal planning (heuristics + CP-SAT),
+ memory-aware operator order, + in-place depthwise (the default build), the lower bound of the
default build, TFLM's activation head and per-operator bound (../shared/models/README.md), and the
median time of one `tinytvm.analyze` in a warm process. Exits non-zero if the default build's arena
is above TFLM's activation head on any model (use --no-gate to only print).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import tinytvm

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
#: TFLM activation head and per-operator bound (bytes), from ../shared/models/README.md.
PEERS = {"kws_dscnn_int8": (16000, 16000), "vww_mbv1_int8": (73728, 55296),
         "resnet8_int8": (49152, 49152), "ad01_int8": (768, 768)}
STEPS = [
    ("baseline", dict(planner="greedy_by_size", schedule=False, in_place=False)),
    ("+optimal", dict(schedule=False, in_place=False)),
    ("+reorder", dict(in_place=False)),
    ("+in-place", dict()),
]


def median_seconds(mod, repeats: int = 15) -> float:
    tinytvm.analyze(mod)  # warm caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        tinytvm.analyze(mod)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-gate", action="store_true")
    args = parser.parse_args()
    header = (f"{'model':<16}" + "".join(f" {name:>10}" for name, _ in STEPS)
              + f" {'bound':>8} {'TFLM head':>10} {'per-op':>8} {'analyze':>9}")
    print(header)
    failures = []
    for name, (head, per_op) in PEERS.items():
        mod = tinytvm.from_tflite(MODELS / f"{name}.tflite")
        reports = [tinytvm.analyze(mod, **options) for _, options in STEPS]
        seconds = median_seconds(mod)
        print(f"{name:<16}" + "".join(f" {r.arena_bytes:>10,}" for r in reports)
              + f" {reports[-1].lower_bound:>8,} {head:>10,} {per_op:>8,} {seconds * 1e3:>7.1f}ms")
        if reports[-1].arena_bytes > head:
            failures.append(f"{name}: arena {reports[-1].arena_bytes:,} > TFLM head {head:,}")
    for failure in failures:
        print(f"ABOVE TARGET: {failure}")
    return 1 if failures and not args.no_gate else 0


if __name__ == "__main__":
    sys.exit(main())
