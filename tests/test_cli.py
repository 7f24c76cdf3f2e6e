"""The command line: demo, inspect, verify, analyze, compile and run, and clean errors."""

import json
from pathlib import Path

import numpy as np

from tinytvm.cli import main

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
KWS = str(MODELS / "kws_dscnn_int8.tflite")


def test_compile_then_run_on_qemu(tmp_path, capsys):
    out = tmp_path / "kws"
    assert main(["compile", KWS, "--target", "cortex-m7", "--board", "stm32f746", "--name", "kws", "-o", str(out)]) == 0
    assert (out / "model" / "kws.c").is_file() and json.loads((out / "metadata.json").read_text())["arena_bytes"] > 0
    x = np.random.default_rng(0).integers(-128, 128, (1, 49, 10, 1), dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(out), "--runner", "qemu", "--input", str(tmp_path / "x.npy")]) == 0
    printed = capsys.readouterr().out
    assert "instructions (QEMU Cortex-M7" in printed and "arena" in printed and "flash" in printed


def test_demo_analyze_inspect_verify(capsys):
    assert main(["demo", "--runs", "1"]) == 0
    assert "identical to TFLite Micro: 12/12" in capsys.readouterr().out
    assert main(["analyze", KWS, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["arena_bytes"] > 0
    assert main(["inspect", KWS]) == 0
    assert "depthwise_conv2d" in capsys.readouterr().out
    assert main(["verify", KWS, "--runs", "2"]) == 0
    assert "24/24" in capsys.readouterr().out


def test_errors_are_one_line_messages(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "missing.tflite")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("tinytvm: error: model file not found") and "Traceback" not in error
    assert main(["run", str(tmp_path)]) == 1
    assert "not a `tinytvm compile` output directory" in capsys.readouterr().err
