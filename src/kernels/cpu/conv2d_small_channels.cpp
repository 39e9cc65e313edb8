// Direct AVX-512 convolution for layers with few input channels (an image
// network's first layer: 1 or 3 channels), float32.
//
// oneDNN's kernels block over input channels, so with 3 of them they run at
// about half the machine's FMA rate. Here each output pixel's channels are
// vectors: a block of pixels x all filters stays in registers, and every
// (kh, kw, c) step is one weight-row load and one broadcast per pixel.
//
//   x [N, H, W, C], w [KH, KW, C, O], y [N, OH, OW, O]; stride 1, no dilation,
//   no padding, C <= 4, O a multiple of 16 up to 64. Otherwise (or on CPUs
//   without AVX-512) the functions return false and oneDNN runs instead.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {
namespace {

#define KILN_AVX512 __attribute__((target("avx512f")))

bool supported(const Conv2dGeometry& g) {
  static const bool has_avx512 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return has_avx512 && g.C <= 4 && g.O % 16 == 0 && g.O <= 64 && g.stride_h == 1 && g.stride_w == 1 &&
         g.dilation_h == 1 && g.dilation_w == 1 && g.pad_top == 0 && g.pad_left == 0 && g.pad_bottom == 0 &&
         g.pad_right == 0 && g.KH * g.KW * g.C <= 64;
}

// P output pixels x OB vectors of 16 filters, accumulated in registers.
template <int P, int OB>
KILN_AVX512 inline void forward_block(const float* x, std::int64_t row_stride, const float* w, const float* bias,
                                      float* y, const Conv2dGeometry& g, bool relu) {
  __m512 acc[P][OB];
  for (int ob = 0; ob < OB; ++ob) {
    const __m512 b = bias ? _mm512_loadu_ps(bias + 16 * ob) : _mm512_setzero_ps();
    for (int p = 0; p < P; ++p) acc[p][ob] = b;
  }
  const std::int64_t C = g.C, O = g.O;
  for (std::int64_t kh = 0; kh < g.KH; ++kh) {
    const float* xr = x + kh * row_stride;
    for (std::int64_t kw = 0; kw < g.KW; ++kw) {
      for (std::int64_t c = 0; c < C; ++c) {
        const float* wr = w + ((kh * g.KW + kw) * C + c) * O;
        __m512 wv[OB];
        for (int ob = 0; ob < OB; ++ob) wv[ob] = _mm512_loadu_ps(wr + 16 * ob);
        for (int p = 0; p < P; ++p) {
          const __m512 xv = _mm512_set1_ps(xr[(p + kw) * C + c]);
          for (int ob = 0; ob < OB; ++ob) acc[p][ob] = _mm512_fmadd_ps(xv, wv[ob], acc[p][ob]);
        }
      }
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  for (int p = 0; p < P; ++p) {
    for (int ob = 0; ob < OB; ++ob) {
      // The masked form: GCC 12 warns about the unmasked one's undefined source.
      _mm512_storeu_ps(y + p * O + 16 * ob, relu ? _mm512_mask_max_ps(zero, 0xFFFF, acc[p][ob], zero) : acc[p][ob]);
    }
  }
}

template <int OB>
constexpr int pixels_per_block() {
  return OB == 1 ? 12 : OB == 2 ? 12 : OB == 3 ? 7 : 5;  // keeps P x OB accumulators within the 32 registers
}

template <int OB, int P>
KILN_AVX512 void forward_tail(const float* x, std::int64_t rs, const float* w, const float* b, float* y,
                              const Conv2dGeometry& g, bool relu, int pixels) {
  if constexpr (P > 0) {
    if (pixels == P) return forward_block<P, OB>(x, rs, w, b, y, g, relu);
    forward_tail<OB, P - 1>(x, rs, w, b, y, g, relu, pixels);
  }
}

// One output row (n, oh): OW pixels x O filters into yr.
template <int OB>
KILN_AVX512 void forward_row(const float* x, const float* w, const float* b, float* yr, const Conv2dGeometry& g,
                             bool relu, std::int64_t n, std::int64_t oh) {
  constexpr int P = pixels_per_block<OB>();
  const std::int64_t rs = g.W * g.C;
  const float* xr = x + (n * g.H + oh) * rs;
  std::int64_t ow = 0;
  for (; ow + P <= g.OW; ow += P) forward_block<P, OB>(xr + ow * g.C, rs, w, b, yr + ow * g.O, g, relu);
  if (ow < g.OW) forward_tail<OB, P - 1>(xr + ow * g.C, rs, w, b, yr + ow * g.O, g, relu, int(g.OW - ow));
}

template <int OB>
KILN_AVX512 void conv_forward_rows(const float* x, const float* w, const float* b, float* y, const Conv2dGeometry& g,
                              bool relu, std::int64_t begin, std::int64_t end) {
  for (std::int64_t row = begin; row < end; ++row) {
    forward_row<OB>(x, w, b, y + row * g.OW * g.O, g, relu, row / g.OH, row % g.OH);
  }
}

// Kernel-gradient rows [r0, r0 + R) (r = (kh*KW + kw)*C + c) for one output
// row of pixels, accumulated into acc [rows, O] in memory between calls.
template <int R, int OB>
KILN_AVX512 inline void weights_block(const float* x, const float* gy, float* acc, const Conv2dGeometry& g,
                                      std::int64_t r0) {
  __m512 a[R][OB];
  for (int r = 0; r < R; ++r) {
    for (int ob = 0; ob < OB; ++ob) a[r][ob] = _mm512_loadu_ps(acc + (r0 + r) * g.O + 16 * ob);
  }
  // Where each row of the block reads x, relative to the output pixel.
  std::int64_t offset[R];
  for (int r = 0; r < R; ++r) {
    const std::int64_t k = r0 + r, c = k % g.C, kw = (k / g.C) % g.KW, kh = k / (g.C * g.KW);
    offset[r] = (kh * g.W + kw) * g.C + c;
  }
  for (std::int64_t ow = 0; ow < g.OW; ++ow) {
    __m512 gv[OB];
    for (int ob = 0; ob < OB; ++ob) gv[ob] = _mm512_loadu_ps(gy + ow * g.O + 16 * ob);
    const float* xp = x + ow * g.C;
    for (int r = 0; r < R; ++r) {
      const __m512 xv = _mm512_set1_ps(xp[offset[r]]);
      for (int ob = 0; ob < OB; ++ob) a[r][ob] = _mm512_fmadd_ps(xv, gv[ob], a[r][ob]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int ob = 0; ob < OB; ++ob) _mm512_storeu_ps(acc + (r0 + r) * g.O + 16 * ob, a[r][ob]);
  }
}

template <int OB>
constexpr int rows_per_block() {
  return 24 / OB;
}

template <int OB, int R>
KILN_AVX512 void weights_tail(const float* x, const float* gy, float* acc, const Conv2dGeometry& g, std::int64_t r0,
                              int rows) {
  if constexpr (R > 0) {
    if (rows == R) return weights_block<R, OB>(x, gy, acc, g, r0);
    weights_tail<OB, R - 1>(x, gy, acc, g, r0, rows);
  }
}

template <int OB>
KILN_AVX512 void weights_rows(const float* x, const float* gy, float* acc, const Conv2dGeometry& g,
                              std::int64_t begin, std::int64_t end) {
  constexpr int R = rows_per_block<OB>();
  const std::int64_t rows = g.KH * g.KW * g.C;
  for (std::int64_t row = begin; row < end; ++row) {
    const std::int64_t n = row / g.OH, oh = row % g.OH;
    const float* xr = x + (n * g.H + oh) * g.W * g.C;
    const float* gr = gy + row * g.OW * g.O;
    std::int64_t r0 = 0;
    for (; r0 + R <= rows; r0 += R) weights_block<R, OB>(xr, gr, acc, g, r0);
    if (r0 < rows) weights_tail<OB, R - 1>(xr, gr, acc, g, r0, int(rows - r0));
  }
}

// Max pooling of `rows` conv output rows (each [OW, O]) into one pooled row,
// with windows that tile the rows (stride == pool size, no padding). Same
// rules as max_pool2d_forward: the first strict maximum wins, NaN sticks.
KILN_AVX512 void pool_rows(const float* conv_rows, std::int64_t oh0, float* pooled, std::int32_t* argmax,
                           const Conv2dGeometry& g, const Pool2dGeometry& pg) {
  const std::int64_t O = g.O;
  for (std::int64_t pw = 0; pw < pg.OW; ++pw) {
    float* best = pooled + pw * O;
    std::int32_t* where = argmax ? argmax + pw * O : nullptr;
    for (std::int64_t kh = 0; kh < pg.KH; ++kh) {
      for (std::int64_t kw = 0; kw < pg.KW; ++kw) {
        const std::int64_t ow = pw * pg.KW + kw;
        const float* in = conv_rows + (kh * g.OW + ow) * O;
        const auto pos = static_cast<std::int32_t>((oh0 + kh) * g.OW + ow);
        if (kh == 0 && kw == 0) {
          for (std::int64_t c = 0; c < O; ++c) best[c] = in[c];
          if (where) {
            for (std::int64_t c = 0; c < O; ++c) where[c] = pos;
          }
          continue;
        }
        // Separate loops with and without argmax keep both branch-free.
        if (where) {
          for (std::int64_t c = 0; c < O; ++c) {
            const float v = in[c], b = best[c];
            const bool take = (v > b) | (v != v);
            best[c] = take ? v : b;
            where[c] = take ? pos : where[c];
          }
        } else {
          for (std::int64_t c = 0; c < O; ++c) {
            const float v = in[c], b = best[c];
            best[c] = ((v > b) | (v != v)) ? v : b;
          }
        }
      }
    }
  }
}

template <int OB>
KILN_AVX512 void forward_pooled_rows(const float* x, const float* w, const float* b, float* pooled,
                                     std::int32_t* argmax, const Conv2dGeometry& g, const Pool2dGeometry& pg,
                                     bool relu, std::int64_t begin, std::int64_t end) {
  // The conv rows under one pooled row: a few KB, so they never leave the L1 cache.
  std::vector<float> rows(static_cast<std::size_t>(pg.KH * g.OW * g.O));
  for (std::int64_t prow = begin; prow < end; ++prow) {
    const std::int64_t n = prow / pg.OH, ph = prow % pg.OH, oh0 = ph * pg.KH;
    for (std::int64_t kh = 0; kh < pg.KH; ++kh) {
      forward_row<OB>(x, w, b, rows.data() + kh * g.OW * g.O, g, relu, n, oh0 + kh);
    }
    const std::int64_t out = prow * pg.OW * g.O;
    pool_rows(rows.data(), oh0, pooled + out, argmax ? argmax + out : nullptr, g, pg);
  }
}

template <typename Fn>
void by_filter_blocks(std::int64_t O, Fn&& fn) {
  switch (O / 16) {
    case 1: fn.template operator()<1>(); break;
    case 2: fn.template operator()<2>(); break;
    case 3: fn.template operator()<3>(); break;
    default: fn.template operator()<4>(); break;
  }
}

}  // namespace

bool conv2d_forward_small_channels(const float* x, const float* w, const float* b, float* y,
                                   const Conv2dGeometry& g, bool relu) {
  if (!supported(g)) return false;
  by_filter_blocks(g.O, [&]<int OB>() {
    parallel_for(g.N * g.OH, g.OW * g.KH * g.KW * g.C * g.O, [&](std::int64_t begin, std::int64_t end) {
      conv_forward_rows<OB>(x, w, b, y, g, relu, begin, end);
    });
  });
  return true;
}

bool conv2d_max_pool2d_small_channels(const float* x, const float* w, const float* b, float* pooled,
                                      std::int32_t* argmax, const Conv2dGeometry& g, const Pool2dGeometry& pg,
                                      bool relu) {
  const bool tiled = pg.stride_h == pg.KH && pg.stride_w == pg.KW && pg.pad_top == 0 && pg.pad_left == 0;
  if (!supported(g) || !tiled || pg.OH * pg.KH > g.OH || pg.OW * pg.KW > g.OW) return false;
  by_filter_blocks(g.O, [&]<int OB>() {
    parallel_for(g.N * pg.OH, pg.KH * g.OW * g.KH * g.KW * g.C * g.O, [&](std::int64_t begin, std::int64_t end) {
      forward_pooled_rows<OB>(x, w, b, pooled, argmax, g, pg, relu, begin, end);
    });
  });
  return true;
}

bool conv2d_backward_weights_small_channels(const float* x, const float* gy, float* gw, const Conv2dGeometry& g) {
  if (!supported(g)) return false;
  const std::int64_t size = g.KH * g.KW * g.C * g.O;
  const int threads = omp_get_max_threads();
  // One partial kernel gradient per thread, added up in thread order: the
  // result depends only on the thread count.
  std::vector<float> partial(static_cast<std::size_t>(threads * size), 0.0f);
  std::vector<char> used(static_cast<std::size_t>(threads), 0);
  by_filter_blocks(g.O, [&]<int OB>() {
    parallel_for(g.N * g.OH, g.OW * g.KH * g.KW * g.C * g.O, [&](std::int64_t begin, std::int64_t end) {
      const int t = omp_in_parallel() ? omp_get_thread_num() : 0;
      used[t] = 1;
      weights_rows<OB>(x, gy, partial.data() + t * size, g, begin, end);
    });
  });
  std::fill(gw, gw + size, 0.0f);
  for (int t = 0; t < threads; ++t) {
    if (!used[t]) continue;
    const float* p = partial.data() + t * size;
    for (std::int64_t i = 0; i < size; ++i) gw[i] += p[i];
  }
  return true;
}

}  // namespace kiln::kernels::cpu
