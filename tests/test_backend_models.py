"""The four MLPerf Tiny models through the whole backend, for cortex-m7 / STM32F746.

For each model (``../shared/models``, never copied into the repo):

* outputs are identical to TFLite Micro's (the oracle, not tinytvm's numpy reference) for several
  seeded random inputs on the host with AddressSanitizer + UndefinedBehaviorSanitizer (``host-asan``)
  and on QEMU (mps2-an500, Cortex-M7);
* QEMU instruction counts are positive and deterministic: two executions of the *same* ELF give the
  same count for every input, and the same input twice in one run gives the same count;
* with ``profile=True`` the per-layer counts add up to the total (within a small tolerance for the
  profiling hook) and every layer that does arithmetic costs instructions;
* the arena is at least the planner's lower bound and every planned buffer lies inside it;
* the deployable image's ``.bss`` is the arena plus the I/O buffers plus alignment and 40 bytes of
  runtime state (see :func:`test_image_bss_is_arena_plus_io_buffers` for the exact accounting);
* ``metadata.json`` reports the arena, the image by section, per-layer MACs and bytes, and the I/O
  exactly as the TFLite model and the linked ELF say.
"""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

import tinytvm
from oracle import load_model, model_io, random_inputs, tflm_run_many
from tflite_builder import builtin_name
from tinytvm.micro import toolchain
from tinytvm.micro.runners import get_runner, normalize_inputs
from tinytvm.micro.runners.harness import deploy_main
from tinytvm.micro.runners.qemu import QEMU_COMMAND, QemuRunner, parse_output

MODELS_DIR = Path(__file__).resolve().parents[2] / "shared" / "models"
MODELS = {  # file stem -> C model name
    "kws_dscnn_int8": "kws",
    "vww_mbv1_int8": "vww",
    "resnet8_int8": "resnet8",
    "ad01_int8": "ad01",
}
TARGET, BOARD = "cortex-m7", "stm32f746"
SEED, SETS = 2024, 4
#: Non-model .bss bytes of the bare-metal image: newlib's crtbegin (``object.0`` 24 B + ``completed.1``
#: 1 B, padded to the 16-byte alignment of the first I/O buffer: 32 B) and the platform's SysTick wrap
#: counter ``g_wraps`` (4 B, padded to the section's 8-byte end alignment: 8 B).
RUNTIME_BSS = 40


def path(stem: str) -> Path:
    p = MODELS_DIR / f"{stem}.tflite"
    if not p.is_file():
        pytest.fail(f"shared model {p} is missing")
    return p


@functools.cache
def artifact(stem: str) -> tinytvm.Artifact:
    return tinytvm.build(tinytvm.from_tflite(path(stem)), target=TARGET, board=BOARD, name=MODELS[stem])


@functools.cache
def input_sets(stem: str) -> list[list[np.ndarray]]:
    return random_inputs(path(stem), seed=SEED, count=SETS)


@functools.cache
def reference(stem: str) -> list[list[np.ndarray]]:
    return tflm_run_many(path(stem), input_sets(stem))


def assert_outputs_equal(runs, expected, what: str) -> None:
    assert len(runs) == len(expected)
    for k, (got, want) in enumerate(zip(runs, expected)):
        assert len(got) == len(want)
        for j, (g, w) in enumerate(zip(got, want)):
            assert g.shape == w.shape and g.dtype == w.dtype
            same = g == w
            assert same.all(), (f"{what}: input set {k} output {j}: {int((~same).sum())}/{same.size} elements "
                                f"differ from TFLM (ours {g.reshape(-1)[:12]}, tflm {w.reshape(-1)[:12]})")


def qemu_compile(art, sets, work: Path, profile: bool = False) -> Path:
    """The QEMU runner's ELF for ``sets`` (so that the very same binary can be executed twice)."""
    return QemuRunner().compile(art, [normalize_inputs(art, s) for s in sets], work, profile)


