// Transposed 2-D convolution (Keras's Conv2DTranspose, sometimes called
// "deconvolution"), channels last. It is the adjoint of conv2d: its forward
// pass is conv2d's input gradient and its input gradient is conv2d itself, so
// it runs on the same kernels.
//
//   x [N, H, W, C]   w [KH, KW, O, C] (Keras's layout: filters before input channels)   b [O] or undefined
//   -> [N, OH, OW, O] with, per axis (KH_eff = (KH - 1) * dilation + 1):
//        "valid": OH = H * stride + max(KH_eff - stride, 0)
//        "same":  OH = H * stride
//   so that conv2d with the same kernel size, stride and padding maps OH back to H.
#pragma once
#include <cstdint>
#include <string>

#include "kiln/tensor.hpp"

namespace kiln {

struct Conv2dTransposeParams {
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::string padding = "valid";  // or "same"
};

Tensor conv2d_transpose(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dTransposeParams& params = {});

// The output length along one axis (Keras's deconv_output_length without output_padding).
std::int64_t conv2d_transpose_output_length(std::int64_t input_length, std::int64_t kernel, std::int64_t stride,
                                            std::int64_t dilation, const std::string& padding);

}  // namespace kiln
