"""Frontends: turn TFLite, ONNX and float Relax models into tinytvm's integer-only Relax form."""
