#include "kiln/layers/conv1d.hpp"

#include <nlohmann/json.hpp>

#include "kiln/layers/activation.hpp"
#include "kiln/ops.hpp"
#include "kiln/ops/grouped_conv.hpp"
#include "layers/sequence_arguments.hpp"
#include "layers/weight_regularization.hpp"
#include "ops/padding.hpp"

namespace kiln::layers {

Conv1D::Conv1D(std::int64_t filters, std::int64_t kernel_size, Conv1DOptions options)
    : Layer(options.name.empty() ? unique_name("conv1d") : options.name, "Conv1D"),
      filters_(filters),
      kernel_size_(kernel_size),
      options_(std::move(options)) {
  const std::string who = describe();
  if (filters_ <= 0) throw Error(who + ": filters must be positive, got " + std::to_string(filters_));
  if (kernel_size_ <= 0) throw Error(who + ": kernel_size must be positive, got " + std::to_string(kernel_size_));
  if (options_.strides <= 0) throw Error(who + ": strides must be positive, got " + std::to_string(options_.strides));
  if (options_.dilation_rate <= 0) {
    throw Error(who + ": dilation_rate must be positive, got " + std::to_string(options_.dilation_rate));
  }
  if (options_.groups <= 0 || filters_ % options_.groups != 0) {
    throw Error(who + ": groups must be positive and divide filters (" + std::to_string(filters_) + "), got " +
                std::to_string(options_.groups));
  }
  const std::string& p = options_.padding;
  if (p != "valid" && p != "same" && p != "causal") {
    throw Error(who + ": padding must be \"valid\", \"same\" or \"causal\", got \"" + p + "\"");
  }
  layers_detail::check_data_format(who, options_.data_format);
  check_activation_name(options_.activation, who);
  set_declared_input_shape(options_.input_shape);
}

Shape Conv1D::compute_output_shape(const Shape& in) const {
  const std::string who = describe();
  layers_detail::check_sequence_sample(who, in);
  if (in[1] % options_.groups != 0) {
    throw Error(who + ": input channels (" + std::to_string(in[1]) + ") must be a multiple of groups (" +
                std::to_string(options_.groups) + ")");
  }
  if (built() && in[1] != input_shape()[1]) {
    throw Error(who + ": expected " + std::to_string(input_shape()[1]) + " input channels, got " +
                std::to_string(in[1]));
  }
  const std::int64_t k = (kernel_size_ - 1) * options_.dilation_rate + 1;
  const bool causal = options_.padding == "causal";
  try {
    const auto w = ops_detail::window_1d(causal ? in[0] + k - 1 : in[0], k, options_.strides,
                                         causal ? "valid" : options_.padding, who.c_str());
    return {w.out, filters_};
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (input shape [batch, " + shape_str(in).substr(1) + ")");
  }
}

bool Conv1D::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 2 && actual[1] == built[1];
}

void Conv1D::build_weights(const Shape& in, Generator& gen) {
  kernel_ = add_weight("kernel", {kernel_size_, in[1] / options_.groups, filters_}, options_.kernel_initializer, gen);
  if (options_.use_bias) bias_ = add_weight("bias", {filters_}, options_.bias_initializer, gen);
}

nlohmann::json Conv1D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["filters"] = filters_;
  c["kernel_size"] = {kernel_size_};
  c["strides"] = {options_.strides};
  c["padding"] = options_.padding;
  c["data_format"] = options_.data_format;
  c["dilation_rate"] = {options_.dilation_rate};
  c["groups"] = options_.groups;
  c["activation"] = options_.activation;
  c["use_bias"] = options_.use_bias;
  c["kernel_initializer"] = to_json(options_.kernel_initializer);
  c["bias_initializer"] = to_json(options_.bias_initializer);
  layers_detail::put_regularization_config(c, options_);
  return c;
}

std::vector<Tensor> Conv1D::regularization_losses() const {
  return layers_detail::regularization_penalties(options_, kernel_, bias_, {activity_});
}

void Conv1D::apply_constraints() { layers_detail::apply_weight_constraints(options_, kernel_, bias_); }

Tensor Conv1D::forward(const Tensor& x_in, bool) {
  Tensor x = x_in;
  Conv2dParams p;
  p.stride_w = options_.strides;
  p.dilation_w = options_.dilation_rate;
  p.padding = options_.padding;
  if (options_.padding == "causal") {
    x = layers_detail::zero_pad_axis(x, 1, (kernel_size_ - 1) * options_.dilation_rate, 0);
    p.padding = "valid";
  }
  const std::int64_t n = x.size(0), in_per_group = kernel_.size(1);
  const Tensor image = reshape(x, {n, 1, x.size(1), x.size(2)});
  const Tensor w = reshape(kernel_, {1, kernel_size_, in_per_group, filters_});
  const Tensor y = grouped_conv2d(image, w, bias_, p, options_.groups);
  Tensor out = apply_activation(options_.activation, reshape(y, {n, y.size(2), filters_}));
  if (options_.activity_regularizer) activity_ = out;
  return out;
}

}  // namespace kiln::layers
