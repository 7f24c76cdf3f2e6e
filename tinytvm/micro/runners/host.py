"""Host runner: compile the artifact with the host C compiler and run it as a process.

The harness reads all input sets from one file and writes all outputs to another, so
many inferences cost one compile and one process start. The ``sanitize`` variant builds
with AddressSanitizer and UndefinedBehaviorSanitizer and fails on any report.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ...errors import TinyTVMError
from . import RunResult, normalize_inputs, split_outputs
from .harness import host_harness

WARNINGS = ("-Wall", "-Wextra", "-Werror")
SANITIZERS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")


class HostRunner:
    def __init__(self, sanitize: bool = False, compiler: str = "gcc"):
        self.sanitize = sanitize
        self.compiler = compiler

    def run(self, artifact, inputs) -> RunResult:
        return self.run_many(artifact, [inputs])[0]

    def run_many(self, artifact, input_sets) -> list[RunResult]:
        sets = [normalize_inputs(artifact, inputs) for inputs in input_sets]
        with tempfile.TemporaryDirectory(prefix="tinytvm-host-") as tmp:
            work = Path(tmp)
            executable = self.compile(artifact, work)
            (work / "inputs.bin").write_bytes(b"".join(a.tobytes() for inputs in sets for a in inputs))
            command = [str(executable), str(work / "inputs.bin"), str(work / "outputs.bin"), str(len(sets))]
            result = subprocess.run(command, capture_output=True, text=True, timeout=600)
            if result.returncode != 0:
                raise TinyTVMError(f"the host build of '{artifact.name}' failed at run time (exit "
                                   f"{result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-4000:]}")
            raw = (work / "outputs.bin").read_bytes()
        per_set = sum(io.nbytes for io in artifact.outputs)
        return [RunResult(split_outputs(artifact, raw[k * per_set:(k + 1) * per_set])) for k in range(len(sets))]

    def compile(self, artifact, work: Path) -> Path:
        if shutil.which(self.compiler) is None:
            raise TinyTVMError(f"the host runner needs a C compiler ('{self.compiler}' not found)")
        source_root = artifact.export(work / "src", sources_only=True)
        (work / "harness.c").write_text(host_harness(artifact))
        sources = [work / "harness.c", source_root / "model" / f"{artifact.name}.c",
                   *sorted((source_root / "kernels" / "src").glob("*.c"))]
        executable = work / "model"
        command = [self.compiler, "-std=c99", "-O2", *WARNINGS, "-DTINYTVM_CHECK_SCRATCH", *(SANITIZERS if self.sanitize else ()),
                   f"-I{source_root / 'model'}", f"-I{source_root / 'kernels' / 'include'}",
                   f"-I{source_root / 'kernels' / 'src'}", *map(str, sources), "-o", str(executable), "-lm"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise TinyTVMError(f"compiling '{artifact.name}' for the host failed:\n{result.stderr[-6000:]}")
        return executable
