#include "kiln/layers/normalization.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "layers/weight_regularization.hpp"

namespace kiln::layers {

LayerNormalization::LayerNormalization(LayerNormalizationOptions options)
    : Layer(options.name.empty() ? unique_name("layer_normalization") : options.name, "LayerNormalization"),
      options_(std::move(options)) {
  if (!(options_.epsilon > 0)) {
    throw Error(describe() + ": epsilon must be positive, got " + std::to_string(options_.epsilon));
  }
  set_declared_input_shape(options_.input_shape);
}

Shape LayerNormalization::compute_output_shape(const Shape& in) const {
  if (in.empty()) throw Error(describe() + ": expected inputs of shape [batch, ..., features], got a batch of scalars");
  return in;
}

bool LayerNormalization::accepts(const Shape& built, const Shape& actual) const {
  return !actual.empty() && actual.back() == built.back();
}

void LayerNormalization::build_weights(const Shape& in, Generator& gen) {
  if (options_.scale) gamma_ = add_weight("gamma", {in.back()}, options_.gamma_initializer, gen);
  if (options_.center) beta_ = add_weight("beta", {in.back()}, options_.beta_initializer, gen);
}

Tensor LayerNormalization::forward(const Tensor& x, bool) { return layer_norm(x, gamma_, beta_, options_.epsilon); }

Tensor LayerNormalization::gamma() const {
  input_shape();  // throws, naming the layer, when it is not built
  return gamma_;
}

Tensor LayerNormalization::beta() const {
  input_shape();
  return beta_;
}

nlohmann::json LayerNormalization::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["epsilon"] = options_.epsilon;
  c["center"] = options_.center;
  c["scale"] = options_.scale;
  c["beta_initializer"] = to_json(options_.beta_initializer);
  c["gamma_initializer"] = to_json(options_.gamma_initializer);
  layers_detail::put_regularization_config(c, options_);
  return c;
}

std::vector<Tensor> LayerNormalization::regularization_losses() const {
  return layers_detail::scale_offset_penalties(options_, gamma_, beta_);
}

void LayerNormalization::apply_constraints() { layers_detail::constrain_scale_offset(options_, gamma_, beta_); }

}  // namespace kiln::layers
