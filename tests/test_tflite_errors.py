"""Bad input gives a tinytvm error that names what is wrong; never a crash or a bare TVM trace."""

from pathlib import Path

import numpy as np
import pytest

import tinytvm
from tinytvm.errors import ModelFormatError, QuantizationError, UnsupportedOperatorError

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
MODEL_NAMES = ["kws_dscnn_int8", "vww_mbv1_int8", "resnet8_int8", "ad01_int8"]


def _raw(name: str) -> bytes:
    return (MODELS / f"{name}.tflite").read_bytes()


def test_missing_file(tmp_path):
    with pytest.raises(ModelFormatError, match="not found"):
        tinytvm.from_tflite(tmp_path / "nope.tflite")


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(ModelFormatError, match="not a regular file"):
        tinytvm.from_tflite(tmp_path)


def test_wrong_argument_type():
    with pytest.raises(ModelFormatError, match="expected a path"):
        tinytvm.from_tflite(12345)


@pytest.mark.parametrize("payload", [b"", b"TFL3", b"\x00" * 64, b"PK\x03\x04 a zip file, not a model"])
def test_not_a_flatbuffer(payload):
    with pytest.raises(ModelFormatError, match="not a TFLite flatbuffer"):
        tinytvm.from_tflite(payload)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_truncated_copies_fail_cleanly(name):
    raw = _raw(name)
    for cut in np.linspace(8, len(raw) - 1, 25).astype(int):
        with pytest.raises(ModelFormatError):
            tinytvm.from_tflite(raw[:cut])


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_bit_flipped_copies_never_crash(name):
    """A flip in weight data still imports (it is a valid model); anything else is a ModelFormatError."""
    raw = _raw(name)
    rng = np.random.default_rng(7)
    outcomes = {"imported": 0, "rejected": 0}
    for _ in range(60):
        corrupted = bytearray(raw)
        # Most flips land in the graph structure (the first few KB) where they matter most.
        for _ in range(int(rng.integers(1, 6))):
            position = int(rng.integers(8, min(len(raw), 6000)))
            corrupted[position] ^= 1 << int(rng.integers(0, 8))
        try:
            tinytvm.from_tflite(bytes(corrupted))
            outcomes["imported"] += 1
        except tinytvm.TinyTVMError as error:
            assert str(error)
            outcomes["rejected"] += 1
    assert outcomes["rejected"] > 0


def test_unsupported_operator_named_with_index():
    raw = _raw("kws_dscnn_int8")
    # Rename the SOFTMAX operator code to an unsupported builtin in a copy of the file.
    from tinytvm.frontend.tflite.reader import read_graph
    graph = read_graph(raw)
    assert graph.operators[-1].name == "SOFTMAX"
    with pytest.raises(UnsupportedOperatorError, match=r"operator #\d+ \(LSTM\)"):
        tinytvm.from_tflite(_with_last_opcode_replaced(raw, new_builtin=16))  # 16 = LSTM


def _with_last_opcode_replaced(raw: bytes, new_builtin: int) -> bytes:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    import flatbuffers

    model = schema.ModelT.InitFromPackedBuf(raw, 0)
    last_code = model.subgraphs[0].operators[-1].opcodeIndex
    model.operatorCodes[last_code].builtinCode = new_builtin
    model.operatorCodes[last_code].deprecatedBuiltinCode = new_builtin
    builder = flatbuffers.Builder(len(raw) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_errors_are_tinytvm_errors():
    for error_type in (ModelFormatError, QuantizationError, UnsupportedOperatorError):
        assert issubclass(error_type, tinytvm.TinyTVMError)
