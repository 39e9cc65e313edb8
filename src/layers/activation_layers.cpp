#include "kiln/layers/activation_layers.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "layers/weight_regularization.hpp"
#include "util/number_text.hpp"

namespace kiln::layers {
namespace {

}  // namespace

ReLU::ReLU(std::optional<double> max_value, double negative_slope, double threshold, std::string name)
    : Layer(name.empty() ? unique_name("re_lu") : name, "ReLU"),
      max_value_(max_value),
      negative_slope_(negative_slope),
      threshold_(threshold) {
  if (max_value_ && !(*max_value_ >= 0)) {
    throw Error(describe() + ": max_value cannot be negative, got " + detail::number_text(*max_value_));
  }
  if (!(negative_slope_ >= 0) || !std::isfinite(negative_slope_)) {
    throw Error(describe() + ": negative_slope cannot be negative, got " + detail::number_text(negative_slope_));
  }
  if (!(threshold_ >= 0) || !std::isfinite(threshold_)) {
    throw Error(describe() + ": threshold cannot be negative, got " + detail::number_text(threshold_));
  }
}

nlohmann::json ReLU::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["max_value"] = max_value_ ? nlohmann::json(*max_value_) : nlohmann::json(nullptr);
  c["negative_slope"] = negative_slope_;
  c["threshold"] = threshold_;
  return c;
}

Tensor ReLU::forward(const Tensor& x, bool) {
  if (!max_value_ && negative_slope_ == 0 && threshold_ == 0) return relu(x);
  return relu(x, negative_slope_, max_value_.value_or(std::numeric_limits<double>::infinity()), threshold_);
}

ELU::ELU(double alpha, std::string name) : Layer(name.empty() ? unique_name("elu") : name, "ELU"), alpha_(alpha) {
  if (!std::isfinite(alpha_)) throw Error(describe() + ": alpha must be finite, got " + detail::number_text(alpha_));
}

nlohmann::json ELU::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["alpha"] = alpha_;
  return c;
}

Tensor ELU::forward(const Tensor& x, bool) { return elu(x, alpha_); }

Softmax::Softmax(int axis, std::string name)
    : Layer(name.empty() ? unique_name("softmax") : name, "Softmax"), axis_(axis) {
  if (axis_ == 0) throw Error(describe() + ": axis 0 is the batch; softmax over samples is not supported");
}

Shape Softmax::compute_output_shape(const Shape& input_shape) const {
  const int rank = static_cast<int>(input_shape.size()) + 1;  // with the batch
  if (axis_ >= rank || axis_ < -rank + 1) {
    throw Error(describe() + ": axis " + std::to_string(axis_) + " is outside inputs of shape " +
                shape_str(input_shape) + " (with the batch, rank " + std::to_string(rank) + ")");
  }
  return input_shape;
}

nlohmann::json Softmax::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = axis_;
  return c;
}

Tensor Softmax::forward(const Tensor& x, bool) {
  (void)compute_output_shape(Shape(x.shape().begin() + 1, x.shape().end()));
  const int last = static_cast<int>(x.ndim()) - 1;
  const int axis = axis_ < 0 ? axis_ + last + 1 : axis_;
  if (axis == last) return softmax(x, -1);
  // The softmax op normalises the last axis: move the axis there and back (views the ops
  // differentiate; Tensor::contiguous() would copy outside autograd and cut the gradient).
  return transpose(softmax(transpose(x, axis, last), -1), axis, last);
}

PReLU::PReLU(PReLUOptions options)
    : Layer(options.name.empty() ? unique_name("p_re_lu") : options.name, "PReLU"), options_(std::move(options)) {
  for (int axis : options_.shared_axes) {
    if (axis < 1) {
      throw Error(describe() + ": shared_axes count the batch as axis 0, so each must be at least 1; got " +
                  std::to_string(axis));
    }
  }
}

void PReLU::build_weights(const Shape& input_shape, Generator& generator) {
  Shape shape = input_shape;
  for (int axis : options_.shared_axes) {
    if (axis > static_cast<int>(shape.size())) {
      throw Error(describe() + ": shared axis " + std::to_string(axis) + " is outside inputs of shape " +
                  shape_str(input_shape) + " (axis 1 is the first after the batch)");
    }
    shape[axis - 1] = 1;
  }
  alpha_ = add_weight("alpha", shape, options_.alpha_initializer, generator);
}

nlohmann::json PReLU::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["alpha_initializer"] = to_json(options_.alpha_initializer);
  c["shared_axes"] = options_.shared_axes.empty() ? nlohmann::json(nullptr) : nlohmann::json(options_.shared_axes);
  layers_detail::put_regularization_config(c, options_);
  return c;
}

std::vector<Tensor> PReLU::regularization_losses() const {
  return layers_detail::penalties({{options_.alpha_regularizer, options_.alpha_constraint, alpha_}});
}

void PReLU::apply_constraints() {
  layers_detail::constrain({{options_.alpha_regularizer, options_.alpha_constraint, alpha_}});
}

// Keras's form: relu(x) - alpha * relu(-x); alpha broadcasts over the batch and the shared axes.
Tensor PReLU::forward(const Tensor& x, bool) { return relu(x) - alpha_ * relu(neg(x)); }

}  // namespace kiln::layers
