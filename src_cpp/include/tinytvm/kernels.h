/*
 * tinytvm/kernels.h - umbrella header for the tinytvm int8 kernel library.
 */
#ifndef TINYTVM_KERNELS_H_
#define TINYTVM_KERNELS_H_

#include "tinytvm/activations.h"
#include "tinytvm/common.h"
#include "tinytvm/conv2d.h"
#include "tinytvm/depthwise_conv2d.h"
#include "tinytvm/elementwise.h"
#include "tinytvm/fixed_point.h"
#include "tinytvm/fully_connected.h"
#include "tinytvm/pooling.h"
#include "tinytvm/quantize.h"
#include "tinytvm/shape_ops.h"

#endif /* TINYTVM_KERNELS_H_ */
