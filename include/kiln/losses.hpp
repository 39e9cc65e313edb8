// Losses with Keras's names and defaults. Each returns the mean over the
// batch (Keras's "sum_over_batch_size" reduction) as a scalar tensor.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "kiln/tensor.hpp"

namespace kiln::losses {

class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;  // "sparse_categorical_crossentropy"
  virtual Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const = 0;
  // The settings beyond the name (from_logits), for model files.
  virtual nlohmann::json get_config() const;
};

class MeanSquaredError : public Loss {
 public:
  std::string name() const override { return "mean_squared_error"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;
};

// Probabilities are clipped to [1e-7, 1 - 1e-7] as in Keras. When y_pred came
// straight from a sigmoid/softmax, the loss uses that op's logits instead (as
// Keras does), which is exact and stable, in training and evaluation alike.
class BinaryCrossentropy : public Loss {
 public:
  explicit BinaryCrossentropy(bool from_logits = false) : from_logits_(from_logits) {}
  nlohmann::json get_config() const override;
  std::string name() const override { return "binary_crossentropy"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  bool from_logits_;
};

// y_true is one-hot (or a distribution) of y_pred's shape.
class CategoricalCrossentropy : public Loss {
 public:
  explicit CategoricalCrossentropy(bool from_logits = false) : from_logits_(from_logits) {}
  nlohmann::json get_config() const override;
  std::string name() const override { return "categorical_crossentropy"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  bool from_logits_;
};

// y_true holds integer class ids, one per prediction row (one per sample, or
// one per time step for sequence outputs [batch, time, classes]).
// ignore_class (Keras's argument): labels equal to it contribute nothing, and
// the mean is over the other labels, e.g. padding after the end of a word.
class SparseCategoricalCrossentropy : public Loss {
 public:
  explicit SparseCategoricalCrossentropy(bool from_logits = false,
                                         std::optional<std::int64_t> ignore_class = std::nullopt)
      : from_logits_(from_logits), ignore_class_(ignore_class) {}
  nlohmann::json get_config() const override;
  std::string name() const override { return "sparse_categorical_crossentropy"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;
  bool from_logits() const { return from_logits_; }
  std::optional<std::int64_t> ignore_class() const { return ignore_class_; }

 private:
  bool from_logits_;
  std::optional<std::int64_t> ignore_class_;
};

// "mse"/"mean_squared_error", "binary_crossentropy", "categorical_crossentropy",
// "sparse_categorical_crossentropy".
std::shared_ptr<Loss> get(const std::string& name);
// Rebuilds a loss from name() and get_config().
std::shared_ptr<Loss> from_config(const std::string& name, const nlohmann::json& config);

}  // namespace kiln::losses
