#include "kiln/metrics.hpp"

#include <cmath>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::metrics {
namespace {

std::vector<std::int64_t> row_argmax(const Tensor& t) {
  Tensor rows = t.ndim() == 2 ? t : t.reshape({-1, t.size(-1)});
  return argmax(rows.detach(), -1).to_vector<std::int64_t>();
}

}  // namespace

void SparseCategoricalAccuracy::update(const Tensor& y_true, const Tensor& y_pred) {
  const auto predicted = row_argmax(y_pred);
  const auto labels = y_true.to_vector<double>();
  if (labels.size() != predicted.size()) {
    throw Error(name_ + ": " + std::to_string(labels.size()) + " labels for " + std::to_string(predicted.size()) +
                " predictions");
  }
  for (std::size_t i = 0; i < labels.size(); ++i) correct_ += static_cast<double>(predicted[i]) == labels[i];
  total_ += static_cast<std::int64_t>(labels.size());
}

void CategoricalAccuracy::update(const Tensor& y_true, const Tensor& y_pred) {
  const auto predicted = row_argmax(y_pred);
  const auto expected = row_argmax(to_float(y_true, 1.0, y_pred.dtype()));
  if (expected.size() != predicted.size()) throw Error(name_ + ": y_true and y_pred have different batch sizes");
  for (std::size_t i = 0; i < expected.size(); ++i) correct_ += predicted[i] == expected[i];
  total_ += static_cast<std::int64_t>(expected.size());
}

void BinaryAccuracy::update(const Tensor& y_true, const Tensor& y_pred) {
  const auto p = y_pred.to_vector<double>();
  const auto t = y_true.to_vector<double>();
  if (p.size() != t.size()) throw Error(name_ + ": y_true and y_pred have different sizes");
  for (std::size_t i = 0; i < p.size(); ++i) correct_ += (p[i] > threshold_) == (t[i] > 0.5);
  total_ += static_cast<std::int64_t>(p.size());
}

void MeanError::update(const Tensor& y_true, const Tensor& y_pred) {
  const auto p = y_pred.to_vector<double>();
  const auto t = y_true.to_vector<double>();
  if (p.size() != t.size()) throw Error(name_ + ": y_true and y_pred have different sizes");
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double d = p[i] - t[i];
    sum_ += kind_ == Kind::Absolute ? std::abs(d) : d * d;
  }
  count_ += static_cast<std::int64_t>(p.size());
}

std::shared_ptr<Metric> get(const std::string& name, const std::string& loss_name) {
  if (name == "accuracy" || name == "acc") {
    if (loss_name == "sparse_categorical_crossentropy") return std::make_shared<SparseCategoricalAccuracy>(name);
    if (loss_name == "categorical_crossentropy") return std::make_shared<CategoricalAccuracy>(name);
    if (loss_name == "binary_crossentropy") return std::make_shared<BinaryAccuracy>(name);
    throw Error("metric \"" + name + "\" needs a classification loss to pick its kind (the loss is " + loss_name +
                "); name it explicitly, e.g. \"binary_accuracy\"");
  }
  if (name == "sparse_categorical_accuracy") return std::make_shared<SparseCategoricalAccuracy>(name);
  if (name == "categorical_accuracy") return std::make_shared<CategoricalAccuracy>(name);
  if (name == "binary_accuracy") return std::make_shared<BinaryAccuracy>(name);
  if (name == "mae" || name == "mean_absolute_error") return std::make_shared<MeanError>(MeanError::Kind::Absolute, name);
  if (name == "mse" || name == "mean_squared_error") return std::make_shared<MeanError>(MeanError::Kind::Squared, name);
  throw Error("unknown metric \"" + name +
              "\"; expected accuracy, sparse_categorical_accuracy, categorical_accuracy, binary_accuracy, mae or mse");
}

}  // namespace kiln::metrics
