// Scaled dot-product attention for every (batch, head) pair:
//   S = scale * Q K^T, masked;  P = softmax(S) over keys;  O = P V.
//
// Shapes (letters declared once): B batch, H heads, Tq queries, Tk keys,
// Dk query/key width, Dv value width.
//   q [B, Tq, H, Dk], k [B, Tk, H, Dk], v [B, Tk, H, Dv]  (Keras's projected layout: no transposes)
//   out [B, Tq, H, Dv], weights P [B, H, Tq, Tk]
//   mask [B, Mq, Tk] bytes, nonzero = may attend, Mq = Tq or 1 (one row for every
//   query, e.g. a padding mask); null = no mask. causal: query i sees keys j <= i.
// A query that may attend to no key gets all-zero weights and a zero output.
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

struct AttentionDims {
  std::int64_t B, H, Tq, Tk, Dk, Dv;
};

// bf16 (float only): the four products (and the backward's five) multiply bf16-rounded
// operands and sum in float32 (gemm_bf16); the softmax and its gradient stay float32.
template <typename T>
void attention_forward(const AttentionDims& d, const T* q, const T* k, const T* v, const std::uint8_t* mask,
                       std::int64_t mask_rows, bool causal, T scale, T* weights, T* out, bool bf16 = false);

// Gradients of q, k and v (each may be null when not wanted) from the output's
// gradient gout [B, Tq, H, Dv] and the kept weights. scratch: B*H*Tq*Tk values.
template <typename T>
void attention_backward(const AttentionDims& d, const T* q, const T* k, const T* v, const T* weights, const T* gout,
                        T scale, T* gq, T* gk, T* gv, T* scratch, bool bf16 = false);

}  // namespace kiln::kernels::cpu
