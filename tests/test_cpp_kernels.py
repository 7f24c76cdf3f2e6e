"""The C kernel library's own unit tests (ctest): host, AddressSanitizer/UBSan, and QEMU Cortex-M7.

The top-level CMakeLists.txt builds src_cpp/ and registers its tests; the QEMU tests cross-compile
the same tests for Cortex-M7 (DSP and portable paths) and run them on the emulator.
"""

import os
import shutil
import subprocess
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]


def _ctest(build_dir: Path, *options: str) -> str:
    jobs = str(os.cpu_count() or 2)
    for command in (["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release", *options],
                    ["cmake", "--build", str(build_dir), "--parallel", jobs],
                    ["ctest", "--test-dir", str(build_dir), "--output-on-failure", "--parallel", jobs]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout[-5000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_ctest_host_and_qemu(tmp_path):
    assert shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm"), \
        "the ARM toolchain and QEMU are required (scripts/setup.sh installs them)"
    output = _ctest(tmp_path / "build")
    assert "100% tests passed" in output
    assert "qemu" in output  # the emulator tests ran, not only the host ones


def test_ctest_under_sanitizers(tmp_path):
    output = _ctest(tmp_path / "build", "-DTINYTVM_SANITIZE=ON", "-DTINYTVM_QEMU_TESTS=OFF")
    assert "100% tests passed" in output
