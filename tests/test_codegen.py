"""The generated C and the artifact around it: reproducibility, the model header, which kernel sources are
exported, naming and board-limit errors, the Cortex-M4 target, warning-free compiles (gcc and
arm-none-eabi-gcc with -Wall -Wextra -Werror) and the scratch-size check of host test builds.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tinytvm
from tinytvm.micro.toolchain import STACK_BYTES
import tinytvm.micro.runners  # noqa: F401  (get_runner)
from oracle import random_inputs, tflm_run, tflm_run_many
from tflite_builder import ModelBuilder
from tinytvm.errors import ResourceLimitError, TinyTVMError
from tinytvm.micro import targets
from tinytvm.micro.runners import get_runner
from tinytvm.micro.runners.qemu import QemuRunner

MODELS_DIR = Path(__file__).resolve().parents[2] / "shared" / "models"
MODELS = {"kws_dscnn_int8": "kws", "vww_mbv1_int8": "vww", "resnet8_int8": "resnet8", "ad01_int8": "ad01"}


def path(stem: str) -> Path:
    p = MODELS_DIR / f"{stem}.tflite"
    if not p.is_file():
        pytest.fail(f"shared model {p} is missing")
    return p


@functools.cache
def module(stem: str):
    return tinytvm.from_tflite(path(stem))


@functools.cache
def artifact(stem: str, target: str = "cortex-m7", board: str = "stm32f746") -> tinytvm.Artifact:
    return tinytvm.build(module(stem), target=target, board=board, name=MODELS[stem])


def with_source(art: tinytvm.Artifact, source: str) -> tinytvm.Artifact:
    """The artifact with its model.c replaced (to prove what the compilers and checks catch)."""
    return dataclasses.replace(art, generated=dataclasses.replace(art.generated, source=source))


@pytest.fixture
def compile_commands(monkeypatch):
    """Every subprocess command line run while the test runs (compilers, QEMU)."""
    seen: list[list[str]] = []
    original = subprocess.run

    def spy(command, *args, **kwargs):
        seen.append([str(c) for c in command])
        return original(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    return seen


def compiler_runs(commands, compiler: str) -> list[list[str]]:
    """Compile commands of ``compiler`` that build the model (not the linker-script preprocessing)."""
    return [c for c in commands if Path(c[0]).name == compiler and "-E" not in c]


# ------------------------------------------------------------------------------------------------
# Reproducibility
# ------------------------------------------------------------------------------------------------
def test_same_module_built_twice_gives_identical_files(tmp_path):
    stem = "kws_dscnn_int8"
    first = tinytvm.build(tinytvm.from_tflite(path(stem)), target="cortex-m7", board="stm32f746", name="kws")
    second = tinytvm.build(tinytvm.from_tflite(path(stem)), target="cortex-m7", board="stm32f746", name="kws")
    files_a, files_b = first.files(), second.files()  # incl. metadata.json with the linked image's sizes
    assert sorted(files_a) == sorted(files_b)
    for name in files_a:
        assert files_a[name] == files_b[name], f"{name} differs between two builds"
    assert first.files() == files_a  # and between two calls
    a, b = first.export(tmp_path / "a"), second.export(tmp_path / "b")
    listing = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert listing == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file()) == sorted(files_a)
    for name in listing:
        assert (a / name).read_bytes() == (b / name).read_bytes() == files_a[name]
    # Nothing machine- or time-specific leaks into the sources.
    for name, content in files_a.items():
        text = content.decode()
        assert str(tmp_path) not in text and "/tmp/" not in text, name


# ------------------------------------------------------------------------------------------------
# model.h
# ------------------------------------------------------------------------------------------------
def c_float(value: float) -> str:
    return f"{np.float32(value)!r}"


@pytest.mark.parametrize("stem", ["kws_dscnn_int8", "ad01_int8"])
def test_model_header(stem, tmp_path):
    art = artifact(stem)
    name, prefix = art.name, f"TINYTVM_{art.name.upper()}"
    header = art.source_files()[f"model/{name}.h"].decode()
    assert f"int tinytvm_{name}_run(const int8_t* input0, int8_t* output0);" in header
    assert f"#define {prefix}_ARENA_BYTES {art.arena_bytes}\n" in header
    assert f"#define {prefix}_NUM_INPUTS 1\n" in header and f"#define {prefix}_NUM_OUTPUTS 1\n" in header
    for kind, tensors in (("INPUT", art.inputs), ("OUTPUT", art.outputs)):
        for k, io in enumerate(tensors):
            tag = f"{prefix}_{kind}{k}"
            assert f"#define {tag}_SHAPE {{{', '.join(map(str, io.shape))}}}\n" in header
            assert f"#define {tag}_RANK {len(io.shape)}\n" in header
            assert f"#define {tag}_BYTES {int(np.prod(io.shape))}\n" in header
            assert f"#define {tag}_ZERO_POINT {io.zero_point}\n" in header
            assert re.search(rf"#define {tag}_SCALE \S+f\n", header)
    # The defines are valid C with the right values: compile and run a program that prints them,
    # as C and as C++ (extern "C" guard).
    art.export(tmp_path, sources_only=True)
    program = tmp_path / "probe.c"
    program.write_text("\n".join([
        "#include <stdio.h>", f'#include "{name}.h"',
        f"static const int shape[] = {prefix}_INPUT0_SHAPE;",
        f"int (*const run)(const int8_t*, int8_t*) = tinytvm_{name}_run;",
        "int main(void) {",
        f'  printf("%d %d %d %.9g %d %.9g %d\\n", {prefix}_ARENA_BYTES, {prefix}_INPUT0_ELEMENTS,'
        f" shape[{len(art.inputs[0].shape) - 1}], (double){prefix}_INPUT0_SCALE, {prefix}_INPUT0_ZERO_POINT,"
        f" (double){prefix}_OUTPUT0_SCALE, {prefix}_OUTPUT0_ZERO_POINT);",
        "  (void)run;", "  return 0;", "}", ""]))
    for compiler, extra in (("gcc", ["-std=c99"]), ("g++", ["-x", "c++", "-std=c++11"])):
        exe = tmp_path / f"probe_{compiler}"
        result = subprocess.run([compiler, *extra, "-Wall", "-Wextra", "-Werror", "-c", str(program),
                                 f"-I{tmp_path / 'model'}", "-o", str(exe) + ".o"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    # Link with the model to read the values back.
    sources = [program, tmp_path / "model" / f"{name}.c", *sorted((tmp_path / "kernels" / "src").glob("*.c"))]
    exe = tmp_path / "probe"
    result = subprocess.run(["gcc", "-std=c99", "-O1", *(f"-I{tmp_path / d}" for d in ("model", "kernels/include",
                             "kernels/src")), *map(str, sources), "-o", str(exe), "-lm"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    values = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    io_in, io_out = art.inputs[0], art.outputs[0]
    assert int(values[0]) == art.arena_bytes
    assert int(values[1]) == int(np.prod(io_in.shape)) and int(values[2]) == io_in.shape[-1]
    assert np.float32(float(values[3])) == np.float32(io_in.scale) and int(values[4]) == io_in.zero_point
    assert np.float32(float(values[5])) == np.float32(io_out.scale) and int(values[6]) == io_out.zero_point


def test_header_of_a_model_with_float_and_several_io():
    b = ModelBuilder()
    q = b.quantized_input("x", (1, 4, 4, 2), 0.1, 2)
    y = b.input("y", (1, 4, 4, 2), scale=0.1, zero_point=2)
    b.dequantized_output(b.add(q, y), name="sum")
    b.output(b.max_pool2d(y, 2, 2))
    art = tinytvm.build(tinytvm.from_tflite(b.build()), target="cortex-m7", name="mixed")
    header = art.source_files()["model/mixed.h"].decode()
    assert ("int tinytvm_mixed_run(const float* input0, const int8_t* input1, float* output0, int8_t* output1);"
            in header)
    assert "#define TINYTVM_MIXED_INPUT0_BYTES 128\n" in header  # 32 floats
    assert "#define TINYTVM_MIXED_NUM_OUTPUTS 2\n" in header


# ------------------------------------------------------------------------------------------------
# Exported kernel sources
# ------------------------------------------------------------------------------------------------
EXPECTED_SOURCES = {
    "ad01_int8": {"fully_connected.c", "gemm_s16.c", "requant.c"},
    "kws_dscnn_int8": {"conv2d.c", "conv2d_im2col.c", "conv2d_pointwise.c", "gemm_s16.c", "requant.c",
                       "depthwise_conv2d.c", "pooling.c", "fully_connected.c", "softmax.c"},
    "resnet8_int8": {"conv2d.c", "conv2d_im2col.c", "conv2d_pointwise.c", "gemm_s16.c", "requant.c",
                     "elementwise.c", "pooling.c", "fully_connected.c", "softmax.c"},
}


@pytest.mark.parametrize("stem", sorted(EXPECTED_SOURCES))
def test_only_needed_kernel_sources_are_exported(stem):
    files = artifact(stem).source_files()
    sources = {Path(name).name for name in files if name.startswith("kernels/src/") and name.endswith(".c")}
    assert sources == EXPECTED_SOURCES[stem]
    if stem == "ad01_int8":
        assert "kernels/src/conv2d.c" not in files and "kernels/src/depthwise_conv2d.c" not in files
    # Every exported kernel source defines a function the model calls (directly or through a helper).
    model_c = files[f"model/{artifact(stem).name}.c"].decode()
    called = set(re.findall(r"\b(tinytvm_\w+_s8(?:_broadcast)?)\(", model_c))
    defined = {name for name in called if any(f"{name}(" in files[f].decode() for f in files if f.endswith(".c")
                                              and f.startswith("kernels/"))}
    assert called == defined, f"called but not exported: {called - defined}"


# ------------------------------------------------------------------------------------------------
# Errors: names, targets, boards that are too small
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "1model", "my-model", "a b", "model.c", "x" * 42, "naïve", "kws;"])
def test_invalid_model_name(name):
    with pytest.raises(TinyTVMError, match="C identifier"):
        tinytvm.build(module("ad01_int8"), name=name)


def test_valid_unusual_names():
    for name in ("_m", "M2", "x" * 41):
        assert tinytvm.build(module("ad01_int8"), name=name).name == name


def test_unknown_target_and_board():
    with pytest.raises(TinyTVMError, match="unknown target"):
        tinytvm.build(module("ad01_int8"), target="cortex-m99")
    with pytest.raises(TinyTVMError, match="unknown board"):
        tinytvm.build(module("ad01_int8"), board="no-such-board")
    with pytest.raises(TinyTVMError, match="cortex-m4"):
        tinytvm.build(module("ad01_int8"), target="cortex-m7", board="stm32f412")  # an M4 board


@pytest.fixture
def small_board(monkeypatch):
    """``small_board(name, sram, flash)`` registers a Cortex-M7 board for this test only."""
    def register(name: str, sram: int, flash: int = 1024 * 1024) -> str:
        monkeypatch.setitem(targets.BOARDS, name, targets.Board(name, "cortex-m7", sram, flash, f"test board {name}"))
        return name
    return register


def test_vww_does_not_fit_64k_sram(small_board):
    reference = artifact("vww_mbv1_int8")
    needed = reference.arena_bytes + reference.io_bytes + STACK_BYTES
    board = small_board("m7_64k", 64 * 1024)
    with pytest.raises(ResourceLimitError) as error:
        tinytvm.build(module("vww_mbv1_int8"), target="cortex-m7", board=board, name="vww")
    message = str(error.value)
    assert "SRAM" in message and board in message
    assert f"{needed:,}" in message and f"{needed - 64 * 1024:,} bytes too many" in message
    assert "stm32f746" not in targets.BOARDS[board].description  # the temporary board, not a real one


def test_constants_that_do_not_fit_flash(small_board):
    weights = artifact("ad01_int8").weight_bytes
    board = small_board("m7_256k_flash", 1024 * 1024, flash=256 * 1024)
    with pytest.raises(ResourceLimitError, match=rf"flash.*{weights - 256 * 1024:,} bytes too many"):
        tinytvm.build(module("ad01_int8"), target="cortex-m7", board=board, name="ad01")


def test_image_that_does_not_fit_fails_at_link_time(small_board):
    """SRAM for arena + I/O + stack but not for the runtime's own few .bss bytes: build() accepts it (it
    counts what the model needs), linking the image for the board refuses."""
    reference = artifact("vww_mbv1_int8")
    board = small_board("m7_tight", reference.arena_bytes + reference.io_bytes + STACK_BYTES + 8)
    art = tinytvm.build(module("vww_mbv1_int8"), target="cortex-m7", board=board, name="vww")
    with pytest.raises(ResourceLimitError, match=r"RAM' overflowed by \d+ bytes"):
        art.image


# ------------------------------------------------------------------------------------------------
# Cortex-M4
# ------------------------------------------------------------------------------------------------
def test_cortex_m4_build_runs_on_qemu(tmp_path):
    """QEMU's mps2-an500 is a Cortex-M7; an armv7e-m + fpv4-sp-d16 binary runs on it unchanged."""
    stem = "kws_dscnn_int8"
    art = artifact(stem, "cortex-m4", "stm32f412")
    assert art.target.name == "cortex-m4" and art.board.name == "stm32f412"
    sets = random_inputs(path(stem), seed=4, count=2)
    runs = get_runner("qemu").run_many(art, sets)
    for run, expected in zip(runs, tflm_run_many(path(stem), sets)):
        np.testing.assert_array_equal(run.outputs[0], expected[0])
        assert run.instructions > 0
    # The ELF really is an M4 build.
    elf = QemuRunner().compile(art, sets, tmp_path, profile=False)
    attributes = subprocess.run(["arm-none-eabi-readelf", "-A", str(elf)], capture_output=True, text=True,
                                check=True).stdout
    assert "Tag_CPU_arch: v7E-M" in attributes           # armv7e-m (DSP), as the M7
    assert "Tag_FP_arch: VFPv4-D16" in attributes         # fpv4-sp-d16 (the M7 build says FPv5)
    assert "Tag_ABI_HardFP_use: SP only" in attributes
    image = art.image
    assert 0 < image.flash <= art.board.flash_bytes and image.bss >= art.arena_bytes


