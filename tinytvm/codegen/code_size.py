"""Flash bytes of a model's code without compiling it: a checked-in table per Cortex-M target.

``tinytvm.analyze`` reports flash = constants + code. The code is what the image linked by
``Artifact.image`` (``metadata.json``: ``image.code`` = ``image.flash`` - weights) holds besides
the constants:

* kernels: the input sections ``--gc-sections`` keeps for the kernel functions the model calls,
  i.e. each function with everything its relocations reach (a helper shared by two families
  counts once), as compiled with the build's exact compiler and flags; a library function the
  runtime does not link already (``memmove``) costs what linking it into that image adds;
* model: the generated run function (``base + per_call * calls``, fitted on small networks),
  one parameter struct per call (``sizeof``, exact) and the alignment gaps among the model's
  constants and structs;
* runtime: what every image links whatever the model: vector table, reset handler,
  semihosting exit and ``tt_printf`` (fault messages), the SysTick counter, newlib's crt
  init/fini, ``memcpy``/``memset``. A firmware with its own startup replaces this part.

The table (``code_size.json``) is measured, never edited; after changing src_cpp, the flags
or the toolchain, rewrite it (tests/test_code_size.py fails while it is stale)::

    python scripts/code_size_table.py --regenerate

The host target has no flash and no table: its code is reported as 0, so its
``flash_bytes`` is the constants alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

from ..errors import TinyTVMError
from ..ir.network import NetworkBuilder
from ..micro import toolchain
from ..micro.targets import TARGETS, Target, get_board
from . import kernel_library
from .build import BuildOptions, ModelPlan, build, plan_model
from .patch_loop import LoweredStage

TABLE = Path(__file__).with_name("code_size.json")
#: Input sections the linker script places in flash (``.bss`` is SRAM only).
FLASH_SECTIONS = (".text", ".rodata", ".data")
PARAMS_TYPEDEF = re.compile(r"}\s*(tinytvm_\w+_params)\s*;")
#: How far a fresh fit of the run function may move before the table is stale. The fit follows the arena
#: offsets the planner picks (immediates vs literal pools), so planner work moves it slightly.
BASE_DRIFT, PER_CALL_DRIFT = 16.0, 0.5


@dataclasses.dataclass(frozen=True)
class Section:
    """One input section of a kernel object: the unit ``--gc-sections`` keeps or drops."""

    bytes: int              # size rounded up to its alignment (the linker pads each input section so)
    refs: tuple[str, ...]   # the sections and "lib:" functions its relocations point to


@dataclasses.dataclass(frozen=True)
class CallCost:
    """Bytes of the generated run function: ``base + per_call * calls`` (least squares)."""

    base: float
    per_call: float


@dataclasses.dataclass(frozen=True)
class TargetCode:
    """Code sizes of one target's images, measured with the build's compiler and flags."""

    compiler: str                  # first line of ``--version``: the sizes hold for this compiler
    cflags: tuple[str, ...]
    runtime: int                   # flash of an image whose main does nothing
    sections: dict[str, Section]   # "<source>:<section>" or "lib:<symbol>" -> its bytes and references
    functions: dict[str, str]      # global kernel function -> its section
    params: dict[str, tuple[int, int]]  # parameter struct -> (sizeof, alignof)
    calls: CallCost

    @classmethod
    def from_json(cls, data: dict) -> TargetCode:
        sections = {name: Section(s["bytes"], tuple(s["refs"])) for name, s in data["sections"].items()}
        params = {name: tuple(size_align) for name, size_align in data["params"].items()}
        return cls(data["compiler"], tuple(data["cflags"]), data["runtime"], sections, data["functions"], params,
                   CallCost(**data["calls"]))

    def differences(self, fresh: TargetCode) -> list[str]:
        """Fields in which this table disagrees with ``fresh``: measured ones exactly, the fit beyond its drift."""
        fields = [field.name for field in dataclasses.fields(self)
                  if field.name != "calls" and getattr(self, field.name) != getattr(fresh, field.name)]
        if (abs(self.calls.base - fresh.calls.base) > BASE_DRIFT
                or abs(self.calls.per_call - fresh.calls.per_call) > PER_CALL_DRIFT):
            fields.append("calls")
        return fields


@dataclasses.dataclass(frozen=True)
class CodeSize:
    """Flash bytes of a model's code (everything in its image but the constants)."""

    #: kernel family -> bytes of the sections it adds (a shared helper counts with the first family, sorted)
    kernels: dict[str, int]
    model: int    # run function + parameter structs + alignment gaps among the constants
    runtime: int  # startup, vectors, semihosting, cycle counter, crt, memcpy/memset

    @property
    def kernel_bytes(self) -> int:
        return sum(self.kernels.values())

    @property
    def total(self) -> int:
        return self.kernel_bytes + self.model + self.runtime


