// Streaming metrics for compile(): updated batch by batch during fit and
// evaluate, read at the end of each epoch.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "kiln/tensor.hpp"

namespace kiln::metrics {

class Metric {
 public:
  virtual ~Metric() = default;
  virtual std::string name() const = 0;  // key in the history and the progress bar
  virtual void reset() = 0;
  virtual void update(const Tensor& y_true, const Tensor& y_pred) = 0;
  virtual double result() const = 0;
};

// Fraction of correct predictions, accumulated as counts (exact over an epoch).
class AccuracyBase : public Metric {
 public:
  void reset() override { correct_ = total_ = 0; }
  double result() const override { return total_ ? double(correct_) / double(total_) : 0.0; }

 protected:
  std::int64_t correct_ = 0, total_ = 0;
};

// argmax(y_pred) == integer label
class SparseCategoricalAccuracy : public AccuracyBase {
 public:
  explicit SparseCategoricalAccuracy(std::string name = "accuracy") : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  void update(const Tensor& y_true, const Tensor& y_pred) override;

 private:
  std::string name_;
};

// argmax(y_pred) == argmax(y_true)
class CategoricalAccuracy : public AccuracyBase {
 public:
  explicit CategoricalAccuracy(std::string name = "accuracy") : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  void update(const Tensor& y_true, const Tensor& y_pred) override;

 private:
  std::string name_;
};

// (y_pred > threshold) == y_true
class BinaryAccuracy : public AccuracyBase {
 public:
  explicit BinaryAccuracy(std::string name = "accuracy", double threshold = 0.5)
      : name_(std::move(name)), threshold_(threshold) {}
  std::string name() const override { return name_; }
  void update(const Tensor& y_true, const Tensor& y_pred) override;

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
  double result() const override { return count_ ? sum_ / double(count_) : 0.0; }

 private:
  Kind kind_;
  std::string name_;
  double sum_ = 0;
  std::int64_t count_ = 0;
};

// Resolves a metric name as Keras's compile() does: "accuracy"/"acc" picks
// the accuracy that matches the loss; also "sparse_categorical_accuracy",
// "categorical_accuracy", "binary_accuracy", "mae", "mse".
std::shared_ptr<Metric> get(const std::string& name, const std::string& loss_name);

}  // namespace kiln::metrics