# ------------------------------------------------------------------------------------------------
# Warnings are errors, on both compilers
# ------------------------------------------------------------------------------------------------
def test_generated_code_compiles_warning_free_on_gcc_and_arm_gcc(compile_commands):
    stem = "ad01_int8"
    art = artifact(stem)
    sets = random_inputs(path(stem), seed=5, count=1)
    expected = tflm_run(path(stem), sets[0])
    host = get_runner("host").run_many(art, sets)
    qemu = get_runner("qemu").run_many(art, sets)
    np.testing.assert_array_equal(host[0].outputs[0], expected[0])
    np.testing.assert_array_equal(qemu[0].outputs[0], expected[0])
    gcc, arm = compiler_runs(compile_commands, "gcc"), compiler_runs(compile_commands, "arm-none-eabi-gcc")
    assert len(gcc) == 1 and len(arm) == 1, compile_commands
    for command in (gcc[0], arm[0]):
        assert {"-Wall", "-Wextra", "-Werror"} <= set(command)
        assert any(c.endswith(f"model/{art.name}.c") for c in command)
    assert "-mcpu=cortex-m7" in arm[0] and "-mthumb" in arm[0]
    # ... and a warning really is fatal on both: the same model with an unused static function.
    broken = with_source(art, art.generated.source + "\nstatic int unused_helper(void) { return 0; }\n")
    for runner in ("host", "qemu"):
        with pytest.raises(TinyTVMError, match="unused_helper"):
            get_runner(runner).run_many(broken, sets)


