"""Targets (instruction sets + compiler flags) and boards (memory limits) as data."""

from __future__ import annotations

import dataclasses

from ..errors import TinyTVMError


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    compiler: str  # C compiler executable
    cflags: tuple[str, ...]
    is_arm: bool

    @property
    def triple_flags(self) -> tuple[str, ...]:
        return self.cflags


@dataclasses.dataclass(frozen=True)
class Board:
    name: str
    target: str
    sram_bytes: int
    flash_bytes: int
    description: str


TARGETS: dict[str, Target] = {
    "cortex-m7": Target("cortex-m7", "arm-none-eabi-gcc",
                        ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"), True),
    "cortex-m4": Target("cortex-m4", "arm-none-eabi-gcc",
                        ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"), True),
    "host": Target("host", "gcc", (), False),
}

BOARDS: dict[str, Board] = {
    "stm32f746": Board("stm32f746", "cortex-m7", 320 * 1024, 1024 * 1024,
                       "STM32F746 (Cortex-M7 216 MHz): 320 KB SRAM, 1 MB flash"),
    "stm32h743": Board("stm32h743", "cortex-m7", 512 * 1024, 2048 * 1024,
                       "STM32H743 (Cortex-M7 480 MHz): 512 KB AXI SRAM, 2 MB flash"),
    "stm32f412": Board("stm32f412", "cortex-m4", 256 * 1024, 1024 * 1024,
                       "STM32F412 (Cortex-M4 100 MHz): 256 KB SRAM, 1 MB flash"),
    "mps2-an500": Board("mps2-an500", "cortex-m7", 4 * 1024 * 1024, 4 * 1024 * 1024,
                        "Arm MPS2 AN500 (QEMU's Cortex-M7 machine): 4 MiB SRAM, 4 MiB code RAM"),
    "host": Board("host", "host", 1 << 40, 1 << 40, "the build machine (no memory limit)"),
}

DEFAULT_BOARD = {"cortex-m7": "stm32f746", "cortex-m4": "stm32f412", "host": "host"}


def get_target(name: str) -> Target:
    if name not in TARGETS:
        raise TinyTVMError(f"unknown target '{name}'; available: {', '.join(sorted(TARGETS))}")
    return TARGETS[name]


def get_board(name: str | None, target: str) -> Board:
    name = name or DEFAULT_BOARD[target]
    if name not in BOARDS:
        raise TinyTVMError(f"unknown board '{name}'; available: {', '.join(sorted(BOARDS))}")
    board = BOARDS[name]
    if board.target != target and target != "host":
        raise TinyTVMError(f"board '{name}' has a {board.target}, not a {target}")
    return board
