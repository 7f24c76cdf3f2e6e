"""Softmax, logistic, mean, nearest resize and boundary (de)quantization (in progress)."""
