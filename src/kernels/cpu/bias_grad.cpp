#include "kernels/cpu/bias_grad.hpp"

#include <algorithm>
#include <vector>

#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {

namespace {

// Separate loops per case keep each one branch-free and vectorised.
template <typename T>
KILN_MULTIVERSION void activation_bias_rows(const T* y, const T* gy, T* gz, T* acc, std::int64_t channels, bool relu,
                                            std::int64_t begin, std::int64_t end) {
  for (std::int64_t r = begin; r < end; ++r) {
    const T* g = gy + r * channels;
    T* z = gz ? gz + r * channels : nullptr;
    if (relu) {
      const T* out = y + r * channels;
      if (acc) {
        for (std::int64_t c = 0; c < channels; ++c) {
          const T v = g[c];
          const T masked = out[c] > T(0) ? v : T(0);
          z[c] = masked;
          acc[c] += masked;
        }
      } else {
        for (std::int64_t c = 0; c < channels; ++c) {
          const T v = g[c];
          z[c] = out[c] > T(0) ? v : T(0);
        }
      }
    } else {
      if (z && z != g) {
        for (std::int64_t c = 0; c < channels; ++c) z[c] = g[c];
      }
      if (acc) {
        for (std::int64_t c = 0; c < channels; ++c) acc[c] += g[c];
      }
    }
  }
}

template <typename T>
KILN_MULTIVERSION void add_bias_rows(T* y, const T* b, std::int64_t channels, std::int64_t begin, std::int64_t end) {
  for (std::int64_t r = begin; r < end; ++r) {
    T* row = y + r * channels;
    for (std::int64_t c = 0; c < channels; ++c) row[c] += b[c];
  }
}

}  // namespace

template <typename T>
void activation_bias_backward(const T* y, const T* gy, T* gz, T* gb, std::int64_t rows, std::int64_t channels,
                              bool relu) {
  const int threads = omp_get_max_threads();
  // One partial bias sum per chunk of rows; chunk boundaries depend only on the thread count.
  std::vector<T> partial(gb ? static_cast<std::size_t>(threads * channels) : 0, T(0));
  std::vector<int> used(static_cast<std::size_t>(threads), 0);
  parallel_for(rows, channels, [&](std::int64_t begin, std::int64_t end) {
    const int t = omp_in_parallel() ? omp_get_thread_num() : 0;
    used[t] = 1;
    T* acc = gb ? partial.data() + t * channels : nullptr;
    activation_bias_rows(y, gy, gz, acc, channels, relu, begin, end);
  });
  if (!gb) return;
  std::fill(gb, gb + channels, T(0));
  for (int t = 0; t < threads; ++t) {
    if (!used[t]) continue;
    for (std::int64_t c = 0; c < channels; ++c) gb[c] += partial[t * channels + c];
  }
}

template <typename T>
void add_bias(T* y, const T* b, std::int64_t rows, std::int64_t channels) {
  parallel_for(rows, channels, [&](std::int64_t begin, std::int64_t end) { add_bias_rows(y, b, channels, begin, end); });
}

template void add_bias<float>(float*, const float*, std::int64_t, std::int64_t);
template void add_bias<double>(double*, const double*, std::int64_t, std::int64_t);
template void activation_bias_backward<float>(const float*, const float*, float*, float*, std::int64_t, std::int64_t,
                                              bool);
template void activation_bias_backward<double>(const double*, const double*, double*, double*, std::int64_t,
                                               std::int64_t, bool);

}  // namespace kiln::kernels::cpu
