#include "kiln/layers/group_normalization.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "layers/weight_regularization.hpp"

namespace kiln::layers {

GroupNormalization::GroupNormalization(GroupNormalizationOptions options)
    : Layer(options.name.empty() ? unique_name("group_normalization") : options.name, "GroupNormalization"),
      options_(std::move(options)) {
  if (options_.groups <= 0)
    throw Error(describe() + ": groups must be positive, got " + std::to_string(options_.groups));
  if (!(options_.epsilon > 0))
    throw Error(describe() + ": epsilon must be positive, got " + std::to_string(options_.epsilon));
  if (options_.axis != -1) {
    throw Error(describe() + ": axis " + std::to_string(options_.axis) +
                " is not supported; the channels are the last axis (-1) in Kiln");
  }
  set_declared_input_shape(options_.input_shape);
}

Shape GroupNormalization::compute_output_shape(const Shape& in) const {
  if (in.empty()) throw Error(describe() + ": expected inputs of shape [batch, ..., channels], got a batch of scalars");
  if (in.back() % options_.groups != 0) {
    throw Error(describe() + ": the channels (" + std::to_string(in.back()) + ", input [batch, " +
                shape_str(in).substr(1) + ") must be a multiple of groups (" + std::to_string(options_.groups) + ")");
  }
  return in;
}

bool GroupNormalization::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == built.size() && actual.back() == built.back();
}

void GroupNormalization::build_weights(const Shape& in, Generator& gen) {
  if (options_.scale) gamma_ = add_weight("gamma", {in.back()}, options_.gamma_initializer, gen);
  if (options_.center) beta_ = add_weight("beta", {in.back()}, options_.beta_initializer, gen);
}

// Composed from reductions, so the gradient through the group statistics comes from their ops.
Tensor GroupNormalization::forward(const Tensor& x, bool) {
  const std::int64_t n = x.size(0), channels = x.size(-1), groups = options_.groups;
  const Tensor grouped = reshape(x, {n, x.numel() / (n * channels), groups, channels / groups});
  const Tensor centered = grouped - mean(grouped, {1, 3}, /*keepdims=*/true);
  const Tensor variance = mean(square(centered), {1, 3}, /*keepdims=*/true);
  Tensor y = reshape(centered / sqrt(variance + options_.epsilon), x.shape());
  if (gamma_.defined()) y = y * gamma_;
  if (beta_.defined()) y = y + beta_;
  return y;
}

nlohmann::json GroupNormalization::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["groups"] = options_.groups;
  c["axis"] = options_.axis;
  c["epsilon"] = options_.epsilon;
  c["center"] = options_.center;
  c["scale"] = options_.scale;
  c["beta_initializer"] = to_json(options_.beta_initializer);
  c["gamma_initializer"] = to_json(options_.gamma_initializer);
  layers_detail::put_regularization_config(c, options_);
  return c;
}

std::vector<Tensor> GroupNormalization::regularization_losses() const {
  return layers_detail::scale_offset_penalties(options_, gamma_, beta_);
}

void GroupNormalization::apply_constraints() { layers_detail::constrain_scale_offset(options_, gamma_, beta_); }

}  // namespace kiln::layers
