#include "kiln/layers/conv2d_transpose.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/layers/activation.hpp"
#include "layers/image_arguments.hpp"
#include "layers/weight_regularization.hpp"

namespace kiln::layers {

Conv2DTranspose::Conv2DTranspose(std::int64_t filters, Size2 kernel_size, std::string activation, Shape input_shape)
    : Conv2DTranspose(filters, kernel_size,
                      Conv2DTransposeOptions{.activation = std::move(activation),
                                             .input_shape = std::move(input_shape)}) {}

Conv2DTranspose::Conv2DTranspose(std::int64_t filters, Size2 kernel_size, Conv2DTransposeOptions options)
    : Layer(options.name.empty() ? unique_name("conv2d_transpose") : options.name, "Conv2DTranspose"),
      filters_(filters),
      kernel_size_(kernel_size),
      options_(std::move(options)) {
  layers_detail::check_conv_arguments(describe(), filters_, kernel_size_, options_.strides, options_.dilation_rate,
                                      options_.padding);
  check_activation_name(options_.activation, describe());
  set_declared_input_shape(options_.input_shape);
}

Shape Conv2DTranspose::compute_output_shape(const Shape& in) const {
  layers_detail::check_image_sample(describe(), in);
  layers_detail::check_input_channels(describe(), *this, in);
  const auto h = conv2d_transpose_output_length(in[0], kernel_size_.h, options_.strides.h, options_.dilation_rate.h,
                                                options_.padding);
  const auto w = conv2d_transpose_output_length(in[1], kernel_size_.w, options_.strides.w, options_.dilation_rate.w,
                                                options_.padding);
  return {h, w, filters_};
}

void Conv2DTranspose::build_weights(const Shape& in, Generator& gen) {
  kernel_ = add_weight("kernel", {kernel_size_.h, kernel_size_.w, filters_, in[2]}, options_.kernel_initializer, gen);
  if (options_.use_bias) bias_ = add_weight("bias", {filters_}, options_.bias_initializer, gen);
}

nlohmann::json Conv2DTranspose::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["filters"] = filters_;
  c["kernel_size"] = {kernel_size_.h, kernel_size_.w};
  c["strides"] = {options_.strides.h, options_.strides.w};
  c["padding"] = options_.padding;
  c["dilation_rate"] = {options_.dilation_rate.h, options_.dilation_rate.w};
  c["activation"] = options_.activation;
  c["use_bias"] = options_.use_bias;
  c["kernel_initializer"] = to_json(options_.kernel_initializer);
  c["bias_initializer"] = to_json(options_.bias_initializer);
  layers_detail::put_regularization_config(c, options_);
  return c;
}

std::vector<Tensor> Conv2DTranspose::regularization_losses() const {
  return layers_detail::regularization_penalties(options_, kernel_, bias_, {activity_});
}

void Conv2DTranspose::apply_constraints() { layers_detail::apply_weight_constraints(options_, kernel_, bias_); }

Conv2dTransposeParams Conv2DTranspose::conv_params() const {
  Conv2dTransposeParams p;
  p.stride_h = options_.strides.h, p.stride_w = options_.strides.w;
  p.dilation_h = options_.dilation_rate.h, p.dilation_w = options_.dilation_rate.w;
  p.padding = options_.padding;
  return p;
}

Tensor Conv2DTranspose::forward(const Tensor& x, bool) {
  Tensor y = apply_activation(options_.activation, conv2d_transpose(x, kernel_, bias_, conv_params()));
  if (options_.activity_regularizer) activity_ = y;
  return y;
}

Tensor Conv2DTranspose::kernel() const {
  input_shape();  // throws, naming the layer, when it is not built
  return kernel_;
}

Tensor Conv2DTranspose::bias() const {
  input_shape();
  return bias_;
}

}  // namespace kiln::layers
