"""Bit-exactness of tinytvm against TFLite Micro on the MLPerf Tiny models.

Per model: import time, number of ops, identical/total output elements over N seeded random inputs
for the reference executor (default 100 inputs) and, with --runners, for the compiled C on the host
and on QEMU Cortex-M7 (default 20 inputs). Exits non-zero if any element differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import tinytvm
from tinytvm.frontend.tflite import import_tflite
from tinytvm.ir.graph import layers
from tinytvm.micro.runners import get_runner
from tinytvm.verify import count_identical, random_inputs, tflm_interpreter, tflm_run

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
NAMES = ["kws_dscnn_int8", "vww_mbv1_int8", "resnet8_int8", "ad01_int8"]


def verify_model(name: str, runs: int, backend_runs: int, runners: list[str], seed: int) -> tuple[list[str], bool]:
    raw = (MODELS / f"{name}.tflite").read_bytes()
    start = time.perf_counter()
    imported = import_tflite(raw)
    import_ms = (time.perf_counter() - start) * 1e3
    graph = imported.graph
    signature = [(graph.tensors[i].shape, str(graph.tensors[i].dtype)) for i in graph.inputs]
    rng = np.random.default_rng(seed)
    sets = [random_inputs(signature, rng) for _ in range(runs)]
    interpreter = tflm_interpreter(raw)
    expected = [tflm_run(interpreter, inputs, len(graph.outputs)) for inputs in sets]
    ours = [tinytvm.reference_run(imported.module, inputs) for inputs in sets]
    identical, total = count_identical(ours, expected)
    cells = [f"{import_ms:>9.0f}", f"{len(layers(imported.module)):>4}", f"{identical:>8}/{total:<8}"]
    exact = identical == total
    if runners:
        artifact = tinytvm.build(imported.module, target="cortex-m7", name=name.split("_")[0])
        for runner in runners:
            results = get_runner(runner).run_many(artifact, sets[:backend_runs])
            identical, total = count_identical([r.outputs for r in results], expected[:backend_runs])
            cells.append(f"{identical:>8}/{total:<8}")
            exact &= identical == total
    return cells, exact


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100, help="inputs for the reference executor")
    parser.add_argument("--backend-runs", type=int, default=20, help="inputs for each compiled runner")
    parser.add_argument("--runners", default="host,qemu", help="comma-separated runners, or '' for none")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    runners = [r for r in args.runners.split(",") if r]
    header = f"{'model':<16} {'import ms':>9} {'ops':>4} {'reference':>17}" + "".join(f" {r:>17}" for r in runners)
    print(header)
    exact = True
    for name in NAMES:
        cells, model_exact = verify_model(name, args.runs, args.backend_runs, runners, args.seed)
        exact &= model_exact
        print(f"{name:<16} " + " ".join(cells))
    print(f"(identical/total output elements vs TFLite Micro; reference: {args.runs} inputs, "
          f"runners: {args.backend_runs} inputs per model)")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
