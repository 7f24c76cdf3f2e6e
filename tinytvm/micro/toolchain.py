"""Cross-compiling generated models into bare-metal Cortex-M images, and reading their sizes."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

from ..codegen import kernel_library
from ..errors import ResourceLimitError, TinyTVMError

COMMON_FLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections",
                "-fstack-usage")
QEMU_CODE_ORIGIN = 0x00000000  # mps2-an500: code RAM at 0x0 (a real STM32 maps flash at 0x08000000)
SRAM_ORIGIN = 0x20000000
STACK_BYTES = 8 * 1024


@dataclasses.dataclass(frozen=True)
class ImageSizes:
    """Bytes of a linked image by output section (text includes rodata: weights live there)."""

    text: int
    data: int
    bss: int
    stack: int

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def sram(self) -> int:
        return self.data + self.bss + self.stack


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise TinyTVMError(f"'{tool}' was not found: install gcc-arm-none-eabi, libnewlib-arm-none-eabi and "
                           "qemu-system-arm (scripts/setup.sh does it when run as root)")
    return path


def linker_script(work: Path, flash_bytes: int, sram_bytes: int, stack_bytes: int = STACK_BYTES) -> Path:
    template = kernel_library.platform_dir() / "cortexm.ld.in"
    script = work / "image.ld"
    command = [require("arm-none-eabi-gcc"), "-E", "-P", "-x", "c", f"-DTT_FLASH_ORIGIN={QEMU_CODE_ORIGIN:#x}",
               f"-DTT_FLASH_SIZE={flash_bytes}", f"-DTT_RAM_ORIGIN={SRAM_ORIGIN:#x}",
               f"-DTT_RAM_SIZE={sram_bytes}", f"-DTT_STACK_SIZE={stack_bytes}", str(template), "-o", str(script)]
    _run(command, "preprocessing the linker script")
    return script


def link_image(artifact, sources: list[Path], include_dirs: list[Path], work: Path, flash_bytes: int,
               sram_bytes: int, defines: tuple[str, ...] = (), ldflags: tuple[str, ...] = ()) -> Path:
    """Compile and link ``sources`` with the platform layer; a board overflow is a ResourceLimitError."""
    platform = kernel_library.platform_dir()
    script = linker_script(work, flash_bytes, sram_bytes)
    elf = work / f"{artifact.name}.elf"
    command = [require("arm-none-eabi-gcc"), *artifact.target.cflags, *COMMON_FLAGS, *defines,
               *(f"-I{d}" for d in [*include_dirs, platform]), *map(str, sources),
               *(str(platform / f) for f in ("startup.c", "semihost.c", "cycle_counter.c")),
               f"-T{script}", "-Wl,--gc-sections", "--specs=nano.specs", "--specs=nosys.specs", *ldflags,
               "-o", str(elf)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=work)
    if result.returncode != 0:
        if "overflow" in result.stderr or "will not fit" in result.stderr:
            raise ResourceLimitError(f"'{artifact.name}' does not fit board '{artifact.board.name}' at link "
                                     f"time:\n{_overflow_lines(result.stderr)}")
        raise TinyTVMError(f"cross-compiling '{artifact.name}' failed:\n{result.stderr[-6000:]}")
    return elf


def compile_object(target, source: Path, include_dirs: list[Path], work: Path) -> Path:
    """Compile ``source`` to ``work/<stem>.o`` with the flags ``link_image`` uses (cwd ``work``: .su files)."""
    obj = work / f"{source.stem}.o"
    command = [require(target.compiler), *target.cflags, *COMMON_FLAGS, *(f"-I{d}" for d in include_dirs),
               "-c", str(source), "-o", str(obj)]
    _run(command, f"compiling {source.name}", cwd=work)
    return obj


def image_sizes(elf: Path) -> ImageSizes:
    with elf.open("rb") as handle:
        sections = {s.name: s.header.sh_size for s in ELFFile(handle).iter_sections()}
    text = sum(sections.get(name, 0) for name in (".text", ".ARM.extab", ".ARM.exidx", ".preinit_array",
                                                   ".init_array", ".fini_array"))
    return ImageSizes(text, sections.get(".data", 0), sections.get(".bss", 0), sections.get(".stack", 0))


def symbol_sizes(elf: Path) -> dict[str, int]:
    with elf.open("rb") as handle:
        table = ELFFile(handle).get_section_by_name(".symtab")
        return {sym.name: sym["st_size"] for sym in table.iter_symbols() if sym.name}


def _overflow_lines(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if "overflow" in line or "fit" in line) or stderr


def _run(command, what: str, cwd: Path | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        raise TinyTVMError(f"{what} failed:\n{result.stderr[-4000:]}")
