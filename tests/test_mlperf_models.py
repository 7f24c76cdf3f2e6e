"""The four MLPerf Tiny models import into the integer-only form and match TFLite Micro bit for bit."""

from pathlib import Path

import pytest
from tvm import relax

import tinytvm
from tinytvm.ir.graph import layers, main_function, tensor_dtype
from tinytvm.ir.op import kernel_name
from tinytvm.verify import verify_against_tflm

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
EXPECTED_KERNELS = {
    "kws_dscnn_int8": {"conv2d", "depthwise_conv2d", "avg_pool2d", "reshape", "fully_connected", "softmax"},
    "vww_mbv1_int8": {"conv2d", "depthwise_conv2d", "avg_pool2d", "reshape", "fully_connected", "softmax"},
    "resnet8_int8": {"conv2d", "add", "avg_pool2d", "reshape", "fully_connected", "softmax"},
    "ad01_int8": {"fully_connected"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_KERNELS))
def test_import_is_integer_only(name):
    mod = tinytvm.from_tflite(MODELS / f"{name}.tflite")
    func = main_function(mod)
    for block in func.body.blocks:
        for binding in block.bindings:
            if isinstance(binding.value, relax.Var):  # output alias (gv = lv)
                continue
            assert kernel_name(binding.value) is not None, f"non-tinytvm binding {binding.value}"
            assert tensor_dtype(binding.value.ty) == "int8"
            for arg in binding.value.args:
                assert tensor_dtype(arg.ty) in ("int8", "int32")
    assert {layer.kernel for layer in layers(mod)} <= EXPECTED_KERNELS[name] | {"reshape"}
    assert {layer.kernel for layer in layers(mod)} >= EXPECTED_KERNELS[name] - {"reshape"}


@pytest.mark.parametrize("name", sorted(EXPECTED_KERNELS))
def test_bit_exact_with_tflm(name):
    result = verify_against_tflm(MODELS / f"{name}.tflite", runs=4, seed=2024)
    assert result.bit_exact, str(result)
    assert result.total_elements > 0


def test_nhwc_layout_preserved():
    mod = tinytvm.from_tflite(MODELS / "vww_mbv1_int8.tflite")
    first = layers(mod)[0]
    assert first.kernel == "conv2d"
    assert first.in_shapes[0] == (1, 96, 96, 3)
    assert first.out_shape[-1] == first.in_shapes[1][0]  # OHWI weights: O = output channels (last axis)
