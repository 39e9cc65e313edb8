#include "kiln/layers/separable_conv2d.hpp"

#include <nlohmann/json.hpp>

#include "kiln/layers/activation.hpp"
#include "kiln/ops.hpp"
#include "kiln/ops/grouped_conv.hpp"
#include "layers/image_arguments.hpp"
#include "layers/sequence_arguments.hpp"
#include "layers/weight_regularization.hpp"
#include "ops/padding.hpp"

namespace kiln::layers {

SeparableConv2D::SeparableConv2D(std::int64_t filters, Size2 kernel_size, SeparableConv2DOptions options)
    : Layer(options.name.empty() ? unique_name("separable_conv2d") : options.name, "SeparableConv2D"),
      filters_(filters),
      kernel_size_(kernel_size),
      options_(std::move(options)) {
  layers_detail::check_conv_arguments(describe(), filters_, kernel_size_, options_.strides, options_.dilation_rate,
                                      options_.padding);
  if (options_.depth_multiplier <= 0) {
    throw Error(describe() + ": depth_multiplier must be positive, got " + std::to_string(options_.depth_multiplier));
  }
  layers_detail::check_data_format(describe(), options_.data_format);
  check_activation_name(options_.activation, describe());
  set_declared_input_shape(options_.input_shape);
}

Shape SeparableConv2D::compute_output_shape(const Shape& in) const {
  layers_detail::check_image_sample(describe(), in);
  layers_detail::check_input_channels(describe(), *this, in);
  const std::string where = describe();
  const auto h = ops_detail::window_1d(in[0], (kernel_size_.h - 1) * options_.dilation_rate.h + 1, options_.strides.h,
                                       options_.padding, where.c_str());
  const auto w = ops_detail::window_1d(in[1], (kernel_size_.w - 1) * options_.dilation_rate.w + 1, options_.strides.w,
                                       options_.padding, where.c_str());
  return {h.out, w.out, filters_};
}

void SeparableConv2D::build_weights(const Shape& in, Generator& gen) {
  const std::int64_t m = options_.depth_multiplier;
  depthwise_kernel_ =
      add_weight("depthwise_kernel", {kernel_size_.h, kernel_size_.w, in[2], m}, options_.depthwise_initializer, gen);
  pointwise_kernel_ = add_weight("pointwise_kernel", {1, 1, in[2] * m, filters_}, options_.pointwise_initializer, gen);
  if (options_.use_bias) bias_ = add_weight("bias", {filters_}, options_.bias_initializer, gen);
}

nlohmann::json SeparableConv2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["depth_multiplier"] = options_.depth_multiplier;
  c["filters"] = filters_;
  c["kernel_size"] = {kernel_size_.h, kernel_size_.w};
  c["strides"] = {options_.strides.h, options_.strides.w};
  c["padding"] = options_.padding;
  c["data_format"] = options_.data_format;
  c["dilation_rate"] = {options_.dilation_rate.h, options_.dilation_rate.w};
  c["activation"] = options_.activation;
  c["use_bias"] = options_.use_bias;
  c["depthwise_initializer"] = to_json(options_.depthwise_initializer);
  c["pointwise_initializer"] = to_json(options_.pointwise_initializer);
  c["bias_initializer"] = to_json(options_.bias_initializer);
  layers_detail::put_regularization_config(c, options_);
  return c;
}

std::vector<Tensor> SeparableConv2D::regularization_losses() const {
  return layers_detail::penalties({{options_.depthwise_regularizer, options_.depthwise_constraint, depthwise_kernel_},
                                   {options_.pointwise_regularizer, options_.pointwise_constraint, pointwise_kernel_},
                                   {options_.bias_regularizer, options_.bias_constraint, bias_}},
                                  options_.activity_regularizer, {activity_});
}

void SeparableConv2D::apply_constraints() {
  layers_detail::constrain({{options_.depthwise_regularizer, options_.depthwise_constraint, depthwise_kernel_},
                            {options_.pointwise_regularizer, options_.pointwise_constraint, pointwise_kernel_},
                            {options_.bias_regularizer, options_.bias_constraint, bias_}});
}

Tensor SeparableConv2D::forward(const Tensor& x, bool) {
  Conv2dParams depthwise;
  depthwise.stride_h = options_.strides.h, depthwise.stride_w = options_.strides.w;
  depthwise.dilation_h = options_.dilation_rate.h, depthwise.dilation_w = options_.dilation_rate.w;
  depthwise.padding = options_.padding;
  Conv2dParams pointwise;
  pointwise.relu = options_.activation == "relu";
  const Tensor y =
      conv2d(depthwise_conv2d(x, depthwise_kernel_, Tensor(), depthwise), pointwise_kernel_, bias_, pointwise);
  Tensor out = pointwise.relu ? y : apply_activation(options_.activation, y);
  if (options_.activity_regularizer) activity_ = out;
  return out;
}

}  // namespace kiln::layers
