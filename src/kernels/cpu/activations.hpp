// Keras 3's pointwise activations beyond relu/sigmoid/tanh, forward and backward,
// over flat arrays of n elements (T = float or double). The backward recomputes
// from the input x: gx = gy * f'(x).
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

enum class Activation : std::uint8_t {
  Gelu,         // 0.5 x (1 + erf(x / sqrt 2))
  GeluTanh,     // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
  Silu,         // x sigmoid(x)
  Elu,          // x > 0 ? x : alpha (exp(x) - 1)
  Selu,         // scale * elu(x, alpha) with Keras's fixed constants
  Softplus,     // log(1 + exp(x))
  Softsign,     // x / (|x| + 1)
  HardSigmoid,  // relu6(x + 3) / 6
  HardSilu,     // x relu6(x + 3) / 6
  Mish,         // x tanh(softplus(x))
  Exponential,  // exp(x)
  Relu,         // Keras's relu(x, negative_slope = alpha, max_value, threshold); relu6 is max_value 6
};

// Constants a kind may use: alpha (elu's, or relu's negative slope), relu's max_value and threshold.
struct ActivationParams {
  double alpha = 1.0;
  double max_value = 0.0;  // relu: an infinite max_value clips nothing
  double threshold = 0.0;
};

template <typename T>
void activation_forward(Activation kind, const ActivationParams& params, const T* x, T* y, std::int64_t n);

template <typename T>
void activation_backward(Activation kind, const ActivationParams& params, const T* x, const T* gy, T* gx,
                         std::int64_t n);

}  // namespace kiln::kernels::cpu
