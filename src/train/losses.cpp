#include "kiln/losses.hpp"

#include <vector>
#include <nlohmann/json.hpp>

#include "kiln/autograd.hpp"
#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "ops/logits.hpp"

namespace kiln::losses {
namespace {

constexpr double kEpsilon = 1e-7;  // Keras's backend epsilon

void check_pair(const Tensor& y_true, const Tensor& y_pred, const std::string& loss) {
  if (!y_true.defined() || !y_pred.defined()) throw Error(loss + ": y_true and y_pred must be defined");
  if (!is_floating(y_pred.dtype())) {
    throw Error(loss + ": predictions must be floating, got " + dtype_name(y_pred.dtype()));
  }
  if (y_pred.ndim() == 0 || y_pred.size(0) != (y_true.ndim() ? y_true.size(0) : 1)) {
    throw Error(loss + ": y_true has shape " + shape_str(y_true.shape()) + " but y_pred has shape " +
                shape_str(y_pred.shape()) + " (batch sizes must match)");
  }
}

// Targets as floats of the prediction's shape. [N] targets for [N, 1]
// predictions are accepted, as Keras does.
Tensor dense_targets(const Tensor& y_true, const Tensor& y_pred, const std::string& loss) {
  Tensor t = y_true.dtype() == y_pred.dtype() ? y_true : to_float(y_true, 1.0, y_pred.dtype());
  if (t.shape() == y_pred.shape()) return t;
  if (t.numel() == y_pred.numel() && y_pred.ndim() == t.ndim() + 1 && y_pred.shape().back() == 1) {
    return t.reshape(y_pred.shape());
  }
  throw Error(loss + ": y_true has shape " + shape_str(y_true.shape()) + " but y_pred has shape " +
              shape_str(y_pred.shape()));
}

// Logits [N, C] from a [N, ..., C] prediction.
Tensor as_rows(const Tensor& t) { return t.ndim() == 2 ? t : reshape(t, {-1, t.size(-1)}); }

}  // namespace

Tensor MeanSquaredError::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  return mean(square(y_pred - dense_targets(y_true, y_pred, name())));
}

Tensor BinaryCrossentropy::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  const Tensor t = dense_targets(y_true, y_pred, name());
  Tensor logits = from_logits_ ? y_pred : ops_detail::logits_of(y_pred, LogitsOf::Sigmoid);
  if (logits.defined()) return mean(sigmoid_cross_entropy(logits, t));
  const Tensor p = clip(y_pred, kEpsilon, 1.0 - kEpsilon);
  return mean(neg(t * log(p + kEpsilon) + (1.0 - t) * log(1.0 - p + kEpsilon)));
}

Tensor CategoricalCrossentropy::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  const Tensor t = dense_targets(y_true, y_pred, name());
  Tensor logits = from_logits_ ? y_pred : ops_detail::logits_of(y_pred, LogitsOf::Softmax);
  if (logits.defined()) return mean(softmax_cross_entropy(as_rows(logits), as_rows(t)));
  // Keras renormalises the probabilities, then clips them.
  const Tensor p = clip(y_pred / sum(y_pred, {-1}, true), kEpsilon, 1.0 - kEpsilon);
  return mean(neg(sum(t * log(p), {-1})));
}

