"""Bit-exactness checks of tinytvm against TFLite Micro, shared by the operator test modules.

* :func:`assert_bit_exact`: run input sets through ``tinytvm.reference_run(tinytvm.from_tflite(data))``
  and through TFLM; every output element must be identical (float outputs: identical bit patterns).
* :func:`int8_sets`: seeded random full-range int8 inputs for a one-input model, plus extremes.
* :func:`int8_multi_sets`: the same for models with several int8 inputs.

:data:`STATS` counts what :func:`assert_bit_exact` compared in this process (for reports).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import tinytvm
from oracle import tflm_run_many

__all__ = ["INT8", "STATS", "assert_bit_exact", "int8_sets", "int8_multi_sets"]

INT8 = np.arange(-128, 128, dtype=np.int8)

#: Totals over every :func:`assert_bit_exact` call in this process.
STATS = {"models": 0, "input_sets": 0, "elements": 0}


def _identical(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f":
        return a.view(np.int32) == b.view(np.int32)  # bit patterns (also distinguishes -0.0)
    return a == b


def assert_bit_exact(data: bytes, input_sets, min_elements: int = 1) -> int:
    """Run every input set through tinytvm and TFLM; all output elements must be identical.

    Returns the number of output elements compared.
    """
    mod = tinytvm.from_tflite(data)
    ours = [tinytvm.reference_run(mod, xs) for xs in input_sets]  # before TFLM: it may abort
    theirs = tflm_run_many(data, input_sets)
    same = total = 0
    for k, (got, ref) in enumerate(zip(ours, theirs)):
        assert len(got) == len(ref)
        for g, r in zip(got, ref):
            assert g.shape == r.shape and g.dtype == r.dtype, (g.shape, g.dtype, r.shape, r.dtype)
            ok = _identical(g, r)
            same += int(ok.sum())
            total += ok.size
            if not ok.all():
                where = np.argwhere(~ok)[:5]
                raise AssertionError(f"input set {k}: {int((~ok).sum())}/{ok.size} elements differ, e.g. "
                                     + ", ".join(f"{tuple(i)}: ours {g[tuple(i)]} tflm {r[tuple(i)]}"
                                                 for i in where))
    assert total >= min_elements
    STATS["models"] += 1
    STATS["input_sets"] += len(ours)
    STATS["elements"] += total
    return total


def _extremes(shape) -> list[np.ndarray]:
    alternating = np.where(np.indices(shape).sum(axis=0) % 2 == 0, 127, -128).astype(np.int8)
    return [np.full(shape, -128, np.int8), np.full(shape, 127, np.int8), alternating,
            np.resize(INT8, shape).astype(np.int8)]


def int8_sets(rng: np.random.Generator, shape, count: int = 6, extremes: bool = True) -> list[list[np.ndarray]]:
    """Random full-range int8 inputs plus (optionally) constant and alternating extremes."""
    sets = [[rng.integers(-128, 128, size=shape, endpoint=False, dtype=np.int8)] for _ in range(count)]
    if extremes:
        sets.extend([x] for x in _extremes(shape))
    return sets


def int8_multi_sets(rng: np.random.Generator, shapes: Sequence[Sequence[int]], count: int = 6,
                    extremes: bool = True) -> list[list[np.ndarray]]:
    """Like :func:`int8_sets` for a model with one int8 input per shape in ``shapes``.

    The extreme sets pair each extreme pattern of one input with every extreme of the others
    in turn (all -128, all 127, mixed), so that saturating sums and products are exercised.
    """
    shapes = [tuple(s) for s in shapes]
    sets = [[rng.integers(-128, 128, size=s, endpoint=False, dtype=np.int8) for s in shapes]
            for _ in range(count)]
    if extremes:
        per_input = [_extremes(s) for s in shapes]
        pairs = [(k, j) for k in range(4) for j in range(4)] if len(shapes) > 1 else [(k, k) for k in range(4)]
        for k, j in pairs:
            sets.append([per_input[i][k if i % 2 == 0 else j] for i in range(len(shapes))])
    return sets
