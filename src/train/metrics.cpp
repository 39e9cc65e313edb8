#include "kiln/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <span>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::metrics {
namespace {

std::vector<std::int64_t> row_argmax(const Tensor& t) {
  Tensor rows = t.ndim() == 2 ? t : t.reshape({-1, t.size(-1)});
  return argmax(rows.detach(), -1).to_vector<std::int64_t>();
}

// The true labels of a batch as class numbers, read as `kind` says.
Labels true_labels(const Tensor& y_true, const Tensor& y_pred, LabelKind kind) {
  switch (kind) {
    case LabelKind::Sparse:
      return to_labels(y_true);
    case LabelKind::Categorical:
      return row_argmax(to_float(y_true, 1.0, y_pred.dtype()));
    case LabelKind::Binary: {
      Labels out;
      for (double v : y_true.to_vector<double>()) out.push_back(v > 0.5 ? 1 : 0);
      return out;
    }
  }
  return {};
}

// Class scores [n, classes]; a binary model's single probability p becomes [1 - p, p].
Tensor class_scores(const Tensor& y_pred, LabelKind kind) {
  if (kind != LabelKind::Binary) return y_pred.ndim() == 2 ? y_pred : y_pred.reshape({-1, y_pred.size(-1)});
  std::vector<double> two;
  for (double p : y_pred.to_vector<double>()) two.insert(two.end(), {1.0 - p, p});
  return Tensor::from_vector(two, {static_cast<std::int64_t>(two.size() / 2), 2});
}

LabelKind label_kind_for(const std::string& metric, const std::string& loss_name) {
  if (loss_name == "sparse_categorical_crossentropy") return LabelKind::Sparse;
  if (loss_name == "categorical_crossentropy") return LabelKind::Categorical;
  if (loss_name == "binary_crossentropy" || loss_name == "binary_focal_crossentropy") return LabelKind::Binary;
  throw Error("metric \"" + metric + "\" needs a classification loss to read the labels (the loss is " + loss_name +
              ")");
}

// "precision", "weighted_recall", "micro_f1_score", ...
std::shared_ptr<Metric> confusion_metric(const std::string& name, const std::string& loss_name) {
  std::string rest = name;
  Average average = Average::Macro;
  for (Average a : {Average::Macro, Average::Micro, Average::Weighted}) {
    const std::string prefix = std::string(average_name(a)) + "_";
    if (rest.rfind(prefix, 0) == 0) {
      average = a;
      rest = rest.substr(prefix.size());
    }
  }
  using S = ConfusionMetric::Score;
  std::optional<S> score;
  if (rest == "precision") score = S::Precision;
  if (rest == "recall") score = S::Recall;
  if (rest == "f1_score" || rest == "f1") score = S::F1;
  if (!score) return nullptr;
  return std::make_shared<ConfusionMetric>(*score, average, label_kind_for(name, loss_name), name);
}

// "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "top_3_accuracy", ...
std::shared_ptr<Metric> top_k_metric(const std::string& name, const std::string& loss_name) {
  if (name == "top_k_categorical_accuracy") return std::make_shared<TopKAccuracy>(5, LabelKind::Categorical, name);
  if (name == "sparse_top_k_categorical_accuracy") return std::make_shared<TopKAccuracy>(5, LabelKind::Sparse, name);
  const std::string head = "top_", tail = "_accuracy";
  if (name.size() > head.size() + tail.size() && name.rfind(head, 0) == 0 &&
      name.compare(name.size() - tail.size(), tail.size(), tail) == 0) {
    const std::string digits = name.substr(head.size(), name.size() - head.size() - tail.size());
    if (digits.size() <= 6 && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      const std::int64_t k = std::stoll(digits);
      if (k < 1) throw Error("metric \"" + name + "\": k must be at least 1");
      return std::make_shared<TopKAccuracy>(k, label_kind_for(name, loss_name), name);
    }
  }
  return nullptr;
}

}  // namespace

