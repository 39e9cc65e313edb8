#include "kiln/losses.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/autograd.hpp"
#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "ops/logits.hpp"
#include "train/loss_helpers.hpp"

namespace kiln::losses {
namespace {

using detail::check_pair;
using detail::dense_targets;
using detail::kEpsilon;

// Logits [N, C] from a [N, ..., C] prediction.
Tensor as_rows(const Tensor& t) { return t.ndim() == 2 ? t : reshape(t, {-1, t.size(-1)}); }

}  // namespace

Tensor MeanSquaredError::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  return mean(square(y_pred - dense_targets(y_true, y_pred, name())));
}

namespace {

void check_smoothing(double label_smoothing, const char* loss) {
  if (!(label_smoothing >= 0 && label_smoothing <= 1)) {
    throw Error(std::string(loss) + ": label_smoothing must be in [0, 1], got " + std::to_string(label_smoothing));
  }
}

// Keras's _smooth_labels for binary targets: t (1 - s) + s / 2.
Tensor smooth_binary(const Tensor& t, double s) { return s > 0 ? t * (1.0 - s) + 0.5 * s : t; }

// The elementwise binary cross-entropy: exact from logits (given, or seen through a
// sigmoid), else from probabilities clipped to [eps, 1 - eps] as Keras does.
// `probabilities` receives the predicted probability (for the focal loss).
Tensor binary_crossentropy_terms(const Tensor& t, const Tensor& y_pred, bool from_logits, Tensor* probabilities) {
  const Tensor logits = from_logits ? y_pred : ops_detail::logits_of(y_pred, LogitsOf::Sigmoid);
  if (logits.defined()) {
    if (probabilities) *probabilities = from_logits ? sigmoid(y_pred) : y_pred;
    return sigmoid_cross_entropy(logits, t);
  }
  if (probabilities) *probabilities = y_pred;
  const Tensor p = clip(y_pred, kEpsilon, 1.0 - kEpsilon);
  return neg(t * log(p + kEpsilon) + (1.0 - t) * log(1.0 - p + kEpsilon));
}

}  // namespace

BinaryCrossentropy::BinaryCrossentropy(bool from_logits, double label_smoothing)
    : from_logits_(from_logits), label_smoothing_(label_smoothing) {
  check_smoothing(label_smoothing, "BinaryCrossentropy");
}

Tensor BinaryCrossentropy::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  const Tensor t = smooth_binary(dense_targets(y_true, y_pred, name()), label_smoothing_);
  return mean(binary_crossentropy_terms(t, y_pred, from_logits_, nullptr));
}

CategoricalCrossentropy::CategoricalCrossentropy(bool from_logits, double label_smoothing)
    : from_logits_(from_logits), label_smoothing_(label_smoothing) {
  check_smoothing(label_smoothing, "CategoricalCrossentropy");
}

Tensor CategoricalCrossentropy::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  Tensor t = dense_targets(y_true, y_pred, name());
  if (label_smoothing_ > 0) t = t * (1.0 - label_smoothing_) + label_smoothing_ / double(y_pred.size(-1));
  Tensor logits = from_logits_ ? y_pred : ops_detail::logits_of(y_pred, LogitsOf::Softmax);
  if (logits.defined()) return mean(softmax_cross_entropy(as_rows(logits), as_rows(t)));
  // Keras renormalises the probabilities, then clips them.
  const Tensor p = clip(y_pred / sum(y_pred, {-1}, true), kEpsilon, 1.0 - kEpsilon);
  return mean(neg(sum(t * log(p), {-1})));
}

BinaryFocalCrossentropy::BinaryFocalCrossentropy(bool apply_class_balancing, double alpha, double gamma,
                                                 bool from_logits, double label_smoothing)
    : apply_class_balancing_(apply_class_balancing),
      alpha_(alpha),
      gamma_(gamma),
      from_logits_(from_logits),
      label_smoothing_(label_smoothing) {
  check_smoothing(label_smoothing, "BinaryFocalCrossentropy");
  if (!(gamma >= 0) || !std::isfinite(gamma)) {
    throw Error("BinaryFocalCrossentropy: gamma must be a finite non-negative number, got " + std::to_string(gamma));
  }
  if (!(alpha >= 0 && alpha <= 1)) {
    throw Error("BinaryFocalCrossentropy: alpha must be in [0, 1], got " + std::to_string(alpha));
  }
}

Tensor BinaryFocalCrossentropy::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  const Tensor t = smooth_binary(dense_targets(y_true, y_pred, name()), label_smoothing_);
  Tensor p;
  const Tensor bce = binary_crossentropy_terms(t, y_pred, from_logits_, &p);
  const Tensor p_t = t * p + (1.0 - t) * (1.0 - p);
  Tensor focal = pow(1.0 - p_t, gamma_) * bce;
  if (apply_class_balancing_) focal = (t * alpha_ + (1.0 - t) * (1.0 - alpha_)) * focal;
  return mean(focal);
}

Tensor SparseCategoricalCrossentropy::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  return weighted(y_true, y_pred, Tensor());
}

