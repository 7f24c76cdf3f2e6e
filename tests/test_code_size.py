"""analyze's flash (constants + code) against the linked Cortex-M7 image, and the code-size table's freshness.

The ELF figure compared is ``artifact.image.flash`` (metadata.json ``image.flash``): ``.text`` + ``.data`` of
the image ``build`` links for the board (vector table, startup and semihosting runtime, kernels, the model's
run function, parameter structs and constants), i.e. what the board's flash must hold. ``MemoryReport``'s
``flash_bytes`` means the same; its ``code_bytes`` is the image's ``image.code`` (flash less the weights).
"""

from __future__ import annotations

import json

import pytest

import tinytvm
from tinytvm.codegen import code_size
from tinytvm.micro.targets import TARGETS

MODELS = ("kws_dscnn_int8", "vww_mbv1_int8", "resnet8_int8", "ad01_int8")
#: The estimate is within 60 B of the ELF for these models; the run function's fit and the linker's
#: placement of sections (alignment gaps) are what it approximates.
TOLERANCE_BYTES = 256


@pytest.fixture(scope="module", params=MODELS)
def analyzed_and_linked(request, shared_model):
    """(analyze report, linked image) of one MLPerf Tiny model on cortex-m7/stm32f746: one build per model."""
    mod = tinytvm.from_tflite(shared_model(request.param))
    report = tinytvm.analyze(mod, target="cortex-m7", board="stm32f746")
    artifact = tinytvm.build(mod, target="cortex-m7", board="stm32f746", name="m")
    return report, artifact.image


def test_flash_matches_the_linked_image(analyzed_and_linked):
    report, image = analyzed_and_linked
    assert report.weight_bytes == image.weights
    assert abs(report.code_bytes - image.code) <= TOLERANCE_BYTES
    assert abs(report.flash_bytes - image.flash) <= TOLERANCE_BYTES


@pytest.mark.parametrize("target", sorted(name for name, target in TARGETS.items() if target.is_arm))
def test_table_matches_a_fresh_compile(target):
    fresh = code_size.measure_target(TARGETS[target])
    assert code_size.tables()[target].differences(fresh) == [], \
        "tinytvm/codegen/code_size.json is stale: run python scripts/code_size_table.py --regenerate"


def test_code_counts_only_the_kernels_a_model_calls(shared_model):
    dense = tinytvm.analyze(tinytvm.from_tflite(shared_model("ad01_int8")))
    conv = tinytvm.analyze(tinytvm.from_tflite(shared_model("resnet8_int8")))
    assert set(dense.code.kernels) == {"fully_connected"}
    assert {"conv2d", "elementwise", "fully_connected"} <= set(conv.code.kernels)
    assert dense.code.runtime == conv.code.runtime > 0
    assert dense.code.kernel_bytes < conv.code.kernel_bytes


def test_host_has_no_code_figure(shared_model):
    report = tinytvm.analyze(tinytvm.from_tflite(shared_model("kws_dscnn_int8")), target="host")
    assert report.code_bytes == 0 and report.flash_bytes == report.weight_bytes


def test_report_shows_the_code(shared_model):
    report = tinytvm.analyze(tinytvm.from_tflite(shared_model("kws_dscnn_int8")))
    assert f"flash      {report.flash_bytes:>10,} B = constants {report.weight_bytes:,} + code" in str(report)
    data = json.loads(report.to_json())
    assert data["flash_bytes"] == data["weight_bytes"] + data["code_bytes"]
    assert data["code"]["kernels"] == report.code.kernels
