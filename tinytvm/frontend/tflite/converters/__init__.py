"""TFLite operator converters, one module per operator family.

Each converter turns one TFLite operator into integer-only tinytvm operators; it
validates what it relies on and raises a :class:`tinytvm.TinyTVMError` naming the
operator and its index otherwise.
"""

from __future__ import annotations

from typing import Callable

CONVERTERS: dict[str, Callable] = {}


def converts(*names: str):
    def register(function: Callable) -> Callable:
        for name in names:
            CONVERTERS[name] = function
        return function
    return register


def load_all() -> dict[str, Callable]:
    from . import conv, elementwise, nonlinear, pool, shape  # noqa: F401  (registers converters)
    return CONVERTERS