def test_model_without_arena_compiles():
    """A one-operator model whose only tensor goes straight from the input to the output buffer.

    Regression: the arena is 0 bytes; the generated ``static int8_t tinytvm_<name>_arena[1]`` used to be
    emitted anyway, never referenced, and -Werror=unused-variable failed the build on both compilers.
    """
    b = ModelBuilder()
    x = b.input("x", (1, 4, 4, 2), scale=0.05, zero_point=0)
    b.output(b.max_pool2d(x, 2, 2))
    data = b.build()
    art = tinytvm.build(tinytvm.from_tflite(data), target="cortex-m7", name="pool_only")
    assert art.arena_bytes == 0
    assert "_arena" not in art.generated.source
    xs = [np.arange(32, dtype=np.int8).reshape(1, 4, 4, 2)]
    expected = tflm_run(data, xs)
    for runner in ("host", "qemu"):
        (run,) = get_runner(runner).run_many(art, [xs])
        np.testing.assert_array_equal(run.outputs[0], expected[0])


# ------------------------------------------------------------------------------------------------
# Scratch sizes: host test builds check the planner's figures against the kernels' own
# ------------------------------------------------------------------------------------------------
SCRATCH_KERNELS = {"conv2d", "depthwise_conv2d", "fully_connected"}  # kernels with a *_scratch_bytes function


