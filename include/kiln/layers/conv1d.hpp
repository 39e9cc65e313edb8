// Conv1D: 1-D convolution over [batch, steps, channels] inputs (Keras's Conv1D).
//   kernel [kernel_size, channels / groups, filters], bias [filters]
//   padding "valid", "same" (TensorFlow's: ceil(steps / strides) outputs) or
//   "causal" ((kernel_size - 1) * dilation_rate zeros before the first step, so
//   output t sees only inputs <= t; ceil(steps / strides) outputs)
// It runs as a 2-D convolution of height 1 on the same kernels.
#pragma once
#include "kiln/constraints.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/regularizers.hpp"

namespace kiln::layers {

struct Conv1DOptions {
  std::int64_t strides = 1;
  std::string padding = "valid";  // "valid", "same" or "causal"
  std::string data_format = "channels_last";
  std::int64_t dilation_rate = 1;
  std::int64_t groups = 1;  // channels and filters split into this many independent convolutions
  std::string activation;   // "" = linear
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  regularizers::RegularizerArgument kernel_regularizer = {};
  regularizers::RegularizerArgument bias_regularizer = {};
  regularizers::RegularizerArgument activity_regularizer = {};  // on the layer's output
  constraints::ConstraintArgument kernel_constraint = {};
  constraints::ConstraintArgument bias_constraint = {};
  Shape input_shape = {};  // [steps, channels], only on a model's first layer
  std::string name;
};

class Conv1D : public Layer {
 public:
  Conv1D(std::int64_t filters, std::int64_t kernel_size, Conv1DOptions options = {});

  std::int64_t filters() const { return filters_; }
  std::int64_t kernel_size() const { return kernel_size_; }
  const Conv1DOptions& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  // Any number of steps, the same channels.
  bool accepts(const Shape& built, const Shape& actual) const override;

 private:
  std::int64_t filters_, kernel_size_;
  Conv1DOptions options_;
  Tensor kernel_, bias_;
  Tensor activity_;  // the last output, kept only with an activity_regularizer
};

}  // namespace kiln::layers
