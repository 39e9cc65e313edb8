// SeparableConv2D: a depthwise convolution (each channel with its own
// depth_multiplier filters, with the strides, padding and dilation) followed by
// a 1x1 convolution mixing the channels into `filters` (Keras's).
//   depthwise_kernel [kh, kw, C, depth_multiplier]
//   pointwise_kernel [1, 1, C * depth_multiplier, filters], bias [filters]
#pragma once
#include "kiln/constraints.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/regularizers.hpp"

namespace kiln::layers {

struct SeparableConv2DOptions {
  Size2 strides = 1;
  std::string padding = "valid";  // or "same"
  std::string data_format = "channels_last";
  Size2 dilation_rate = 1;
  std::int64_t depth_multiplier = 1;
  std::string activation;  // "" = linear
  bool use_bias = true;
  Initializer depthwise_initializer = "glorot_uniform";
  Initializer pointwise_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  regularizers::RegularizerArgument depthwise_regularizer = {};
  regularizers::RegularizerArgument pointwise_regularizer = {};
  regularizers::RegularizerArgument bias_regularizer = {};
  regularizers::RegularizerArgument activity_regularizer = {};  // on the layer's output
  constraints::ConstraintArgument depthwise_constraint = {};
  constraints::ConstraintArgument pointwise_constraint = {};
  constraints::ConstraintArgument bias_constraint = {};
  Shape input_shape = {};  // [height, width, channels], only on a model's first layer
  std::string name;
};

class SeparableConv2D : public Layer {
 public:
  SeparableConv2D(std::int64_t filters, Size2 kernel_size, SeparableConv2DOptions options = {});

  std::int64_t filters() const { return filters_; }
  Size2 kernel_size() const { return kernel_size_; }
  const SeparableConv2DOptions& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::int64_t filters_;
  Size2 kernel_size_;
  SeparableConv2DOptions options_;
  Tensor depthwise_kernel_, pointwise_kernel_, bias_;
  Tensor activity_;  // the last output, kept only with an activity_regularizer
};

}  // namespace kiln::layers
