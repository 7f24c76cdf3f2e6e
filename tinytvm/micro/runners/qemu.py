"""QEMU runner: cross-compile for the artifact's Cortex-M target, run on mps2-an500.

``-icount shift=10,align=off,sleep=off`` makes QEMU's virtual clock advance exactly
1024 ns per instruction, so SysTick (25 MHz) counts instructions deterministically:
the same binary gives the same count on every run. This is an instruction count, not
Cortex-M7 cycles.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from ...errors import TinyTVMError
from .. import toolchain
from . import RunResult, normalize_inputs, split_outputs
from .harness import qemu_harness

QEMU_COMMAND = ("qemu-system-arm", "-machine", "mps2-an500", "-cpu", "cortex-m7", "-nographic",
                "-monitor", "none", "-semihosting-config", "enable=on,target=native",
                "-icount", "shift=10,align=off,sleep=off")


class QemuRunner:
    def run(self, artifact, inputs, profile: bool = False) -> RunResult:
        return self.run_many(artifact, [inputs], profile=profile)[0]

    def run_many(self, artifact, input_sets, profile: bool = False, timeout: float = 600) -> list[RunResult]:
        if not artifact.target.is_arm:
            raise TinyTVMError(f"the QEMU runner needs a Cortex-M build; '{artifact.name}' was built for "
                               f"{artifact.target.name} (use target='cortex-m7')")
        sets = [normalize_inputs(artifact, inputs) for inputs in input_sets]
        with tempfile.TemporaryDirectory(prefix="tinytvm-qemu-") as tmp:
            work = Path(tmp)
            elf = self.compile(artifact, sets, work, profile)
            command = [toolchain.require(QEMU_COMMAND[0]), *QEMU_COMMAND[1:], "-kernel", str(elf)]
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=work)
        if result.returncode != 0:
            raise TinyTVMError(f"'{artifact.name}' failed on QEMU (exit {result.returncode}):\n"
                               f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
        # Semihosting console output (SYS_WRITE0) arrives on QEMU's stderr.
        return parse_output(artifact, result.stderr, len(sets))

    def compile(self, artifact, sets, work: Path, profile: bool) -> Path:
        source_root = artifact.export(work / "src", sources_only=True)
        harness = work / "harness.c"
        harness.write_text(qemu_harness(artifact, sets, profile))
        sources = [harness, source_root / "model" / f"{artifact.name}.c", *artifact_kernel_sources(source_root)]
        include_dirs = [source_root / "model", source_root / "kernels" / "include", source_root / "kernels" / "src"]
        # The embedded test inputs are not part of the deployed image: grant them extra flash.
        input_bytes = sum(a.nbytes for inputs in sets for a in inputs)
        return toolchain.link_image(artifact, sources, include_dirs, work,
                                    flash_bytes=artifact.board.flash_bytes + input_bytes + 4096,
                                    sram_bytes=artifact.board.sram_bytes,
                                    defines=("-DTINYTVM_PROFILE",) if profile else ())


def artifact_kernel_sources(source_root: Path) -> list[Path]:
    return sorted((source_root / "kernels" / "src").glob("*.c"))


def parse_output(artifact, stdout: str, count: int) -> list[RunResult]:
    """Read the harness's lines: ``I n`` (instructions), ``L i n`` (per layer), ``O k bytes`` + hex."""
    results = []
    lines = iter(stdout.splitlines())
    instructions, layers, outputs = None, [], {}
    for line in lines:
        if line.startswith("I "):
            if instructions is not None:
                results.append(_result(artifact, instructions, layers, outputs))
                layers, outputs = [], {}
            instructions = int(line.split()[1])
        elif line.startswith("L "):
            layers.append(int(line.split()[2]))
        elif line.startswith("O "):
            _, index, size = line.split()
            hex_digits = []
            while sum(len(h) for h in hex_digits) < 2 * int(size):
                hex_digits.append(next(lines).strip())
            outputs[int(index)] = bytes.fromhex("".join(hex_digits))
    if instructions is not None:
        results.append(_result(artifact, instructions, layers, outputs))
    if len(results) != count:
        raise TinyTVMError(f"QEMU run of '{artifact.name}' produced {len(results)} results for {count} inputs:\n"
                           f"{stdout[-2000:]}")
    return results


def _result(artifact, instructions, layers, outputs) -> RunResult:
    raw = b"".join(outputs[k] for k in range(len(artifact.outputs)))
    per_layer = [b - a for a, b in zip([0, *layers[:-1]], layers)] if layers else None
    return RunResult(split_outputs(artifact, raw), instructions, per_layer)
