"""tinytvm: a TinyML compiler extension for Apache TVM.

Int8 neural networks (TFLite, ONNX, TVM Relax) -> integer-only Relax -> self-contained
C for Cortex-M microcontrollers.
"""

from __future__ import annotations

from .errors import (
    ModelFormatError,
    QuantizationError,
    ResourceLimitError,
    TinyTVMError,
    UnsupportedOperatorError,
)
from .analysis.memory import MemoryReport, analyze
from .codegen.artifact import Artifact
from .codegen.build import build
from .frontend.onnx import from_onnx
from .frontend.tflite import from_tflite
from .quantization.quantize import quantize
from .reference import reference_run

__version__ = "0.1.0"

__all__ = [
    "from_tflite", "from_onnx", "quantize", "reference_run", "build", "Artifact", "analyze", "MemoryReport", "TinyTVMError", "ModelFormatError", "QuantizationError",
    "ResourceLimitError", "UnsupportedOperatorError",
]
