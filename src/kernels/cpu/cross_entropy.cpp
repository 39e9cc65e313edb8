#include "kernels/cpu/cross_entropy.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/fast_math.hpp"
#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {
// exp and log1p are fast_math.hpp's: on vector registers in float (a language model's
// softmax over a large vocabulary makes these loops long), the library's in double.
KILN_VECTOR_MATH_BEGIN
namespace {

template <typename T>
KILN_MULTIVERSION void sparse_backward_rows(const T* log_probs, const std::int64_t* labels, const T* g, T* gx,
                                            std::int64_t begin, std::int64_t end, std::int64_t C) {
  for (std::int64_t i = begin; i < end; ++i) {
    const T gi = g[i];
    const T* lp = log_probs + i * C;
    T* out = gx + i * C;
    for (std::int64_t c = 0; c < C; ++c) out[c] = gi * vector_exp(lp[c]);
    out[labels[i]] -= gi;
  }
}

template <typename T>
KILN_MULTIVERSION void categorical_backward_rows(const T* log_probs, const T* targets, const T* g, T* gx, T* gt,
                                                 std::int64_t begin, std::int64_t end, std::int64_t C) {
  for (std::int64_t i = begin; i < end; ++i) {
    const T gi = g[i];
    const T* lp = log_probs + i * C;
    const T* t = targets + i * C;
    if (gx) {
      T total = T(0);
      for (std::int64_t c = 0; c < C; ++c) total += t[c];
      T* out = gx + i * C;
      for (std::int64_t c = 0; c < C; ++c) out[c] = gi * (vector_exp(lp[c]) * total - t[c]);
    }
    if (gt) {
      T* out = gt + i * C;
      for (std::int64_t c = 0; c < C; ++c) out[c] = -gi * lp[c];
    }
  }
}

template <typename T>
KILN_MULTIVERSION void sigmoid_cross_entropy_range(const T* x, const T* t, T* loss, std::int64_t begin,
                                                   std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) {
    const T v = x[i];
    loss[i] = std::max(v, T(0)) - v * t[i] + vector_log1p(vector_exp(-std::abs(v)));
  }
}

}  // namespace
KILN_VECTOR_MATH_END

template <typename T>
void sparse_softmax_cross_entropy_backward(const T* log_probs, const std::int64_t* labels, const T* g, T* gx,
                                           std::int64_t N, std::int64_t C) {
  parallel_for(N, 8 * C, [&](std::int64_t begin, std::int64_t end) {
    sparse_backward_rows(log_probs, labels, g, gx, begin, end, C);
  });
}

template <typename T>
void softmax_cross_entropy_backward(const T* log_probs, const T* targets, const T* g, T* gx, T* gt, std::int64_t N,
                                    std::int64_t C) {
  parallel_for(N, 8 * C, [&](std::int64_t begin, std::int64_t end) {
    categorical_backward_rows(log_probs, targets, g, gx, gt, begin, end, C);
  });
}

template <typename T>
void sigmoid_cross_entropy(const T* x, const T* targets, T* loss, std::int64_t n) {
  parallel_for(
      n, 16, [&](std::int64_t begin, std::int64_t end) { sigmoid_cross_entropy_range(x, targets, loss, begin, end); });
}

#define KILN_INSTANTIATE(T)                                                                                          \
  template void sparse_softmax_cross_entropy_backward<T>(const T*, const std::int64_t*, const T*, T*, std::int64_t,  \
                                                         std::int64_t);                                              \
  template void softmax_cross_entropy_backward<T>(const T*, const T*, const T*, T*, T*, std::int64_t, std::int64_t); \
  template void sigmoid_cross_entropy<T>(const T*, const T*, T*, std::int64_t);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
