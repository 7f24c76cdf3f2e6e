"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED."""

from __future__ import annotations

import math

import numpy as np
from tvm import relax

from ....errors import QuantizationError, UnsupportedOperatorError
from ....ir.ops import Conv2D, DepthwiseConv2D, FullyConnected, Reshape
from ....quantization.params import conv_output_size, per_channel_multipliers, per_tensor_fc_multiplier, same_padding
from . import converts

PADDING_NAMES = {0: "SAME", 1: "VALID"}


def spatial_padding(op, options, in_shape, kernel, stride, dilation, out_shape) -> tuple[int, int, int, int]:
    mode = PADDING_NAMES.get(options.Padding())
    if mode is None:
        raise UnsupportedOperatorError(op.name, op.index, f"unknown padding mode {options.Padding()}")
    if min(*stride, *dilation) < 1 or min(kernel) < 1:
        raise UnsupportedOperatorError(op.name, op.index, f"stride {tuple(stride)}, dilation {tuple(dilation)} "
                                       f"and window {tuple(kernel)} must be positive")
    if mode == "VALID":
        return (0, 0, 0, 0)
    # Like TFLM's ComputePaddingHeightWidth: the padding follows from the output size the padding
    # rule gives, not from the output tensor's declared shape (the kernel then iterates over the
    # declared shape, skipping taps outside the input).
    out_h = conv_output_size(in_shape[1], kernel[0], stride[0], dilation[0], mode)
    out_w = conv_output_size(in_shape[2], kernel[1], stride[1], dilation[1], mode)
    top, bottom = same_padding(in_shape[1], kernel[0], stride[0], dilation[0], out_h)
    left, right = same_padding(in_shape[2], kernel[1], stride[1], dilation[1], out_w)
    return (top, left, bottom, right)


def _first_nonzero(values) -> str:
    for channel, value in enumerate(values):
        if value != 0:
            return f"{value} for channel {channel}" if len(values) > 1 else str(value)
    return "0"


def _weights_and_bias(ctx, op, channels: int, channel_axis: int):
    data, weight = ctx.input(op, 0), ctx.input(op, 1)
    ctx.require_int8(op, data, "input")
    out = ctx.output(op)
    ctx.require_int8(op, out, "output")
    weight_data = ctx.require_constant(op, weight, "weight")
    if weight.dtype != np.dtype("int8") or weight.quantization is None:
        raise UnsupportedOperatorError(op.name, op.index, f"weight '{weight.name}' is {weight.type_name}; "
                                       "int8 weights with quantization parameters are required")
    quant = weight.quantization
    if any(z != 0 for z in quant.zero_point):
        raise UnsupportedOperatorError(op.name, op.index, f"weight '{weight.name}' has a non-zero zero point "
                                       f"({_first_nonzero(quant.zero_point)}); int8 weights must be symmetric "
                                       "(zero point 0). TFLite Micro silently ignores weight zero points and "
                                       "would compute wrong results; re-quantize with the standard int8 "
                                       "converter (symmetric per-channel weights)")
    if quant.per_channel and (len(quant.scale) != channels or quant.axis != channel_axis):
        raise UnsupportedOperatorError(op.name, op.index, f"weight '{weight.name}' is quantized along axis "
                                       f"{quant.axis} with {len(quant.scale)} scales; expected axis {channel_axis} "
                                       f"with {channels}")
    bias_data = np.zeros(channels, dtype=np.int32)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bias = ctx.input(op, 2)
        bias_data = ctx.require_constant(op, bias, "bias")
        if bias.dtype != np.dtype("int32") or bias_data.size != channels:
            raise UnsupportedOperatorError(op.name, op.index, f"bias '{bias.name}' must be int32 with {channels} "
                                           f"values, got {bias.type_name} {bias.shape}")
    multiplier, shift = per_channel_multipliers(data.scale, quant.scale, out.scale, channels)
    return data, weight_data, bias_data.reshape(channels).astype(np.int32), multiplier, shift, out


def _operands(ctx, data, weight, bias, multiplier, shift):
    return [ctx.value(data), relax.const(weight), relax.const(bias), relax.const(multiplier), relax.const(shift)]


@converts("CONV_2D")
def convert_conv2d(ctx, op):
    weight_shape = ctx.input(op, 1).shape
    if len(weight_shape) != 4 or len(ctx.input(op, 0).shape) != 4:
        raise UnsupportedOperatorError(op.name, op.index, "only 2-D convolution on NHWC tensors is supported")
    if weight_shape[3] != ctx.input(op, 0).shape[3]:
        raise UnsupportedOperatorError(op.name, op.index, "grouped convolution is not supported")
    data, weight, bias, multiplier, shift, out = _weights_and_bias(ctx, op, weight_shape[0], 0)
    options = op.options
    stride = (options.StrideH(), options.StrideW())
    dilation = (options.DilationHFactor(), options.DilationWFactor())
    padding = spatial_padding(op, options, data.shape, weight_shape[1:3], stride, dilation, out.shape)
    act_min, act_max = ctx.activation(op, options.FusedActivationFunction(), out)
    record = Conv2D(output_scale=out.scale, output_zp=out.zero_point, input_zp=data.zero_point,
                    stride=stride, dilation=dilation, padding=padding, act_min=act_min, act_max=act_max)
    ctx.emit(record, _operands(ctx, data, weight, bias, multiplier, shift), out)


