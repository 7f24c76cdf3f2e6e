"""TFLite Micro as the test oracle: run models, read intermediate tensors, make inputs.

TFLM's reference kernels define the int8 results tinytvm must reproduce bit for bit. Models are
given as bytes, a path, or a schema ``ModelT`` (see :data:`ModelLike`).

* :func:`tflm_run` / :func:`tflm_run_many`: outputs for one / many input sets.
* :func:`tflm_intermediates`: values of any tensors (intermediate or not) after one inference.
* :func:`tflm_check`: load and invoke in a child process, for models that may crash TFLM.
* :func:`model_io`, :func:`random_input`, :func:`random_inputs`: describe a model's inputs and
  outputs; make seeded random inputs.

TFLM quirks handled here: TFLM prints its reasons for rejecting a model to stderr and raises
only "TFLM failed to allocate tensors", so stderr is captured into :class:`TflmError`; an arena
that is far too small segfaults the process instead of raising (so the default arena is
generous); arrays returned by the interpreter are copied before the interpreter goes away.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Union

import numpy as np
from tflite_micro import runtime as tflm_runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

if __package__:  # imported as tests.oracle
    from .tflite_builder import pack_model
else:  # imported as oracle (tests/ on sys.path, pytest's default)
    from tflite_builder import pack_model

__all__ = [
    "ModelLike",
    "TensorInfo",
    "ModelIO",
    "SHARED_MODELS_DIR",
    "MLPERF_MODELS",
    "shared_model_path",
    "model_bytes",
    "load_model",
    "model_io",
    "tensor_infos",
    "default_arena_size",
    "TflmError",
    "tflm_interpreter",
    "tflm_run",
    "tflm_run_many",
    "tflm_intermediates",
    "with_outputs",
    "random_input",
    "random_inputs",
    "TflmVerdict",
    "tflm_check",
]

ModelLike = Union[bytes, bytearray, memoryview, str, os.PathLike, schema.ModelT]

#: ``<project root>/../shared/models`` (never copied into the project).
SHARED_MODELS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "models"
#: The four MLPerf Tiny reference models (file stems in SHARED_MODELS_DIR).
MLPERF_MODELS = ("kws_dscnn_int8", "vww_mbv1_int8", "resnet8_int8", "ad01_int8")

_TFLITE_TO_DTYPE: dict[int, np.dtype] = {
    schema.TensorType.FLOAT32: np.dtype("float32"),
    schema.TensorType.FLOAT16: np.dtype("float16"),
    schema.TensorType.FLOAT64: np.dtype("float64"),
    schema.TensorType.INT8: np.dtype("int8"),
    schema.TensorType.UINT8: np.dtype("uint8"),
    schema.TensorType.INT16: np.dtype("int16"),
    schema.TensorType.INT32: np.dtype("int32"),
    schema.TensorType.INT64: np.dtype("int64"),
    schema.TensorType.BOOL: np.dtype("bool"),
}

_MIN_ARENA = 1 << 20
_MAX_ARENA = 1 << 28


def shared_model_path(name: str) -> Path:
    """Path of a shared model by stem (``"kws_dscnn_int8"``) or file name."""
    p = SHARED_MODELS_DIR / (name if name.endswith(".tflite") else f"{name}.tflite")
    if not p.is_file():
        raise FileNotFoundError(f"shared model {p} not found")
    return p


# ---------------------------------------------------------------------------------------------
# Reading models
# ---------------------------------------------------------------------------------------------


def model_bytes(model: ModelLike) -> bytes:
    """The flatbuffer bytes of a model given as bytes, a path or a ModelT."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    if isinstance(model, schema.ModelT):
        return pack_model(model)
    return Path(model).read_bytes()


def load_model(model: ModelLike) -> schema.ModelT:
    """Unpack a model into the schema's object API (a ModelT is returned as is)."""
    if isinstance(model, schema.ModelT):
        return model
    data = model_bytes(model)
    return schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """One tensor of subgraph 0. ``scale``/``zero_point`` are empty when unquantized;
    ``axis`` is the quantized dimension (meaningful when per channel)."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: tuple[float, ...] = ()
    zero_point: tuple[int, ...] = ()
    axis: int = 0

    @property
    def quantized(self) -> bool:
        return len(self.scale) > 0

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


@dataclasses.dataclass(frozen=True)
class ModelIO:
    """Inputs and outputs of subgraph 0, in the model's order."""

    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]


