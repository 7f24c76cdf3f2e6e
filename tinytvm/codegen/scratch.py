"""Scratch bytes of the src_cpp kernels, mirrored in Python.

The memory planner must know each kernel's scratch before any C is compiled (and the
NAS loop calls the analysis thousands of times), so the C ``*_scratch_bytes`` functions
are mirrored here. Every host test build cross-checks them: generated code compiled
with ``TINYTVM_CHECK_SCRATCH`` calls the C functions and fails if they exceed these.
"""

from __future__ import annotations

RQ_CHANNEL_BYTES = 12  # sizeof(tt_rq_ch): three int32_t
CONV_GENERIC, DW_GENERIC, DW_PLANE = 1, 1, 2


def _align8(value: int) -> int:
    return (value + 7) & ~7


def _col_elems(depth: int) -> int:
    """``tt_col_elems``: an im2col column of ``depth`` int16 values, padded for the SIMD loop."""
    return ((depth >> 2) + 1) * 8


def _gemm_requant_bytes(channels: int, per_tensor: bool = False) -> int:
    """``tt_gemm_rq_scratch_bytes``: per-channel requant table + two rows of int32 accumulators."""
    return (1 if per_tensor else channels) * RQ_CHANNEL_BYTES + 2 * channels * 4


def conv2d(fields: dict) -> int:
    if fields.get("impl") == CONV_GENERIC or fields.get("groups", 1) not in (0, 1):
        return 0
    depth = fields["k_h"] * fields["k_w"] * fields["in_c"]
    return _align8(_gemm_requant_bytes(fields["out_c"])) + _col_elems(depth) * 2


def depthwise_conv2d(fields: dict) -> int:
    impl = fields.get("impl", 0)
    plane = impl == DW_PLANE or (impl != DW_GENERIC and not (fields["k_h"] == 1 and fields["k_w"] == 1))
    if not plane:
        return 0
    padded_h = (fields["out_h"] - 1) * fields["stride_h"] + (fields["k_h"] - 1) * fields["dilation_h"] + 1
    padded_w = (fields["out_w"] - 1) * fields["stride_w"] + (fields["k_w"] - 1) * fields["dilation_w"] + 1
    plane_elems = (padded_h * padded_w + 3) & ~1
    kernel_width_even = (fields["k_w"] + 1) & ~1
    return (plane_elems + fields["k_h"] * kernel_width_even) * 2


def fully_connected(fields: dict) -> int:
    if fields.get("weight_zp", 0) != 0:
        return 0
    return _align8(_gemm_requant_bytes(fields["out_features"])) + _col_elems(fields["in_features"]) * 2
