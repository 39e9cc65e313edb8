// Batched matrix products (attention scores, per-head products).
#pragma once
#include "kiln/tensor.hpp"

namespace kiln {

// a [..., M, K] x b [..., K, N] -> [..., M, N], one product per leading index
// (the leading axes of a and b must be equal; no broadcasting). transpose_a
// takes a as [..., K, M], transpose_b takes b as [..., N, K], without copies.
Tensor batched_matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);

}  // namespace kiln