def qemu_execute(art, elf: Path, count: int):
    command = [toolchain.require(QEMU_COMMAND[0]), *QEMU_COMMAND[1:], "-kernel", str(elf)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=elf.parent)
    assert result.returncode == 0, f"QEMU exit {result.returncode}:\n{result.stderr[-2000:]}"
    return parse_output(art, result.stderr, count)


def tflite_layers(stem: str) -> list[dict]:
    """Per-operator facts straight from the flatbuffer: kind, MACs, constant bytes."""
    m = load_model(path(stem))
    g = m.subgraphs[0]
    out = []
    for op in g.operators:
        code = m.operatorCodes[op.opcodeIndex]
        kind = builtin_name(max(code.builtinCode, code.deprecatedBuiltinCode))
        shapes = [list(g.tensors[i].shape) if i >= 0 else None for i in op.inputs]
        out_elems = int(np.prod(g.tensors[op.outputs[0]].shape))
        const = sum(len(m.buffers[g.tensors[i].buffer].data) for i in op.inputs
                    if i >= 0 and m.buffers[g.tensors[i].buffer].data is not None)
        macs = None
        if kind == "CONV_2D":
            macs = out_elems * int(np.prod(shapes[1][1:]))
        elif kind == "DEPTHWISE_CONV_2D":
            macs = out_elems * shapes[1][1] * shapes[1][2]
        elif kind == "FULLY_CONNECTED":
            macs = out_elems * shapes[1][1]
        out.append({"kind": kind, "macs": macs, "const_bytes": const})
    return out


KERNEL_OF = {"CONV_2D": "conv2d", "DEPTHWISE_CONV_2D": "depthwise_conv2d", "FULLY_CONNECTED": "fully_connected",
             "AVERAGE_POOL_2D": "avg_pool2d", "RESHAPE": "reshape", "SOFTMAX": "softmax", "ADD": "add"}

parametrize_models = pytest.mark.parametrize("stem", list(MODELS))


# ------------------------------------------------------------------------------------------------
# Outputs: host (ASan + UBSan) and QEMU, against TFLM
# ------------------------------------------------------------------------------------------------
@parametrize_models
def test_host_asan_matches_tflm(stem):
    """Sanitized host build (-Wall -Wextra -Werror, -fsanitize=address,undefined, no recovery)."""
    runs = get_runner("host-asan").run_many(artifact(stem), input_sets(stem))
    assert all(run.instructions is None for run in runs)
    assert_outputs_equal([run.outputs for run in runs], reference(stem), f"{stem} on host-asan")


@parametrize_models
def test_qemu_matches_tflm_with_deterministic_instruction_counts(stem, tmp_path):
    art = artifact(stem)
    sets = input_sets(stem) + [input_sets(stem)[0]]  # the first input again, in the same binary
    elf = qemu_compile(art, sets, tmp_path)
    first, second = qemu_execute(art, elf, len(sets)), qemu_execute(art, elf, len(sets))
    assert_outputs_equal([run.outputs for run in first[:SETS]], reference(stem), f"{stem} on QEMU")
    assert_outputs_equal([run.outputs for run in second[:SETS]], reference(stem), f"{stem} on QEMU (2nd run)")
    counts = [run.instructions for run in first]
    assert all(isinstance(c, int) and c > 0 for c in counts), counts
    assert counts == [run.instructions for run in second], "two executions of the same ELF disagree"
    assert counts[0] == counts[-1], "the same input twice in one run gave different counts"
    # Same sources, recompiled by the public runner API: same counts.
    again = get_runner("qemu").run_many(art, input_sets(stem)[:1])
    assert again[0].instructions == counts[0]
    # Sanity of the figure: it scales with the work (at least 0.25 instructions per MAC: the SMLAD floor
    # is ~0.5) and stays below 5 instructions per MAC (CMSIS-NN's s8 convolutions take 2.15-2.65).
    assert 0.25 * art.total_macs < counts[0] < 5 * art.total_macs, (counts[0], art.total_macs)


