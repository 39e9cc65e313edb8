// Nearest-neighbour upsampling, channels last: every pixel becomes an SH x SW block.
//   x [N, H, W, C] -> y [N, H*SH, W*SW, C],   y[n, h*SH + i, w*SW + j, c] = x[n, h, w, c]
// The backward pass sums each block back into its pixel.
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

struct Upsample2dGeometry {
  std::int64_t N, H, W, C;
  std::int64_t SH, SW;
};

template <typename T>
void upsample2d_nearest_forward(const T* x, T* y, const Upsample2dGeometry& g);
// gx [N, H, W, C] is overwritten.
template <typename T>
void upsample2d_nearest_backward(const T* gy, T* gx, const Upsample2dGeometry& g);

}  // namespace kiln::kernels::cpu