ConfusionMetric::ConfusionMetric(Score score, Average average, LabelKind kind, std::string name)
    : score_(score), average_(average), kind_(kind), name_(std::move(name)) {}

void ConfusionMetric::update(const Tensor& y_true, const Tensor& y_pred) {
  const Tensor scores = class_scores(y_pred.detach(), kind_);
  const std::int64_t classes = scores.size(1) == 1 ? 2 : scores.size(1);
  if (matrix_.num_classes() == 0) {
    matrix_ = ConfusionMatrix(classes);
  } else if (matrix_.num_classes() != classes) {
    throw Error(name_ + ": predictions have " + std::to_string(classes) + " classes, earlier batches had " +
                std::to_string(matrix_.num_classes()));
  }
  const Labels truth = true_labels(y_true, scores, kind_);
  const Labels predicted = predicted_labels(scores);
  if (truth.size() != predicted.size()) {
    throw Error(name_ + ": " + std::to_string(truth.size()) + " labels for " + std::to_string(predicted.size()) +
                " predictions");
  }
  matrix_.add(truth, predicted);
}

double ConfusionMetric::result() const {
  if (matrix_.total() == 0) return 0.0;
  const AveragedScores s = averaged_scores(matrix_, average_);
  switch (score_) {
    case Score::Precision:
      return s.precision;
    case Score::Recall:
      return s.recall;
    case Score::F1:
      return s.f1;
  }
  return 0.0;
}

TopKAccuracy::TopKAccuracy(std::int64_t k, LabelKind kind, std::string name)
    : k_(k), kind_(kind), name_(std::move(name)) {
  if (k_ < 1) throw Error(name_ + ": k must be at least 1, got " + std::to_string(k_));
}

std::vector<char> TopKAccuracy::matches(const Tensor& y_true, const Tensor& y_pred) const {
  const Tensor scores = class_scores(y_pred.detach(), kind_);
  const Labels truth = true_labels(y_true, scores, kind_);
  if (static_cast<std::int64_t>(truth.size()) != scores.size(0)) {
    throw Error(name_ + ": " + std::to_string(truth.size()) + " labels for " + std::to_string(scores.size(0)) +
                " predictions");
  }
  std::vector<char> out(truth.size());
  for (std::size_t i = 0; i < truth.size(); ++i) {
    out[i] = static_cast<char>(
        top_k_hits(std::span(truth).subspan(i, 1), scores.slice(std::int64_t(i), std::int64_t(i) + 1), k_));
  }
  return out;
}

std::vector<char> SparseCategoricalAccuracy::matches(const Tensor& y_true, const Tensor& y_pred) const {
  const auto predicted = row_argmax(y_pred);
  const auto labels = y_true.to_vector<double>();
  if (labels.size() != predicted.size()) {
    throw Error(name_ + ": " + std::to_string(labels.size()) + " labels for " + std::to_string(predicted.size()) +
                " predictions");
  }
  std::vector<char> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) out[i] = static_cast<double>(predicted[i]) == labels[i];
  return out;
}

std::vector<char> CategoricalAccuracy::matches(const Tensor& y_true, const Tensor& y_pred) const {
  const auto predicted = row_argmax(y_pred);
  const auto expected = row_argmax(to_float(y_true, 1.0, y_pred.dtype()));
  if (expected.size() != predicted.size()) throw Error(name_ + ": y_true and y_pred have different batch sizes");
  std::vector<char> out(expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) out[i] = predicted[i] == expected[i];
  return out;
}

std::vector<char> BinaryAccuracy::matches(const Tensor& y_true, const Tensor& y_pred) const {
  const auto p = y_pred.to_vector<double>();
  const auto t = y_true.to_vector<double>();
  if (p.size() != t.size()) throw Error(name_ + ": y_true and y_pred have different sizes");
  std::vector<char> out(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) out[i] = (p[i] > threshold_) == (t[i] > 0.5);
  return out;
}

