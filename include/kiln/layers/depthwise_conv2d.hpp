// DepthwiseConv2D: each input channel convolved with its own depth_multiplier
// filters, [batch, height, width, C] -> [batch, OH, OW, C * depth_multiplier]
// (Keras's; output channel c * depth_multiplier + m comes from channel c).
//   kernel [kh, kw, C, depth_multiplier], bias [C * depth_multiplier]
#pragma once
#include "kiln/constraints.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/regularizers.hpp"

namespace kiln::layers {

struct DepthwiseConv2DOptions {
  Size2 strides = 1;
  std::string padding = "valid";  // or "same"
  std::int64_t depth_multiplier = 1;
  std::string data_format = "channels_last";
  Size2 dilation_rate = 1;
  std::string activation;  // "" = linear
  bool use_bias = true;
  Initializer depthwise_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  regularizers::RegularizerArgument depthwise_regularizer = {};
  regularizers::RegularizerArgument bias_regularizer = {};
  regularizers::RegularizerArgument activity_regularizer = {};  // on the layer's output
  constraints::ConstraintArgument depthwise_constraint = {};
  constraints::ConstraintArgument bias_constraint = {};
  Shape input_shape = {};  // [height, width, channels], only on a model's first layer
  std::string name;
};

class DepthwiseConv2D : public Layer {
 public:
  explicit DepthwiseConv2D(Size2 kernel_size, DepthwiseConv2DOptions options = {});

  Size2 kernel_size() const { return kernel_size_; }
  const DepthwiseConv2DOptions& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  Size2 kernel_size_;
  DepthwiseConv2DOptions options_;
  Tensor kernel_, bias_;
  Tensor activity_;  // the last output, kept only with an activity_regularizer
};

}  // namespace kiln::layers
