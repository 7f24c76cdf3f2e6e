"""Analyses of integer-only modules: per-layer comparison (memory analysis grows here)."""

from .compare import LayerComparison, LayerDiff, compare_with_tflm

__all__ = ["compare_with_tflm", "LayerComparison", "LayerDiff"]
