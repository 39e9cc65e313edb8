#include "kiln/layers/layer.hpp"

#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "kiln/autograd.hpp"
#include "kiln/error.hpp"
#include "kiln/layers/weight_budget.hpp"
#include "layers/mixed_precision_notice.hpp"

namespace kiln::layers {

std::string unique_name(const std::string& base) {
  static std::mutex mutex;
  static std::map<std::string, int> counts;
  std::lock_guard lock(mutex);
  const int n = counts[base]++;
  return n == 0 ? base : base + "_" + std::to_string(n);
}

Layer::Layer(std::string name, std::string type_name)
    : name_(std::move(name)), type_(std::move(type_name)), policy_(mixed_precision::global_policy()) {
  dtype_ = policy_.variable_dtype();
}

std::string Layer::describe() const { return type_ + " '" + name_ + "'"; }

const Shape& Layer::input_shape() const {
  if (!built_) throw Error(describe() + " has not been built yet: give it an input_shape or call it on data");
  return input_shape_;
}

void Layer::set_declared_input_shape(const Shape& shape) {
  if (shape.empty()) return;
  for (auto d : shape) {
    if (d <= 0) throw Error(describe() + ": input_shape " + shape_str(shape) + " must have positive sizes");
  }
  declared_input_shape_ = shape;
}

void Layer::build(const Shape& input_shape) {
  if (built_) {
    if (!accepts(input_shape_, input_shape)) {
      throw Error(describe() + " was built for inputs of shape " + shape_str(input_shape_) + ", got " +
                  shape_str(input_shape));
    }
    return;
  }
  compute_output_shape(input_shape);  // validates, naming this layer
  build_weights(input_shape, default_generator());
  input_shape_ = input_shape;
  built_ = true;
}

void Layer::build_weights(const Shape&, Generator&) {}

Tensor Layer::operator()(const Tensor& x, bool training) { return forward(prepare(x), training); }

Tensor Layer::prepare(const Tensor& x) {
  if (!x.defined()) throw Error(describe() + ": input is undefined");
  if (x.ndim() < 1) throw Error(describe() + ": input must have a batch axis, got a scalar");
  const Shape sample(x.shape().begin() + 1, x.shape().end());
  if (!built_) {
    build(sample);
  } else if (!accepts(input_shape_, sample)) {
    throw Error(describe() + ": expected input of shape [batch, " + shape_str(input_shape_).substr(1) + ", got " +
                shape_str(x.shape()));
  }
  if (accepts_dtype(x.dtype())) return x;
  if (takes_dtype(x.dtype()) && !x.requires_grad()) return x.to(dtype_);
  throw Error(
      describe() + ": expected " + accepted_dtypes() + " input, got " + dtype_name(x.dtype()) +
      (takes_dtype(x.dtype()) ? " that requires gradients (a cast would cut them; give the layers one dtype)" : ""));
}

Tensor Layer::add_weight(const std::string& name, const Shape& shape, const Initializer& initializer,
                         Generator& generator, bool trainable) {
  layers::WeightBudget::take(describe() + " weight '" + name + "'", shape, dtype_);
  Tensor value = Tensor::empty(shape, dtype_);
  initializer.fill(value, generator);
  value.set_requires_grad(trainable && trainable_);
  value.set_name(name_ + "/" + name);
  weights_.push_back({name, value, trainable});
  return value;
}

void Layer::track_weight(const std::string& name, const Tensor& value, bool trainable) {
  weights_.push_back({name, value, trainable});
}

std::string Layer::accepted_dtypes() const { return dtype_name(dtype_); }

std::vector<Tensor> Layer::trainable_weights() const {
  std::vector<Tensor> out;
  if (!trainable_) return out;
  for (const auto& w : weights_) {
    if (w.trainable) out.push_back(w.value);
  }
  return out;
}

// Keras lists a layer's trainable variables before its non-trainable ones.
std::vector<Layer::Weight> Layer::weights_in_keras_order() const {
  std::vector<Weight> out;
  for (bool trainable : {true, false}) {
    for (const auto& w : weights_) {
      if (w.trainable == trainable) out.push_back(w);
    }
  }
  return out;
}

std::vector<Tensor> Layer::get_weights() const {
  std::vector<Tensor> out;
  for (const Weight& w : weights_in_keras_order()) out.push_back(w.value.clone());
  return out;
}

void Layer::set_weights(const std::vector<Tensor>& values) {
  const auto order = weights_in_keras_order();
  if (values.size() != order.size()) {
    std::string expected;
    for (const Weight& w : order) {
      expected += (expected.empty() ? "" : ", ") + w.name + " " + shape_str(w.value.shape());
    }
    throw Error(describe() + ": set_weights got " + std::to_string(values.size()) + " weights, expected " +
                std::to_string(order.size()) + (order.empty() ? "" : " (" + expected + ")") +
                (built_ ? "" : "; the layer is not built yet: give it an input_shape or call it on data first"));
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Weight& w = order[i];
    if (!values[i].defined() || values[i].shape() != w.value.shape()) {
      throw Error(describe() + ": set_weights: weight " + std::to_string(i) + " ('" + w.name + "') must have shape " +
                  shape_str(w.value.shape()) + ", got " +
                  (values[i].defined() ? shape_str(values[i].shape()) : std::string("an undefined tensor")));
    }
  }
  // Writing a weight is not a step of any graph.
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < values.size(); ++i) {
    Tensor destination = order[i].value;
    destination.copy_(values[i]);
  }
}

std::int64_t Layer::count_params() const {
  std::int64_t n = 0;
  for (const auto& w : weights_) n += w.value.numel();
  return n;
}

std::int64_t Layer::count_trainable_params() const {
  std::int64_t n = 0;
  for (const auto& w : trainable_weights()) n += w.numel();
  return n;
}

void Layer::set_trainable(bool trainable) {
  trainable_ = trainable;
  for (auto& w : weights_) w.value.set_requires_grad(trainable && w.trainable);
}

nlohmann::json Layer::get_config() const {
  nlohmann::json config = {{"name", name_}, {"trainable", trainable_}, {"dtype", dtype_name(dtype_)}};
  // Keras 3 writes every policy as this object; a plain dtype name (what Keras 2 wrote, and
  // what Kiln's float32 and float64 files hold) still means the policy of that name.
  if (policy_.is_mixed()) {
    config["dtype"] = {{"module", "keras"},
                       {"class_name", "DTypePolicy"},
                       {"config", {{"name", policy_.name()}}},
                       {"registered_name", nullptr}};
  }
  if (declared_input_shape_) config["input_shape"] = *declared_input_shape_;
  return config;
}

nlohmann::json to_json(const Initializer& initializer) {
  return {{"name", initializer.name()}, {"a", initializer.a()}, {"b", initializer.b()}};
}

void Layer::set_dtype(DType dtype) {
  if (!is_floating(dtype)) throw Error(describe() + ": dtype must be float32 or float64");
  set_dtype_policy(mixed_precision::DTypePolicy(dtype_name(dtype)));
}

void Layer::set_dtype_policy(const mixed_precision::DTypePolicy& policy) {
  if (built_ && policy.variable_dtype() != dtype_) {
    throw Error(describe() + ": set the dtype policy \"" + policy.name() + "\" before the layer is built (its " +
                dtype_name(dtype_) + " weights exist)");
  }
  mixed_precision::notice_if_emulated(policy);
  dtype_ = policy.variable_dtype();
  policy_ = policy;
}

}  // namespace kiln::layers
