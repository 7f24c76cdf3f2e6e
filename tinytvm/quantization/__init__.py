"""Quantization: TFLM-exact fixed-point arithmetic and parameter derivation."""