@parametrize_models
def test_qemu_profile_layers_add_up_to_the_total(stem):
    art = artifact(stem)
    (plain,) = get_runner("qemu").run_many(art, input_sets(stem)[:1])
    (profiled,) = get_runner("qemu").run_many(art, input_sets(stem)[:1], profile=True)
    assert_outputs_equal([profiled.outputs], reference(stem)[:1], f"{stem} on QEMU (profiled)")
    layers = profiled.layer_instructions
    assert layers is not None and len(layers) == len(art.layers)
    assert all(count >= 0 for count in layers), layers
    for info, count in zip(art.layers, layers):
        if info.macs > 0:
            assert count > 0, f"layer {info.index} ({info.kernel}) has {info.macs} MACs but 0 instructions"
    total = profiled.instructions
    # The hook itself costs a few tens of instructions per layer.
    assert abs(total - sum(layers)) <= max(100, 0.001 * total), (total, sum(layers))
    assert abs(total - plain.instructions) <= 60 * len(layers) + 0.001 * total, (total, plain.instructions)
    # Where the time goes: the layers with the most MACs also take the most instructions.
    heaviest = max(range(len(layers)), key=layers.__getitem__)
    assert art.layers[heaviest].macs >= 0.25 * max(layer.macs for layer in art.layers)


# ------------------------------------------------------------------------------------------------
# Memory: the plan, the image, the metadata
# ------------------------------------------------------------------------------------------------
@parametrize_models
def test_arena_plan(stem):
    art = artifact(stem)
    plan = art.plan
    assert plan.lower_bound > 0
    assert art.arena_bytes == plan.size >= plan.lower_bound
    assert plan.conflicts() == []
    for buffer in plan.buffers:
        assert 0 <= plan.offsets[buffer.name] and plan.offsets[buffer.name] + buffer.size <= art.arena_bytes
    # The largest single activation (input or output of one operator, int8) is a floor of any plan
    # that does not run operators in place.
    largest = max(int(np.prod(layer.shape)) for layer in art.layers if layer.output_location.startswith("arena"))
    assert art.arena_bytes >= largest
    header = art.files()[f"model/{art.name}.h"].decode()
    assert f"#define TINYTVM_{art.name.upper()}_ARENA_BYTES {art.arena_bytes}\n" in header


def link_deploy_image(art, work: Path) -> Path:
    """The same deployable image ``Artifact.image`` measures (minimal main, board limits), kept on disk."""
    root = art.export(work / "src", sources_only=True)
    (work / "main.c").write_text(deploy_main(art))
    sources = [work / "main.c", root / "model" / f"{art.name}.c", *sorted((root / "kernels" / "src").glob("*.c"))]
    includes = [root / "model", root / "kernels" / "include", root / "kernels" / "src"]
    return toolchain.link_image(art, sources, includes, work, art.board.flash_bytes, art.board.sram_bytes)


def bss_symbols(elf: Path) -> tuple[int, dict[str, tuple[int, int]]]:
    """(.bss size, {symbol: (address, size)}) of the symbols in .bss."""
    with elf.open("rb") as handle:
        image = ELFFile(handle)
        index = next(i for i, s in enumerate(image.iter_sections()) if s.name == ".bss")
        bss = image.get_section(index)
        symbols = {s.name: (s["st_value"], s["st_size"]) for s in image.get_section_by_name(".symtab").iter_symbols()
                   if s["st_shndx"] == index and s["st_size"] > 0}
        return bss.header.sh_size, symbols


def align16(n: int) -> int:
    return (n + 15) // 16 * 16


