#include "kernels/cpu/depthwise_conv2d.hpp"

#include <algorithm>

#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {

template <typename T>
void depthwise_conv2d_forward(const T* x, const T* w, const T* b, T* y, const Conv2dGeometry& g) {
  const std::int64_t M = g.O, CM = g.C * g.O;
  parallel_for(g.N * g.OH, g.OW * g.KH * g.KW * CM, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      const std::int64_t n = row / g.OH, oh = row % g.OH;
      for (std::int64_t ow = 0; ow < g.OW; ++ow) {
        T* out = y + ((n * g.OH + oh) * g.OW + ow) * CM;
        for (std::int64_t o = 0; o < CM; ++o) out[o] = b ? b[o] : T(0);
        for (std::int64_t kh = 0; kh < g.KH; ++kh) {
          const std::int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          if (ih < 0 || ih >= g.H) continue;
          for (std::int64_t kw = 0; kw < g.KW; ++kw) {
            const std::int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
            if (iw < 0 || iw >= g.W) continue;
            const T* in = x + ((n * g.H + ih) * g.W + iw) * g.C;
            const T* wk = w + (kh * g.KW + kw) * CM;
            for (std::int64_t c = 0; c < g.C; ++c) {
              for (std::int64_t m = 0; m < M; ++m) out[c * M + m] += in[c] * wk[c * M + m];
            }
          }
        }
      }
    }
  });
}

template <typename T>
void depthwise_conv2d_backward_data(const T* gy, const T* w, T* gx, const Conv2dGeometry& g) {
  const std::int64_t M = g.O, CM = g.C * g.O;
  // Each image is independent, so splitting over n keeps the scatter race-free.
  parallel_for(g.N, g.OH * g.OW * g.KH * g.KW * CM, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t n = begin; n < end; ++n) {
      T* gxn = gx + n * g.H * g.W * g.C;
      std::fill(gxn, gxn + g.H * g.W * g.C, T(0));
      for (std::int64_t oh = 0; oh < g.OH; ++oh) {
        for (std::int64_t ow = 0; ow < g.OW; ++ow) {
          const T* go = gy + ((n * g.OH + oh) * g.OW + ow) * CM;
          for (std::int64_t kh = 0; kh < g.KH; ++kh) {
            const std::int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
            if (ih < 0 || ih >= g.H) continue;
            for (std::int64_t kw = 0; kw < g.KW; ++kw) {
              const std::int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
              if (iw < 0 || iw >= g.W) continue;
              T* gi = gxn + (ih * g.W + iw) * g.C;
              const T* wk = w + (kh * g.KW + kw) * CM;
              for (std::int64_t c = 0; c < g.C; ++c) {
                T acc = T(0);
                for (std::int64_t m = 0; m < M; ++m) acc += go[c * M + m] * wk[c * M + m];
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
void depthwise_conv2d_backward_weights(const T* x, const T* gy, T* gw, T* gb, const Conv2dGeometry& g) {
  const std::int64_t M = g.O, CM = g.C * g.O;
  // Split over the kernel's (kh, kw) positions: each thread owns its rows of gw.
  parallel_for(g.KH * g.KW, g.N * g.OH * g.OW * CM, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const std::int64_t kh = r / g.KW, kw = r % g.KW;
      T* out = gw + r * CM;
      std::fill(out, out + CM, T(0));
      for (std::int64_t n = 0; n < g.N; ++n) {
        for (std::int64_t oh = 0; oh < g.OH; ++oh) {
          const std::int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          if (ih < 0 || ih >= g.H) continue;
          for (std::int64_t ow = 0; ow < g.OW; ++ow) {
            const std::int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
            if (iw < 0 || iw >= g.W) continue;
            const T* in = x + ((n * g.H + ih) * g.W + iw) * g.C;
            const T* go = gy + ((n * g.OH + oh) * g.OW + ow) * CM;
            for (std::int64_t c = 0; c < g.C; ++c) {
              for (std::int64_t m = 0; m < M; ++m) out[c * M + m] += in[c] * go[c * M + m];
            }
          }
        }
      }
    }
  });
  if (gb) {
    std::fill(gb, gb + CM, T(0));
    for (std::int64_t p = 0; p < g.N * g.OH * g.OW; ++p) {
      for (std::int64_t o = 0; o < CM; ++o) gb[o] += gy[p * CM + o];
    }
  }
}

#define KILN_INSTANTIATE(T)                                                                           \
  template void depthwise_conv2d_forward<T>(const T*, const T*, const T*, T*, const Conv2dGeometry&); \
  template void depthwise_conv2d_backward_data<T>(const T*, const T*, T*, const Conv2dGeometry&);     \
  template void depthwise_conv2d_backward_weights<T>(const T*, const T*, T*, T*, const Conv2dGeometry&);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
