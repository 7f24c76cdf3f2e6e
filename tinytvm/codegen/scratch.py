"""Scratch bytes of the src_cpp kernels, mirrored in Python.

The memory planner must know each kernel's scratch before any C is compiled (and the
NAS loop calls the analysis thousands of times), so the C ``*_scratch_bytes`` functions
are mirrored here. Every host test build cross-checks them: generated code compiled
with ``TINYTVM_CHECK_SCRATCH`` calls the C functions and fails if they exceed these.

What the kernels keep in scratch (none of it grows with the number of output channels):

* conv2d (IM2COL / 1X1): px_unroll (default 2) int16 im2col columns of K = k_h * k_w * in_c
  values (zero-padded to a multiple of 4), plus a K-byte int8 staging row when in_c is not a multiple of 4 and a
  padded copy of the last two weight rows when K is not.
  Requantization parameters are read per channel on the fly (no table, no accumulator rows).
  1X1_DIRECT: nothing (each input pixel is widened on the fly; other shapes take GENERIC).
* depthwise_conv2d: ROWS (default) a ring of (k_h - 1) * dilation_h + 1 padded int16 input
  rows for ``ch_block`` channels (default 4); PLANE the whole padded int16 plane of one
  channel; both plus the int16-packed kernel weights of the buffered channels.
* fully_connected: nothing (inputs are widened on the fly).
"""

from __future__ import annotations

CONV_GENERIC, CONV_IM2COL, CONV_1X1, CONV_1X1_DIRECT = 1, 2, 3, 4
DW_GENERIC, DW_PLANE, DW_ROWS = 1, 2, 3
DW_DEFAULT_CH_BLOCK = 4


def _col_elems(depth: int) -> int:
    """``tt_col_elems``: two interleaved im2col columns of ``depth`` int16 values, padded."""
    return ((depth >> 2) + 1) * 8


def conv2d_pointwise(fields: dict) -> bool:
    """``is_pointwise`` in conv2d.c: a 1x1 kernel without padding."""
    pads = ("pad_top", "pad_left", "pad_bottom", "pad_right")
    return fields["k_h"] == fields["k_w"] == 1 and not any(fields.get(pad, 0) for pad in pads)


def conv2d_resolve_impl(fields: dict) -> int:
    """``tinytvm_conv2d_s8_resolve_impl``."""
    impl = fields.get("impl", 0)
    if fields.get("groups", 1) not in (0, 1) or impl == CONV_GENERIC:
        return CONV_GENERIC
    if impl == CONV_IM2COL:
        return CONV_IM2COL
    pointwise = conv2d_pointwise(fields)
    if impl == CONV_1X1_DIRECT:  # asked for to save scratch: stays scratch-free
        return CONV_1X1_DIRECT if pointwise else CONV_GENERIC
    return CONV_1X1 if pointwise else CONV_IM2COL


def conv2d(fields: dict) -> int:
    if conv2d_resolve_impl(fields) in (CONV_GENERIC, CONV_1X1_DIRECT):
        return 0
    depth = fields["k_h"] * fields["k_w"] * fields["in_c"]
    stage = (depth + 3) & ~3 if fields["in_c"] & 3 else 0
    last_rows = (2 * depth + 4 + 3) & ~3 if depth & 3 else 0  # padded copy of the last two weight rows
    columns = _col_elems(depth) * 2 if fields.get("px_unroll", 0) != 1 else _col_elems(depth)  # px_unroll columns
    return columns + stage + last_rows


def depthwise_resolve_impl(fields: dict) -> int:
    """``tinytvm_depthwise_conv2d_s8_resolve_impl``."""
    impl = fields.get("impl", 0)
    if impl in (DW_GENERIC, DW_PLANE, DW_ROWS):
        return impl
    pointwise = (fields["k_h"] == 1 and fields["k_w"] == 1 and fields.get("pad_top", 0) == 0
                 and fields.get("pad_left", 0) == 0)
    return DW_GENERIC if pointwise else DW_ROWS


def depthwise_conv2d(fields: dict) -> int:
    impl = depthwise_resolve_impl(fields)
    if impl == DW_GENERIC:
        return 0
    padded_h = (fields["out_h"] - 1) * fields["stride_h"] + (fields["k_h"] - 1) * fields["dilation_h"] + 1
    padded_w = (fields["out_w"] - 1) * fields["stride_w"] + (fields["k_w"] - 1) * fields["dilation_w"] + 1
    row_stride = (padded_w + 3) & ~1
    kernel_width_even = (fields["k_w"] + 1) & ~1
    multiplier = max(fields.get("depth_multiplier", 1), 1)
    if impl == DW_PLANE:
        rows, channels = padded_h, 1
    else:
        rows = (fields["k_h"] - 1) * fields["dilation_h"] + 1
        block = fields.get("ch_block", 0)
        channels = min(block if 1 <= block <= 16 else DW_DEFAULT_CH_BLOCK, fields["in_c"])
    band = channels * rows * row_stride
    blocks = channels * multiplier * (8 + fields["k_h"] * kernel_width_even)  # int32 header + int16 weights
    return (band + blocks) * 2


def fully_connected(fields: dict) -> int:
    return 0
