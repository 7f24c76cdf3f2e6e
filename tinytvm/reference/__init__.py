"""Host reference execution of integer-only modules (bit-exact with TFLite Micro)."""

from .interpreter import reference_run, trace

__all__ = ["reference_run", "trace"]
