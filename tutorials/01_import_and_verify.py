"""Tutorial 1: import an MLPerf Tiny model and check it against TFLite Micro, bit for bit.

Run:  .venv/bin/python tutorials/01_import_and_verify.py [MODEL.tflite]

1. ``tinytvm.from_tflite`` turns a full-integer TFLite model into a TVM Relax module in which every
   operator is an integer kernel call with explicit quantization parameters.
2. ``tinytvm.reference_run`` executes that module on the host with numpy kernels that reproduce
   TFLite Micro's reference kernels exactly.
3. ``compare_with_tflm`` runs both side by side and reports, layer by layer, where they differ.
"""

import sys
from pathlib import Path

import numpy as np

import tinytvm
from tinytvm.analysis import compare_with_tflm
from tinytvm.ir.summary import summarize
from tinytvm.verify import tflm_interpreter, tflm_run

MODEL = Path(__file__).resolve().parents[2] / "shared" / "models" / "resnet8_int8.tflite"


def main(model_path: Path) -> None:
    # 1. Import. The module is an ordinary tvm.IRModule: print it with mod.script() if you like.
    mod = tinytvm.from_tflite(model_path)
    print(summarize(mod))

    # 2. Run one seeded random input through tinytvm and through TFLite Micro.
    summary = summarize(mod)
    (name, shape, dtype), = summary.inputs
    x = np.random.default_rng(0).integers(-128, 128, size=shape, dtype=np.int8)
    (ours,) = tinytvm.reference_run(mod, [x])
    (theirs,) = tflm_run(tflm_interpreter(model_path.read_bytes()), [x], num_outputs=1)
    identical = int((ours == theirs.reshape(ours.shape)).sum())
    print(f"\noutput: {ours.reshape(-1)[:10]} ...")
    print(f"identical to TFLite Micro: {identical}/{ours.size} elements")

    # 3. Layer by layer: where would a mismatch start?
    comparison = compare_with_tflm(model_path, [x])
    print()
    print(comparison)
    assert comparison.identical and identical == ours.size


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else MODEL)
