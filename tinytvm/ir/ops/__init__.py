"""The integer-only operator set. Importing this package registers every record."""

from .conv import Conv2D, DepthwiseConv2D, FullyConnected
from .elementwise import Add, Mul
from .pool import AvgPool2D, MaxPool2D
from .shape import Concat, Pad, Reshape, Transpose
from .nonlinear import Dequantize, Logistic, Mean, Quantize, Requantize, ResizeNearest, Softmax

__all__ = [
    "Conv2D", "DepthwiseConv2D", "FullyConnected", "Add", "Mul", "AvgPool2D", "MaxPool2D",
    "Concat", "Pad", "Reshape", "Transpose", "Dequantize", "Logistic", "Mean", "Quantize",
    "Requantize", "ResizeNearest", "Softmax",
]
