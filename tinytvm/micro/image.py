"""Link a deployable Cortex-M image of an artifact and measure it (flash/SRAM by section, stack)."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from . import toolchain
from .runners.harness import deploy_main


@dataclasses.dataclass(frozen=True)
class ImageReport:
    text: int          # code + read-only data (weights, parameter structs) in flash
    data: int          # initialized data (flash copy + SRAM)
    bss: int           # zero-initialized SRAM: the activation arena and the I/O buffers
    stack_reserved: int
    weights: int       # bytes of the model's constant arrays (part of text)
    max_kernel_stack: int  # largest -fstack-usage figure among the kernel and model functions
    stack_usage: dict[str, int]
    symbols: dict[str, int]  # symbol -> size, from the ELF symbol table

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def code(self) -> int:
        return self.text - self.weights


def measure_image(artifact) -> ImageReport:
    """Cross-compile ``artifact`` with a minimal main for its board; a board overflow raises."""
    with tempfile.TemporaryDirectory(prefix="tinytvm-image-") as tmp:
        work = Path(tmp)
        root = artifact.export(work / "src", sources_only=True)
        main = work / "main.c"
        main.write_text(deploy_main(artifact))
        sources = [main, root / "model" / f"{artifact.name}.c", *sorted((root / "kernels" / "src").glob("*.c"))]
        includes = [root / "model", root / "kernels" / "include", root / "kernels" / "src"]
        elf = toolchain.link_image(artifact, sources, includes, work, artifact.board.flash_bytes,
                                   artifact.board.sram_bytes)
        sizes = toolchain.image_sizes(elf)
        symbols = toolchain.symbol_sizes(elf)
        stack = _stack_usage(work)
    weights = sum(size for name, size in symbols.items() if _is_weight(name))
    return ImageReport(sizes.text, sizes.data, sizes.bss, sizes.stack, weights,
                       max(stack.values(), default=0), stack, symbols)


def _is_weight(symbol: str) -> bool:
    return symbol.startswith("l") and symbol.split("_", 1)[0][1:].isdigit() and not symbol.endswith("_params")


def _stack_usage(work: Path) -> dict[str, int]:
    """Per-function stack bytes from gcc's .su files (``file:line:col:function bytes qualifier``)."""
    usage = {}
    for su in work.glob("*.su"):
        for line in su.read_text().splitlines():
            location, size, _ = line.rsplit("\t", 2)
            function = location.rsplit(":", 1)[-1]
            usage[function] = max(usage.get(function, 0), int(size))
    return dict(sorted(usage.items()))
