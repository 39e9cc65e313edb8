#include "kernels/cpu/layer_norm.hpp"

#include <omp.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {
namespace {

template <typename T>
KILN_MULTIVERSION void layer_norm_forward_rows(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd,
                                    std::int64_t cols, T eps, std::int64_t begin, std::int64_t end) {
  for (std::int64_t r = begin; r < end; ++r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    // Two passes (mean, then squared deviations) keep the variance accurate in float.
    T sum = T(0);
    for (std::int64_t c = 0; c < cols; ++c) sum += xr[c];
    const T m = sum / T(cols);
    T sq = T(0);
    for (std::int64_t c = 0; c < cols; ++c) sq += (xr[c] - m) * (xr[c] - m);
    const T s = T(1) / std::sqrt(sq / T(cols) + eps);
    mean[r] = m;
    rstd[r] = s;
    if (gamma && beta) {
      for (std::int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - m) * s * gamma[c] + beta[c];
    } else {
      for (std::int64_t c = 0; c < cols; ++c) {
        T v = (xr[c] - m) * s;
        if (gamma) v *= gamma[c];
        if (beta) v += beta[c];
        yr[c] = v;
      }
    }
  }
}

// dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = gy * gamma.
template <typename T>
KILN_MULTIVERSION void layer_norm_backward_rows(const T* x, const T* gamma, const T* mean, const T* rstd, const T* gy, T* gx,
                                     T* ggamma, T* gbeta, std::int64_t cols, std::int64_t begin, std::int64_t end) {
  for (std::int64_t r = begin; r < end; ++r) {
    const T* xr = x + r * cols;
    const T* gr = gy + r * cols;
    const T m = mean[r], s = rstd[r];
    if (ggamma) {
      for (std::int64_t c = 0; c < cols; ++c) ggamma[c] += gr[c] * (xr[c] - m) * s;
    }
    if (gbeta) {
      for (std::int64_t c = 0; c < cols; ++c) gbeta[c] += gr[c];
    }
    if (!gx) continue;
    T sum_d = T(0), sum_dx = T(0);
    for (std::int64_t c = 0; c < cols; ++c) {
      const T d = gamma ? gr[c] * gamma[c] : gr[c];
      sum_d += d;
      sum_dx += d * (xr[c] - m) * s;
    }
    const T mean_d = sum_d / T(cols), mean_dx = sum_dx / T(cols);
    T* out = gx + r * cols;
    for (std::int64_t c = 0; c < cols; ++c) {
      const T d = gamma ? gr[c] * gamma[c] : gr[c];
      out[c] = s * (d - mean_d - (xr[c] - m) * s * mean_dx);
    }
  }
}

}  // namespace

template <typename T>
void layer_norm_forward(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd, std::int64_t rows,
                        std::int64_t cols, T eps) {
  parallel_for(rows, cols * 4, [&](std::int64_t begin, std::int64_t end) {
    layer_norm_forward_rows(x, gamma, beta, y, mean, rstd, cols, eps, begin, end);
  });
}

template <typename T>
void layer_norm_backward(const T* x, const T* gamma, const T* mean, const T* rstd, const T* gy, T* gx, T* ggamma,
                         T* gbeta, std::int64_t rows, std::int64_t cols) {
  const int threads = omp_get_max_threads();
  // Per-thread partial column sums; chunk boundaries depend only on the thread count.
  std::vector<T> partial_gamma(ggamma ? static_cast<std::size_t>(threads * cols) : 0, T(0));
  std::vector<T> partial_beta(gbeta ? static_cast<std::size_t>(threads * cols) : 0, T(0));
  parallel_for(rows, cols * 6, [&](std::int64_t begin, std::int64_t end) {
    const int t = omp_in_parallel() ? omp_get_thread_num() : 0;
    layer_norm_backward_rows(x, gamma, mean, rstd, gy, gx, ggamma ? partial_gamma.data() + t * cols : nullptr,
                  gbeta ? partial_beta.data() + t * cols : nullptr, cols, begin, end);
  });
  for (auto [out, partial] : {std::pair{ggamma, &partial_gamma}, std::pair{gbeta, &partial_beta}}) {
    if (!out) continue;
    for (std::int64_t c = 0; c < cols; ++c) out[c] = T(0);
    for (int t = 0; t < threads; ++t) {
      for (std::int64_t c = 0; c < cols; ++c) out[c] += (*partial)[t * cols + c];
    }
  }
}

template void layer_norm_forward<float>(const float*, const float*, const float*, float*, float*, float*,
                                        std::int64_t, std::int64_t, float);
template void layer_norm_forward<double>(const double*, const double*, const double*, double*, double*, double*,
                                         std::int64_t, std::int64_t, double);
template void layer_norm_backward<float>(const float*, const float*, const float*, const float*, const float*,
                                         float*, float*, float*, std::int64_t, std::int64_t);
template void layer_norm_backward<double>(const double*, const double*, const double*, const double*, const double*,
                                          double*, double*, double*, std::int64_t, std::int64_t);

}  // namespace kiln::kernels::cpu