# -- estimate (analyze: no compiler) -----------------------------------------------------------
@functools.cache
def tables() -> dict[str, TargetCode]:
    data = json.loads(TABLE.read_text())
    return {name: TargetCode.from_json(entry) for name, entry in data.items()}


def estimate_code(target: str, compiled: ModelPlan) -> CodeSize:
    """The code ``compiled`` adds to its image on ``target`` (zero on the host: no flash)."""
    table = tables().get(target)
    if table is None:
        return CodeSize({}, 0, 0)
    return CodeSize(_kernel_bytes(table, compiled, target), _model_bytes(table, compiled, target), table.runtime)


def _model_bytes(table: TargetCode, compiled: ModelPlan, target: str) -> int:
    """The run function, and the model's read-only data less its constants (parameter structs, gaps)."""
    items, constants = [], 0
    for low in compiled.lowered:  # in the order aot defines them
        items += [(array.nbytes, array.alignment) for array in low.constants]
        constants += low.constant_bytes
        items += [_lookup(table.params, call.params_type, target) for call in kernel_calls(low)
                  if call.params is not None]
    run = round(table.calls.base + table.calls.per_call * emitted_calls(compiled))
    return run + _layout_end(items) - constants


def _layout_end(items: list[tuple[int, int]]) -> int:
    """End of ``(bytes, alignment)`` items placed as GCC emits a file's statics: the last defined first."""
    end = 0
    for size, align in reversed(items):
        end = _align(end, align) + size
    return end


def emitted_calls(compiled: ModelPlan) -> int:
    """Calls in the run function: a reshape whose input and output share their bytes emits none (aot._call)."""
    lifetimes = compiled.lifetimes

    def place(value: str) -> tuple[str, int]:
        return lifetimes.storage_of[value], lifetimes.value_offset.get(value, 0)

    return sum(low.num_steps if isinstance(low, LoweredStage) else 1
               for layer, low in zip(lifetimes.layers, compiled.lowered)
               if not (low.function == "memcpy" and place(layer.call.args[0].name) == place(layer.var.name)))


def kernel_calls(low) -> tuple:
    """The kernel calls behind one lowered layer: itself, or a patch loop's operators and window copies."""
    return low.calls if isinstance(low, LoweredStage) else (low,)


def _kernel_bytes(table: TargetCode, compiled: ModelPlan, target: str) -> dict[str, int]:
    roots: dict[str, set[str]] = {}
    for call in (call for low in compiled.lowered for call in kernel_calls(low)):
        if call.source_family:  # a family-less call (memcpy) is in the runtime
            roots.setdefault(call.source_family, set()).add(_lookup(table.functions, call.function, target))
    kept: set[str] = set()
    return {family: _reach(table.sections, roots[family], kept) for family in sorted(roots)}


def _reach(sections: dict[str, Section], roots, kept: set[str]) -> int:
    """Bytes of the sections reachable from ``roots`` that are not in ``kept`` yet (adds them)."""
    total = 0
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name not in kept:
            kept.add(name)
            total += sections[name].bytes
            pending.extend(sections[name].refs)
    return total


def _lookup(entries: dict, key: str, target: str):
    if key not in entries:
        raise TinyTVMError(f"'{key}' is not in the code-size table of {target} ({TABLE.name}); it is stale: "
                           "run python scripts/code_size_table.py --regenerate")
    return entries[key]


# -- measurement (--regenerate, tests) ---------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Probe:
    """What ``toolchain.link_image`` reads of an artifact."""

    name: str
    target: Target


@dataclasses.dataclass
class _Object:
    """The flash sections of one kernel object and what they reference."""

    sizes: dict[str, int]            # section -> aligned bytes
    defines: dict[str, str]          # global symbol -> its section
    functions: list[str]             # global functions
    refs: dict[str, set[str]]        # section -> sections of this object it references
    calls: dict[str, set[str]]       # section -> undefined symbols it references


