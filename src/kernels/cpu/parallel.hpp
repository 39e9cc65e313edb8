// Splitting loops over threads. Kiln, oneDNN and this helper share one OpenMP
// pool, so the cores are never oversubscribed by two pools spinning at once.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace kiln::kernels::cpu {

// Below this much work (items x cost), a loop runs on the calling thread:
// waking the pool costs more than it saves.
inline constexpr std::int64_t kParallelGrain = 32768;

// Calls fn(begin, end) over contiguous chunks of [0, n), one per thread.
// The split depends only on n and the thread count, so results are deterministic.
template <typename Fn>
void parallel_for(std::int64_t n, std::int64_t cost_per_item, Fn&& fn) {
  const int threads = omp_get_max_threads();
  if (threads <= 1 || n * cost_per_item < kParallelGrain || n < 2 || omp_in_parallel()) {
    if (n > 0) fn(std::int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(std::min<std::int64_t>(threads, n)))
  {
    const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const std::int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) fn(begin, end);
  }
}

}  // namespace kiln::kernels::cpu
