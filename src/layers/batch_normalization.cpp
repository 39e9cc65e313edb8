#include "kiln/layers/batch_normalization.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "kiln/autograd.hpp"
#include "kiln/distribution.hpp"
#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "layers/weight_regularization.hpp"

namespace kiln::layers {

BatchNormalization::BatchNormalization(BatchNormalizationOptions options)
    : Layer(options.name.empty() ? unique_name("batch_normalization") : options.name, "BatchNormalization"),
      options_(std::move(options)) {
  if (!(options_.momentum >= 0.0 && options_.momentum <= 1.0)) {
    throw Error(describe() + ": momentum must be in [0, 1], got " + std::to_string(options_.momentum));
  }
  if (!(options_.epsilon > 0.0) || !std::isfinite(options_.epsilon)) {
    throw Error(describe() + ": epsilon must be a finite positive number, got " + std::to_string(options_.epsilon));
  }
  set_declared_input_shape(options_.input_shape);
}

Shape BatchNormalization::compute_output_shape(const Shape& in) const {
  if (in.empty()) throw Error(describe() + ": expected inputs of shape [batch, ..., channels], got a batch of scalars");
  if (built() && in.back() != input_shape().back()) {
    throw Error(describe() + ": expected " + std::to_string(input_shape().back()) + " channels (last axis), got " +
                std::to_string(in.back()));
  }
  return in;
}

bool BatchNormalization::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == built.size() && actual.back() == built.back();
}

void BatchNormalization::build_weights(const Shape& in, Generator& gen) {
  const Shape channels{in.back()};
  if (options_.scale) gamma_ = add_weight("gamma", channels, options_.gamma_initializer, gen);
  if (options_.center) beta_ = add_weight("beta", channels, options_.beta_initializer, gen);
  moving_mean_ = add_weight("moving_mean", channels, options_.moving_mean_initializer, gen, /*trainable=*/false);
  moving_variance_ =
      add_weight("moving_variance", channels, options_.moving_variance_initializer, gen, /*trainable=*/false);
}

Tensor BatchNormalization::forward(const Tensor& x, bool training) {
  if (!training || !trainable()) {
    return batch_norm_inference(x, moving_mean_, moving_variance_, gamma_, beta_, options_.epsilon);
  }
  Tensor mean, var;
  SumOverProcesses sum_over_ranks;
  distribution::Strategy* strategy = options_.synchronized ? distribution::strategy() : nullptr;
  if (strategy && strategy->training && strategy->world_size() > 1) {
    sum_over_ranks = [strategy](std::vector<double>& values) { strategy->sum(values); };
  }
  Tensor y = batch_norm_training(x, gamma_, beta_, options_.epsilon, &mean, &var, sum_over_ranks);
  NoGradGuard no_grad;
  const double m = options_.momentum;
  moving_mean_.copy_(moving_mean_ * m + mean * (1.0 - m));
  moving_variance_.copy_(moving_variance_ * m + var * (1.0 - m));
  return y;
}

nlohmann::json BatchNormalization::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = -1;
  c["momentum"] = options_.momentum;
  c["epsilon"] = options_.epsilon;
  c["center"] = options_.center;
  c["scale"] = options_.scale;
  c["synchronized"] = options_.synchronized;
  c["beta_initializer"] = to_json(options_.beta_initializer);
  c["gamma_initializer"] = to_json(options_.gamma_initializer);
  c["moving_mean_initializer"] = to_json(options_.moving_mean_initializer);
  c["moving_variance_initializer"] = to_json(options_.moving_variance_initializer);
  layers_detail::put_regularization_config(c, options_);
  return c;
}

std::vector<Tensor> BatchNormalization::regularization_losses() const {
  return layers_detail::scale_offset_penalties(options_, gamma_, beta_);
}

void BatchNormalization::apply_constraints() { layers_detail::constrain_scale_offset(options_, gamma_, beta_); }

Tensor BatchNormalization::gamma() const {
  input_shape();  // throws, naming the layer, when it is not built
  return gamma_;
}

Tensor BatchNormalization::beta() const {
  input_shape();
  return beta_;
}

Tensor BatchNormalization::moving_mean() const {
  input_shape();
  return moving_mean_;
}

Tensor BatchNormalization::moving_variance() const {
  input_shape();
  return moving_variance_;
}

}  // namespace kiln::layers
