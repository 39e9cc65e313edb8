#include "kernels/cpu/reduce.hpp"

#include <algorithm>
#include <vector>

#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {

template <typename T>
void sum_axis(const T* x, T* y, std::int64_t outer, std::int64_t r, std::int64_t inner) {
  if (inner == 1) {
    parallel_for(outer, r, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t o = begin; o < end; ++o) {
        const T* row = x + o * r;
        T acc = T(0);
        for (std::int64_t k = 0; k < r; ++k) acc += row[k];
        y[o] = acc;
      }
    });
    return;
  }
  // Split over inner columns so every output is summed by one thread in k order.
  parallel_for(outer * inner, r, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t idx = begin;
    while (idx < end) {
      const std::int64_t o = idx / inner, i0 = idx % inner;
      const std::int64_t i1 = std::min(inner, i0 + (end - idx));
      T* out = y + o * inner;
      const T* base = x + o * r * inner;
      for (std::int64_t i = i0; i < i1; ++i) out[i] = base[i];
      for (std::int64_t k = 1; k < r; ++k) {
        const T* row = base + k * inner;
        for (std::int64_t i = i0; i < i1; ++i) out[i] += row[i];
      }
      idx += i1 - i0;
    }
  });
}

template <typename T>
void max_axis(const T* x, T* y, std::int64_t outer, std::int64_t r, std::int64_t inner) {
  for (std::int64_t o = 0; o < outer; ++o) {
    const T* base = x + o * r * inner;
    T* out = y + o * inner;
    for (std::int64_t i = 0; i < inner; ++i) out[i] = base[i];
    for (std::int64_t k = 1; k < r; ++k) {
      for (std::int64_t i = 0; i < inner; ++i) out[i] = std::max(out[i], base[k * inner + i]);
    }
  }
}

template <typename T>
void argmax_axis(const T* x, std::int64_t* y, std::int64_t outer, std::int64_t r, std::int64_t inner) {
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < inner; ++i) {
      const T* p = x + o * r * inner + i;
      std::int64_t best = 0;
      for (std::int64_t k = 1; k < r; ++k) {
        if (p[k * inner] > p[best * inner]) best = k;
      }
      y[o * inner + i] = best;
    }
  }
}

template <typename T>
T sum_all(const T* x, std::int64_t n) {
  constexpr std::int64_t kBlock = 4096;
  const std::int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<T> partial(static_cast<std::size_t>(blocks));
  parallel_for(blocks, kBlock, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      T acc = T(0);
      for (std::int64_t i = b * kBlock, e = std::min(n, (b + 1) * kBlock); i < e; ++i) acc += x[i];
      partial[b] = acc;
    }
  });
  T total = T(0);
  for (T p : partial) total += p;
  return total;
}

#define KILN_INSTANTIATE(T)                                                                     \
  template void sum_axis<T>(const T*, T*, std::int64_t, std::int64_t, std::int64_t);            \
  template void max_axis<T>(const T*, T*, std::int64_t, std::int64_t, std::int64_t);            \
  template void argmax_axis<T>(const T*, std::int64_t*, std::int64_t, std::int64_t, std::int64_t); \
  template T sum_all<T>(const T*, std::int64_t);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
