"""Bit-exactness of tinytvm's integer-only import against TFLite Micro on the MLPerf Tiny models.

Prints, per model: import time, number of ops, identical/total output elements over N seeded
random inputs (default 100). Exits non-zero if any element differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinytvm.verify import verify_against_tflm

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
NAMES = ["kws_dscnn_int8", "vww_mbv1_int8", "resnet8_int8", "ad01_int8"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{'model':<18} {'import ms':>9} {'ops':>4} {'identical/total':>20}")
    exact = True
    for name in NAMES:
        result = verify_against_tflm(MODELS / f"{name}.tflite", runs=args.runs, seed=args.seed)
        exact &= result.bit_exact
        print(f"{name:<18} {result.import_seconds * 1e3:>9.0f} {result.num_ops:>4} "
              f"{result.identical_elements:>9}/{result.total_elements:<10}")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
