// Matrix products, row-major: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
// lda/ldb/ldc are the row strides of A, B and C as stored.
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

// float goes to oneDNN's JIT sgemm (AVX-512/AVX2 picked at run time); double
// (used by gradient checks) to the reference loops.
template <typename T>
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
          std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc);

// Plain loops: the readable definition the fast path is tested against.
template <typename T>
void gemm_reference(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
                    std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc);

}  // namespace kiln::kernels::cpu
