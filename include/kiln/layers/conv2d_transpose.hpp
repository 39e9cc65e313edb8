// Conv2DTranspose: the transposed 2-D convolution that DCGAN generators use to
// upsample, [batch, h, w, in] -> [batch, h', w', filters] with, per axis,
//   padding "same":  h' = h * stride
//   padding "valid": h' = h * stride + max(kernel - stride, 0)
// Its kernel is [kh, kw, filters, in_channels] (Keras's layout, the reverse of Conv2D's last two axes).
#pragma once
#include "kiln/layers/conv2d.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

// The same options as Conv2D: strides, padding, dilation_rate, activation, use_bias,
// initializers, regularizers and constraints (Keras's kernel_/bias_/activity_), input_shape, name.
using Conv2DTransposeOptions = Conv2DOptions;

class Conv2DTranspose : public Layer {
 public:
  Conv2DTranspose(std::int64_t filters, Size2 kernel_size, std::string activation = "", Shape input_shape = {});
  Conv2DTranspose(std::int64_t filters, Size2 kernel_size, Conv2DTransposeOptions options);

  std::int64_t filters() const { return filters_; }
  Size2 kernel_size() const { return kernel_size_; }
  const Conv2DTransposeOptions& options() const { return options_; }
  Tensor kernel() const;  // [kh, kw, filters, in_channels]
  Tensor bias() const;    // [filters]
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;
  Conv2dTransposeParams conv_params() const;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::int64_t filters_;
  Size2 kernel_size_;
  Conv2DTransposeOptions options_;
  Tensor kernel_, bias_;
  Tensor activity_;  // the last output, kept only with an activity_regularizer
};

}  // namespace kiln::layers
