#include "kernels/cpu/batch_norm.hpp"

#include <algorithm>
#include <vector>

#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {
namespace {

// Per-channel sums over rows: fn(begin, end, acc) adds rows [begin, end) into
// acc[width * C]; the per-thread blocks are added up in thread order.
template <typename Fn>
std::vector<double> sum_rows(std::int64_t M, std::int64_t C, int width, Fn&& fn) {
  const int threads = omp_get_max_threads();
  const auto size = static_cast<std::size_t>(width * C);
  std::vector<double> partial(static_cast<std::size_t>(threads) * size, 0.0);
  std::vector<int> used(static_cast<std::size_t>(threads), 0);
  parallel_for(M, C * width, [&](std::int64_t begin, std::int64_t end) {
    const int t = omp_in_parallel() ? omp_get_thread_num() : 0;
    used[t] = 1;
    fn(begin, end, partial.data() + t * size);
  });
  std::vector<double> total(size, 0.0);
  for (int t = 0; t < threads; ++t) {
    if (!used[t]) continue;
    for (std::size_t i = 0; i < size; ++i) total[i] += partial[t * size + i];
  }
  return total;
}

// The sums below add rows in blocks of kBlockRows in T and then each block's sums into the
// double totals: one conversion per block instead of per value, so that the float loops run
// at the vector width (converting every value to double made them 2-3 times slower), while a
// block of 32 values adds only a few float roundings to each total.
constexpr std::int64_t kBlockRows = 32;

// Calls fn(r0, r1) for the blocks of [begin, end), after zeroing `parts` (the block sums),
// and adds the parts into acc after each: parts and acc hold the same number of values.
template <typename T, typename Fn>
inline void by_row_blocks(std::int64_t begin, std::int64_t end, std::vector<T>& parts, double* acc, Fn&& fn) {
  for (std::int64_t r0 = begin; r0 < end; r0 += kBlockRows) {
    std::fill(parts.begin(), parts.end(), T(0));
    fn(r0, std::min(end, r0 + kBlockRows));
    for (std::size_t i = 0; i < parts.size(); ++i) acc[i] += double(parts[i]);
  }
}

template <typename T>
KILN_MULTIVERSION void sum_range(const T* x, double* acc, std::int64_t C, std::int64_t begin, std::int64_t end) {
  std::vector<T> parts(static_cast<std::size_t>(C));
  T* part = parts.data();
  by_row_blocks(begin, end, parts, acc, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* row = x + r * C;
      for (std::int64_t c = 0; c < C; ++c) part[c] += row[c];
    }
  });
}

template <typename T>
KILN_MULTIVERSION void squared_deviation_range(const T* x, const double* mean, double* acc, std::int64_t C,
                                               std::int64_t begin, std::int64_t end) {
  // The mean rounded to T shifts each sum by M * (rounding)^2: far below T's own precision.
  const std::vector<T> center(mean, mean + C);
  std::vector<T> parts(static_cast<std::size_t>(C));
  T* part = parts.data();
  const T* m = center.data();
  by_row_blocks(begin, end, parts, acc, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* row = x + r * C;
      for (std::int64_t c = 0; c < C; ++c) {
        const T d = row[c] - m[c];
        part[c] += d * d;
      }
    }
  });
}

template <typename T>
KILN_MULTIVERSION void forward_range(const T* x, const T* mean, const T* scale, const T* shift, T* y,
                                     std::int64_t C, std::int64_t begin, std::int64_t end) {
  // (x - mean) first: folding the mean into the shift would cancel badly when |mean| >> std.
  for (std::int64_t r = begin; r < end; ++r) {
    const T* in = x + r * C;
    T* out = y + r * C;
    for (std::int64_t c = 0; c < C; ++c) out[c] = (in[c] - mean[c]) * scale[c] + shift[c];
  }
}

template <typename T>
KILN_MULTIVERSION void backward_sums_range(const T* x, const T* dy, const T* mean, const T* inv_std, double* acc,
                                           std::int64_t C, std::int64_t begin, std::int64_t end) {
  // acc: the C sums of dy, then the C sums of dy * xhat.
  std::vector<T> parts(static_cast<std::size_t>(2 * C));
  T *part_dy = parts.data(), *part_dy_xhat = parts.data() + C;
  by_row_blocks(begin, end, parts, acc, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* in = x + r * C;
      const T* g = dy + r * C;
      for (std::int64_t c = 0; c < C; ++c) {
        const T xhat = (in[c] - mean[c]) * inv_std[c];
        part_dy[c] += g[c];
        part_dy_xhat[c] += g[c] * xhat;
      }
    }
  });
}

template <typename T>
KILN_MULTIVERSION void backward_input_range(const T* x, const T* dy, const T* mean, const T* inv_std, const T* a,
                                            const T* b, const T* k, T* dx, std::int64_t C, std::int64_t begin,
                                            std::int64_t end) {
  // dx = k * (dy - a - xhat * b), with k = gamma * inv_std, a = sum_dy / M, b = sum_dy_xhat / M.
  for (std::int64_t r = begin; r < end; ++r) {
    const T* in = x + r * C;
    const T* g = dy + r * C;
    T* out = dx + r * C;
    for (std::int64_t c = 0; c < C; ++c) {
      const T xhat = (in[c] - mean[c]) * inv_std[c];
      out[c] = k[c] * (g[c] - a[c] - xhat * b[c]);
    }
  }
}

}  // namespace

