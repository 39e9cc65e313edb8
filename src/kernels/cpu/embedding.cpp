#include "kernels/cpu/embedding.hpp"

#include <algorithm>

#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {

template <typename T>
void embedding_gather(const std::int64_t* ids, std::int64_t n, const T* table, std::int64_t D, T* out) {
  parallel_for(n, D, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) std::copy(table + ids[i] * D, table + (ids[i] + 1) * D, out + i * D);
  });
}

template <typename T>
void embedding_scatter_add(const std::int64_t* ids, std::int64_t n, const T* g, std::int64_t D, T* gtable) {
  // Threads own column ranges, so every row of the table is summed in the order of i.
  parallel_for(D, n, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = 0; i < n; ++i) {
      const T* src = g + i * D;
      T* dst = gtable + ids[i] * D;
      for (std::int64_t d = begin; d < end; ++d) dst[d] += src[d];
    }
  });
}

template void embedding_gather<float>(const std::int64_t*, std::int64_t, const float*, std::int64_t, float*);
template void embedding_gather<double>(const std::int64_t*, std::int64_t, const double*, std::int64_t, double*);
template void embedding_scatter_add<float>(const std::int64_t*, std::int64_t, const float*, std::int64_t, float*);
template void embedding_scatter_add<double>(const std::int64_t*, std::int64_t, const double*, std::int64_t, double*);

}  // namespace kiln::kernels::cpu