Tensor SparseCategoricalCrossentropy::weighted(const Tensor& y_true, const Tensor& y_pred,
                                               const Tensor& sample_weight) const {
  check_pair(y_true, y_pred, name());
  if (y_true.numel() * y_pred.size(-1) != y_pred.numel()) {
    throw Error(name() + ": expected one integer label per prediction row: y_true has shape " +
                shape_str(y_true.shape()) + ", y_pred has shape " + shape_str(y_pred.shape()));
  }
  Tensor labels = y_true.reshape({y_true.numel()});
  Tensor weights;  // per label row: its sample's weight, 0 for ignored labels, times n / valid
  if (ignore_class_ || sample_weight.defined()) {
    auto ids = labels.to_vector<std::int64_t>();
    const std::vector<double> per_sample = sample_weights_for(sample_weight, y_pred, name());
    const std::size_t rows_per_sample = ids.size() / std::max<std::size_t>(per_sample.size(), 1);
    std::vector<double> w(ids.size());
    std::int64_t valid = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const bool keep = !ignore_class_ || ids[i] != *ignore_class_;
      valid += keep;
      w[i] = keep ? per_sample[i / rows_per_sample] : 0.0;
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
  if (name == "mse" || name == "MSE" || name == "mean_squared_error" || name == "MeanSquaredError") {
    return std::make_shared<MeanSquaredError>();
  }
  if (name == "mae" || name == "MAE" || name == "mean_absolute_error" || name == "MeanAbsoluteError") {
    return std::make_shared<MeanAbsoluteError>();
  }
  if (name == "binary_crossentropy" || name == "bce" || name == "BCE" || name == "BinaryCrossentropy") {
    return std::make_shared<BinaryCrossentropy>();
  }
  if (name == "categorical_crossentropy" || name == "CategoricalCrossentropy") {
    return std::make_shared<CategoricalCrossentropy>();
  }
  if (name == "sparse_categorical_crossentropy" || name == "SparseCategoricalCrossentropy") {
    return std::make_shared<SparseCategoricalCrossentropy>();
  }
  if (name == "binary_focal_crossentropy" || name == "BinaryFocalCrossentropy") {
    return std::make_shared<BinaryFocalCrossentropy>();
  }
  if (name == "huber" || name == "huber_loss" || name == "Huber") return std::make_shared<Huber>();
  if (name == "log_cosh" || name == "logcosh" || name == "LogCosh") return std::make_shared<LogCosh>();
  if (name == "kl_divergence" || name == "kld" || name == "KLD" || name == "kullback_leibler_divergence" ||
      name == "KLDivergence") {
    return std::make_shared<KLDivergence>();
  }
  if (name == "cosine_similarity" || name == "CosineSimilarity") return std::make_shared<CosineSimilarity>();
  if (name == "hinge" || name == "Hinge") return std::make_shared<Hinge>();
  if (name == "squared_hinge" || name == "SquaredHinge") return std::make_shared<SquaredHinge>();
  if (name == "categorical_hinge" || name == "CategoricalHinge") return std::make_shared<CategoricalHinge>();
  if (name == "poisson" || name == "Poisson") return std::make_shared<Poisson>();
  throw Error("unknown loss \"" + name +
              "\"; expected mse, mae, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, "
              "binary_focal_crossentropy, huber, log_cosh, kl_divergence, cosine_similarity, hinge, squared_hinge, "
              "categorical_hinge or poisson");
}

nlohmann::json Loss::get_config() const { return nlohmann::json::object(); }
nlohmann::json BinaryCrossentropy::get_config() const {
  return {{"from_logits", from_logits_}, {"label_smoothing", label_smoothing_}};
}
nlohmann::json CategoricalCrossentropy::get_config() const {
  return {{"from_logits", from_logits_}, {"label_smoothing", label_smoothing_}};
}
nlohmann::json BinaryFocalCrossentropy::get_config() const {
  return {{"apply_class_balancing", apply_class_balancing_},
          {"alpha", alpha_},
          {"gamma", gamma_},
          {"from_logits", from_logits_},
          {"label_smoothing", label_smoothing_}};
}
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
  const auto number = [&](const char* key, double fallback) {
    if (!config.is_object() || !config.contains(key)) return fallback;
    if (!config.at(key).is_number()) throw Error("loss config for " + name + ": " + key + " must be a number");
    return config.at(key).get<double>();
  };
  const double smoothing = number("label_smoothing", 0.0);
  if (name == "binary_crossentropy") return std::make_shared<BinaryCrossentropy>(from_logits, smoothing);
  if (name == "categorical_crossentropy") return std::make_shared<CategoricalCrossentropy>(from_logits, smoothing);
  if (name == "binary_focal_crossentropy") {
    const bool balancing = config.is_object() && config.value("apply_class_balancing", false);
    return std::make_shared<BinaryFocalCrossentropy>(balancing, number("alpha", 0.25), number("gamma", 2.0),
                                                     from_logits, smoothing);
  }
  if (name == "huber_loss") return std::make_shared<Huber>(number("delta", 1.0));
  if (name == "cosine_similarity") return std::make_shared<CosineSimilarity>(static_cast<int>(number("axis", -1)));
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