def measure_target(target: Target) -> TargetCode:
    """Compile the kernel library, a do-nothing image and small networks for ``target``; read the sizes."""
    with tempfile.TemporaryDirectory(prefix="tinytvm-code-size-") as tmp:
        work = Path(tmp)
        runtime = _link_runtime(target, work)
        sections, functions = _kernel_sections(target, work, runtime)
        return TargetCode(_compiler_version(target), target.cflags, toolchain.image_sizes(runtime).flash,
                          sections, functions, _params_sizes(target, work), _fit_calls(target, work))


def measure_all() -> dict[str, TargetCode]:
    return {name: measure_target(target) for name, target in sorted(TARGETS.items()) if target.is_arm}


def write_tables(measured: dict[str, TargetCode]) -> None:
    data = {name: dataclasses.asdict(table) for name, table in measured.items()}
    TABLE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    tables.cache_clear()


def _compiler_version(target: Target) -> str:
    result = subprocess.run([toolchain.require(target.compiler), "--version"], capture_output=True, text=True,
                            check=True)
    return result.stdout.splitlines()[0]


def _link_runtime(target: Target, work: Path, library_symbol: str | None = None) -> Path:
    """An image whose main does nothing (with ``library_symbol`` forced in by the linker)."""
    main = work / "main.c"
    main.write_text("int main(void) { return 0; }\n")
    board = get_board(None, target.name)
    ldflags = (f"-Wl,--undefined={library_symbol}",) if library_symbol else ()
    return toolchain.link_image(_Probe(f"runtime_{library_symbol or 'only'}", target), [main], [], work,
                                board.flash_bytes, board.sram_bytes, ldflags=ldflags)


def _kernel_sections(target: Target, work: Path, runtime: Path):
    root = kernel_library.library_root()
    includes = [root / "include", root / "kernels", kernel_library.platform_dir()]
    objects = [_read_object(toolchain.compile_object(target, source, includes, work), source.name)
               for source in kernel_library.sources_for(kernel_library.FAMILY_SOURCES)]
    defines = {name: section for obj in objects for name, section in obj.defines.items()}
    linked = set(toolchain.symbol_sizes(runtime))
    sections = {}
    for obj in objects:
        for name, size in obj.sizes.items():
            library = {f"lib:{symbol}" for symbol in obj.calls[name] - defines.keys() - linked}
            refs = obj.refs[name] | {defines[symbol] for symbol in obj.calls[name] & defines.keys()} | library
            sections[name] = Section(size, tuple(sorted(refs - {name})))
    sections.update(_library_sections(target, work, runtime, sections))
    functions = {name: defines[name] for obj in objects for name in obj.functions}
    return dict(sorted(sections.items())), dict(sorted(functions.items()))


def _library_sections(target: Target, work: Path, runtime: Path, sections: dict[str, Section]):
    """What each library function the kernels call (and the runtime lacks) adds to the runtime image."""
    base = toolchain.image_sizes(runtime).flash
    names = sorted({ref for section in sections.values() for ref in section.refs if ref.startswith("lib:")})
    return {name: Section(toolchain.image_sizes(_link_runtime(target, work, name[4:])).flash - base, ())
            for name in names}


def _read_object(path: Path, source: str) -> _Object:
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        names = {index: f"{source}:{s.name}" for index, s in enumerate(elf.iter_sections()) if _in_flash(s)}
        sizes = {names[index]: _aligned_size(elf.get_section(index)) for index in names}
        symtab = elf.get_section_by_name(".symtab")
        obj = _Object(sizes, {}, [], {name: set() for name in sizes}, {name: set() for name in sizes})
        for symbol in symtab.iter_symbols():
            if symbol["st_info"]["bind"] == "STB_GLOBAL" and symbol["st_shndx"] in names:
                obj.defines[symbol.name] = names[symbol["st_shndx"]]
                if symbol["st_info"]["type"] == "STT_FUNC":
                    obj.functions.append(symbol.name)
        for relocations in elf.iter_sections():
            if isinstance(relocations, RelocationSection) and relocations.header.sh_info in names:
                _add_references(obj, names[relocations.header.sh_info], relocations, symtab, names)
    return obj


def _add_references(obj: _Object, section: str, relocations, symtab, names: dict[int, str]) -> None:
    for relocation in relocations.iter_relocations():
        symbol = symtab.get_symbol(relocation["r_info_sym"])
        if symbol["st_shndx"] == "SHN_UNDEF":
            obj.calls[section].add(symbol.name)
        elif symbol["st_shndx"] in names:  # not .bss: SRAM costs no flash
            obj.refs[section].add(names[symbol["st_shndx"]])


