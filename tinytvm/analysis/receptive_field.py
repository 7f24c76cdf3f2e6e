"""Receptive fields of a patched stage: which window of every tensor each output patch needs.

A stage is a run of spatial NHWC operators with one input and one output. Its output is cut
into a grid of patches; for each patch the windows are propagated backwards through every
operator (kernel size, stride, dilation, padding, explicit PAD, element-wise operands) and
clipped to the tensor, so each operator runs on a tile with the padding it would see in the
whole image: zero padding only where the window crosses the image border. A tensor read by
several operators is computed over the hull of their windows; an operator that needs less
reads a cropped copy (``Patch.reads``; a crop step of the patch loop). Everything here is integers: no C, no Relax rewriting.
"""

from __future__ import annotations

import dataclasses
import itertools

from ..errors import TinyTVMError
from ..ir.graph import Layer

SLIDING = ("conv2d", "depthwise_conv2d", "avg_pool2d", "max_pool2d")
POINTWISE = ("add", "mul", "requantize", "logistic")
#: Operators a patched stage may contain (concatenation along channels only).
PATCHABLE = (*SLIDING, *POINTWISE, "pad", "concat")


@dataclasses.dataclass(frozen=True)
class Span:
    """Rows (or columns) ``start`` to ``stop`` (exclusive)."""

    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    def hull(self, other: Span) -> Span:
        return Span(min(self.start, other.start), max(self.stop, other.stop))


@dataclasses.dataclass(frozen=True)
class Window:
    rows: Span
    cols: Span

    def hull(self, other: Window) -> Window:
        return Window(self.rows.hull(other.rows), self.cols.hull(other.cols))

    @property
    def pixels(self) -> int:
        return self.rows.size * self.cols.size

    def relative_to(self, outer: Window) -> tuple[int, int]:
        return self.rows.start - outer.rows.start, self.cols.start - outer.cols.start


@dataclasses.dataclass(frozen=True)
class Patch:
    """One output patch: the computed window of every stage value and each operator's padding."""

    index: tuple[int, int]
    windows: dict[str, Window]                        # value name -> computed window
    reads: dict[tuple[int, int], Window]              # (layer, operand) -> window the operator reads
    padding: dict[int, tuple[int, int, int, int]]     # sliding / pad layer -> top, left, bottom, right


def grid_spans(size: int, parts: int) -> list[Span]:
    """``parts`` near-equal spans covering ``range(size)``."""
    bounds = [round(i * size / parts) for i in range(parts + 1)]
    return [Span(a, b) for a, b in itertools.pairwise(bounds)]


def _sliding_span(out: Span, stride: int, kernel: int, dilation: int, pad_before: int,
                  in_size: int) -> tuple[Span, int, int]:
    """Input rows an output span reads, and the padding before/after it within the image."""
    low = out.start * stride - pad_before
    high = (out.stop - 1) * stride - pad_before + (kernel - 1) * dilation + 1
    return Span(max(low, 0), min(high, in_size)), max(0, -low), max(0, high - in_size)


def _pad_span(out: Span, before: int, in_size: int) -> tuple[Span, int, int]:
    start, stop = min(max(out.start - before, 0), in_size), min(max(out.stop - before, 0), in_size)
    return Span(start, stop), start + before - out.start, out.stop - (stop + before)


def _operator_span(layer: Layer, out: Span, axis: int) -> tuple[Span, tuple[int, int] | None]:
    """The span of the (first) activation operand ``layer`` reads along ``axis`` (0: rows, 1: columns)
    for output span ``out``, and the padding before/after it (None for point-wise operators)."""
    kernel, record = layer.kernel, layer.record
    in_size = layer.in_shapes[0][1 + axis]
    if kernel in SLIDING:
        if kernel in ("conv2d", "depthwise_conv2d"):
            size, dilation = layer.in_shapes[1][1 + axis], record.dilation[axis]
        else:
            size, dilation = record.pool[axis], 1
        span, before, after = _sliding_span(out, record.stride[axis], size, dilation, record.padding[axis], in_size)
        return span, (before, after)
    if kernel == "pad":
        span, before, after = _pad_span(out, record.padding[2 + 2 * axis], in_size)
        return span, (before, after)
    return out, None