void AccuracyBase::update(const Tensor& y_true, const Tensor& y_pred) {
  const auto hits = matches(y_true, y_pred);
  for (char hit : hits) correct_ += hit;
  total_ += static_cast<double>(hits.size());
}

void AccuracyBase::update_weighted(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  const auto hits = matches(y_true, y_pred);
  const auto w = row_weights(sample_weight, hits.size(), name());
  for (std::size_t i = 0; i < hits.size(); ++i) correct_ += w[i] * hits[i], total_ += w[i];
}

void Metric::update_weighted(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  if (!sample_weight.defined()) return update(y_true, y_pred);
  throw Error("metric \"" + name() +
              "\" cannot weigh its values by sample_weight; list it in compile's metrics, not weighted_metrics");
}

std::vector<double> row_weights(const Tensor& sample_weight, std::size_t rows, const std::string& who) {
  if (!sample_weight.defined()) return std::vector<double>(rows, 1.0);
  const auto w = sample_weight.to_vector<double>();
  if (w.empty() || rows % w.size() != 0) {
    throw Error(who + ": " + std::to_string(w.size()) + " sample weights for " + std::to_string(rows) +
                " predictions (expected one weight per sample)");
  }
  const std::size_t per_sample = rows / w.size();
  std::vector<double> out(rows);
  for (std::size_t i = 0; i < rows; ++i) out[i] = w[i / per_sample];
  return out;
}

void MeanError::update(const Tensor& y_true, const Tensor& y_pred) { update_weighted(y_true, y_pred, Tensor()); }

void MeanError::update_weighted(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  const auto p = y_pred.to_vector<double>();
  const auto t = y_true.to_vector<double>();
  if (p.size() != t.size()) throw Error(name_ + ": y_true and y_pred have different sizes");
  const auto w = row_weights(sample_weight, p.size(), name_);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double d = p[i] - t[i];
    sum_ += w[i] * (kind_ == Kind::Absolute ? std::abs(d) : d * d);
    count_ += w[i];
  }
}

std::shared_ptr<Metric> get(const std::string& name, const std::string& loss_name) {
  if (name == "accuracy" || name == "acc") {
    if (loss_name == "sparse_categorical_crossentropy") return std::make_shared<SparseCategoricalAccuracy>(name);
    if (loss_name == "categorical_crossentropy") return std::make_shared<CategoricalAccuracy>(name);
    if (loss_name == "binary_crossentropy" || loss_name == "binary_focal_crossentropy") {
      return std::make_shared<BinaryAccuracy>(name);
    }
    throw Error("metric \"" + name + "\" needs a classification loss to pick its kind (the loss is " + loss_name +
                "); name it explicitly, e.g. \"binary_accuracy\"");
  }
  if (name == "sparse_categorical_accuracy") return std::make_shared<SparseCategoricalAccuracy>(name);
  if (name == "categorical_accuracy") return std::make_shared<CategoricalAccuracy>(name);
  if (name == "binary_accuracy") return std::make_shared<BinaryAccuracy>(name);
  if (auto m = confusion_metric(name, loss_name)) return m;
  if (auto m = top_k_metric(name, loss_name)) return m;
  if (name == "mae" || name == "mean_absolute_error")
    return std::make_shared<MeanError>(MeanError::Kind::Absolute, name);
  if (name == "mse" || name == "mean_squared_error") return std::make_shared<MeanError>(MeanError::Kind::Squared, name);
  throw Error("unknown metric \"" + name +
              "\"; expected accuracy, sparse_categorical_accuracy, categorical_accuracy, binary_accuracy, "
              "precision, recall, f1_score (optionally prefixed micro_ or weighted_), top_k_categorical_accuracy, "
              "sparse_top_k_categorical_accuracy, top_<k>_accuracy, mae or mse");
}

}  // namespace kiln::metrics
