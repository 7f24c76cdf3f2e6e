"""The result of ``tinytvm.build``: generated C, the memory plan, and how to run it."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
from pathlib import Path

from ..memory.liveness import Lifetimes
from ..memory.plan import ArenaPlan
from ..micro.targets import Board, Target
from . import kernel_library
from .aot import GeneratedC, TensorIO
from .lowering import LoweredLayer


@dataclasses.dataclass(frozen=True)
class LayerInfo:
    index: int
    kernel: str
    output: str
    shape: tuple[int, ...]
    macs: int
    weight_bytes: int
    scratch_bytes: int
    output_location: str  # "arena+<offset>" or the caller's "input:k"/"output:k"

    @classmethod
    def of(cls, index, layer, lowered: LoweredLayer, plan: ArenaPlan, lifetimes: Lifetimes, scratch_names):
        storage = next(s for s in lifetimes.storages if s.name == lifetimes.storage_of[layer.var.name])
        location = storage.external or \
            f"arena+{plan.offset(storage.name) + lifetimes.value_offset.get(layer.var.name, 0)}"
        return cls(index, layer.kernel, layer.var.name, layer.out_shape, layer.macs, lowered.constant_bytes,
                   lowered.scratch_bytes, location)


@dataclasses.dataclass(frozen=True)
class Artifact:
    name: str
    target: Target
    board: Board
    generated: GeneratedC
    plan: ArenaPlan
    inputs: list[TensorIO]
    outputs: list[TensorIO]
    layers: tuple[LayerInfo, ...]
    #: The patched stage (analysis.patch_summary.PatchSummary), None when every layer runs whole.
    patch: object = None

    # -- figures ----------------------------------------------------------------------------
    @property
    def arena_bytes(self) -> int:
        return self.plan.size

    @property
    def weight_bytes(self) -> int:
        return sum(layer.weight_bytes for layer in self.layers)

    @property
    def io_bytes(self) -> int:
        return sum(io.nbytes for io in self.inputs) + sum(io.nbytes for io in self.outputs)

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    # -- files ------------------------------------------------------------------------------
    def files(self) -> dict[str, bytes]:
        """Every exported file: relative path -> content (deterministic)."""
        files = self.source_files()
        files["metadata.json"] = (json.dumps(self.metadata(), indent=2, sort_keys=True) + "\n").encode()
        return files

    def source_files(self) -> dict[str, bytes]:
        """The C sources and headers needed to compile the model."""
        files = {
            f"model/{self.name}.h": self.generated.header.encode(),
            f"model/{self.name}.c": self.generated.source.encode(),
        }
        for path in kernel_library.public_headers():
            files[f"kernels/include/tinytvm/{path.name}"] = path.read_bytes()
        for path in kernel_library.private_headers():
            files[f"kernels/src/{path.name}"] = path.read_bytes()
        for path in self.kernel_sources():
            files[f"kernels/src/{path.name}"] = path.read_bytes()
        return files

    def kernel_sources(self) -> list[Path]:
        return kernel_library.sources_for(self.generated.source_families)

    def export(self, directory: str | os.PathLike, sources_only: bool = False) -> Path:
        """Write the sources, headers and (unless ``sources_only``) metadata.json into ``directory``."""
        root = Path(directory)
        for relative, content in sorted((self.source_files() if sources_only else self.files()).items()):
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return root

    @functools.cached_property
    def image(self):
        """Sizes of a deployable image linked for the board (Cortex-M targets; needs arm-none-eabi-gcc)."""
        from ..micro.image import measure_image
        return measure_image(self)

    def _image_metadata(self) -> dict | None:
        if not self.target.is_arm or shutil.which(self.target.compiler) is None:
            return None
        image = self.image
        return {"text": image.text, "data": image.data, "bss": image.bss, "flash": image.flash,
                "weights": image.weights, "code": image.code, "stack_reserved": image.stack_reserved,
                "max_kernel_stack": image.max_kernel_stack, "stack_usage": image.stack_usage}

    def metadata(self) -> dict:
        return {
            "image": self._image_metadata(),
            "name": self.name,
            "target": self.target.name,
            "board": self.board.name,
            "arena_bytes": self.arena_bytes,
            "arena_lower_bound": self.plan.lower_bound,
            "planner": self.plan.planner,
            "io_bytes": self.io_bytes,
            "peak_sram_bytes": self.arena_bytes + self.io_bytes,
            "weight_bytes": self.weight_bytes,
            "total_macs": self.total_macs,
            "inputs": [dataclasses.asdict(io) for io in self.inputs],
            "outputs": [dataclasses.asdict(io) for io in self.outputs],
            "layers": [dataclasses.asdict(layer) for layer in self.layers],
            "patch": None if self.patch is None else {**dataclasses.asdict(self.patch),
                                                      "extra_macs_ratio": self.patch.extra_macs_ratio},
        }

    # -- running ----------------------------------------------------------------------------
    def run(self, inputs, runner: str = "host", **options):
        """Run one inference per input set; see :mod:`tinytvm.micro.runners`."""
        from ..micro.runners import get_runner
        return get_runner(runner).run(self, inputs, **options)
