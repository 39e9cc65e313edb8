#include "kernels/cpu/batched_gemm.hpp"

#include <omp.h>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {

template <typename T>
void batched_gemm(std::int64_t batch, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                  T alpha, const T* A, std::int64_t stride_a, std::int64_t lda, const T* B, std::int64_t stride_b,
                  std::int64_t ldb, T beta, T* C, std::int64_t stride_c, std::int64_t ldc) {
  auto one = [&](std::int64_t i) {
    gemm<T>(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta, C + i * stride_c,
            ldc);
  };
  if (batch < omp_get_max_threads()) {
    for (std::int64_t i = 0; i < batch; ++i) one(i);
    return;
  }
  // Inside the parallel region oneDNN's sgemm (and the reference loops) run on the calling thread.
  parallel_for(batch, M * N * K, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) one(i);
  });
}

template void batched_gemm<float>(std::int64_t, bool, bool, std::int64_t, std::int64_t, std::int64_t, float,
                                  const float*, std::int64_t, std::int64_t, const float*, std::int64_t, std::int64_t,
                                  float, float*, std::int64_t, std::int64_t);
template void batched_gemm<double>(std::int64_t, bool, bool, std::int64_t, std::int64_t, std::int64_t, double,
                                   const double*, std::int64_t, std::int64_t, const double*, std::int64_t,
                                   std::int64_t, double, double*, std::int64_t, std::int64_t);

}  // namespace kiln::kernels::cpu
