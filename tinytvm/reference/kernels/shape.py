"""Data movement: reshape, transpose, pad, concatenation."""

from __future__ import annotations

import numpy as np

from . import kernel


@kernel("reshape")
def reshape(op, operands, out_shape, out_dtype):
    return operands[0].reshape(out_shape).copy()


@kernel("transpose")
def transpose(op, operands, out_shape, out_dtype):
    return np.ascontiguousarray(np.transpose(operands[0], op.perm))


@kernel("pad")
def pad(op, operands, out_shape, out_dtype):
    widths = [(op.padding[2 * i], op.padding[2 * i + 1]) for i in range(operands[0].ndim)]
    return np.pad(operands[0], widths, constant_values=op.pad_value)


@kernel("concat")
def concat(op, operands, out_shape, out_dtype):
    return np.concatenate(operands, axis=op.axis)
