"""The ``tinytvm`` command line: demo, inspect, verify, compile, run."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from .errors import TinyTVMError

#: The bundled default workload: MLPerf Tiny keyword spotting, kept in ../shared/models.
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "shared" / "models" / "kws_dscnn_int8.tflite"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except TinyTVMError as error:
        print(f"tinytvm: error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinytvm", description=__doc__)
    commands = parser.add_subparsers(title="commands")

    demo = commands.add_parser("demo", help="compile the default MLPerf Tiny model for Cortex-M7, run it on "
                                            "QEMU, print the memory report and check the result against TFLM")
    demo.add_argument("model", nargs="?", default=str(DEFAULT_MODEL))
    demo.add_argument("--board", default="stm32f746")
    demo.add_argument("--runs", type=int, default=3, help="seeded random inputs to compare")
    demo.set_defaults(handler=_demo)

    inspect = commands.add_parser("inspect", help="print the integer-only Relax module of a model")
    inspect.add_argument("model")
    inspect.add_argument("--script", action="store_true", help="print the Relax module as TVMScript")
    inspect.set_defaults(handler=_inspect)

    verify = commands.add_parser("verify", help="compare the reference executor with TFLite Micro bit for bit")
    verify.add_argument("model")
    verify.add_argument("--runs", type=int, default=20)
    verify.add_argument("--seed", type=int, default=0)
    verify.set_defaults(handler=_verify)

    analyze = commands.add_parser("analyze", help="exact memory report (no C compiler involved)")
    analyze.add_argument("model")
    analyze.add_argument("--target", default="cortex-m7", choices=["cortex-m7", "cortex-m4", "host"])
    analyze.add_argument("--board", default=None)
    analyze.add_argument("--json", action="store_true", help="print the report as JSON")
    analyze.add_argument("--plot", help="write the memory plots to this PNG file")
    analyze.add_argument("--no-in-place", action="store_true", help="disable in-place depthwise convolution")
    analyze.add_argument("--no-schedule", action="store_true", help="keep the imported operator order")
    analyze.add_argument("--patch", default="none", type=_patch_option, help=PATCH_HELP)
    analyze.set_defaults(handler=_analyze)

    compile_ = commands.add_parser("compile", help="compile a model to C (model.h/.c, kernels, metadata.json)")
    compile_.add_argument("model")
    compile_.add_argument("--target", default="cortex-m7", choices=["cortex-m7", "cortex-m4", "host"])
    compile_.add_argument("--board", default=None)
    compile_.add_argument("--name", default="model")
    compile_.add_argument("-o", "--output", required=True, help="output directory")
    compile_.add_argument("--patch", default="none", type=_patch_option, help=PATCH_HELP)
    compile_.set_defaults(handler=_compile)

    run = commands.add_parser("run", help="run a compiled model directory (from `tinytvm compile`)")
    run.add_argument("directory")
    run.add_argument("--runner", default="qemu", choices=["qemu", "host", "host-asan"])
    run.add_argument("--input", action="append", help=".npy file per model input (default: seeded random)")
    run.add_argument("--profile", action="store_true", help="per-layer instruction counts (QEMU)")
    run.set_defaults(handler=_run)
    return parser


PATCH_HELP = ('patch-based inference: "none" (default), "auto" (search), or SPLIT:ROWSxCOLS, e.g. 9:3x4 '
              "(the first SPLIT operators on a ROWS x COLS grid of patches)")


def _patch_option(text: str):
    if text in ("none", "auto"):
        return None if text == "none" else text
    match = re.fullmatch(r"(\d+):(\d+)x(\d+)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected none, auto or SPLIT:ROWSxCOLS (e.g. 9:3x4), got '{text}'")
    split, rows, cols = (int(g) for g in match.groups())
    return {"split": split, "grid": (rows, cols)}


def _load(path: str):
    from .frontend.tflite import from_tflite
    return from_tflite(path)


def _inspect(args) -> int:
    from .ir.summary import summarize
    mod = _load(args.model)
    print(mod.script(show_meta=False) if args.script else summarize(mod))
    return 0


def _verify(args) -> int:
    from .verify import verify_against_tflm
    result = verify_against_tflm(args.model, runs=args.runs, seed=args.seed)
    print(result)
    return 0 if result.bit_exact else 1


def _analyze(args) -> int:
    from .analysis.memory import analyze
    report = analyze(_load(args.model), target=args.target, board=args.board, in_place=not args.no_in_place,
                     schedule=not args.no_schedule, patch=args.patch)
    print(report.to_json() if args.json else report)
    if args.plot:
        report.plot(args.plot)
    return 0


def _compile(args) -> int:
    from .codegen.build import build
    artifact = build(_load(args.model), target=args.target, board=args.board, name=args.name, patch=args.patch)
    out = artifact.export(args.output)
    # Keep the source model beside the C so `tinytvm run` can rebuild the artifact (with the chosen patches).
    (out / "model.tflite").write_bytes(Path(args.model).read_bytes())
    patch = {"split": artifact.patch.split, "grid": list(artifact.patch.grid)} if artifact.patch else None
    (out / "build.json").write_text(json.dumps({"target": args.target, "board": artifact.board.name,
                                                "name": args.name, "patch": patch}) + "\n")
    if artifact.patch:
        print(artifact.patch.describe())
    print(f"wrote {out}/: model/{args.name}.h, model/{args.name}.c, kernels/, metadata.json")
    print(_memory_line(artifact))
    return 0


def _run(args) -> int:
    from .codegen.build import build
    directory = Path(args.directory)
    try:
        options = json.loads((directory / "build.json").read_text())
    except FileNotFoundError:
        raise TinyTVMError(f"{directory} is not a `tinytvm compile` output directory (no build.json)") from None
    artifact = build(_load(directory / "model.tflite"), target=options["target"], board=options["board"],
                     name=options["name"], patch=options.get("patch"))
    inputs = ([np.load(path) for path in args.input] if args.input else
              _random_inputs(artifact, np.random.default_rng(0)))
    result = artifact.run(inputs, runner=args.runner, **({"profile": True} if args.profile else {}))
    _print_result(artifact, result)
    print(_memory_line(artifact))
    return 0


def _random_inputs(artifact, rng) -> list[np.ndarray]:
    from .verify import random_inputs
    return random_inputs([(io.shape, io.dtype) for io in artifact.inputs], rng)


def _memory_line(artifact) -> str:
    line = (f"arena {artifact.arena_bytes:,} B (lower bound {artifact.plan.lower_bound:,}), I/O buffers "
            f"{artifact.io_bytes:,} B, weights {artifact.weight_bytes:,} B, {artifact.total_macs:,} MACs")
    if artifact.target.is_arm:
        image = artifact.image
        line += (f"\nimage for {artifact.board.name}: flash {image.flash:,} B (code {image.code:,} + weights "
                 f"{image.weights:,}), SRAM .bss {image.bss:,} B + stack {image.stack_reserved:,} B, "
                 f"deepest kernel stack frame {image.max_kernel_stack} B")
    return line


def _print_result(artifact, result) -> None:
    for k, output in enumerate(result.outputs):
        print(f"output {k} {list(output.shape)} {output.dtype}: {np.array2string(output.reshape(-1)[:16])}"
              f"{' ...' if output.size > 16 else ''}")
    if result.instructions is not None:
        print(f"instructions (QEMU Cortex-M7, -icount): {result.instructions:,} = "
              f"{result.instructions / max(artifact.total_macs, 1):.2f} per MAC")
    if result.layer_instructions:
        for layer, count in zip(artifact.layers, result.layer_instructions):
            print(f"  layer {layer.index:>3} {layer.kernel:<18} {count:>12,}")


def _demo(args) -> int:
    from .codegen.build import build
    from .ir.summary import summarize
    from .micro.runners import get_runner
    from .verify import tflm_interpreter, tflm_run

    model = Path(args.model)
    if not model.is_file():
        raise TinyTVMError(f"model {model} not found: pass a .tflite path (the default lives in ../shared/models)")
    mod = _load(str(model))
    print(f"== {model.name}: integer-only Relax module")
    print(summarize(mod))
    artifact = build(mod, target="cortex-m7", board=args.board, name=model.stem.split("_")[0])
    print(f"\n== compiled for cortex-m7 / {artifact.board.name}")
    print(_memory_line(artifact))
    rng = np.random.default_rng(0)
    sets = [_random_inputs(artifact, rng) for _ in range(args.runs)]
    results = get_runner("qemu").run_many(artifact, sets)
    interpreter = tflm_interpreter(model.read_bytes())
    identical = total = 0
    for inputs, result in zip(sets, results):
        expected = tflm_run(interpreter, inputs, len(artifact.outputs))
        for ours, theirs in zip(result.outputs, expected):
            identical += int((ours == theirs.reshape(ours.shape)).sum())
            total += ours.size
    print(f"\n== run on QEMU (mps2-an500, Cortex-M7), {args.runs} seeded random inputs")
    _print_result(artifact, results[0])
    print(f"identical to TFLite Micro: {identical}/{total} output elements")
    return 0 if identical == total else 1


if __name__ == "__main__":
    sys.exit(main())
