"""ONNX frontend: QDQ-quantized or float (+ calibration) ONNX models -> integer-only Relax."""

from .importer import from_onnx, import_relax
from .support import QOPERATOR_OPS, SUPPORTED_OPS

__all__ = ["from_onnx", "import_relax", "SUPPORTED_OPS", "QOPERATOR_OPS"]
