// Scaled dot-product attention, softmax(scale * Q K^T + mask) V, as one op
// with its own backward (the score matrix is never an autograd node).
#pragma once
#include "kiln/compute_type.hpp"
#include "kiln/tensor.hpp"

namespace kiln {

struct AttentionOptions {
  // Which keys each query may attend to: [B, Tq, Tk] or [B, 1, Tk] (one row for
  // every query, e.g. padding), any dtype, nonzero = allowed. Undefined: all keys.
  Tensor mask;
  // Query i attends only to keys j <= i (Keras's use_causal_mask: a lower
  // triangle anchored at the first query and key).
  bool causal = false;
  // Multiplies Q K^T; 0 means 1 / sqrt(key width).
  double scale = 0.0;
  // BFloat16: Q K^T and the weights times V (and their gradients) in mixed precision; the
  // softmax stays float32.
  ComputeType compute = ComputeType::Float32;
};

struct AttentionResult {
  Tensor output;   // [B, Tq, H, Dv] (or [B, Tq, Dv] for 3-D inputs); differentiable
  Tensor weights;  // [B, H, Tq, Tk] (or [B, Tq, Tk]): the softmax, for inspection (no gradient flows through it)
};

// Multi-head: q [B, Tq, H, Dk], k [B, Tk, H, Dk], v [B, Tk, H, Dv] (the
// layout the projections produce; no transposes needed). Single head: q
// [B, Tq, Dk], k [B, Tk, Dk], v [B, Tk, Dv]. Masked scores get weight exactly
// zero; a query that may attend to no key gets zero weights and a zero output
// (Keras would spread it uniformly, PyTorch would give NaN).
AttentionResult scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const AttentionOptions& options = {});

}  // namespace kiln