def check_patchable(layer: Layer) -> str | None:
    """Why ``layer`` cannot run patch by patch, or None if it can."""
    if layer.kernel not in PATCHABLE:
        return f"operator {layer.kernel} is not spatial (patchable: {', '.join(PATCHABLE)})"
    if len(layer.out_shape) != 4 or layer.out_shape[0] != 1:
        return f"operator {layer.kernel} has output shape {layer.out_shape}, not [1, H, W, C]"
    activation_shapes = [s for s, a in zip(layer.in_shapes, layer.call.args) if a in layer.activation_inputs]
    if layer.kernel in POINTWISE and any(s != layer.out_shape for s in activation_shapes):
        return f"operator {layer.kernel} broadcasts its operands"
    if layer.kernel == "pad" and any(layer.record.padding[i] for i in (0, 1, 6, 7)):
        return "PAD pads the batch or channel dimension"
    if layer.kernel == "concat" and layer.record.axis not in (3, -1):
        return "CONCATENATION is not along channels"
    return None


def stage_patches(stage: list[Layer], input_name: str, output_name: str, grid: tuple[int, int]) -> list[Patch]:
    """The patches of ``stage`` (layers in execution order) for a ``grid`` of output patches.

    Rows and columns propagate independently (every operator's window is separable), so each
    axis is walked once per grid line and the patches combine them.
    """
    out_shape = next(layer.out_shape for layer in stage if layer.var.name == output_name)
    if not (1 <= grid[0] <= out_shape[1] and 1 <= grid[1] <= out_shape[2]):
        raise TinyTVMError(f"patch grid {grid} does not fit the stage output of {out_shape[1]}x{out_shape[2]} "
                           "pixels: use at most one patch per output row/column")
    rows = [_axis(stage, input_name, output_name, span, 0) for span in grid_spans(out_shape[1], grid[0])]
    cols = [_axis(stage, input_name, output_name, span, 1) for span in grid_spans(out_shape[2], grid[1])]
    patches = []
    for i, (row_spans, row_reads, row_pads) in enumerate(rows):
        for j, (col_spans, col_reads, col_pads) in enumerate(cols):
            windows = {name: Window(span, col_spans[name]) for name, span in row_spans.items()}
            reads = {key: Window(span, col_reads[key]) for key, span in row_reads.items()}
            padding = {p: (row_pads[p][0], col_pads[p][0], row_pads[p][1], col_pads[p][1]) for p in row_pads}
            patches.append(Patch((i, j), windows, reads, padding))
    return patches


def _axis(stage: list[Layer], input_name: str, output_name: str, out: Span, axis: int):
    """Spans of every stage value, of every operand read, and each operator's padding along ``axis``."""
    spans: dict[str, Span] = {output_name: out}
    reads: dict[tuple[int, int], Span] = {}
    padding: dict[int, tuple[int, int]] = {}
    for position in range(len(stage) - 1, -1, -1):
        layer = stage[position]
        needed = spans.get(layer.var.name)
        if needed is None:
            raise TinyTVMError(f"stage value '{layer.var.name}' is not used inside the stage nor its output")
        span, pads = _operator_span(layer, needed, axis)
        if not span.size:
            raise TinyTVMError(f"a patch of the stage reads no pixel of operator {position} ({layer.kernel}): "
                               "use fewer patches")
        if pads is not None:
            padding[position] = pads
        for operand, name in layer.activation_operands:
            reads[(position, operand)] = span
            spans[name] = span.hull(spans[name]) if name in spans else span
    if input_name not in spans:
        raise TinyTVMError(f"the stage does not read its input '{input_name}'")
    return spans, reads, padding


def tile_shape(layer: Layer, window: Window) -> tuple[int, int, int, int]:
    """The shape of ``layer``'s output tile over ``window``."""
    return (1, window.rows.size, window.cols.size, layer.out_shape[3])


def layer_patched_macs(layer: Layer, patches: list[Patch]) -> int:
    """MACs of ``layer`` over all patches (recomputed halos included): an operator's MACs are
    proportional to its output pixels, so a patch costs its share of the whole."""
    _, height, width, _ = layer.out_shape
    return layer.macs * sum(patch.windows[layer.var.name].pixels for patch in patches) // (height * width)


def patched_macs(stage: list[Layer], patches: list[Patch]) -> int:
    """MACs of running ``stage`` patch by patch."""
    return sum(layer_patched_macs(layer, patches) for layer in stage)
