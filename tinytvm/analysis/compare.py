"""Per-layer comparison with TFLite Micro: which layer first differs, and by how much.

Runs the model in TFLM with every tensor preserved and in tinytvm's reference
executor, then compares each imported layer's output with the TFLite tensor it
stands for. Requires the optional ``tflite-micro`` package (the oracle).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..errors import TinyTVMError
from ..frontend.tflite import import_tflite
from ..frontend.tflite.reader import load_bytes
from ..ir.graph import layers
from ..reference import trace


@dataclasses.dataclass(frozen=True)
class LayerDiff:
    position: int
    var_name: str
    kernel: str
    tensor_index: int
    tensor_name: str
    shape: tuple[int, ...]
    mismatches: int
    max_abs_diff: float

    @property
    def total(self) -> int:
        return int(np.prod(self.shape))

    @property
    def identical(self) -> bool:
        return self.mismatches == 0


@dataclasses.dataclass(frozen=True)
class LayerComparison:
    layers: list[LayerDiff]

    @property
    def first_mismatch(self) -> LayerDiff | None:
        return next((layer for layer in self.layers if not layer.identical), None)

    @property
    def identical(self) -> bool:
        return self.first_mismatch is None

    def __str__(self) -> str:
        rows = [f"{'#':>3} {'kernel':<18} {'tensor':<40} {'shape':<18} {'differ':>12} {'max|d|':>8}"]
        for layer in self.layers:
            rows.append(f"{layer.position:>3} {layer.kernel:<18} {layer.tensor_name[:40]:<40} "
                        f"{str(layer.shape):<18} {layer.mismatches:>6}/{layer.total:<5} {layer.max_abs_diff:>8g}")
        first = self.first_mismatch
        rows.append("all layers identical" if first is None else
                    f"first difference: layer {first.position} ({first.kernel}, tensor '{first.tensor_name}')")
        return "\n".join(rows)


def compare_with_tflm(model: str | os.PathLike | bytes, inputs) -> LayerComparison:
    """Compare every layer's output of ``model`` on ``inputs`` with TFLite Micro's."""
    raw = load_bytes(model)
    imported = import_tflite(raw)
    inputs = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
    ours = trace(imported.module, inputs)
    theirs = _tflm_tensors(raw, inputs)
    diffs = []
    for position, layer in enumerate(layers(imported.module)):
        tensor_index = imported.tensor_of_var.get(layer.var.name)
        if tensor_index is None:  # an internal value with no TFLite counterpart (e.g. a flatten)
            continue
        expected = theirs(tensor_index)
        actual = ours[layer.var.name]
        tensor = imported.graph.tensors[tensor_index]
        difference = np.abs(actual.astype(np.float64) - expected.reshape(actual.shape).astype(np.float64))
        diffs.append(LayerDiff(position, layer.var.name, layer.kernel, tensor_index, tensor.name,
                               actual.shape, int((difference != 0).sum()), float(difference.max(initial=0))))
    return LayerComparison(diffs)


def _tflm_tensors(raw: bytes, inputs: list[np.ndarray]):
    try:
        from tflite_micro import runtime
    except ImportError as error:
        raise TinyTVMError("per-layer comparison needs the oracle: pip install tflite-micro") from error
    interpreter = runtime.Interpreter.from_bytes(
        raw, arena_size=_arena_size(raw), intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    for position, array in enumerate(inputs):
        interpreter.set_input(array, position)
    interpreter.invoke()

    def tensor(index: int) -> np.ndarray:
        return np.asarray(interpreter.GetTensor(index, 0)["tensor_data"])
    return tensor


def _arena_size(raw: bytes) -> int:
    # Preserving every tensor needs room for all of them at once; the file size bounds the weights.
    return 16 * len(raw) + (8 << 20)