def _in_flash(section) -> bool:
    return (section["sh_flags"] & SH_FLAGS.SHF_ALLOC and section["sh_size"] > 0
            and section.name.startswith(FLASH_SECTIONS))


def _aligned_size(section) -> int:
    return _align(section["sh_size"], max(1, section["sh_addralign"]))


def _align(offset: int, alignment: int) -> int:
    return -(-offset // alignment) * alignment


def _params_sizes(target: Target, work: Path) -> dict[str, tuple[int, int]]:
    """``sizeof`` and ``alignof`` of the public headers' parameter structs, as sizes of probe arrays."""
    headers = kernel_library.public_headers()
    types = sorted({name for header in headers for name in PARAMS_TYPEDEF.findall(header.read_text())})
    probe = work / "params_sizes.c"
    probe.write_text("\n".join([*(f'#include "tinytvm/{header.name}"' for header in headers),
                                *(f"const char {op}_{name}[{op}({name})] = {{0}};"
                                  for name in types for op in ("sizeof", "__alignof__")), ""]))
    sizes = toolchain.symbol_sizes(toolchain.compile_object(target, probe, [kernel_library.library_root() / "include"],
                                                            work))
    return {name: (sizes[f"sizeof_{name}"], sizes[f"__alignof___{name}"]) for name in types}


def _fit_calls(target: Target, work: Path) -> CallCost:
    """Least squares of the run function's bytes on its number of calls, over small networks."""
    rows = []
    for k, mod in enumerate(_fit_networks()):
        name = f"fit{k}"
        root = build(mod, target.name, name=name).export(work / name, sources_only=True)
        obj = toolchain.compile_object(target, root / "model" / f"{name}.c",
                                       [root / "model", root / "kernels" / "include"], work)
        run = toolchain.symbol_sizes(obj)[f"tinytvm_{name}_run"]
        rows.append((emitted_calls(plan_model(mod, BuildOptions())), run))
    calls, run_bytes = np.array(rows, dtype=float).T
    (base, per_call), *_ = np.linalg.lstsq(np.stack([np.ones_like(calls), calls], axis=1), run_bytes, rcond=None)
    return CallCost(round(float(base), 2), round(float(per_call), 2))


def _fit_networks(count: int = 10):
    """Small random mixes of the NetworkBuilder layers (few channels: quick to compile), seeded."""
    for seed in range(count):
        rng = np.random.default_rng(seed)
        resolution = int(rng.choice([8, 16, 32, 48, 64]))
        net = NetworkBuilder((1, resolution, resolution, int(rng.choice([3, 4, 8]))), seed=seed)
        for _ in range(int(rng.integers(3, 30))):
            _add_random_layer(net, rng)
        net.global_avg_pool()
        net.flatten()
        net.dense(int(rng.integers(2, 12)))
        net.softmax()
        yield net.build()


def _add_random_layer(net: NetworkBuilder, rng: np.random.Generator) -> None:
    stride = int(rng.choice([1, 2])) if net.current.shape[1] > 4 else 1
    kind = int(rng.integers(0, 4))
    if kind == 0:
        net.conv(int(rng.choice([4, 8, 16])), int(rng.choice([1, 3])), stride)
    elif kind == 1:
        net.depthwise(3, stride)
    elif kind == 2:
        net.pointwise(int(rng.choice([4, 8, 16])))
    else:  # residual block
        shortcut = net.current
        net.pointwise(shortcut.channels)
        net.add(shortcut, net.current)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Measure the kernel library's code sizes per Cortex-M target "
                                                 f"and compare them with (or --regenerate) {TABLE.name}.")
    parser.add_argument("--regenerate", action="store_true", help=f"rewrite {TABLE}")
    args = parser.parse_args(argv)
    measured = measure_all()
    if args.regenerate:
        write_tables(measured)
        print(f"wrote {TABLE}")
        return 0
    stale = {name: tables()[name].differences(table) if name in tables() else ["all"]
             for name, table in measured.items()}
    for name, fields in stale.items():
        print(f"{name}: " + (f"stale ({', '.join(fields)}): run with --regenerate" if fields else "fresh"))
    return 1 if any(stale.values()) else 0
