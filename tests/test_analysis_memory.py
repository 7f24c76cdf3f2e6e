"""tinytvm.analyze: agrees with what build reserves, to the byte, and renders its report."""

import json
from pathlib import Path

import pytest

import tinytvm

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
NAMES = ["kws_dscnn_int8", "vww_mbv1_int8", "resnet8_int8", "ad01_int8"]


@pytest.mark.parametrize("name", NAMES)
def test_analysis_matches_build_and_elf(name):
    mod = tinytvm.from_tflite(MODELS / f"{name}.tflite")
    report = tinytvm.analyze(mod, target="cortex-m7", board="stm32f746")
    artifact = tinytvm.build(mod, target="cortex-m7", board="stm32f746", name="m")
    assert report.arena_bytes == artifact.arena_bytes
    assert report.io_bytes == artifact.io_bytes
    assert report.lower_bound <= report.arena_bytes
    # In the linked Cortex-M7 image, the arena symbol is exactly the analysed arena, and .bss is the
    # arena + I/O buffers + the platform's few bytes (SysTick state) + 16-byte alignment padding.
    symbols = artifact.image.symbols
    assert symbols["tinytvm_m_arena"] == report.arena_bytes
    io_symbols = [f"input{k}" for k in range(len(artifact.inputs))] + [f"output{k}" for k in range(len(artifact.outputs))]
    assert sum(symbols[name] for name in io_symbols) == report.io_bytes
    assert report.peak_sram <= artifact.image.bss <= report.peak_sram + 64


def test_options_switch_optimizations_off():
    mod = tinytvm.from_tflite(MODELS / "kws_dscnn_int8.tflite")
    on = tinytvm.analyze(mod)
    off = tinytvm.analyze(mod, in_place=False, schedule=False, planner="greedy_by_size")
    assert on.arena_bytes < off.arena_bytes


def test_report_renders(tmp_path):
    report = tinytvm.analyze(tinytvm.from_tflite(MODELS / "vww_mbv1_int8.tflite"))
    text = str(report)
    assert "peak SRAM" in text and "<- peak" in text
    data = json.loads(report.to_json())
    assert data["peak_sram"] == report.peak_sram and len(data["layers"]) == len(report.layers)
    peak = report.peak_layer
    assert peak.alive_bytes == max(layer.alive_bytes for layer in report.layers)
    report.plot(tmp_path / "memory.png")
    assert (tmp_path / "memory.png").stat().st_size > 10_000


@pytest.mark.parametrize("schedule", [True, False])
def test_vww_without_in_place_fits_the_per_operator_bound(schedule):
    """The 1x1 convolution at the peak runs without its column scratch (codegen.scratch_selection)."""
    mod = tinytvm.from_tflite(MODELS / "vww_mbv1_int8.tflite")
    assert tinytvm.analyze(mod, in_place=False, schedule=schedule).arena_bytes <= 55_296
    assert tinytvm.analyze(mod, in_place=False, schedule=schedule, scratch_aware=False).arena_bytes > 55_296
