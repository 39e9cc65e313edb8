#include <algorithm>
#include <vector>

#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {

template <typename T>
void conv2d_forward_reference(const T* x, const T* w, const T* b, T* y, const Conv2dGeometry& g) {
  parallel_for(g.N * g.OH, g.OW * g.KH * g.KW * g.C * g.O, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      const std::int64_t n = row / g.OH, oh = row % g.OH;
      for (std::int64_t ow = 0; ow < g.OW; ++ow) {
        T* out = y + ((n * g.OH + oh) * g.OW + ow) * g.O;
        for (std::int64_t o = 0; o < g.O; ++o) out[o] = b ? b[o] : T(0);
        for (std::int64_t kh = 0; kh < g.KH; ++kh) {
          const std::int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          if (ih < 0 || ih >= g.H) continue;
          for (std::int64_t kw = 0; kw < g.KW; ++kw) {
            const std::int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
            if (iw < 0 || iw >= g.W) continue;
            const T* in = x + ((n * g.H + ih) * g.W + iw) * g.C;
            const T* wk = w + (kh * g.KW + kw) * g.C * g.O;
            for (std::int64_t c = 0; c < g.C; ++c) {
              const T v = in[c];
              const T* wc = wk + c * g.O;
              for (std::int64_t o = 0; o < g.O; ++o) out[o] += v * wc[o];
            }
          }
        }
      }
    }
  });
}

template <typename T>
void conv2d_backward_data_reference(const T* gy, const T* w, T* gx, const Conv2dGeometry& g) {
  // Each image is independent, so splitting over n keeps the scatter race-free.
  parallel_for(g.N, g.OH * g.OW * g.KH * g.KW * g.C * g.O, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t n = begin; n < end; ++n) {
      T* gxn = gx + n * g.H * g.W * g.C;
      std::fill(gxn, gxn + g.H * g.W * g.C, T(0));
      for (std::int64_t oh = 0; oh < g.OH; ++oh) {
        for (std::int64_t ow = 0; ow < g.OW; ++ow) {
          const T* go = gy + ((n * g.OH + oh) * g.OW + ow) * g.O;
          for (std::int64_t kh = 0; kh < g.KH; ++kh) {
            const std::int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
            if (ih < 0 || ih >= g.H) continue;
            for (std::int64_t kw = 0; kw < g.KW; ++kw) {
              const std::int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
              if (iw < 0 || iw >= g.W) continue;
              T* gi = gxn + (ih * g.W + iw) * g.C;
              const T* wk = w + (kh * g.KW + kw) * g.C * g.O;
              for (std::int64_t c = 0; c < g.C; ++c) {
                T acc = T(0);
                for (std::int64_t o = 0; o < g.O; ++o) acc += go[o] * wk[c * g.O + o];
                gi[c] += acc;
              }
            }
          }
        }
      }
    }
  });
}

template <typename T>
void conv2d_backward_weights_reference(const T* x, const T* gy, T* gw, T* gb, const Conv2dGeometry& g) {
  // Split over (kh, kw, c) rows of the kernel: each thread owns its outputs.
  const std::int64_t rows = g.KH * g.KW * g.C;
  parallel_for(rows, g.N * g.OH * g.OW * g.O, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const std::int64_t kh = r / (g.KW * g.C), kw = (r / g.C) % g.KW, c = r % g.C;
      T* out = gw + r * g.O;
      std::fill(out, out + g.O, T(0));
      for (std::int64_t n = 0; n < g.N; ++n) {
        for (std::int64_t oh = 0; oh < g.OH; ++oh) {
          const std::int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          if (ih < 0 || ih >= g.H) continue;
          for (std::int64_t ow = 0; ow < g.OW; ++ow) {
            const std::int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
            if (iw < 0 || iw >= g.W) continue;
            const T v = x[((n * g.H + ih) * g.W + iw) * g.C + c];
            const T* go = gy + ((n * g.OH + oh) * g.OW + ow) * g.O;
            for (std::int64_t o = 0; o < g.O; ++o) out[o] += v * go[o];
          }
        }
      }
    }
  });
  if (gb) {
    std::fill(gb, gb + g.O, T(0));
    const std::int64_t pixels = g.N * g.OH * g.OW;
    for (std::int64_t p = 0; p < pixels; ++p) {
      for (std::int64_t o = 0; o < g.O; ++o) gb[o] += gy[p * g.O + o];
    }
  }
}

#define KILN_INSTANTIATE(T)                                                                            \
  template void conv2d_forward_reference<T>(const T*, const T*, const T*, T*, const Conv2dGeometry&); \
  template void conv2d_backward_data_reference<T>(const T*, const T*, T*, const Conv2dGeometry&);     \
  template void conv2d_backward_weights_reference<T>(const T*, const T*, T*, T*, const Conv2dGeometry&);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
