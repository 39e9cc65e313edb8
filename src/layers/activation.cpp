#include "kiln/layers/activation.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

namespace {

using ActivationFn = Tensor (*)(const Tensor&);

// Keras 3's activation names (keras.activations.get), with Keras's default arguments.
const std::map<std::string, ActivationFn>& activations() {
  static const std::map<std::string, ActivationFn> table = {
      {"linear", [](const Tensor& x) { return x; }},
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"softmax", [](const Tensor& x) { return softmax(x, -1); }},
      {"log_softmax", [](const Tensor& x) { return log_softmax(x, -1); }},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x); }},
      {"silu", [](const Tensor& x) { return silu(x); }},
      {"swish", [](const Tensor& x) { return silu(x); }},
      {"elu", [](const Tensor& x) { return elu(x); }},
      {"selu", [](const Tensor& x) { return selu(x); }},
      {"softplus", [](const Tensor& x) { return softplus(x); }},
      {"softsign", [](const Tensor& x) { return softsign(x); }},
      {"hard_sigmoid", [](const Tensor& x) { return hard_sigmoid(x); }},
      {"hard_silu", [](const Tensor& x) { return hard_silu(x); }},
      {"hard_swish", [](const Tensor& x) { return hard_silu(x); }},
      {"relu6", [](const Tensor& x) { return relu6(x); }},
      {"mish", [](const Tensor& x) { return mish(x); }},
      {"exponential", [](const Tensor& x) { return exponential(x); }},
  };
  return table;
}

}  // namespace

void check_activation_name(const std::string& a, const std::string& where) {
  if (a.empty() || activations().contains(a)) return;
  std::string known;
  for (const auto& [name, fn] : activations()) known += (known.empty() ? "" : ", ") + name;
  throw Error(where + ": unknown activation \"" + a + "\"; expected one of: " + known);
}

Tensor apply_activation(const std::string& a, const Tensor& x) {
  if (a.empty()) return x;
  check_activation_name(a, "activation");
  return activations().at(a)(x);
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
