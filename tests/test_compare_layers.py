"""The per-layer comparison helper finds the first layer that differs from TFLite Micro."""

from pathlib import Path

import numpy as np

from tinytvm.analysis import compare_with_tflm
from tinytvm.reference.kernels import load_all

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"


def _kws_input():
    return np.random.default_rng(3).integers(-128, 128, (1, 49, 10, 1), dtype=np.int8)


def test_identical_model_reports_no_difference():
    comparison = compare_with_tflm(MODELS / "kws_dscnn_int8.tflite", [_kws_input()])
    assert comparison.identical and comparison.first_mismatch is None
    assert len(comparison.layers) >= 12
    assert "all layers identical" in str(comparison)


def test_injected_error_is_located(monkeypatch):
    kernels = load_all()
    original = kernels["depthwise_conv2d"]

    def off_by_one(op, operands, out_shape, out_dtype):
        result = original(op, operands, out_shape, out_dtype)
        result.reshape(-1)[7] = np.int8(result.reshape(-1)[7] ^ 1)
        return result

    monkeypatch.setitem(kernels, "depthwise_conv2d", off_by_one)
    comparison = compare_with_tflm(MODELS / "kws_dscnn_int8.tflite", [_kws_input()])
    first = comparison.first_mismatch
    assert first is not None and first.kernel == "depthwise_conv2d" and first.position == 1
    assert first.mismatches == 1 and first.max_abs_diff == 1
    assert "first difference: layer 1 (depthwise_conv2d" in str(comparison)
