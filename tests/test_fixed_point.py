"""TFLM fixed-point primitives against a direct transcription of the C++ in Python integers."""

import math

import numpy as np
from hypothesis import given, strategies as st

from tinytvm.quantization.fixed_point import (
    INT32_MAX,
    INT32_MIN,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    round_half_away,
    saturating_rounding_doubling_high_mul,
)

int32 = st.integers(INT32_MIN, INT32_MAX)


def _trunc_div(n: int, d: int) -> int:
    q = abs(n) // d
    return q if n >= 0 else -q


def rdbpot_cpp(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


@given(int32, int32)
def test_srdhm_matches_cpp(a, b):
    assert int(saturating_rounding_doubling_high_mul(a, b)) == _srdhm_exact(a, b)


def _srdhm_exact(a, b):
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return _trunc_div(ab + nudge, 1 << 31)


@given(int32, st.integers(0, 31))
def test_rounding_divide_by_pot_matches_cpp(x, exponent):
    assert int(rounding_divide_by_pot(x, exponent)) == rdbpot_cpp(x, exponent)


def test_saturating_corner_and_ties():
    assert int(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN)) == INT32_MAX
    # Ties round away from zero in both directions.
    assert int(rounding_divide_by_pot(5, 1)) == 3
    assert int(rounding_divide_by_pot(-5, 1)) == -3
    assert int(rounding_divide_by_pot(-4, 1)) == -2


@given(st.floats(min_value=1e-9, max_value=1e3, allow_nan=False))
def test_quantize_multiplier_represents_the_real_value(real):
    multiplier, shift = quantize_multiplier(real)
    assert (1 << 30) <= multiplier < (1 << 31)
    assert math.isclose(multiplier * 2.0 ** (shift - 31), real, rel_tol=2**-30)


def test_quantize_multiplier_rounds_up_to_next_power():
    # A fraction that rounds to 2^31 must renormalize to 2^30 with the exponent bumped.
    multiplier, shift = quantize_multiplier(1.0 - 2**-40)
    assert (multiplier, shift) == (1 << 30, 1)
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(2.0**-40) == (0, 0)


def test_round_half_away_is_cpp_round():
    for value, expected in [(0.5, 1), (-0.5, -1), (2.5, 3), (-2.5, -3), (0.49999999999999994, 0), (1.4999, 1)]:
        assert round_half_away(value) == expected


@given(st.lists(int32, min_size=1, max_size=16), st.integers(1 << 30, INT32_MAX), st.integers(-31, 8))
def test_multiply_by_quantized_multiplier_vectorized(values, multiplier, shift):
    expected = []
    for x in values:
        left, right = max(shift, 0), max(-shift, 0)
        shifted = ((x * (1 << left)) + 2**31) % 2**32 - 2**31
        expected.append(rdbpot_cpp(_srdhm_exact(shifted, multiplier), right))
    actual = multiply_by_quantized_multiplier(np.array(values), multiplier, shift)
    assert actual.tolist() == expected
