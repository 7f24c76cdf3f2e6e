"""AVERAGE_POOL_2D and MAX_POOL_2D (TFLM ``reference_integer_ops::AveragePool/MaxPool``)."""

from __future__ import annotations

import numpy as np

from ...quantization.fixed_point import clamp
from . import kernel


def _windows(data, op, out_shape, fill):
    """Every pooling window as [N, OH, OW, C, KH*KW], padded with ``fill``, plus a validity mask."""
    top, left, bottom, right = op.padding
    _, out_h, out_w, _ = out_shape
    pool_h, pool_w = op.pool
    stride_h, stride_w = op.stride
    need_h = (out_h - 1) * stride_h + pool_h
    need_w = (out_w - 1) * stride_w + pool_w
    pad_bottom = max(bottom, need_h - data.shape[1] - top)
    pad_right = max(right, need_w - data.shape[2] - left)
    padded = np.pad(data.astype(np.int64), ((0, 0), (top, pad_bottom), (left, pad_right), (0, 0)),
                    constant_values=fill)
    valid = np.pad(np.ones(data.shape[1:3], dtype=bool), ((top, pad_bottom), (left, pad_right)))
    taps, masks = [], []
    for kh in range(pool_h):
        for kw in range(pool_w):
            rows = slice(kh, kh + stride_h * (out_h - 1) + 1, stride_h)
            cols = slice(kw, kw + stride_w * (out_w - 1) + 1, stride_w)
            taps.append(padded[:, rows, cols, :])
            masks.append(valid[rows, cols])
    return np.stack(taps, axis=-1), np.stack(masks, axis=-1)


@kernel("avg_pool2d")
def avg_pool2d(op, operands, out_shape, out_dtype):
    windows, valid = _windows(operands[0], op, out_shape, 0)
    total = windows.sum(axis=-1)
    count = valid.sum(axis=-1)[None, :, :, None].astype(np.int64)
    # Round half away from zero with C's truncating division, as TFLM does.
    rounded = np.where(total > 0, (total + count // 2) // count, -((-(total - count // 2)) // count))
    return clamp(rounded, op.act_min, op.act_max).astype(np.int8)


@kernel("max_pool2d")
def max_pool2d(op, operands, out_shape, out_dtype):
    windows, _ = _windows(operands[0], op, out_shape, -(1 << 40))
    return clamp(windows.max(axis=-1), op.act_min, op.act_max).astype(np.int8)
