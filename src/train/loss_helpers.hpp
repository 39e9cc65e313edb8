// Checks and conversions every loss shares.
#pragma once
#include <string>

#include "kiln/tensor.hpp"

namespace kiln::losses::detail {

constexpr double kEpsilon = 1e-7;  // Keras's backend epsilon

// Both defined, predictions floating, batch sizes equal; an Error naming the loss otherwise.
void check_pair(const Tensor& y_true, const Tensor& y_pred, const std::string& loss);

// Targets as floats of the prediction's shape. [N] targets for [N, 1]
// predictions are accepted, as Keras does.
Tensor dense_targets(const Tensor& y_true, const Tensor& y_pred, const std::string& loss);

}  // namespace kiln::losses::detail
