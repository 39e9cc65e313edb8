// Activation layer, and the activation names other layers accept.
#pragma once
#include <string>

#include "kiln/layers/layer.hpp"

namespace kiln::layers {

// Keras's names: "linear" (or ""), "relu", "sigmoid", "tanh", "softmax", "log_softmax", "leaky_relu",
// "gelu" (exact), "silu"/"swish", "elu", "selu", "softplus", "softsign", "hard_sigmoid",
// "hard_silu"/"hard_swish", "relu6", "mish", "exponential".
// Throws an Error listing the known names for anything else.
void check_activation_name(const std::string& activation, const std::string& where);
Tensor apply_activation(const std::string& activation, const Tensor& x);

class Activation : public Layer {
 public:
  explicit Activation(std::string activation, std::string name = "");
  const std::string& activation() const { return activation_; }
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::string activation_;
};

}  // namespace kiln::layers
