"""Tutorial 2: compile an MLPerf Tiny model to C for a Cortex-M7 board and run it on QEMU.

Run:  .venv/bin/python tutorials/02_compile_and_run_on_cortex_m7.py

1. ``tinytvm.build`` turns the integer-only module into ahead-of-time C: ``model.h`` / ``model.c``
   call the int8 kernels of ``src_cpp/`` at fixed offsets of one static arena, weights are
   ``const`` arrays in flash. No interpreter, no heap.
2. ``artifact.export(dir)`` writes the sources, the kernel files the model needs and metadata.json.
3. ``artifact.run(inputs, runner="qemu")`` cross-compiles for the board (its real SRAM/flash limits
   in the linker script), runs on QEMU's Cortex-M7 and counts instructions deterministically.
"""

import json
import tempfile
from pathlib import Path

import numpy as np

import tinytvm

MODEL = Path(__file__).resolve().parents[2] / "shared" / "models" / "resnet8_int8.tflite"


def main() -> None:
    mod = tinytvm.from_tflite(MODEL)
    artifact = tinytvm.build(mod, target="cortex-m7", board="stm32f746", name="resnet8")
    print(f"arena: {artifact.arena_bytes:,} bytes (lower bound {artifact.plan.lower_bound:,}), "
          f"weights: {artifact.weight_bytes:,} bytes, {artifact.total_macs:,} MACs")

    with tempfile.TemporaryDirectory() as tmp:
        out = artifact.export(tmp)
        print("exported:", ", ".join(sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())[:6]), "...")
        header = (out / "model" / "resnet8.h").read_text()
        print("\n".join(line for line in header.splitlines() if "tinytvm_resnet8_run" in line))
        metadata = json.loads((out / "metadata.json").read_text())
    print(f"flash image for {metadata['board']}: {metadata['image']['flash']:,} bytes, "
          f".bss {metadata['image']['bss']:,} bytes")

    x = np.random.default_rng(0).integers(-128, 128, size=artifact.inputs[0].shape, dtype=np.int8)
    on_device = artifact.run([x], runner="qemu", profile=True)
    on_host = artifact.run([x], runner="host")
    reference = tinytvm.reference_run(mod, [x])
    print(f"QEMU output:  {on_device.outputs[0].reshape(-1)}")
    print(f"instructions: {on_device.instructions:,} ({on_device.instructions / artifact.total_macs:.2f} per MAC)")
    slowest = max(zip(on_device.layer_instructions, artifact.layers), key=lambda pair: pair[0])
    print(f"slowest layer: #{slowest[1].index} {slowest[1].kernel} with {slowest[0]:,} instructions")
    assert (on_device.outputs[0] == reference[0]).all() and (on_host.outputs[0] == reference[0]).all()
    print("QEMU, host and the reference executor agree bit for bit")


if __name__ == "__main__":
    main()
