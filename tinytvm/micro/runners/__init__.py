"""Runners execute an :class:`~tinytvm.codegen.artifact.Artifact`: on the host, or on QEMU."""

from __future__ import annotations

import dataclasses

import numpy as np

from ...errors import TinyTVMError
from ...ir.graph import check_inputs


@dataclasses.dataclass(frozen=True)
class RunResult:
    outputs: list[np.ndarray]
    #: Instructions of one inference (QEMU, -icount; identical every run), None on the host.
    instructions: int | None = None
    #: Per-layer instructions when profiling was requested.
    layer_instructions: list[int] | None = None


def get_runner(name: str):
    from . import host, qemu
    runners = {"host": host.HostRunner(), "host-asan": host.HostRunner(sanitize=True), "qemu": qemu.QemuRunner()}
    if name not in runners:
        raise TinyTVMError(f"unknown runner '{name}'; available: {', '.join(sorted(runners))}")
    return runners[name]


def normalize_inputs(artifact, inputs) -> list[np.ndarray]:
    """One array per model input, checked against the model's shapes and dtypes."""
    return check_inputs([(io.name, io.shape, io.dtype) for io in artifact.inputs], inputs)


def split_outputs(artifact, raw: bytes) -> list[np.ndarray]:
    outputs, position = [], 0
    for io in artifact.outputs:
        chunk = raw[position:position + io.nbytes]
        outputs.append(np.frombuffer(chunk, dtype=io.dtype).reshape(io.shape).copy())
        position += io.nbytes
    return outputs
