#include "kernels/cpu/pool2d.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {
namespace {

struct Window {
  std::int64_t h0, h1, w0, w1;  // clipped to the image
};

Window window(const Pool2dGeometry& g, std::int64_t oh, std::int64_t ow) {
  const std::int64_t h = oh * g.stride_h - g.pad_top, w = ow * g.stride_w - g.pad_left;
  return {std::max<std::int64_t>(h, 0), std::min(h + g.KH, g.H), std::max<std::int64_t>(w, 0),
          std::min(w + g.KW, g.W)};
}

template <typename T>
KILN_MULTIVERSION void max_pool_rows(const T* x, T* y, std::int32_t* argmax, const Pool2dGeometry& g,
                                     std::int64_t begin, std::int64_t end) {
  for (std::int64_t row = begin; row < end; ++row) {
    const std::int64_t n = row / g.OH, oh = row % g.OH;
    const T* xn = x + n * g.H * g.W * g.C;
    for (std::int64_t ow = 0; ow < g.OW; ++ow) {
      const Window win = window(g, oh, ow);
      const std::int64_t out = ((n * g.OH + oh) * g.OW + ow) * g.C;
      T* best = y + out;
      const T* first = xn + (win.h0 * g.W + win.w0) * g.C;
      for (std::int64_t c = 0; c < g.C; ++c) best[c] = first[c];
      std::int32_t* where = argmax ? argmax + out : nullptr;
      if (where) {
        const auto pos0 = static_cast<std::int32_t>(win.h0 * g.W + win.w0);
        for (std::int64_t c = 0; c < g.C; ++c) where[c] = pos0;
      }
      for (std::int64_t ih = win.h0; ih < win.h1; ++ih) {
        for (std::int64_t iw = win.w0; iw < win.w1; ++iw) {
          if (ih == win.h0 && iw == win.w0) continue;
          const T* in = xn + (ih * g.W + iw) * g.C;
          const auto pos = static_cast<std::int32_t>(ih * g.W + iw);
          // Branch-free so the channel loop vectorises. A strictly greater
          // value wins (the first maximum is kept); NaN wins and then sticks.
          if (where) {
            for (std::int64_t c = 0; c < g.C; ++c) {
              const T v = in[c], b = best[c];
              const bool take = (v > b) | (v != v);
              best[c] = take ? v : b;
              where[c] = take ? pos : where[c];
            }
          } else {
            for (std::int64_t c = 0; c < g.C; ++c) {
              const T v = in[c], b = best[c];
              best[c] = ((v > b) | (v != v)) ? v : b;
            }
          }
        }
      }
    }
  }
}

// Windows that tile the image without overlap (stride == pool, no padding):
// every input pixel is written exactly once, so no zero-fill pass is needed.
template <typename T>
KILN_MULTIVERSION void max_unpool_tiled(const T* gy, const std::int32_t* argmax, T* gx, const Pool2dGeometry& g,
                                        std::int64_t n) {
  T* gxn = gx + n * g.H * g.W * g.C;
  const std::int64_t covered_h = g.OH * g.KH, covered_w = g.OW * g.KW;
  for (std::int64_t ih = 0; ih < g.H; ++ih) {
    T* row = gxn + ih * g.W * g.C;
    if (ih >= covered_h) {
      for (std::int64_t i = 0; i < g.W * g.C; ++i) row[i] = T(0);
      continue;
    }
    const std::int64_t oh = ih / g.KH;
    for (std::int64_t iw = 0; iw < g.W; ++iw) {
      T* out = row + iw * g.C;
      if (iw >= covered_w) {
        for (std::int64_t c = 0; c < g.C; ++c) out[c] = T(0);
        continue;
      }
      const std::int64_t o = ((n * g.OH + oh) * g.OW + iw / g.KW) * g.C;
      const auto pos = static_cast<std::int32_t>(ih * g.W + iw);
      for (std::int64_t c = 0; c < g.C; ++c) out[c] = argmax[o + c] == pos ? gy[o + c] : T(0);
    }
  }
}

template <typename T>
void max_unpool_scatter(const T* gy, const std::int32_t* argmax, T* gx, const Pool2dGeometry& g, std::int64_t n) {
  T* gxn = gx + n * g.H * g.W * g.C;
  std::fill(gxn, gxn + g.H * g.W * g.C, T(0));
  const std::int64_t base = n * g.OH * g.OW * g.C;
  for (std::int64_t p = 0; p < g.OH * g.OW; ++p) {
    for (std::int64_t c = 0; c < g.C; ++c) {
      const std::int64_t i = base + p * g.C + c;
      gxn[static_cast<std::int64_t>(argmax[i]) * g.C + c] += gy[i];
    }
  }
}

}  // namespace