template <typename T>
void batch_norm_channel_sums(const T* x, std::int64_t M, std::int64_t C, double* sums) {
  const auto total =
      sum_rows(M, C, 1, [&](std::int64_t b, std::int64_t e, double* acc) { sum_range(x, acc, C, b, e); });
  std::copy(total.begin(), total.end(), sums);
}

template <typename T>
void batch_norm_squared_deviations(const T* x, const double* center, std::int64_t M, std::int64_t C, double* squares) {
  const auto total = sum_rows(
      M, C, 1, [&](std::int64_t b, std::int64_t e, double* acc) { squared_deviation_range(x, center, acc, C, b, e); });
  std::copy(total.begin(), total.end(), squares);
}

template <typename T>
void batch_norm_statistics(const T* x, std::int64_t M, std::int64_t C, T* mean, T* var) {
  std::vector<double> mu(static_cast<std::size_t>(C)), squares(static_cast<std::size_t>(C));
  batch_norm_channel_sums(x, M, C, mu.data());
  for (std::int64_t c = 0; c < C; ++c) mu[c] = M > 0 ? mu[c] / double(M) : 0.0;
  batch_norm_squared_deviations(x, mu.data(), M, C, squares.data());
  for (std::int64_t c = 0; c < C; ++c) {
    mean[c] = static_cast<T>(mu[c]);
    var[c] = static_cast<T>(M > 0 ? squares[c] / double(M) : 0.0);
  }
}

template <typename T>
void batch_norm_forward(const T* x, const T* mean, const T* inv_std, const T* gamma, const T* beta, T* y,
                        std::int64_t M, std::int64_t C) {
  std::vector<T> scale(static_cast<std::size_t>(C)), shift(static_cast<std::size_t>(C));
  for (std::int64_t c = 0; c < C; ++c) {
    scale[c] = (gamma ? gamma[c] : T(1)) * inv_std[c];
    shift[c] = beta ? beta[c] : T(0);
  }
  parallel_for(M, C, [&](std::int64_t begin, std::int64_t end) {
    forward_range(x, mean, scale.data(), shift.data(), y, C, begin, end);
  });
}

template <typename T>
void batch_norm_backward_sums(const T* x, const T* dy, const T* mean, const T* inv_std, T* sum_dy, T* sum_dy_xhat,
                              std::int64_t M, std::int64_t C) {
  const auto sums = sum_rows(M, C, 2, [&](std::int64_t b, std::int64_t e, double* acc) {
    backward_sums_range(x, dy, mean, inv_std, acc, C, b, e);
  });
  for (std::int64_t c = 0; c < C; ++c) {
    sum_dy[c] = static_cast<T>(sums[c]);
    sum_dy_xhat[c] = static_cast<T>(sums[C + c]);
  }
}

template <typename T>
void batch_norm_backward_input(const T* x, const T* dy, const T* mean, const T* inv_std, const T* gamma,
                               const T* sum_dy, const T* sum_dy_xhat, T* dx, std::int64_t M, std::int64_t C,
                               bool batch_statistics) {
  std::vector<T> a(static_cast<std::size_t>(C), T(0)), b(static_cast<std::size_t>(C), T(0)),
      k(static_cast<std::size_t>(C));
  for (std::int64_t c = 0; c < C; ++c) {
    k[c] = (gamma ? gamma[c] : T(1)) * inv_std[c];
    if (batch_statistics && M > 0) {
      a[c] = sum_dy[c] / T(M);
      b[c] = sum_dy_xhat[c] / T(M);
    }
  }
  parallel_for(M, C, [&](std::int64_t begin, std::int64_t end) {
    backward_input_range(x, dy, mean, inv_std, a.data(), b.data(), k.data(), dx, C, begin, end);
  });
}

#define KILN_INSTANTIATE(T)                                                                                            \
  template void batch_norm_statistics<T>(const T*, std::int64_t, std::int64_t, T*, T*);                                \
  template void batch_norm_channel_sums<T>(const T*, std::int64_t, std::int64_t, double*);                             \
  template void batch_norm_squared_deviations<T>(const T*, const double*, std::int64_t, std::int64_t, double*);        \
  template void batch_norm_forward<T>(const T*, const T*, const T*, const T*, const T*, T*, std::int64_t,              \
                                      std::int64_t);                                                                   \
  template void batch_norm_backward_sums<T>(const T*, const T*, const T*, const T*, T*, T*, std::int64_t,              \
                                            std::int64_t);                                                             \
  template void batch_norm_backward_input<T>(const T*, const T*, const T*, const T*, const T*, const T*, const T*, T*, \
                                             std::int64_t, std::int64_t, bool);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
