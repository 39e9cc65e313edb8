// Layer pairs that a model runs as one op (same results, less memory traffic).
#pragma once
#include <optional>

#include "kiln/layers/layer.hpp"

namespace kiln::layers {

// Conv2D (linear or ReLU) followed by MaxPooling2D: returns pool(conv(x)) computed
// by the fused op, or nothing when the pair is not of that kind.
std::optional<Tensor> run_fused(Layer& first, Layer& second, const Tensor& x);

}  // namespace kiln::layers