@pytest.mark.parametrize("stem", list(MODELS))
def test_scratch_check_passes(stem, compile_commands):
    art = artifact(stem)
    source = art.generated.source
    checked = [layer for layer in art.layers if layer.kernel in SCRATCH_KERNELS]
    assert checked, "every MLPerf model has conv / fully connected layers"
    checks = re.findall(r"if \((tinytvm_\w+_scratch_bytes)\(&layer(\d+)_params\) > (\d+)u\) return -(\d+);", source)
    assert "#if defined(TINYTVM_CHECK_SCRATCH)" in source
    assert sorted(int(layer) for _, layer, _, _ in checks) == [layer.index for layer in checked]
    for function, layer, size, code in checks:
        info = art.layers[int(layer)]
        assert function == f"tinytvm_{info.kernel}_s8_scratch_bytes"
        assert int(size) == info.scratch_bytes and int(code) == int(layer) + 1
    sets = random_inputs(path(stem), seed=6, count=2)
    runs = get_runner("host").run_many(art, sets)  # built with -DTINYTVM_CHECK_SCRATCH
    for run, expected in zip(runs, tflm_run_many(path(stem), sets)):
        np.testing.assert_array_equal(run.outputs[0], expected[0])
    (command,) = compiler_runs(compile_commands, "gcc")
    assert "-DTINYTVM_CHECK_SCRATCH" in command


