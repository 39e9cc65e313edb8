// Direct convolution for layers with few input channels (an image network's
// first layer: 1 or 3 channels), float32, with AVX-512 or AVX2.
//
// oneDNN's kernels block over input channels, so with 3 of them they run at
// about half the machine's FMA rate. Here each output pixel's channels are
// vectors: a block of pixels x all filters stays in registers, and every
// (kh, kw, c) step is one weight-row load and one broadcast per pixel. Fused
// with max pooling, the convolution's output never leaves the L1 cache.
//
//   x [N, H, W, C], w [KH, KW, C, O], y [N, OH, OW, O]; stride 1, no dilation,
//   no padding, C <= 4, O a multiple of 16 up to 64 (AVX-512) or of 8 up to 32
//   (AVX2: half the lanes and registers). Otherwise (or on CPUs with neither)
//   the functions return false and oneDNN runs instead.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {
namespace {

// The geometry both instruction sets handle; each adds its own filter counts.
bool small_channels_geometry(const Conv2dGeometry& g) {
  return g.C <= 4 && g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 && g.pad_top == 0 &&
         g.pad_left == 0 && g.pad_bottom == 0 && g.pad_right == 0 && g.KH * g.KW * g.C <= 64;
}

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") != 0;
}

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("fma") != 0;
}

namespace avx512 {
#define KILN_TARGET __attribute__((target("avx512f")))
struct Isa {
  using V = __m512;
  static constexpr int lanes = 16;
  // Blocks that keep the accumulators (and the weights or gradients) within the 32 registers.
  static constexpr int pixels_per_block[4] = {12, 12, 7, 5};
  static constexpr int weight_rows_per_block[4] = {24, 12, 8, 6};
  static constexpr int forward_passes[4] = {1, 1, 1, 1};  // all filters in one pass over a row
  KILN_TARGET static V load(const float* p) { return _mm512_loadu_ps(p); }
  KILN_TARGET static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  KILN_TARGET static V broadcast(float v) { return _mm512_set1_ps(v); }
  KILN_TARGET static V zero() { return _mm512_setzero_ps(); }
  KILN_TARGET static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  // The masked form: GCC 12 warns about the unmasked one's undefined source.
  KILN_TARGET static V relu(V v) { return _mm512_mask_max_ps(zero(), 0xFFFF, v, zero()); }
};

bool supported(const Conv2dGeometry& g) {
  static const bool has_isa = cpu_has_avx512();
  return has_isa && small_channels_geometry(g) && g.O % 16 == 0 && g.O <= 64;
}

#include "kernels/cpu/conv2d_small_channels_isa.inc"
#undef KILN_TARGET
}  // namespace avx512

namespace avx2 {
#define KILN_TARGET __attribute__((target("avx2,fma")))
struct Isa {
  using V = __m256;
  static constexpr int lanes = 8;
  // 16 registers: P x OB accumulators + OB weight vectors + a broadcast (forward),
  // R x OB accumulators + OB gradient vectors + a broadcast (kernel gradient). In the
  // forward pass four vectors of filters would leave room for only 8 accumulators, too
  // few to hide the FMA latency (2 units x 4 cycles): 32 filters go in two passes of 16
  // (a quarter less time on Zen 3). The kernel gradient was faster in one pass, so it
  // has no passes.
  static constexpr int pixels_per_block[4] = {12, 6, 4, 2};
  static constexpr int weight_rows_per_block[4] = {12, 6, 4, 2};
  static constexpr int forward_passes[4] = {1, 1, 1, 2};
  KILN_TARGET static V load(const float* p) { return _mm256_loadu_ps(p); }
  KILN_TARGET static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  KILN_TARGET static V broadcast(float v) { return _mm256_set1_ps(v); }
  KILN_TARGET static V zero() { return _mm256_setzero_ps(); }
  KILN_TARGET static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  KILN_TARGET static V relu(V v) { return _mm256_max_ps(v, zero()); }
};

// CPUs with AVX-512 keep to the kernels above (and oneDNN for other filter counts).
bool supported(const Conv2dGeometry& g) {
  static const bool has_isa = cpu_has_avx2() && !cpu_has_avx512();
  return has_isa && small_channels_geometry(g) && g.O % 8 == 0 && g.O <= 32;
}

#include "kernels/cpu/conv2d_small_channels_isa.inc"
#undef KILN_TARGET
}  // namespace avx2

}  // namespace

// AVX-512 where the CPU has it, else AVX2, else false (oneDNN).
bool conv2d_forward_small_channels(const float* x, const float* w, const float* b, float* y,
                                   const Conv2dGeometry& g, bool relu) {
  return avx512::forward(x, w, b, y, g, relu) || avx2::forward(x, w, b, y, g, relu);
}

bool conv2d_max_pool2d_small_channels(const float* x, const float* w, const float* b, float* pooled,
                                      std::int32_t* argmax, const Conv2dGeometry& g, const Pool2dGeometry& pg,
                                      bool relu) {
  return avx512::forward_pooled(x, w, b, pooled, argmax, g, pg, relu) ||
         avx2::forward_pooled(x, w, b, pooled, argmax, g, pg, relu);
}

bool conv2d_backward_weights_small_channels(const float* x, const float* gy, float* gw, const Conv2dGeometry& g) {
  return avx512::backward_weights(x, gy, gw, g) || avx2::backward_weights(x, gy, gw, g);
}

}  // namespace kiln::kernels::cpu
