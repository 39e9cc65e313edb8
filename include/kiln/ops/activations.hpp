// Keras 3's activation functions beyond relu, sigmoid, tanh, softmax and leaky_relu
// (keras.activations), elementwise on float32/float64 tensors, each differentiable.
#pragma once
#include <limits>

#include "kiln/tensor.hpp"

namespace kiln {

// 0.5 x (1 + erf(x / sqrt 2)); approximate: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
Tensor gelu(const Tensor& x, bool approximate = false);
// x * sigmoid(x) (Keras's silu, also named swish).
Tensor silu(const Tensor& x);
// x for x > 0, alpha (exp(x) - 1) otherwise.
Tensor elu(const Tensor& x, double alpha = 1.0);
// scale * elu(x, alpha), scale = 1.05070098, alpha = 1.67326324 (self-normalising).
Tensor selu(const Tensor& x);
// log(1 + exp(x)), stable for large |x|.
Tensor softplus(const Tensor& x);
// x / (|x| + 1).
Tensor softsign(const Tensor& x);
// Keras 3's hard_sigmoid: relu6(x + 3) / 6 (0 below -3, 1 above 3).
Tensor hard_sigmoid(const Tensor& x);
// x * hard_sigmoid(x) (Keras's hard_silu, also named hard_swish).
Tensor hard_silu(const Tensor& x);
// min(max(x, 0), 6).
Tensor relu6(const Tensor& x);
// x * tanh(softplus(x)).
Tensor mish(const Tensor& x);
// exp(x), as Keras's "exponential" activation.
Tensor exponential(const Tensor& x);
// Keras's relu with all its arguments: min(x, max_value) above the threshold, negative_slope *
// (x - threshold) at or below it (negative_slope, max_value and threshold non-negative).
Tensor relu(const Tensor& x, double negative_slope, double max_value = std::numeric_limits<double>::infinity(),
            double threshold = 0.0);

}  // namespace kiln
