"""TFLite frontend."""

from .importer import ImportResult, from_tflite, import_tflite

__all__ = ["from_tflite", "import_tflite", "ImportResult"]
