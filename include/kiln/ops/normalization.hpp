// Normalisation ops.
#pragma once
#include "kiln/tensor.hpp"

namespace kiln {

// Layer normalisation over the last axis: (x - mean) / sqrt(var + epsilon) * gamma + beta,
// with the biased variance (as Keras and PyTorch). x [..., D]; gamma, beta [D] or undefined.
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon = 1e-3);

}  // namespace kiln
