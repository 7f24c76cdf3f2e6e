"""Tutorial 3: where does the SRAM go? The exact memory report, with and without in-place depthwise.

Run:  .venv/bin/python tutorials/03_memory_report.py [OUTPUT_DIR]

``tinytvm.analyze`` runs exactly the memory decisions ``tinytvm.build`` makes (operator order,
in-place depthwise convolution, arena planning incl. kernel scratch) without generating C, so its
figures are the bytes the firmware reserves; it takes tens of milliseconds, cheap enough for a
NAS loop. Each optimization can be switched off to see what it buys.
"""

import sys
import tempfile
from pathlib import Path

import tinytvm

MODEL = Path(__file__).resolve().parents[2] / "shared" / "models" / "vww_mbv1_int8.tflite"


def main(out_dir: Path) -> None:
    mod = tinytvm.from_tflite(MODEL)
    with_in_place = tinytvm.analyze(mod, target="cortex-m7", board="stm32f746")
    without = tinytvm.analyze(mod, target="cortex-m7", board="stm32f746", in_place=False)
    print(with_in_place)
    print(f"\narena with in-place depthwise:    {with_in_place.arena_bytes:,} B")
    print(f"arena without in-place depthwise: {without.arena_bytes:,} B")
    print("TFLite Micro's activation arena for this model: 73,728 B")
    for name, report in (("in_place", with_in_place), ("no_in_place", without)):
        path = out_dir / f"vww_memory_{name}.png"
        report.plot(path)
        print(f"plot: {path}")
    assert with_in_place.arena_bytes <= without.arena_bytes
    assert with_in_place.arena_bytes == tinytvm.build(mod, target="cortex-m7", board="stm32f746").arena_bytes


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
