#include "kernels/cpu/softmax.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/cpu/fast_math.hpp"
#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {

// float rows on vector registers: exp is fast_math.hpp's vector_exp (within 1 ulp)
// and the max its vector_max; the sum runs in 16 independent lanes, an order the
// compiler may vectorise (a single running sum is one long dependency chain it must keep).
KILN_VECTOR_MATH_BEGIN
namespace {
constexpr std::int64_t kLanes = 16;

KILN_ALWAYS_INLINE float row_sum(const float* x, std::int64_t n) {
  float lanes[kLanes] = {};
  std::int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes)
    for (std::int64_t l = 0; l < kLanes; ++l) lanes[l] += x[c + l];
  float sum = 0.0f;
  for (float v : lanes) sum += v;
  for (; c < n; ++c) sum += x[c];
  return sum;
}

KILN_MULTIVERSION void softmax_rows(const float* x, float* y, std::int64_t begin, std::int64_t end, std::int64_t cols) {
  for (std::int64_t r = begin; r < end; ++r) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    const float m = vector_max(in, cols);
    for (std::int64_t c = 0; c < cols; ++c) out[c] = vector_exp(in[c] - m);
    const float inv = 1.0f / row_sum(out, cols);
    for (std::int64_t c = 0; c < cols; ++c) out[c] *= inv;
  }
}

KILN_MULTIVERSION void log_softmax_rows(const float* x, float* y, std::int64_t begin, std::int64_t end,
                                        std::int64_t cols) {
  for (std::int64_t r = begin; r < end; ++r) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    const float m = vector_max(in, cols);
    for (std::int64_t c = 0; c < cols; ++c) out[c] = vector_exp(in[c] - m);  // scratch: exp(x - max)
    const float lse = m + std::log(row_sum(out, cols));
    for (std::int64_t c = 0; c < cols; ++c) out[c] = in[c] - lse;
  }
}

KILN_MULTIVERSION void log_softmax_backward_rows(const float* y, const float* gy, float* gx, std::int64_t begin,
                                                 std::int64_t end, std::int64_t cols) {
  for (std::int64_t r = begin; r < end; ++r) {
    const float* yr = y + r * cols;
    const float* gr = gy + r * cols;
    const float sum = row_sum(gr, cols);
    for (std::int64_t c = 0; c < cols; ++c) gx[r * cols + c] = gr[c] - vector_exp(yr[c]) * sum;
  }
}
}  // namespace
KILN_VECTOR_MATH_END

template <typename T>
void softmax(const T* x, T* y, std::int64_t rows, std::int64_t cols) {
  parallel_for(rows, cols * 4, [&](std::int64_t begin, std::int64_t end) {
    if constexpr (std::is_same_v<T, float>) {
      softmax_rows(x, y, begin, end, cols);
    } else {  // double: the reference, one value at a time
      for (std::int64_t r = begin; r < end; ++r) {
        const T* in = x + r * cols;
        T* out = y + r * cols;
        const T m = *std::max_element(in, in + cols);
        T sum = T(0);
        for (std::int64_t c = 0; c < cols; ++c) sum += (out[c] = std::exp(in[c] - m));
        const T inv = T(1) / sum;
        for (std::int64_t c = 0; c < cols; ++c) out[c] *= inv;
      }
    }
  });
}

template <typename T>
void log_softmax(const T* x, T* y, std::int64_t rows, std::int64_t cols) {
  parallel_for(rows, cols * 4, [&](std::int64_t begin, std::int64_t end) {
    if constexpr (std::is_same_v<T, float>) {
      log_softmax_rows(x, y, begin, end, cols);
    } else {  // double: the reference, one value at a time
      for (std::int64_t r = begin; r < end; ++r) {
        const T* in = x + r * cols;
        T* out = y + r * cols;
        const T m = *std::max_element(in, in + cols);
        T sum = T(0);
        for (std::int64_t c = 0; c < cols; ++c) sum += std::exp(in[c] - m);
        const T lse = m + std::log(sum);
        for (std::int64_t c = 0; c < cols; ++c) out[c] = in[c] - lse;
      }
    }
  });
}

template <typename T>
void softmax_backward(const T* y, const T* gy, T* gx, std::int64_t rows, std::int64_t cols) {
  parallel_for(rows, cols * 2, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const T* yr = y + r * cols;
      const T* gr = gy + r * cols;
      T dot = T(0);
      for (std::int64_t c = 0; c < cols; ++c) dot += yr[c] * gr[c];
      for (std::int64_t c = 0; c < cols; ++c) gx[r * cols + c] = yr[c] * (gr[c] - dot);
    }
  });
}

template <typename T>
void log_softmax_backward(const T* y, const T* gy, T* gx, std::int64_t rows, std::int64_t cols) {
  parallel_for(rows, cols * 2, [&](std::int64_t begin, std::int64_t end) {
    if constexpr (std::is_same_v<T, float>) {
      log_softmax_backward_rows(y, gy, gx, begin, end, cols);
    } else {  // double: the reference, one value at a time
      for (std::int64_t r = begin; r < end; ++r) {
        const T* yr = y + r * cols;
        const T* gr = gy + r * cols;
        T sum = T(0);
        for (std::int64_t c = 0; c < cols; ++c) sum += gr[c];
        for (std::int64_t c = 0; c < cols; ++c) gx[r * cols + c] = gr[c] - std::exp(yr[c]) * sum;
      }
    }
  });
}

#define KILN_INSTANTIATE(T)                                                              \
  template void softmax<T>(const T*, T*, std::int64_t, std::int64_t);                    \
  template void log_softmax<T>(const T*, T*, std::int64_t, std::int64_t);                \
  template void softmax_backward<T>(const T*, const T*, T*, std::int64_t, std::int64_t); \
  template void log_softmax_backward<T>(const T*, const T*, T*, std::int64_t, std::int64_t);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
