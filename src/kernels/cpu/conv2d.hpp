// 2-D convolution, channels last.
//   x  [N, H, W, C]        input
//   w  [KH, KW, C, O]      kernel, Keras's layout
//   b  [O]                 bias (may be null)
//   y  [N, OH, OW, O]      output
// y[n,oh,ow,o] = b[o] + sum_{kh,kw,c} x[n, oh*SH - PT + kh*DH, ow*SW - PL + kw*DW, c] * w[kh,kw,c,o]
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/pool2d.hpp"

namespace kiln::kernels::cpu {

struct Conv2dGeometry {
  std::int64_t N, H, W, C;
  std::int64_t KH, KW, O;
  std::int64_t OH, OW;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

// Plain loops, for any T; the definition the fast path is tested against.
template <typename T>
void conv2d_forward_reference(const T* x, const T* w, const T* b, T* y, const Conv2dGeometry& g);
template <typename T>
void conv2d_backward_data_reference(const T* gy, const T* w, T* gx, const Conv2dGeometry& g);
// gb may be null.
template <typename T>
void conv2d_backward_weights_reference(const T* x, const T* gy, T* gw, T* gb, const Conv2dGeometry& g);

// Fast float32 path (oneDNN). `fuse_relu` applies max(0, .) to y in the same pass.
void conv2d_forward(const float* x, const float* w, const float* b, float* y, const Conv2dGeometry& g,
                    bool fuse_relu = false);
void conv2d_backward_data(const float* gy, const float* w, float* gx, const Conv2dGeometry& g);
// The bias gradient is not computed here: activation_bias_backward does it
// in the same pass as the ReLU mask, faster than oneDNN's own reduction.
void conv2d_backward_weights(const float* x, const float* gy, float* gw, const Conv2dGeometry& g);

// Mixed precision: x, w and gy rounded to bf16 (kernels/cpu/bf16.hpp), every
// product in bf16, sums and outputs in float32. Needs native_bf16() to be fast
// (oneDNN emulates it, slowly, on AVX-512 CPUs without it, and has no AVX2 path).
void conv2d_forward_bf16(const float* x, const float* w, const float* b, float* y, const Conv2dGeometry& g,
                         bool fuse_relu = false);
// Either gradient may be null; gy is rounded once for both.
void conv2d_backward_bf16(const float* x, const float* gy, const float* w, float* gx, float* gw,
                          const Conv2dGeometry& g);

// The oneDNN path compiles one primitive per kind (forward, forward+ReLU,
// backward data, backward weights) and geometry, batch size included, and keeps
// the kConv2dCacheCapacity geometries of each kind used last: a deep network
// trained and evaluated on a few batch sizes fits, while predicting on ever new
// batch sizes stays bounded (oneDNN's own primitive cache, 1024 entries by
// default, makes rebuilding an evicted one cheap).
inline constexpr std::size_t kConv2dCacheCapacity = 64;
// Primitives in that cache now, all kinds together (for tests).
std::size_t conv2d_cache_size();

// Direct AVX-512 or AVX2 kernels for few input channels (a first layer); they return
// false when the geometry or the CPU is not one they handle.
bool conv2d_forward_small_channels(const float* x, const float* w, const float* b, float* y,
                                   const Conv2dGeometry& g, bool relu);
bool conv2d_backward_weights_small_channels(const float* x, const float* gy, float* gw, const Conv2dGeometry& g);
// Convolution (+ReLU) and max pooling in one sweep, never writing the
// convolution's output to memory: pooled [N, PH, PW, O], argmax as in
// max_pool2d_forward (may be null). Needs pooling windows that tile the output.
bool conv2d_max_pool2d_small_channels(const float* x, const float* w, const float* b, float* pooled,
                                      std::int32_t* argmax, const Conv2dGeometry& g, const Pool2dGeometry& pg,
                                      bool relu);

}  // namespace kiln::kernels::cpu
