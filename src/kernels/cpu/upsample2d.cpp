#include "kernels/cpu/upsample2d.hpp"

#include <algorithm>

#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {

template <typename T>
void upsample2d_nearest_forward(const T* x, T* y, const Upsample2dGeometry& g) {
  const std::int64_t OW = g.W * g.SW, row = OW * g.C;
  // One input row makes SH identical output rows: build the first, copy it.
  parallel_for(g.N * g.H, row * g.SH, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t nh = begin; nh < end; ++nh) {
      const T* in = x + nh * g.W * g.C;
      T* out = y + nh * g.SH * row;
      for (std::int64_t w = 0; w < g.W; ++w) {
        for (std::int64_t j = 0; j < g.SW; ++j) std::copy(in + w * g.C, in + (w + 1) * g.C, out + (w * g.SW + j) * g.C);
      }
      for (std::int64_t i = 1; i < g.SH; ++i) std::copy(out, out + row, out + i * row);
    }
  });
}

template <typename T>
void upsample2d_nearest_backward(const T* gy, T* gx, const Upsample2dGeometry& g) {
  const std::int64_t OW = g.W * g.SW, row = OW * g.C;
  parallel_for(g.N * g.H, row * g.SH, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t nh = begin; nh < end; ++nh) {
      T* out = gx + nh * g.W * g.C;
      std::fill(out, out + g.W * g.C, T(0));
      for (std::int64_t i = 0; i < g.SH; ++i) {
        const T* in = gy + (nh * g.SH + i) * row;
        for (std::int64_t w = 0; w < g.W; ++w) {
          for (std::int64_t j = 0; j < g.SW; ++j) {
            const T* block = in + (w * g.SW + j) * g.C;
            for (std::int64_t c = 0; c < g.C; ++c) out[w * g.C + c] += block[c];
          }
        }
      }
    }
  });
}

template void upsample2d_nearest_forward<float>(const float*, float*, const Upsample2dGeometry&);
template void upsample2d_nearest_forward<double>(const double*, double*, const Upsample2dGeometry&);
template void upsample2d_nearest_backward<float>(const float*, float*, const Upsample2dGeometry&);
template void upsample2d_nearest_backward<double>(const double*, double*, const Upsample2dGeometry&);

}  // namespace kiln::kernels::cpu
