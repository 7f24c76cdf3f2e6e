"""numpy reference kernels, bit-exact with TFLite Micro's reference kernels.

A kernel takes the operator record, the operand arrays and the output type and
returns the output array. One module per operator family, mirroring
:mod:`tinytvm.ir.ops`.
"""

from __future__ import annotations

from typing import Callable

KERNELS: dict[str, Callable] = {}


def kernel(*names: str):
    def register(function: Callable) -> Callable:
        for name in names:
            KERNELS[name] = function
        return function
    return register


def load_all() -> dict[str, Callable]:
    from . import conv, elementwise, nonlinear, pool, shape  # noqa: F401  (registers kernels)
    return KERNELS
