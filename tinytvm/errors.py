"""Exceptions raised by tinytvm.

Every error a user can provoke with bad input is a :class:`TinyTVMError`; the
message names the offending operator, tensor, field or limit and says what is
supported, so nobody has to read a TVM stack trace to find out what went wrong.
"""

from __future__ import annotations

import re

import tvm_ffi


class TinyTVMError(Exception):
    """Base class of every error tinytvm raises on purpose."""


class ModelFormatError(TinyTVMError):
    """The model file is missing, truncated, corrupted or not the expected format."""


class UnsupportedOperatorError(TinyTVMError):
    """The model uses an operator (or an operator option) tinytvm cannot compile."""

    def __init__(self, op_name: str, index: int | None = None, reason: str | None = None,
                 supported: list[str] | None = None):
        if reason is None and index is None:
            # Re-created from its message alone: raised inside a pass, it crossed TVM's FFI.
            match = re.match(r"operator (?:#(\d+) \((.*?)\)|(\S+)): ", op_name)
            super().__init__(op_name)
            self.op_name = (match.group(2) or match.group(3)) if match else None
            self.index = int(match.group(1)) if match and match.group(1) else None
            return
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


# Passes run behind TVM's FFI, which re-creates exceptions from their registered class name and
# message: registering keeps tinytvm's error types intact when a pass raises them.
for _error in (TinyTVMError, ModelFormatError, UnsupportedOperatorError, QuantizationError, ResourceLimitError):
    tvm_ffi.register_error(_error)
