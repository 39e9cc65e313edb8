// Streaming metrics for compile(): updated batch by batch during fit and
// evaluate, read at the end of each epoch.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/metrics/classification.hpp"
#include "kiln/tensor.hpp"

namespace kiln::metrics {

class Metric {
 public:
  virtual ~Metric() = default;
  virtual std::string name() const = 0;  // key in the history and the progress bar
  virtual void reset() = 0;
  virtual void update(const Tensor& y_true, const Tensor& y_pred) = 0;
  // Keras's update_state(y_true, y_pred, sample_weight), for compile's weighted_metrics:
  // `sample_weight` holds one weight per sample ([batch]; undefined: all 1), shared by the
  // sample's predictions (its time steps, for sequence outputs). The result becomes the
  // weighted mean, sum(w v) / sum(w). A metric that cannot weigh its values throws an Error
  // naming itself (the default).
  virtual void update_weighted(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight);
  virtual double result() const = 0;
};

// One weight per prediction row: each of `rows` rows (a batch's samples, or their time steps)
// takes its sample's weight from `sample_weight` ([batch]; undefined: all 1). `who` names the
// metric or loss in the Error raised when rows do not divide evenly among the samples.
std::vector<double> row_weights(const Tensor& sample_weight, std::size_t rows, const std::string& who);

// Fraction of correct predictions, accumulated as (weighted) counts: exact over an epoch.
class AccuracyBase : public Metric {
 public:
  void reset() override { correct_ = total_ = 0; }
  double result() const override { return total_ ? correct_ / total_ : 0.0; }
  void update(const Tensor& y_true, const Tensor& y_pred) final;
  void update_weighted(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) final;

 protected:
  // 1 for each prediction row that is right, 0 for each that is wrong.
  virtual std::vector<char> matches(const Tensor& y_true, const Tensor& y_pred) const = 0;

 private:
  double correct_ = 0, total_ = 0;
};

// argmax(y_pred) == integer label
class SparseCategoricalAccuracy : public AccuracyBase {
 public:
  explicit SparseCategoricalAccuracy(std::string name = "accuracy") : name_(std::move(name)) {}
  std::string name() const override { return name_; }

 protected:
  std::vector<char> matches(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  std::string name_;
};

// argmax(y_pred) == argmax(y_true)
class CategoricalAccuracy : public AccuracyBase {
 public:
  explicit CategoricalAccuracy(std::string name = "accuracy") : name_(std::move(name)) {}
  std::string name() const override { return name_; }

 protected:
  std::vector<char> matches(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  std::string name_;
};

// (y_pred > threshold) == y_true
class BinaryAccuracy : public AccuracyBase {
 public:
  explicit BinaryAccuracy(std::string name = "accuracy", double threshold = 0.5)
      : name_(std::move(name)), threshold_(threshold) {}
  std::string name() const override { return name_; }

 protected:
  std::vector<char> matches(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  std::string name_;
  double threshold_;
};

// Mean absolute / squared error over all elements seen.
class MeanError : public Metric {
 public:
  enum class Kind { Absolute, Squared };
  MeanError(Kind kind, std::string name) : kind_(kind), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  void reset() override { sum_ = 0, count_ = 0; }
  void update(const Tensor& y_true, const Tensor& y_pred) override;
  void update_weighted(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) override;
  double result() const override { return count_ ? sum_ / count_ : 0.0; }

 private:
  Kind kind_;
  std::string name_;
  double sum_ = 0, count_ = 0;
};

// How a classification metric reads y_true and y_pred: integer labels with class
// scores (sparse), one-hot rows with class scores (categorical), or 0/1 labels with
// one probability per sample (binary, threshold 0.5).
enum class LabelKind { Sparse, Categorical, Binary };

// Precision, recall or F1 over everything seen since reset(), from confusion
// counts — exact over an epoch, not a mean of per-batch values. The number of
// classes is taken from y_pred's last axis (2 for binary).
class ConfusionMetric : public Metric {
 public:
  enum class Score { Precision, Recall, F1 };
  ConfusionMetric(Score score, Average average, LabelKind kind, std::string name);
  std::string name() const override { return name_; }
  void reset() override { matrix_.reset(); }
  void update(const Tensor& y_true, const Tensor& y_pred) override;
  double result() const override;
  const ConfusionMatrix& matrix() const { return matrix_; }

 private:
  Score score_;
  Average average_;
  LabelKind kind_;
  std::string name_;
  ConfusionMatrix matrix_;
};

// Whether the true class is among the k highest scores (ties as scikit-learn's
// top_k_accuracy_score: the higher class index first).
class TopKAccuracy : public AccuracyBase {
 public:
  TopKAccuracy(std::int64_t k, LabelKind kind, std::string name);
  std::string name() const override { return name_; }

 protected:
  std::vector<char> matches(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  std::int64_t k_;
  LabelKind kind_;
  std::string name_;
};

// Resolves a metric name as Keras's compile() does: "accuracy"/"acc" picks
// the accuracy that matches the loss; also "sparse_categorical_accuracy",
// "categorical_accuracy", "binary_accuracy", "mae", "mse";
// "precision", "recall", "f1_score" (macro averages over classes; prefix "micro_"
// or "weighted_" for the others, e.g. "weighted_f1_score");
// "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy" (k = 5) and
// "top_<k>_accuracy" (e.g. "top_3_accuracy"). ROC AUC and average precision need
// every score of the epoch at once, so they are not compile() metrics: compute them
// on predictions (kiln/metrics/ranking.hpp), as `kiln evaluate` and run reports do.
std::shared_ptr<Metric> get(const std::string& name, const std::string& loss_name);

}  // namespace kiln::metrics