def _tensor_info(g: schema.SubGraphT, index: int) -> TensorInfo:
    t = g.tensors[index]
    q = t.quantization
    scale: tuple[float, ...] = ()
    zps: tuple[int, ...] = ()
    axis = 0
    if q is not None and q.scale is not None and len(q.scale) > 0:
        scale = tuple(float(s) for s in q.scale)
        zps = tuple(int(z) for z in q.zeroPoint) if q.zeroPoint is not None else (0,) * len(scale)
        axis = int(q.quantizedDimension)
    name = t.name.decode() if isinstance(t.name, bytes) else (t.name or "")
    shape = tuple(int(d) for d in t.shape) if t.shape is not None else ()
    dtype = _TFLITE_TO_DTYPE.get(t.type)
    if dtype is None:
        raise ValueError(f"tensor {index} ({name}) has unsupported TFLite type {t.type}")
    return TensorInfo(index, name, shape, dtype, scale, zps, axis)


def tensor_infos(model: ModelLike) -> list[TensorInfo]:
    """Every tensor of subgraph 0."""
    g = load_model(model).subgraphs[0]
    return [_tensor_info(g, i) for i in range(len(g.tensors))]


def model_io(model: ModelLike) -> ModelIO:
    """Shapes, dtypes and quantization of a model's inputs and outputs."""
    g = load_model(model).subgraphs[0]
    return ModelIO(
        tuple(_tensor_info(g, int(i)) for i in g.inputs),
        tuple(_tensor_info(g, int(i)) for i in g.outputs),
    )


def _activation_indices(m: schema.ModelT) -> list[int]:
    """Tensors of subgraph 0 without constant data."""
    g = m.subgraphs[0]
    out = []
    for i, t in enumerate(g.tensors):
        buf = m.buffers[t.buffer] if m.buffers and t.buffer < len(m.buffers) else None
        if buf is None or buf.data is None or len(buf.data) == 0:
            out.append(i)
    return out


def default_arena_size(model: ModelLike) -> int:
    """A generous arena: twice all activation bytes (as if none were reused) + model size +
    1 MiB, rounded up to 16. TFLM segfaults on an arena far too small, so err on the big side."""
    m = load_model(model)
    g = m.subgraphs[0]
    act = 0
    for i in _activation_indices(m):
        t = g.tensors[i]
        dtype = _TFLITE_TO_DTYPE.get(t.type, np.dtype("int64"))
        shape = [max(int(d), 1) for d in (t.shape if t.shape is not None else [])]
        act += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    size_model = len(model_bytes(model)) if not isinstance(model, schema.ModelT) else 0
    size = 2 * act + size_model + _MIN_ARENA
    return (size + 15) // 16 * 16


# ---------------------------------------------------------------------------------------------
# Running TFLM
# ---------------------------------------------------------------------------------------------


