// Pieces of the convolution op shared with the fused convolution + pooling op.
#pragma once
#include "kernels/cpu/conv2d.hpp"
#include "kiln/compute_type.hpp"
#include "kiln/tensor.hpp"

namespace kiln::ops_detail {

// y [N, OH, OW, O] = conv(x, w) + b, with ReLU when asked; inputs contiguous.
Tensor conv2d_compute(const Tensor& x, const Tensor& w, const Tensor& b, const kernels::cpu::Conv2dGeometry& g,
                      bool relu, ComputeType compute = ComputeType::Float32);
// From gz, the gradient at the convolution's output (before any activation):
// the input gradient into *gx and the kernel gradient into *gw (either may be null).
void conv2d_grads(const Tensor& gz, const Tensor& x, const Tensor& w, const kernels::cpu::Conv2dGeometry& g, Tensor* gx,
                  Tensor* gw, ComputeType compute = ComputeType::Float32);
void check_conv_bias(const Tensor& x, const Tensor& b, const kernels::cpu::Conv2dGeometry& g);

}  // namespace kiln::ops_detail
