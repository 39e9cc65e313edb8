// Normalisation ops: batch normalisation (per channel, over every axis but the
// last) and layer normalisation (per sample, over the last axis).
#pragma once
#include "kiln/tensor.hpp"

namespace kiln {

// Batch normalisation, channels last:
//   y = gamma * (x - mean) / sqrt(var + epsilon) + beta,   per channel.
// x [..., C]; gamma, beta [C] or undefined (meaning 1 and 0).
//
// With the batch's own statistics (training): mean and biased variance over
// every axis but the last, and the gradient flows through them. When given,
// *batch_mean and *batch_var receive those statistics (for moving averages;
// they carry no gradient).
Tensor batch_norm_training(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon,
                           Tensor* batch_mean = nullptr, Tensor* batch_var = nullptr);

// With given statistics (inference): mean, var [C]. Differentiable in every input.
Tensor batch_norm_inference(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor& gamma,
                            const Tensor& beta, double epsilon);

// Layer normalisation over the last axis: (x - mean) / sqrt(var + epsilon) * gamma + beta,
// with the biased variance (as Keras and PyTorch). x [..., D]; gamma, beta [D] or undefined.
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon = 1e-3);

}  // namespace kiln
