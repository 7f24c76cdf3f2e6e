"""Exceptions raised by tinytvm.

Every error a user can provoke with bad input is a :class:`TinyTVMError`; the
message names the offending operator, tensor, field or limit and says what is
supported, so nobody has to read a TVM stack trace to find out what went wrong.
"""

from __future__ import annotations


class TinyTVMError(Exception):
    """Base class of every error tinytvm raises on purpose."""


class ModelFormatError(TinyTVMError):
    """The model file is missing, truncated, corrupted or not the expected format."""


class UnsupportedOperatorError(TinyTVMError):
    """The model uses an operator (or an operator option) tinytvm cannot compile."""

    def __init__(self, op_name: str, index: int | None, reason: str, supported: list[str] | None = None):
        where = f"operator #{index} ({op_name})" if index is not None else f"operator {op_name}"
        message = f"{where}: {reason}"
        if supported:
            message += f". Supported operators: {', '.join(sorted(supported))}"
        super().__init__(message)
        self.op_name = op_name
        self.index = index


class QuantizationError(TinyTVMError):
    """The model is not (or cannot be made) full-integer int8."""


class ResourceLimitError(TinyTVMError):
    """The compiled model does not fit the board's memory."""
