#include "kiln/layers/dense.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/layers/activation.hpp"
#include "kiln/ops.hpp"
#include "layers/weight_regularization.hpp"

namespace kiln::layers {

Dense::Dense(std::int64_t units, std::string activation, Shape input_shape)
    : Dense(units, DenseOptions{.activation = std::move(activation), .input_shape = std::move(input_shape)}) {}

Dense::Dense(std::int64_t units, DenseOptions options)
    : Layer(options.name.empty() ? unique_name("dense") : options.name, "Dense"),
      units_(units),
      options_(std::move(options)) {
  if (units_ <= 0) throw Error(describe() + ": units must be positive, got " + std::to_string(units_));
  check_activation_name(options_.activation, describe());
  set_declared_input_shape(options_.input_shape);
}

Shape Dense::compute_output_shape(const Shape& input_shape) const {
  if (input_shape.empty()) {
    throw Error(describe() + ": expected inputs of shape [batch, ..., features], got a batch of scalars");
  }
  Shape out = input_shape;
  out.back() = units_;
  return out;
}

bool Dense::accepts(const Shape& built, const Shape& actual) const {
  return !actual.empty() && actual.back() == built.back();
}

void Dense::build_weights(const Shape& input_shape, Generator& gen) {
  kernel_ = add_weight("kernel", {input_shape.back(), units_}, options_.kernel_initializer, gen);
  if (options_.use_bias) bias_ = add_weight("bias", {units_}, options_.bias_initializer, gen);
}

Tensor Dense::forward(const Tensor& x, bool) {
  Tensor y = apply_activation(options_.activation, linear(x, kernel_, bias_, compute_type()));
  if (options_.activity_regularizer) activity_ = y;
  return y;
}

std::vector<Tensor> Dense::regularization_losses() const {
  return layers_detail::regularization_penalties(options_, kernel_, bias_, {activity_});
}

void Dense::apply_constraints() { layers_detail::apply_weight_constraints(options_, kernel_, bias_); }

nlohmann::json Dense::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["units"] = units_;
  c["activation"] = options_.activation;
  c["use_bias"] = options_.use_bias;
  c["kernel_initializer"] = to_json(options_.kernel_initializer);
  c["bias_initializer"] = to_json(options_.bias_initializer);
  layers_detail::put_regularization_config(c, options_);
  return c;
}

Tensor Dense::kernel() const {
  input_shape();  // throws, naming the layer, when it is not built
  return kernel_;
}

Tensor Dense::bias() const {
  input_shape();
  return bias_;
}

}  // namespace kiln::layers
