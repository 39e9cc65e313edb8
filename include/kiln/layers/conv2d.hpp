// Conv2D: 2-D convolution over [batch, height, width, channels] inputs.
#pragma once
#include "kiln/constraints.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/ops.hpp"
#include "kiln/regularizers.hpp"

namespace kiln::layers {

struct Conv2DOptions {
  Size2 strides = 1;
  std::string padding = "valid";  // or "same"
  Size2 dilation_rate = 1;
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
  Shape input_shape = {};  // [height, width, channels], only on a model's first layer
  std::string name;
};

class Conv2D : public Layer {
 public:
  // Conv2D(32, {3, 3}, "relu", {32, 32, 3}) reads as the article's
  // Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)).
  Conv2D(std::int64_t filters, Size2 kernel_size, std::string activation = "", Shape input_shape = {});
  Conv2D(std::int64_t filters, Size2 kernel_size, Conv2DOptions options);

  std::int64_t filters() const { return filters_; }
  Size2 kernel_size() const { return kernel_size_; }
  const Conv2DOptions& options() const { return options_; }
  // Weights exist once the layer is built (from an input_shape or a first call).
  Tensor kernel() const;      // [kh, kw, in_channels / groups, filters]
  Tensor bias() const;        // [filters]
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;
  // The op-level settings this layer passes to kiln::conv2d.
  Conv2dParams conv_params() const;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::int64_t filters_;
  Size2 kernel_size_;
  Conv2DOptions options_;
  Tensor kernel_, bias_;
  Tensor activity_;  // the last output, kept only with an activity_regularizer
};

}  // namespace kiln::layers
