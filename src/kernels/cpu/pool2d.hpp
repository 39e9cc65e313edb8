// 2-D pooling, channels last: x [N, H, W, C] -> y [N, OH, OW, C].
// Windows that reach into the padding only see the real pixels (Keras/TF "same").
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

struct Pool2dGeometry {
  std::int64_t N, H, W, C;
  std::int64_t KH, KW;
  std::int64_t OH, OW;
  std::int64_t stride_h, stride_w;
  std::int64_t pad_top = 0, pad_left = 0;
};

// argmax[n,oh,ow,c] = ih * W + iw of the maximum, kept for the backward pass.
template <typename T>
void max_pool2d_forward(const T* x, T* y, std::int32_t* argmax, const Pool2dGeometry& g);
// gx is overwritten (zeros except at the maxima).
template <typename T>
void max_pool2d_backward(const T* gy, const std::int32_t* argmax, T* gx, const Pool2dGeometry& g);

template <typename T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g);
template <typename T>
void avg_pool2d_backward(const T* gy, T* gx, const Pool2dGeometry& g);

}  // namespace kiln::kernels::cpu
