"""Matplotlib figures of a memory report (imported only when plotting)."""

from __future__ import annotations


def plot_report(report, path) -> None:
    import matplotlib
    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    figure, (over_layers, arena) = plt.subplots(1, 2, figsize=(13, 4.5))
    steps = list(range(len(report.layers)))  # one bar per planner step (a patch loop has several)
    over_layers.bar(steps, [layer.alive_bytes / 1024 for layer in report.layers], color="#4c72b0")
    over_layers.axhline(report.arena_bytes / 1024, color="#c44e52", linestyle="--", label="arena")
    over_layers.set(xlabel="layer (step)", ylabel="kB alive in the arena", title="memory over layers")
    over_layers.legend()
    for name, (offset, size, first, last) in sorted(report.placements.items()):
        arena.add_patch(Rectangle((first - 0.4, offset / 1024), last - first + 0.8, size / 1024,
                                  facecolor="#55a868" if not name.startswith("scratch") else "#dd8452",
                                  edgecolor="black", linewidth=0.5, alpha=0.8))
    arena.set(xlim=(-1, max(steps, default=0) + 1), ylim=(0, max(report.arena_bytes, 1) / 1024 * 1.05),
              xlabel="layer (lifetime)", ylabel="arena offset (kB)", title="arena: lifetime x address")
    figure.suptitle(f"peak SRAM {report.peak_sram:,} B (arena {report.arena_bytes:,} + I/O {report.io_bytes:,})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
