#include "kiln/layers/depthwise_conv2d.hpp"

#include <nlohmann/json.hpp>

#include "kiln/layers/activation.hpp"
#include "kiln/ops.hpp"
#include "kiln/ops/grouped_conv.hpp"
#include "layers/image_arguments.hpp"
#include "layers/sequence_arguments.hpp"
#include "layers/weight_regularization.hpp"
#include "ops/padding.hpp"

namespace kiln::layers {

DepthwiseConv2D::DepthwiseConv2D(Size2 kernel_size, DepthwiseConv2DOptions options)
    : Layer(options.name.empty() ? unique_name("depthwise_conv2d") : options.name, "DepthwiseConv2D"),
      kernel_size_(kernel_size),
      options_(std::move(options)) {
  if (options_.depth_multiplier <= 0) {
    throw Error(describe() + ": depth_multiplier must be positive, got " + std::to_string(options_.depth_multiplier));
  }
  layers_detail::check_conv_arguments(describe(), options_.depth_multiplier, kernel_size_, options_.strides,
                                      options_.dilation_rate, options_.padding);
  layers_detail::check_data_format(describe(), options_.data_format);
  check_activation_name(options_.activation, describe());
  set_declared_input_shape(options_.input_shape);
}

Shape DepthwiseConv2D::compute_output_shape(const Shape& in) const {
  layers_detail::check_image_sample(describe(), in);
  layers_detail::check_input_channels(describe(), *this, in);
  const std::string where = describe();
  const auto h = ops_detail::window_1d(in[0], (kernel_size_.h - 1) * options_.dilation_rate.h + 1, options_.strides.h,
                                       options_.padding, where.c_str());
  const auto w = ops_detail::window_1d(in[1], (kernel_size_.w - 1) * options_.dilation_rate.w + 1, options_.strides.w,
                                       options_.padding, where.c_str());
  return {h.out, w.out, in[2] * options_.depth_multiplier};
}

void DepthwiseConv2D::build_weights(const Shape& in, Generator& gen) {
  kernel_ = add_weight("kernel", {kernel_size_.h, kernel_size_.w, in[2], options_.depth_multiplier},
                       options_.depthwise_initializer, gen);
  if (options_.use_bias)
    bias_ = add_weight("bias", {in[2] * options_.depth_multiplier}, options_.bias_initializer, gen);
}

nlohmann::json DepthwiseConv2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["kernel_size"] = {kernel_size_.h, kernel_size_.w};
  c["strides"] = {options_.strides.h, options_.strides.w};
  c["padding"] = options_.padding;
  c["depth_multiplier"] = options_.depth_multiplier;
  c["data_format"] = options_.data_format;
  c["dilation_rate"] = {options_.dilation_rate.h, options_.dilation_rate.w};
  c["activation"] = options_.activation;
  c["use_bias"] = options_.use_bias;
  c["depthwise_initializer"] = to_json(options_.depthwise_initializer);
  c["bias_initializer"] = to_json(options_.bias_initializer);
  layers_detail::put_regularization_config(c, options_);
  return c;
}

std::vector<Tensor> DepthwiseConv2D::regularization_losses() const {
  return layers_detail::penalties({{options_.depthwise_regularizer, options_.depthwise_constraint, kernel_},
                                   {options_.bias_regularizer, options_.bias_constraint, bias_}},
                                  options_.activity_regularizer, {activity_});
}

void DepthwiseConv2D::apply_constraints() {
  layers_detail::constrain({{options_.depthwise_regularizer, options_.depthwise_constraint, kernel_},
                            {options_.bias_regularizer, options_.bias_constraint, bias_}});
}

Tensor DepthwiseConv2D::forward(const Tensor& x, bool) {
  Conv2dParams p;
  p.stride_h = options_.strides.h, p.stride_w = options_.strides.w;
  p.dilation_h = options_.dilation_rate.h, p.dilation_w = options_.dilation_rate.w;
  p.padding = options_.padding;
  Tensor y = apply_activation(options_.activation, depthwise_conv2d(x, kernel_, bias_, p));
  if (options_.activity_regularizer) activity_ = y;
  return y;
}

}  // namespace kiln::layers
