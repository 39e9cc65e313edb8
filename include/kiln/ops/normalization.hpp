// Normalisation ops: batch normalisation (per channel, over every axis but the
// last) and layer normalisation (per sample, over the last axis).
#pragma once
#include <functional>
#include <vector>

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
//
// Synchronized over several processes (data-parallel training, each holding some rows of one
// global batch): `sum_over_processes` adds a vector element-wise over all of them, in place, and
// every process calls the op at the same points. The statistics are then the global batch's
// (two passes, as on one process), and the backward pass sums its per-channel sums too, each
// weighted by its process's share of the rows, so that the gradient equals one process's on the
// whole batch once each process's gradients are averaged with those shares (as DataParallel
// does). gamma's and beta's gradients stay this process's own.
using SumOverProcesses = std::function<void(std::vector<double>&)>;
Tensor batch_norm_training(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon,
                           Tensor* batch_mean = nullptr, Tensor* batch_var = nullptr,
                           const SumOverProcesses& sum_over_processes = {});

// With given statistics (inference): mean, var [C]. Differentiable in every input.
Tensor batch_norm_inference(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor& gamma,
                            const Tensor& beta, double epsilon);

// Layer normalisation over the last axis: (x - mean) / sqrt(var + epsilon) * gamma + beta,
// with the biased variance (as Keras and PyTorch). x [..., D]; gamma, beta [D] or undefined.
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon = 1e-3);

}  // namespace kiln