Tensor SparseCategoricalCrossentropy::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  if (y_true.numel() * y_pred.size(-1) != y_pred.numel()) {
    throw Error(name() + ": expected one integer label per prediction row: y_true has shape " +
                shape_str(y_true.shape()) + ", y_pred has shape " + shape_str(y_pred.shape()));
  }
  Tensor labels = y_true.reshape({y_true.numel()});
  Tensor weights;  // with ignore_class: 0 for ignored labels, n / valid for the rest
  if (ignore_class_) {
    auto ids = labels.to_vector<std::int64_t>();
    std::vector<double> w(ids.size());
    std::int64_t valid = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const bool keep = ids[i] != *ignore_class_;
      valid += keep;
      w[i] = keep ? 1.0 : 0.0;
      if (!keep) ids[i] = 0;  // any valid class: its loss is weighted by 0
    }
    // Keras's reduction with a mask: the mean over the labels that count (0 when none do).
    for (auto& v : w) v *= valid ? double(ids.size()) / double(valid) : 0.0;
    labels = Tensor::from_vector(ids);
    weights = Tensor::from_vector(w).to(y_pred.dtype());
  }
  auto reduce = [&](const Tensor& per_row) { return mean(weights.defined() ? per_row * weights : per_row); };
  Tensor logits = from_logits_ ? y_pred : ops_detail::logits_of(y_pred, LogitsOf::Softmax);
  if (logits.defined()) return reduce(sparse_softmax_cross_entropy(as_rows(logits), labels));
  // Probabilities with no softmax to look through: as in the categorical loss,
  // Keras renormalises them, then clips (its TensorFlow backend feeds log(p) to a
  // softmax cross-entropy); the normalisation shows in the gradient.
  const Tensor log_p = log(clip(as_rows(y_pred / sum(y_pred, {-1}, true)), kEpsilon, 1.0 - kEpsilon));
  const std::int64_t N = labels.numel(), C = y_pred.size(-1);
  const auto ids = labels.to_vector<std::int64_t>();
  Tensor one_hot = Tensor::zeros({N, C}, DType::Float64);
  for (std::int64_t i = 0; i < N; ++i) {
    if (ids[i] < 0 || ids[i] >= C) {
      throw Error(name() + ": label " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                  " is outside [0, " + std::to_string(C) + ")");
    }
    one_hot.data<double>()[i * C + ids[i]] = 1.0;
  }
  return reduce(neg(sum(log_p * one_hot.to(y_pred.dtype()), {-1})));
}

std::shared_ptr<Loss> get(const std::string& name) {
  if (name == "mse" || name == "mean_squared_error") return std::make_shared<MeanSquaredError>();
  if (name == "binary_crossentropy") return std::make_shared<BinaryCrossentropy>();
  if (name == "categorical_crossentropy") return std::make_shared<CategoricalCrossentropy>();
  if (name == "sparse_categorical_crossentropy") return std::make_shared<SparseCategoricalCrossentropy>();
  throw Error("unknown loss \"" + name +
              "\"; expected mse, binary_crossentropy, categorical_crossentropy or sparse_categorical_crossentropy");
}

nlohmann::json Loss::get_config() const { return nlohmann::json::object(); }
nlohmann::json BinaryCrossentropy::get_config() const { return {{"from_logits", from_logits_}}; }
nlohmann::json CategoricalCrossentropy::get_config() const { return {{"from_logits", from_logits_}}; }
nlohmann::json SparseCategoricalCrossentropy::get_config() const {
  nlohmann::json c = {{"from_logits", from_logits_}};
  if (ignore_class_) c["ignore_class"] = *ignore_class_;
  return c;
}

std::shared_ptr<Loss> from_config(const std::string& name, const nlohmann::json& config) {
  bool from_logits = false;
  if (config.is_object() && config.contains("from_logits")) {
    if (!config.at("from_logits").is_boolean()) {
      throw Error("loss config for " + name + ": from_logits must be true or false");
    }
    from_logits = config.at("from_logits").get<bool>();
  }
  if (name == "binary_crossentropy") return std::make_shared<BinaryCrossentropy>(from_logits);
  if (name == "categorical_crossentropy") return std::make_shared<CategoricalCrossentropy>(from_logits);
  if (name == "sparse_categorical_crossentropy") {
    std::optional<std::int64_t> ignore_class;
    if (config.is_object() && config.contains("ignore_class")) {
      if (!config.at("ignore_class").is_number_integer()) {
        throw Error("loss config for " + name + ": ignore_class must be an integer");
      }
      ignore_class = config.at("ignore_class").get<std::int64_t>();
    }
    return std::make_shared<SparseCategoricalCrossentropy>(from_logits, ignore_class);
  }
  return get(name);
}

}  // namespace kiln::losses
