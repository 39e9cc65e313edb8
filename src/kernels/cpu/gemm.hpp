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

namespace kiln::kernels::cpu {

// Mixed precision: C[M,N] = op(A) op(B) (+ C when `accumulate`), with A and B
// rounded to bf16 (kernels/cpu/bf16.hpp), every product in bf16 and the sums
// in float32 (oneDNN's matmul primitive). Needs native_bf16() to be fast.
void gemm_bf16(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, const float* A,
               std::int64_t lda, const float* B, std::int64_t ldb, bool accumulate, float* C, std::int64_t ldc);
// The same on operands already rounded to bf16 (float_to_bf16): what a loop that multiplies
// by one matrix many times (a recurrent kernel, step after step) rounds only once.
void gemm_bf16_rounded(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                       const std::uint16_t* A, std::int64_t lda, const std::uint16_t* B, std::int64_t ldb,
                       bool accumulate, float* C, std::int64_t ldc);

}  // namespace kiln::kernels::cpu
