// Many independent matrix products of the same shape, row-major:
//   C_i[M,N] = alpha * op(A_i)[M,K] * op(B_i)[K,N] + beta * C_i, i < batch,
// where X_i starts at X + i * stride_x and lda/ldb/ldc are row strides as stored.
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

// With at least as many products as threads, each thread runs whole products
// (one-thread GEMMs, no synchronisation between them); with fewer, the
// products run one after another, each spread over the threads. Either way
// the result depends only on the thread count.
template <typename T>
void batched_gemm(std::int64_t batch, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                  T alpha, const T* A, std::int64_t stride_a, std::int64_t lda, const T* B, std::int64_t stride_b,
                  std::int64_t ldb, T beta, T* C, std::int64_t stride_c, std::int64_t ldc);

}  // namespace kiln::kernels::cpu