template <typename T>
void max_pool2d_forward(const T* x, T* y, std::int32_t* argmax, const Pool2dGeometry& g) {
  parallel_for(g.N * g.OH, g.OW * g.KH * g.KW * g.C, [&](std::int64_t begin, std::int64_t end) {
    max_pool_rows(x, y, argmax, g, begin, end);
  });
}

template <typename T>
void max_pool2d_backward(const T* gy, const std::int32_t* argmax, T* gx, const Pool2dGeometry& g) {
  const bool tiled = g.stride_h == g.KH && g.stride_w == g.KW && g.pad_top == 0 && g.pad_left == 0;
  parallel_for(g.N, g.H * g.W * g.C, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t n = begin; n < end; ++n) {
      if (tiled) max_unpool_tiled(gy, argmax, gx, g, n);
      else max_unpool_scatter(gy, argmax, gx, g, n);
    }
  });
}

template <typename T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g) {
  parallel_for(g.N * g.OH, g.OW * g.KH * g.KW * g.C, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      const std::int64_t n = row / g.OH, oh = row % g.OH;
      const T* xn = x + n * g.H * g.W * g.C;
      for (std::int64_t ow = 0; ow < g.OW; ++ow) {
        const Window win = window(g, oh, ow);
        T* out = y + ((n * g.OH + oh) * g.OW + ow) * g.C;
        std::fill(out, out + g.C, T(0));
        for (std::int64_t ih = win.h0; ih < win.h1; ++ih) {
          for (std::int64_t iw = win.w0; iw < win.w1; ++iw) {
            const T* in = xn + (ih * g.W + iw) * g.C;
            for (std::int64_t c = 0; c < g.C; ++c) out[c] += in[c];
          }
        }
        const T inv = T(1) / static_cast<T>((win.h1 - win.h0) * (win.w1 - win.w0));
        for (std::int64_t c = 0; c < g.C; ++c) out[c] *= inv;
      }
    }
  });
}

template <typename T>
void avg_pool2d_backward(const T* gy, T* gx, const Pool2dGeometry& g) {
  parallel_for(g.N, g.H * g.W * g.C, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t n = begin; n < end; ++n) {
      T* gxn = gx + n * g.H * g.W * g.C;
      std::fill(gxn, gxn + g.H * g.W * g.C, T(0));
      for (std::int64_t oh = 0; oh < g.OH; ++oh) {
        for (std::int64_t ow = 0; ow < g.OW; ++ow) {
          const Window win = window(g, oh, ow);
          const T* go = gy + ((n * g.OH + oh) * g.OW + ow) * g.C;
          const T inv = T(1) / static_cast<T>((win.h1 - win.h0) * (win.w1 - win.w0));
          for (std::int64_t ih = win.h0; ih < win.h1; ++ih) {
            for (std::int64_t iw = win.w0; iw < win.w1; ++iw) {
              T* gi = gxn + (ih * g.W + iw) * g.C;
              for (std::int64_t c = 0; c < g.C; ++c) gi[c] += go[c] * inv;
            }
          }
        }
      }
    }
  });
}

#define KILN_INSTANTIATE(T)                                                                          \
  template void max_pool2d_forward<T>(const T*, T*, std::int32_t*, const Pool2dGeometry&);           \
  template void max_pool2d_backward<T>(const T*, const std::int32_t*, T*, const Pool2dGeometry&);    \
  template void avg_pool2d_forward<T>(const T*, T*, const Pool2dGeometry&);                          \
  template void avg_pool2d_backward<T>(const T*, T*, const Pool2dGeometry&);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
