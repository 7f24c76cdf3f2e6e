"""How fast is ``tinytvm.analyze`` on MobileNetV2 (width 1.0, 224x224) in a warm process?

The NAS loop asks for thousands of memory reports, so the analysis must take milliseconds.
Builds the network once (tinytvm.ir.network.mobilenet_v2), calls ``tinytvm.analyze`` ``--repeat``
times and prints the median; exits 1 if it is above ``--max-ms``. ``--profile`` prints the top
functions of one more call under cProfile.

    python bench/analyze_speed.py [--repeat 20] [--max-ms 50] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--max-ms", type=float, default=50.0)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--target", default="cortex-m7")
    parser.add_argument("--board", default=None)
    parser.add_argument("--profile", action="store_true", help="cProfile one extra call, print the top functions")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    import tinytvm
    from tinytvm.ir.graph import layers
    from tinytvm.ir.network import mobilenet_v2

    start = time.perf_counter()
    mod = mobilenet_v2(args.width, args.resolution)
    construct = time.perf_counter() - start
    ls = layers(mod)
    print(f"MobileNetV2 width {args.width} @ {args.resolution}: {len(ls)} layers, "
          f"{sum(l.macs for l in ls) / 1e6:.1f} M MACs, constructed in {construct * 1e3:.0f} ms")

    start = time.perf_counter()
    report = tinytvm.analyze(mod, target=args.target, board=args.board)
    print(f"first analyze (cold): {(time.perf_counter() - start) * 1e3:.1f} ms")
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        report = tinytvm.analyze(mod, target=args.target, board=args.board)
        times.append(time.perf_counter() - start)
    median = statistics.median(times) * 1e3
    print(f"analyze: median {median:.1f} ms over {args.repeat} calls (min {min(times) * 1e3:.1f}, "
          f"max {max(times) * 1e3:.1f})")
    print(f"report: {len(report.layers)} layers, arena {report.arena_bytes:,} B (lower bound "
          f"{report.lower_bound:,}), peak SRAM {report.peak_sram:,} B, peak at layer {report.peak_layer.index} "
          f"({report.peak_layer.kernel}), planner {report.planner}, flash {report.flash_bytes:,} B")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        tinytvm.analyze(mod, target=args.target, board=args.board)
        profiler.disable()
        for key in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(args.top)
            print(f"--- cProfile, sorted by {key} ---")
            print(out.getvalue())

    if median > args.max_ms:
        print(f"FAIL: median {median:.1f} ms is above --max-ms {args.max_ms:g}", file=sys.stderr)
        return 1
    print(f"OK: median {median:.1f} ms <= {args.max_ms:g} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