@parametrize_models
def test_image_bss_is_arena_plus_io_buffers(stem, tmp_path):
    """.bss = arena + I/O buffers (each 16-byte aligned) + RUNTIME_BSS (40) bytes, exactly.

    Found on every model: the arena symbol has exactly ``arena_bytes``, ``input<k>``/``output<k>``
    exactly the tensors' bytes; the only other .bss objects are newlib's crtbegin state and the
    SysTick wrap counter. So ``bss - arena - io_bytes`` is 40 bytes plus the I/O buffers' padding to 16.
    """
    art = artifact(stem)
    image = art.image
    elf = link_deploy_image(art, tmp_path)
    size, symbols = bss_symbols(elf)
    assert size == image.bss
    assert symbols[f"tinytvm_{art.name}_arena"][1] == art.arena_bytes
    io = {f"input{k}": t.nbytes for k, t in enumerate(art.inputs)} | {f"output{k}": t.nbytes
                                                                      for k, t in enumerate(art.outputs)}
    for name, nbytes in io.items():
        assert symbols[name][1] == nbytes, (name, symbols[name], nbytes)
    other = {name: s for name, s in symbols.items() if name not in io and name != f"tinytvm_{art.name}_arena"}
    assert sum(s for _, s in other.values()) <= RUNTIME_BSS, other
    assert image.bss >= art.arena_bytes + art.io_bytes
    assert image.bss == art.arena_bytes + sum(align16(n) for n in io.values()) + RUNTIME_BSS, (
        image.bss, art.arena_bytes, io, other)
    # The image fits the board it was linked for (the linker checks; this states it).
    assert image.flash <= art.board.flash_bytes
    assert image.data + image.bss + image.stack_reserved <= art.board.sram_bytes


@parametrize_models
def test_metadata(stem, tmp_path):
    art = artifact(stem)
    files = art.files()
    meta = json.loads(files["metadata.json"])
    exported = json.loads((art.export(tmp_path) / "metadata.json").read_text())
    assert exported == meta
    assert meta["name"] == art.name and meta["target"] == TARGET and meta["board"] == BOARD
    # Memory.
    assert meta["arena_bytes"] == art.arena_bytes and meta["arena_lower_bound"] == art.plan.lower_bound
    io_bytes = sum(int(np.prod(t.shape)) for t in model_io(path(stem)).inputs + model_io(path(stem)).outputs)
    assert meta["io_bytes"] == io_bytes
    assert meta["peak_sram_bytes"] == art.arena_bytes + io_bytes
    # The image, by section, as linked.
    image = meta["image"]
    assert image is not None
    report = art.image
    assert (image["text"], image["data"], image["bss"]) == (report.text, report.data, report.bss)
    assert image["flash"] == image["text"] + image["data"]
    assert image["code"] == image["text"] - image["weights"] > 0
    assert image["weights"] == meta["weight_bytes"] == sum(layer["weight_bytes"] for layer in meta["layers"])
    assert image["stack_reserved"] > image["max_kernel_stack"] > 0
    assert image["stack_usage"][f"tinytvm_{art.name}_run"] >= 0
    # Per layer: kernels, MACs and constant bytes agree with the flatbuffer.
    tfl = tflite_layers(stem)
    assert [layer["kernel"] for layer in meta["layers"]] == [KERNEL_OF[op["kind"]] for op in tfl]
    for layer, op in zip(meta["layers"], tfl):
        if op["macs"] is not None:
            assert layer["macs"] == op["macs"], (layer, op)
            # int8 weights + int32 bias from the flatbuffer, plus the per-channel requantization tables.
            assert op["const_bytes"] <= layer["weight_bytes"] <= op["const_bytes"] + 8 * layer["shape"][-1] + 64
        else:
            assert layer["weight_bytes"] == 0
        assert layer["scratch_bytes"] >= 0
        assert layer["output_location"].startswith(("arena+", "output:"))
    assert meta["total_macs"] == sum(layer["macs"] for layer in meta["layers"]) == art.total_macs
    assert meta["layers"][-1]["output_location"] == "output:0"
    # I/O exactly as the TFLite model declares it.
    for key, infos in (("inputs", model_io(path(stem)).inputs), ("outputs", model_io(path(stem)).outputs)):
        assert len(meta[key]) == len(infos)
        for entry, info in zip(meta[key], infos):
            assert tuple(entry["shape"]) == info.shape and entry["dtype"] == str(info.dtype)
            assert np.float32(entry["scale"]) == np.float32(info.scale[0])
            assert entry["zero_point"] == info.zero_point[0]
