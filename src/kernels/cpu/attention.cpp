#include "kernels/cpu/attention.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "kernels/cpu/fast_math.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

KILN_VECTOR_MATH_BEGIN

namespace kiln::kernels::cpu {
namespace {

// Softmax of each row of s [Tq, Tk] over the keys the row may see, in place;
// keys it may not see get exactly 0.
template <typename T>
KILN_MULTIVERSION void masked_softmax_rows(T* s, std::int64_t Tq, std::int64_t Tk, const std::uint8_t* mask,
                                           std::int64_t mask_row_stride, bool causal) {
  for (std::int64_t i = 0; i < Tq; ++i) {
    T* row = s + i * Tk;
    const std::uint8_t* allowed = mask ? mask + i * mask_row_stride : nullptr;
    const std::int64_t visible = causal ? std::min(i + 1, Tk) : Tk;
    T m = -std::numeric_limits<T>::infinity();
    if (!allowed) {
      m = vector_max(row, visible);  // vectorised in float; the masked loop below is not
    } else {
      for (std::int64_t j = 0; j < visible; ++j) {
        if (allowed[j]) m = std::max(m, row[j]);
      }
    }
    if (m == -std::numeric_limits<T>::infinity()) {  // nothing to attend to
      std::fill(row, row + Tk, T(0));
      continue;
    }
    T sum = T(0);
    for (std::int64_t j = 0; j < visible; ++j) {
      const T e = (!allowed || allowed[j]) ? exp_approx(row[j] - m) : T(0);
      row[j] = e;
      sum += e;
    }
    std::fill(row + visible, row + Tk, T(0));
    const T inv = T(1) / sum;
    for (std::int64_t j = 0; j < visible; ++j) row[j] *= inv;
  }
}

// dS = P * (dP - rowsum(P * dP)), in place over dP.
template <typename T>
KILN_MULTIVERSION void softmax_backward_rows(const T* p, T* dp, std::int64_t Tq, std::int64_t Tk) {
  for (std::int64_t i = 0; i < Tq; ++i) {
    const T* pr = p + i * Tk;
    T* gr = dp + i * Tk;
    T dot = T(0);
    for (std::int64_t j = 0; j < Tk; ++j) dot += pr[j] * gr[j];
    for (std::int64_t j = 0; j < Tk; ++j) gr[j] = pr[j] * (gr[j] - dot);
  }
}

// C = alpha op(A) op(B), in T or with bf16 products (then scaled in float32).
template <typename T>
void attention_product(bool bf16, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha,
                       const T* A, std::int64_t lda, const T* B, std::int64_t ldb, T* C, std::int64_t ldc) {
  if constexpr (std::is_same_v<T, float>) {
    if (bf16) {
      gemm_bf16(trans_a, trans_b, M, N, K, A, lda, B, ldb, false, C, ldc);
      if (alpha != 1.0f) {
        for (std::int64_t i = 0; i < M; ++i) {
          for (std::int64_t j = 0; j < N; ++j) C[i * ldc + j] *= alpha;
        }
      }
      return;
    }
  }
  gemm<T>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, T(0), C, ldc);
}

}  // namespace

template <typename T>
void attention_forward(const AttentionDims& d, const T* q, const T* k, const T* v, const std::uint8_t* mask,
                       std::int64_t mask_rows, bool causal, T scale, T* weights, T* out, bool bf16) {
  const std::int64_t qld = d.H * d.Dk, vld = d.H * d.Dv;
  parallel_for(d.B * d.H, d.Tq * d.Tk * (d.Dk + d.Dv), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t bh = begin; bh < end; ++bh) {
      const std::int64_t b = bh / d.H, h = bh % d.H;
      const T* qs = q + b * d.Tq * qld + h * d.Dk;
      const T* ks = k + b * d.Tk * qld + h * d.Dk;
      const T* vs = v + b * d.Tk * vld + h * d.Dv;
      T* p = weights + bh * d.Tq * d.Tk;
      attention_product<T>(bf16, false, true, d.Tq, d.Tk, d.Dk, scale, qs, qld, ks, qld, p, d.Tk);
      const std::uint8_t* m = mask ? mask + b * mask_rows * d.Tk : nullptr;
      masked_softmax_rows(p, d.Tq, d.Tk, m, mask_rows == 1 ? 0 : d.Tk, causal);
      attention_product<T>(bf16, false, false, d.Tq, d.Dv, d.Tk, T(1), p, d.Tk, vs, vld,
                           out + b * d.Tq * vld + h * d.Dv, vld);
    }
  });
}

template <typename T>
void attention_backward(const AttentionDims& d, const T* q, const T* k, const T* v, const T* weights, const T* gout,
                        T scale, T* gq, T* gk, T* gv, T* scratch, bool bf16) {
  const std::int64_t qld = d.H * d.Dk, vld = d.H * d.Dv;
  parallel_for(d.B * d.H, 2 * d.Tq * d.Tk * (d.Dk + d.Dv), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t bh = begin; bh < end; ++bh) {
      const std::int64_t b = bh / d.H, h = bh % d.H;
      const std::int64_t q_off = b * d.Tq * qld + h * d.Dk, k_off = b * d.Tk * qld + h * d.Dk;
      const std::int64_t v_off = b * d.Tk * vld + h * d.Dv, o_off = b * d.Tq * vld + h * d.Dv;
      const T* p = weights + bh * d.Tq * d.Tk;
      // dV = P^T dO
      if (gv)
        attention_product<T>(bf16, true, false, d.Tk, d.Dv, d.Tq, T(1), p, d.Tk, gout + o_off, vld, gv + v_off, vld);
      if (!gq && !gk) continue;
      // dP = dO V^T, then dS through the softmax (masked entries have P = 0, so dS = 0).
      T* ds = scratch + bh * d.Tq * d.Tk;
      attention_product<T>(bf16, false, true, d.Tq, d.Tk, d.Dv, T(1), gout + o_off, vld, v + v_off, vld, ds, d.Tk);
      softmax_backward_rows(p, ds, d.Tq, d.Tk);
      // dQ = scale dS K, dK = scale dS^T Q
      if (gq)
        attention_product<T>(bf16, false, false, d.Tq, d.Dk, d.Tk, scale, ds, d.Tk, k + k_off, qld, gq + q_off, qld);
      if (gk)
        attention_product<T>(bf16, true, false, d.Tk, d.Dk, d.Tq, scale, ds, d.Tk, q + q_off, qld, gk + k_off, qld);
    }
  });
}

template void attention_forward<float>(const AttentionDims&, const float*, const float*, const float*,
                                       const std::uint8_t*, std::int64_t, bool, float, float*, float*, bool);
template void attention_forward<double>(const AttentionDims&, const double*, const double*, const double*,
                                        const std::uint8_t*, std::int64_t, bool, double, double*, double*, bool);
template void attention_backward<float>(const AttentionDims&, const float*, const float*, const float*, const float*,
                                        const float*, float, float*, float*, float*, float*, bool);
template void attention_backward<double>(const AttentionDims&, const double*, const double*, const double*,
                                         const double*, const double*, double, double*, double*, double*, double*,
                                         bool);

}  // namespace kiln::kernels::cpu

KILN_VECTOR_MATH_END
