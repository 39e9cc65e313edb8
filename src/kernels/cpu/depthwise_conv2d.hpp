// Depthwise 2-D convolution, channels last: each input channel with its own M filters.
//   x  [N, H, W, C]        input
//   w  [KH, KW, C, M]      kernel (Keras's DepthwiseConv2D layout; g.O holds M)
//   b  [C * M]             bias (may be null)
//   y  [N, OH, OW, C * M]  output
// y[n,oh,ow,c*M+m] = b[c*M+m] + sum_{kh,kw} x[n, oh*SH - PT + kh*DH, ow*SW - PL + kw*DW, c] * w[kh,kw,c,m]
#pragma once
#include "kernels/cpu/conv2d.hpp"

namespace kiln::kernels::cpu {

template <typename T>
void depthwise_conv2d_forward(const T* x, const T* w, const T* b, T* y, const Conv2dGeometry& g);
template <typename T>
void depthwise_conv2d_backward_data(const T* gy, const T* w, T* gx, const Conv2dGeometry& g);
// gb may be null.
template <typename T>
void depthwise_conv2d_backward_weights(const T* x, const T* gy, T* gw, T* gb, const Conv2dGeometry& g);

}  // namespace kiln::kernels::cpu
