#include "kernels/cpu/softmax.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {

template <typename T>
void softmax(const T* x, T* y, std::int64_t rows, std::int64_t cols) {
  parallel_for(rows, cols * 4, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const T* in = x + r * cols;
      T* out = y + r * cols;
      const T m = *std::max_element(in, in + cols);
      T sum = T(0);
      for (std::int64_t c = 0; c < cols; ++c) sum += (out[c] = std::exp(in[c] - m));
      const T inv = T(1) / sum;
      for (std::int64_t c = 0; c < cols; ++c) out[c] *= inv;
    }
  });
}

template <typename T>
void log_softmax(const T* x, T* y, std::int64_t rows, std::int64_t cols) {
  parallel_for(rows, cols * 4, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const T* in = x + r * cols;
      T* out = y + r * cols;
      const T m = *std::max_element(in, in + cols);
      T sum = T(0);
      for (std::int64_t c = 0; c < cols; ++c) sum += std::exp(in[c] - m);
      const T lse = m + std::log(sum);
      for (std::int64_t c = 0; c < cols; ++c) out[c] = in[c] - lse;
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
    for (std::int64_t r = begin; r < end; ++r) {
      const T* yr = y + r * cols;
      const T* gr = gy + r * cols;
      T sum = T(0);
      for (std::int64_t c = 0; c < cols; ++c) sum += gr[c];
      for (std::int64_t c = 0; c < cols; ++c) gx[r * cols + c] = gr[c] - std::exp(yr[c]) * sum;
    }
  });
}

#define KILN_INSTANTIATE(T)                                                                   \
  template void softmax<T>(const T*, T*, std::int64_t, std::int64_t);                         \
  template void log_softmax<T>(const T*, T*, std::int64_t, std::int64_t);                     \
  template void softmax_backward<T>(const T*, const T*, T*, std::int64_t, std::int64_t);      \
  template void log_softmax_backward<T>(const T*, const T*, T*, std::int64_t, std::int64_t);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
