"""The ``tinytvm`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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

    demo = commands.add_parser("demo", help="import the default MLPerf Tiny model, run it, check it against TFLM")
    demo.add_argument("model", nargs="?", default=str(DEFAULT_MODEL))
    demo.add_argument("--runs", type=int, default=5)
    demo.set_defaults(handler=_demo)

    inspect = commands.add_parser("inspect", help="print the integer-only Relax module of a model")
    inspect.add_argument("model")
    inspect.add_argument("--script", action="store_true", help="print the Relax module as TVMScript")
    inspect.set_defaults(handler=_inspect)

    verify = commands.add_parser("verify", help="compare with TFLite Micro bit for bit on random inputs")
    verify.add_argument("model")
    verify.add_argument("--runs", type=int, default=20)
    verify.add_argument("--seed", type=int, default=0)
    verify.set_defaults(handler=_verify)
    return parser


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


def _demo(args) -> int:
    from .ir.summary import summarize
    from .verify import verify_against_tflm
    print(f"model: {args.model}")
    print(summarize(_load(args.model)))
    result = verify_against_tflm(args.model, runs=args.runs)
    print(result)
    return 0 if result.bit_exact else 1


if __name__ == "__main__":
    sys.exit(main())