class TflmError(RuntimeError):
    """TFLM rejected a model (or failed to run it); ``log`` is what TFLM printed."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(f"{message}: {log.strip()}" if log.strip() else message)
        self.log = log


@contextlib.contextmanager
def _captured_stderr() -> Iterator[list[str]]:
    """Capture file descriptor 2 (TFLM's MicroPrintf) into the yielded list's only element."""
    sys.stderr.flush()
    saved = os.dup(2)
    result: list[str] = [""]
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield result
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            result[0] = tmp.read().decode(errors="replace")


def _dedup_lines(text: str) -> str:
    return "\n".join(dict.fromkeys(line for line in text.splitlines() if line.strip()))


def tflm_interpreter(
    model: ModelLike, arena_size: int | None = None, preserve_all_tensors: bool = False
) -> tflm_runtime.Interpreter:
    """A TFLM interpreter with tensors allocated.

    ``arena_size`` defaults to :func:`default_arena_size`; when TFLM reports that the default
    arena is too small it is retried once at 16x. A model TFLM rejects (unknown operator,
    failed Prepare, ...) raises :class:`TflmError` carrying TFLM's messages.
    ``preserve_all_tensors`` keeps every tensor's data (no arena reuse) so that
    ``GetTensor`` works for intermediates.
    """
    data = model_bytes(model)
    size = arena_size if arena_size is not None else default_arena_size(data)
    config = (
        tflm_runtime.InterpreterConfig.kPreserveAllTensors
        if preserve_all_tensors
        else tflm_runtime.InterpreterConfig.kAllocationRecording
    )
    for attempt in range(2):
        with _captured_stderr() as log:
            try:
                return tflm_runtime.Interpreter.from_bytes(
                    data, arena_size=size, intrepreter_config=config
                )
            except RuntimeError:
                pass
        text = _dedup_lines(log[0])
        arena_short = "Failed to allocate" in text or "Failed to resize buffer" in text
        if arena_size is not None or attempt == 1 or not arena_short:
            raise TflmError("TFLM failed to create the interpreter", text)
        size = min(size * 16, _MAX_ARENA)
    raise AssertionError("unreachable")


def _as_input_list(inputs: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    return [inputs] if isinstance(inputs, np.ndarray) else list(inputs)


def _check_inputs(io: ModelIO, inputs: list[np.ndarray]) -> list[np.ndarray]:
    if len(inputs) != len(io.inputs):
        raise ValueError(f"model has {len(io.inputs)} inputs, got {len(inputs)}")
    checked = []
    for info, x in zip(io.inputs, inputs):
        x = np.asarray(x)
        if x.dtype != info.dtype:
            raise ValueError(f"input {info.name!r}: dtype {x.dtype}, model wants {info.dtype}")
        if tuple(x.shape) != info.shape:
            raise ValueError(f"input {info.name!r}: shape {x.shape}, model wants {info.shape}")
        checked.append(np.ascontiguousarray(x))
    return checked


def _invoke(interp: tflm_runtime.Interpreter, inputs: list[np.ndarray]) -> None:
    for i, x in enumerate(inputs):
        interp.set_input(x, i)
    with _captured_stderr() as log:
        try:
            interp.invoke()
            return
        except RuntimeError:
            pass
    raise TflmError("TFLM failed to invoke the model", _dedup_lines(log[0]))


def tflm_run_many(
    model: ModelLike,
    input_sets: Iterable[np.ndarray | Sequence[np.ndarray]],
    arena_size: int | None = None,
) -> list[list[np.ndarray]]:
    """Outputs for each input set, with one interpreter (the models here are stateless)."""
    data = model_bytes(model)
    io = model_io(data)
    interp = tflm_interpreter(data, arena_size)
    results = []
    for inputs in input_sets:
        _invoke(interp, _check_inputs(io, _as_input_list(inputs)))
        results.append([np.array(interp.get_output(i), copy=True) for i in range(len(io.outputs))])
    return results


def tflm_run(
    model: ModelLike,
    inputs: np.ndarray | Sequence[np.ndarray],
    arena_size: int | None = None,
) -> list[np.ndarray]:
    """Run one inference; ``inputs`` in model input order (one array for one input).

    Inputs must already have the model's dtype and shape (no implicit casts). Returns the
    outputs in model output order (copies).
    """
    return tflm_run_many(model, [inputs], arena_size)[0]


def with_outputs(model: ModelLike, tensor_indices: Sequence[int]) -> bytes:
    """A copy of the model whose subgraph-0 outputs are ``tensor_indices`` (in that order)."""
    m = load_model(model_bytes(model) if isinstance(model, schema.ModelT) else model)
    m.subgraphs[0].outputs = [int(i) for i in tensor_indices]
    return pack_model(m)


def tflm_intermediates(
    model: ModelLike,
    tensor_indices: Sequence[int] | None,
    inputs: np.ndarray | Sequence[np.ndarray],
    method: str = "preserve",
    arena_size: int | None = None,
) -> dict[int, np.ndarray]:
    """Values of tensors of subgraph 0 after one inference, keyed by tensor index.

    ``tensor_indices=None`` means every activation tensor (all tensors without constant data).
    ``method="preserve"`` runs TFLM with ``kPreserveAllTensors`` and reads each tensor with
    ``GetTensor``; ``method="outputs"`` rewrites the model's outputs to the requested tensors
    (graph inputs can't be read back that way, so they are returned as given). Both give the
    same values (checked by the harness tests).
    """
    data = model_bytes(model)
    m = load_model(data)
    io = model_io(data)
    xs = _check_inputs(io, _as_input_list(inputs))
    indices = _activation_indices(m) if tensor_indices is None else [int(i) for i in tensor_indices]
    n = len(m.subgraphs[0].tensors)
    for i in indices:
        if not 0 <= i < n:
            raise IndexError(f"tensor index {i} out of range (model has {n} tensors)")
    if method == "preserve":
        interp = tflm_interpreter(data, arena_size, preserve_all_tensors=True)
        _invoke(interp, xs)
        out = {}
        for i in indices:
            t = interp.GetTensor(i, 0)
            out[i] = np.array(t["tensor_data"], copy=True).reshape(tuple(t["shape"]))
        return out
    if method == "outputs":
        inputs_by_index = {info.index: x for info, x in zip(io.inputs, xs)}
        wanted = [i for i in dict.fromkeys(indices) if i not in inputs_by_index]
        values: dict[int, np.ndarray] = {}
        if wanted:
            values = dict(zip(wanted, tflm_run(with_outputs(data, wanted), xs, arena_size)))
        return {
            i: np.array(inputs_by_index[i]) if i in inputs_by_index else values[i] for i in indices
        }
    raise ValueError(f"method must be 'preserve' or 'outputs', got {method!r}")


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def _float_input_range(m: schema.ModelT, index: int) -> tuple[float, float]:
    """Real range for a float input: the range its QUANTIZE consumer represents, if any."""
    g = m.subgraphs[0]
    for op in g.operators or []:
        code = m.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) != schema.BuiltinOperator.QUANTIZE:
            continue
        if op.inputs is None or int(op.inputs[0]) != index:
            continue
        q = _tensor_info(g, int(op.outputs[0]))
        if q.quantized and q.dtype.kind in "iu":
            info = np.iinfo(q.dtype)
            s, z = q.scale[0], q.zero_point[0]
            return (info.min - z) * s, (info.max - z) * s
    return -1.0, 1.0


def random_inputs(model: ModelLike, seed: int = 0, count: int = 1) -> list[list[np.ndarray]]:
    """``count`` seeded input sets (each a list in model input order).

    Integer inputs are uniform over the dtype's full range (int8: -128..127); float inputs are
    uniform over the real range of the QUANTIZE that consumes them, else [-1, 1]; bool inputs
    are fair coin flips. The same (model, seed) always gives the same sets, and
    ``random_inputs(m, s, n)[:k] == random_inputs(m, s, k)``.
    """
    m = load_model(model)
    io = model_io(m)
    rng = np.random.default_rng(seed)
    float_ranges = {
        info.index: _float_input_range(m, info.index)
        for info in io.inputs
        if info.dtype.kind == "f"
    }
    sets = []
    for _ in range(count):
        xs = []
        for info in io.inputs:
            if info.dtype.kind in "iu":
                lim = np.iinfo(info.dtype)
                x = rng.integers(lim.min, lim.max, size=info.shape, endpoint=True, dtype=info.dtype)
            elif info.dtype.kind == "f":
                lo, hi = float_ranges[info.index]
                x = rng.uniform(lo, hi, size=info.shape).astype(info.dtype)
            elif info.dtype.kind == "b":
                x = rng.integers(0, 2, size=info.shape).astype(bool)
            else:
                raise ValueError(f"cannot make random inputs of dtype {info.dtype}")
            xs.append(x)
        sets.append(xs)
    return sets


def random_input(model: ModelLike, seed: int = 0) -> list[np.ndarray]:
    """One seeded input set (``random_inputs(model, seed, 1)[0]``)."""
    return random_inputs(model, seed, 1)[0]


# ---------------------------------------------------------------------------------------------
# Crash-safe acceptance check
# ---------------------------------------------------------------------------------------------

_CHECK_SCRIPT = r"""
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from oracle import tflm_interpreter, model_io, random_input, _invoke
data = sys.stdin.buffer.read()
print("STAGE load", flush=True)
interp = tflm_interpreter(data, int(sys.argv[2]) if sys.argv[2] != "-" else None)
print("STAGE invoke", flush=True)
_invoke(interp, random_input(data, 0))
print("STAGE ok", flush=True)
"""


@dataclasses.dataclass(frozen=True)
class TflmVerdict:
    """Outcome of :func:`tflm_check`. ``stage`` is the last stage reached: "start", "load"
    (creating the interpreter / allocating tensors), "invoke", or "ok"."""

    ok: bool
    stage: str
    returncode: int
    log: str

    @property
    def crashed(self) -> bool:
        """Killed by a signal (e.g. segfault) rather than a Python exception."""
        return self.returncode < 0


def tflm_check(
    model: ModelLike, arena_size: int | None = None, timeout: float = 120
) -> TflmVerdict:
    """Load the model and invoke it once on random inputs in a child process.

    For models that TFLM may reject by crashing (segfault, abort) rather than by raising.
    ``log`` holds the child's stdout and stderr (TFLM's own error messages go to stderr).
    """
    data = model_bytes(model)
    proc = subprocess.run(
        [sys.executable, "-c", _CHECK_SCRIPT, str(Path(__file__).resolve().parent),
         str(arena_size) if arena_size is not None else "-"],
        input=data,
        capture_output=True,
        timeout=timeout,
    )
    out = proc.stdout.decode(errors="replace")
    stages = [line.split()[1] for line in out.splitlines() if line.startswith("STAGE ")]
    stage = stages[-1] if stages else "start"
    log = out + proc.stderr.decode(errors="replace")
    return TflmVerdict(proc.returncode == 0 and stage == "ok", stage, proc.returncode, log)
