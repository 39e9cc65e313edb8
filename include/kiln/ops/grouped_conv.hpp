// Grouped and depthwise 2-D convolution, channels last (Keras's Conv2D `groups`,
// DepthwiseConv2D, the first half of SeparableConv2D).
//
//   grouped_conv2d    x [N, H, W, C]  w [KH, KW, C / groups, O]  b [O] or undefined  -> [N, OH, OW, O]
//                     input channels [g*C/groups, (g+1)*C/groups) feed outputs [g*O/groups, (g+1)*O/groups)
//   depthwise_conv2d  x [N, H, W, C]  w [KH, KW, C, M]  b [C*M] or undefined  -> [N, OH, OW, C*M]
//                     output channel c*M + m is channel c convolved with w[..., c, m] (Keras's order)
//
// Both are composed from conv2d, narrow and concat, so their gradients come from those ops.
// groups = 1 is conv2d itself (the fast path, unchanged).
#pragma once
#include <cstdint>

#include "kiln/tensor.hpp"

namespace kiln {

struct Conv2dParams;

Tensor grouped_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& params,
                      std::int64_t groups);
Tensor depthwise_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& params);

}  // namespace kiln