@converts("DEPTHWISE_CONV_2D")
def convert_depthwise(ctx, op):
    weight_shape = ctx.input(op, 1).shape
    in_shape = ctx.input(op, 0).shape
    if len(weight_shape) != 4 or len(in_shape) != 4 or weight_shape[0] != 1:
        raise UnsupportedOperatorError(op.name, op.index, "expected NHWC input and a 1xHxWxC weight")
    options = op.options
    channels = weight_shape[3]
    multiplier_opt = options.DepthMultiplier() or channels // in_shape[3]
    if in_shape[3] * multiplier_opt != channels:
        raise UnsupportedOperatorError(op.name, op.index, f"{channels} output channels is not input channels "
                                       f"({in_shape[3]}) x depth multiplier ({multiplier_opt})")
    data, weight, bias, multiplier, shift, out = _weights_and_bias(ctx, op, channels, 3)
    stride = (options.StrideH(), options.StrideW())
    dilation = (options.DilationHFactor(), options.DilationWFactor())
    padding = spatial_padding(op, options, data.shape, weight_shape[1:3], stride, dilation, out.shape)
    act_min, act_max = ctx.activation(op, options.FusedActivationFunction(), out)
    record = DepthwiseConv2D(output_scale=out.scale, output_zp=out.zero_point, input_zp=data.zero_point,
                             stride=stride, dilation=dilation, padding=padding,
                             depth_multiplier=multiplier_opt, act_min=act_min, act_max=act_max)
    ctx.emit(record, _operands(ctx, data, weight, bias, multiplier, shift), out)


#: TFLM's GetQuantizedConvolutionMultipler: |in * w - bias scale| / out scale must not exceed this.
FC_BIAS_SCALE_TOLERANCE = 0.02


def _check_fc_bias_scale(op, data, weight, bias, out) -> None:
    """Per-tensor int8 FULLY_CONNECTED with a bias: TFLM's Prepare requires the bias scale to be close to
    ``input_scale * weight_scale`` (relative to the output scale). A bias without quantization counts as
    scale 0. TFLM rejects the model otherwise, and so does tinytvm."""
    product = float(data.scale) * float(weight.scale)
    bias_scale = float(bias.scale)  # 0.0 when the bias has no quantization parameters
    ratio = abs(product - bias_scale) / float(out.scale)
    if not ratio <= FC_BIAS_SCALE_TOLERANCE:
        raise QuantizationError(
            f"operator #{op.index} ({op.name}): bias '{bias.name}' has scale {bias_scale:.6g} but input scale x "
            f"weight scale is {product:.6g}; they differ by {ratio:.4g} x the output scale {out.scale:.6g}, more "
            f"than the {FC_BIAS_SCALE_TOLERANCE} TFLite Micro accepts (it rejects this model). Quantize the bias "
            "as int32 with scale input_scale * weight_scale, as the TFLite converter does")


@converts("FULLY_CONNECTED")
def convert_fully_connected(ctx, op):
    weight_tensor = ctx.input(op, 1)
    if len(weight_tensor.shape) != 2:
        raise UnsupportedOperatorError(op.name, op.index, f"weight '{weight_tensor.name}' must be 2-D [out, in]")
    units, depth = weight_tensor.shape
    data_tensor = ctx.input(op, 0)
    if math.prod(data_tensor.shape) % depth:
        raise UnsupportedOperatorError(op.name, op.index, f"input of shape {data_tensor.shape} cannot be "
                                       f"flattened to rows of {depth}")
    if op.options is not None and op.options.WeightsFormat() != 0:
        raise UnsupportedOperatorError(op.name, op.index, "only the DEFAULT weights format is supported")
    data, weight, bias, multiplier, shift, out = _weights_and_bias(ctx, op, units, 0)
    if not weight_tensor.quantization.per_channel:
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            _check_fc_bias_scale(op, data, weight_tensor, ctx.input(op, 2), out)
        single = per_tensor_fc_multiplier(data.scale, weight_tensor.scale, out.scale)
        multiplier = np.full(units, single[0], dtype=np.int32)
        shift = np.full(units, single[1], dtype=np.int32)
    activation = op.options.FusedActivationFunction() if op.options is not None else 0
    act_min, act_max = ctx.activation(op, activation, out)
    rows = math.prod(data.shape) // depth
    source = ctx.value(data)
    if data.shape != (rows, depth):
        flat = Reshape(output_scale=data.scale, output_zp=data.zero_point)
        source = ctx.builder.emit(flat.call([source], relax.TensorType((rows, depth), "int8")),
                                  name_hint=f"t{data.index}_flat")
    record = FullyConnected(output_scale=out.scale, output_zp=out.zero_point, input_zp=data.zero_point,
                            act_min=act_min, act_max=act_max)
    operands = [source, relax.const(weight), relax.const(bias), relax.const(multiplier), relax.const(shift)]
    if out.shape == (rows, units):
        ctx.emit(record, operands, out)
        return
    if math.prod(out.shape) != rows * units:
        raise UnsupportedOperatorError(op.name, op.index, f"output shape {out.shape} does not hold "
                                       f"{rows}x{units} values")
    dense = ctx.emit(record, operands, out, shape=(rows, units), bind_output=False)
    ctx.emit(Reshape(output_scale=out.scale, output_zp=out.zero_point), [dense], out)
