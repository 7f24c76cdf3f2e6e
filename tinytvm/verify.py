"""Bit-exactness checks of tinytvm against TFLite Micro (the oracle)."""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from .errors import TinyTVMError
from .frontend.tflite import import_tflite
from .frontend.tflite.reader import load_bytes
from .ir.graph import layers
from .reference import reference_run


@dataclasses.dataclass(frozen=True)
class VerificationResult:
    model: str
    runs: int
    identical_elements: int
    total_elements: int
    import_seconds: float
    num_ops: int

    @property
    def bit_exact(self) -> bool:
        return self.identical_elements == self.total_elements

    def __str__(self) -> str:
        return (f"{self.model}: {self.identical_elements}/{self.total_elements} output elements identical to "
                f"TFLite Micro over {self.runs} inputs ({self.num_ops} ops, import {self.import_seconds*1e3:.0f} ms)")


def random_inputs(mod_inputs: list[tuple[tuple[int, ...], str]], rng: np.random.Generator) -> list[np.ndarray]:
    """Seeded random inputs: full int8 range, or floats in [-1, 1) for float inputs."""
    arrays = []
    for shape, dtype in mod_inputs:
        if dtype == "int8":
            arrays.append(rng.integers(-128, 128, size=shape, dtype=np.int8))
        else:
            arrays.append(rng.uniform(-1.0, 1.0, size=shape).astype(dtype))
    return arrays


def tflm_interpreter(raw: bytes):
    try:
        from tflite_micro import runtime
    except ImportError as error:
        raise TinyTVMError("verification needs the oracle: pip install tflite-micro") from error
    return runtime.Interpreter.from_bytes(raw, arena_size=4 * len(raw) + (2 << 20))


def tflm_run(interpreter, inputs: list[np.ndarray], num_outputs: int) -> list[np.ndarray]:
    for position, array in enumerate(inputs):
        interpreter.set_input(array, position)
    interpreter.invoke()
    return [np.asarray(interpreter.get_output(i)) for i in range(num_outputs)]


def count_identical(actual_sets, expected_sets) -> tuple[int, int]:
    """(identical, total) output elements over pairs of per-input output lists."""
    identical = total = 0
    for actual, expected in zip(actual_sets, expected_sets):
        for ours, theirs in zip(actual, expected):
            identical += int((ours == theirs.reshape(ours.shape)).sum())
            total += ours.size
    return identical, total


def verify_against_tflm(model: str | os.PathLike | bytes, runs: int = 10, seed: int = 0) -> VerificationResult:
    """Import ``model``, run ``runs`` seeded random inputs through tinytvm and TFLM, count identical elements."""
    raw = load_bytes(model)
    start = time.perf_counter()
    imported = import_tflite(raw)
    import_seconds = time.perf_counter() - start
    graph = imported.graph
    signature = [(graph.tensors[i].shape, str(graph.tensors[i].dtype)) for i in graph.inputs]
    interpreter = tflm_interpreter(raw)
    rng = np.random.default_rng(seed)
    sets = [random_inputs(signature, rng) for _ in range(runs)]
    identical, total = count_identical([reference_run(imported.module, inputs) for inputs in sets],
                                       [tflm_run(interpreter, inputs, len(graph.outputs)) for inputs in sets])
    name = os.path.basename(str(model)) if not isinstance(model, (bytes, bytearray)) else "<bytes>"
    return VerificationResult(name, runs, identical, total, import_seconds, len(layers(imported.module)))
