#include "kiln/layers/conv2d.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/layers/activation.hpp"
#include "kiln/ops.hpp"
#include "kiln/ops/grouped_conv.hpp"
#include "layers/image_arguments.hpp"
#include "layers/weight_regularization.hpp"
#include "ops/padding.hpp"

namespace kiln::layers {

Conv2D::Conv2D(std::int64_t filters, Size2 kernel_size, std::string activation, Shape input_shape)
    : Conv2D(filters, kernel_size,
             Conv2DOptions{.activation = std::move(activation), .input_shape = std::move(input_shape)}) {}

Conv2D::Conv2D(std::int64_t filters, Size2 kernel_size, Conv2DOptions options)
    : Layer(options.name.empty() ? unique_name("conv2d") : options.name, "Conv2D"),
      filters_(filters),
      kernel_size_(kernel_size),
      options_(std::move(options)) {
  layers_detail::check_conv_arguments(describe(), filters_, kernel_size_, options_.strides, options_.dilation_rate,
                                      options_.padding);
  if (options_.groups <= 0 || filters_ % options_.groups != 0) {
    throw Error(describe() + ": groups must be positive and divide filters (" + std::to_string(filters_) + "), got " +
                std::to_string(options_.groups));
  }
  check_activation_name(options_.activation, describe());
  set_declared_input_shape(options_.input_shape);
}

Shape Conv2D::compute_output_shape(const Shape& in) const {
  layers_detail::check_image_sample(describe(), in);
  layers_detail::check_input_channels(describe(), *this, in);
  if (in[2] % options_.groups != 0) {
    throw Error(describe() + ": input channels (" + std::to_string(in[2]) + ") must be a multiple of groups (" +
                std::to_string(options_.groups) + ")");
  }
  const auto kh = (kernel_size_.h - 1) * options_.dilation_rate.h + 1;
  const auto kw = (kernel_size_.w - 1) * options_.dilation_rate.w + 1;
  const std::string where = describe();
  try {
    const auto h = ops_detail::window_1d(in[0], kh, options_.strides.h, options_.padding, where.c_str());
    const auto w = ops_detail::window_1d(in[1], kw, options_.strides.w, options_.padding, where.c_str());
    return {h.out, w.out, filters_};
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (input shape [batch, " + shape_str(in).substr(1) + ")");
  }
}

void Conv2D::build_weights(const Shape& in, Generator& gen) {
  kernel_ = add_weight("kernel", {kernel_size_.h, kernel_size_.w, in[2] / options_.groups, filters_},
                       options_.kernel_initializer, gen);
  if (options_.use_bias) bias_ = add_weight("bias", {filters_}, options_.bias_initializer, gen);
}

nlohmann::json Conv2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["filters"] = filters_;
  c["kernel_size"] = {kernel_size_.h, kernel_size_.w};
  c["strides"] = {options_.strides.h, options_.strides.w};
  c["padding"] = options_.padding;
  c["dilation_rate"] = {options_.dilation_rate.h, options_.dilation_rate.w};
  c["groups"] = options_.groups;
  c["activation"] = options_.activation;
  c["use_bias"] = options_.use_bias;
  c["kernel_initializer"] = to_json(options_.kernel_initializer);
  c["bias_initializer"] = to_json(options_.bias_initializer);
  layers_detail::put_regularization_config(c, options_);
  return c;
}

Conv2dParams Conv2D::conv_params() const {
  Conv2dParams p;
  p.stride_h = options_.strides.h, p.stride_w = options_.strides.w;
  p.dilation_h = options_.dilation_rate.h, p.dilation_w = options_.dilation_rate.w;
  p.padding = options_.padding;
  // ReLU runs inside the convolution's own pass; other activations after it.
  p.relu = options_.activation == "relu";
  p.compute = compute_type();
  return p;
}

Tensor Conv2D::forward(const Tensor& x, bool) {
  if (options_.groups > 1) {
    Conv2dParams p = conv_params();
    p.relu = false;
    Tensor y = apply_activation(options_.activation, grouped_conv2d(x, kernel_, bias_, p, options_.groups));
    if (options_.activity_regularizer) activity_ = y;
    return y;
  }
  const Conv2dParams p = conv_params();
  Tensor y =
      p.relu ? conv2d(x, kernel_, bias_, p) : apply_activation(options_.activation, conv2d(x, kernel_, bias_, p));
  if (options_.activity_regularizer) activity_ = y;
  return y;
}

std::vector<Tensor> Conv2D::regularization_losses() const {
  return layers_detail::regularization_penalties(options_, kernel_, bias_, {activity_});
}

void Conv2D::apply_constraints() { layers_detail::apply_weight_constraints(options_, kernel_, bias_); }

Tensor Conv2D::kernel() const {
  input_shape();  // throws, naming the layer, when it is not built
  return kernel_;
}

Tensor Conv2D::bias() const {
  input_shape();
  return bias_;
}

}  // namespace kiln::layers
