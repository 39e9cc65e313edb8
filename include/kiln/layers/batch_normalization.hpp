// BatchNormalization over the last axis (channels last), with Keras's rules:
//   training:  y = gamma * (x - mean_B) / sqrt(var_B + epsilon) + beta, mean_B
//              and var_B (biased) taken over every other axis of the batch, and
//              moving_mean     = momentum * moving_mean     + (1 - momentum) * mean_B
//              moving_variance = momentum * moving_variance + (1 - momentum) * var_B
//   inference: the same with moving_mean and moving_variance.
// As in TF2 Keras, a frozen layer (trainable = false) always runs in inference
// mode, so fine-tuning a model does not disturb its statistics.
// Weights, in Keras's order: gamma, beta (trainable), moving_mean, moving_variance (not).
// PyTorch's BatchNorm differs in two ways: its momentum is 1 - Keras's, and its
// running variance uses the unbiased batch variance.
// synchronized (Keras's argument; PyTorch's SyncBatchNorm): in data-parallel training
// (kiln::distributed::DataParallel) the batch statistics are the global batch's, reduced over
// every rank, so N ranks train as one process on the whole batch; elsewhere it changes nothing.
#pragma once
#include "kiln/constraints.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/regularizers.hpp"

namespace kiln::layers {

struct BatchNormalizationOptions {
  double momentum = 0.99;
  double epsilon = 1e-3;
  bool center = true;  // learn beta
  bool scale = true;   // learn gamma
  bool synchronized = false;
  Initializer beta_initializer = "zeros";
  Initializer gamma_initializer = "ones";
  regularizers::RegularizerArgument beta_regularizer = {};
  regularizers::RegularizerArgument gamma_regularizer = {};
  constraints::ConstraintArgument beta_constraint = {};
  constraints::ConstraintArgument gamma_constraint = {};
  Initializer moving_mean_initializer = "zeros";
  Initializer moving_variance_initializer = "ones";
  Shape input_shape = {};
  std::string name;
};

class BatchNormalization : public Layer {
 public:
  explicit BatchNormalization(BatchNormalizationOptions options = {});
  const BatchNormalizationOptions& options() const { return options_; }
  Tensor gamma() const;  // undefined without scale
  Tensor beta() const;   // undefined without center
  Tensor moving_mean() const;
  Tensor moving_variance() const;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  bool accepts(const Shape& built, const Shape& actual) const override;

 private:
  BatchNormalizationOptions options_;
  Tensor gamma_, beta_, moving_mean_, moving_variance_;
};

}  // namespace kiln::layers
