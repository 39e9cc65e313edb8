#include "kiln/layers/activation.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

void check_activation_name(const std::string& a, const std::string& where) {
  if (a.empty() || a == "linear" || a == "relu" || a == "sigmoid" || a == "tanh" || a == "softmax" ||
      a == "leaky_relu") {
    return;
  }
  throw Error(where + ": unknown activation \"" + a +
              "\"; expected one of: linear, relu, sigmoid, tanh, softmax, leaky_relu");
}

Tensor apply_activation(const std::string& a, const Tensor& x) {
  if (a.empty() || a == "linear") return x;
  if (a == "relu") return relu(x);
  if (a == "sigmoid") return sigmoid(x);
  if (a == "tanh") return tanh(x);
  if (a == "softmax") return softmax(x, -1);
  if (a == "leaky_relu") return leaky_relu(x);
  check_activation_name(a, "activation");
  return x;
}

Activation::Activation(std::string activation, std::string name)
    : Layer(name.empty() ? unique_name("activation") : name, "Activation"), activation_(std::move(activation)) {
  check_activation_name(activation_, describe());
}

nlohmann::json Activation::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["activation"] = activation_;
  return c;
}

Tensor Activation::forward(const Tensor& x, bool) { return apply_activation(activation_, x); }

}  // namespace kiln::layers