def test_scratch_check_is_live():
    """With a planned scratch size understated, the host build refuses to run the model (exit 3)."""
    art = artifact("kws_dscnn_int8")
    victim = next(layer for layer in art.layers if layer.scratch_bytes > 0)
    source, count = re.subn(rf"(_scratch_bytes\(&layer{victim.index}_params\) > )\d+u", r"\g<1>0u",
                            art.generated.source)
    assert count == 1
    sets = random_inputs(path("kws_dscnn_int8"), seed=7, count=1)
    with pytest.raises(TinyTVMError, match=r"exit 3"):
        get_runner("host").run_many(with_source(art, source), sets)


# ------------------------------------------------------------------------------------------------
# Two models in one program
# ------------------------------------------------------------------------------------------------
def test_two_models_link_into_one_program(tmp_path):
    """Symbols are per model (tinytvm_<name>_...): KWS and AD link into one host program and both run."""
    kws, ad = artifact("kws_dscnn_int8"), artifact("ad01_int8")
    kws.export(tmp_path, sources_only=True)
    ad.export(tmp_path, sources_only=True)
    main = tmp_path / "main.c"
    main.write_text("\n".join([
        "#include <stdio.h>", '#include "kws.h"', '#include "ad01.h"',
        "static int8_t a_in[TINYTVM_KWS_INPUT0_BYTES], a_out[TINYTVM_KWS_OUTPUT0_BYTES];",
        "static int8_t b_in[TINYTVM_AD01_INPUT0_BYTES], b_out[TINYTVM_AD01_OUTPUT0_BYTES];",
        "int main(void) {",
        "  if (fread(a_in, 1, sizeof a_in, stdin) != sizeof a_in) return 2;",
        "  if (fread(b_in, 1, sizeof b_in, stdin) != sizeof b_in) return 2;",
        "  if (tinytvm_kws_run(a_in, a_out) != 0 || tinytvm_ad01_run(b_in, b_out) != 0) return 3;",
        "  fwrite(a_out, 1, sizeof a_out, stdout); fwrite(b_out, 1, sizeof b_out, stdout);",
        "  return 0;", "}", ""]))
    sources = [main, tmp_path / "model" / "kws.c", tmp_path / "model" / "ad01.c",
               *sorted((tmp_path / "kernels" / "src").glob("*.c"))]
    exe = tmp_path / "both"
    result = subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror",
                             *(f"-I{tmp_path / d}" for d in ("model", "kernels/include", "kernels/src")),
                             *map(str, sources), "-o", str(exe), "-lm"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    x_kws = random_inputs(path("kws_dscnn_int8"), seed=8)[0]
    x_ad = random_inputs(path("ad01_int8"), seed=8)[0]
    out = subprocess.run([str(exe)], input=x_kws[0].tobytes() + x_ad[0].tobytes(), capture_output=True,
                         check=True).stdout
    y_kws = np.frombuffer(out[:12], np.int8).reshape(1, 12)
    y_ad = np.frombuffer(out[12:], np.int8).reshape(1, 640)
    np.testing.assert_array_equal(y_kws, tflm_run(path("kws_dscnn_int8"), x_kws)[0])
    np.testing.assert_array_equal(y_ad, tflm_run(path("ad01_int8"), x_ad)[0])
