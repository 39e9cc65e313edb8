// Losses with Keras's names and defaults. Each returns the mean over the
// batch (Keras's "sum_over_batch_size" reduction) as a scalar tensor.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kiln/tensor.hpp"

namespace kiln::losses {

class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;  // "sparse_categorical_crossentropy"
  virtual Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const = 0;
  // Keras's loss(y_true, y_pred, sample_weight) with its "sum_over_batch_size" reduction:
  // sum_i(w_i l_i) / n over the batch's n samples, so weight 0 drops a sample and weight 2
  // counts it twice. sample_weight holds one number per sample ([n] or [n, 1]); undefined
  // gives operator(). The default works for any loss that is a mean over samples (it
  // evaluates the loss once per distinct weight); a loss may override it.
  virtual Tensor weighted(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) const;
  // The settings beyond the name (from_logits), for model files.
  virtual nlohmann::json get_config() const;
};

// The weights of a batch's samples (all 1 when sample_weight is undefined); an Error naming
// `who` unless there is one per sample of y_pred.
std::vector<double> sample_weights_for(const Tensor& sample_weight, const Tensor& y_pred, const std::string& who);

class MeanSquaredError : public Loss {
 public:
  std::string name() const override { return "mean_squared_error"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;
};

// Probabilities are clipped to [1e-7, 1 - 1e-7] as in Keras. When y_pred came
// straight from a sigmoid/softmax, the loss uses that op's logits instead (as
// Keras does), which is exact and stable, in training and evaluation alike.
// label_smoothing s (Keras's): targets become t (1 - s) + s / 2.
class BinaryCrossentropy : public Loss {
 public:
  explicit BinaryCrossentropy(bool from_logits = false, double label_smoothing = 0.0);
  nlohmann::json get_config() const override;
  std::string name() const override { return "binary_crossentropy"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  bool from_logits_;
  double label_smoothing_;
};

// y_true is one-hot (or a distribution) of y_pred's shape.
// label_smoothing s (Keras's): targets become t (1 - s) + s / classes.
class CategoricalCrossentropy : public Loss {
 public:
  explicit CategoricalCrossentropy(bool from_logits = false, double label_smoothing = 0.0);
  nlohmann::json get_config() const override;
  std::string name() const override { return "categorical_crossentropy"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  bool from_logits_;
  double label_smoothing_;
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
  // Each label row weighted by its sample's weight directly; with ignore_class, as Keras:
  // sum(w l) over the labels that count, divided by their number.
  Tensor weighted(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) const override;
  bool from_logits() const { return from_logits_; }
  std::optional<std::int64_t> ignore_class() const { return ignore_class_; }

 private:
  bool from_logits_;
  std::optional<std::int64_t> ignore_class_;
};

// Keras's focal loss for binary labels: bce * (1 - p_t)^gamma, p_t = t p + (1 - t)(1 - p),
// weighted by t alpha + (1 - t)(1 - alpha) with apply_class_balancing; bce is
// BinaryCrossentropy's elementwise term (exact from logits, seen through a sigmoid too).
class BinaryFocalCrossentropy : public Loss {
 public:
  explicit BinaryFocalCrossentropy(bool apply_class_balancing = false, double alpha = 0.25, double gamma = 2.0,
                                   bool from_logits = false, double label_smoothing = 0.0);
  nlohmann::json get_config() const override;
  std::string name() const override { return "binary_focal_crossentropy"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  bool apply_class_balancing_;
  double alpha_, gamma_;
  bool from_logits_;
  double label_smoothing_;
};

// mean(|y_pred - y_true|).
class MeanAbsoluteError : public Loss {
 public:
  std::string name() const override { return "mean_absolute_error"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;
};

// 0.5 e^2 where |e| <= delta, delta (|e| - 0.5 delta) beyond; e = y_pred - y_true.
class Huber : public Loss {
 public:
  explicit Huber(double delta = 1.0);
  nlohmann::json get_config() const override;
  std::string name() const override { return "huber_loss"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  double delta_;
};

// log(cosh(y_pred - y_true)), computed as x + softplus(-2x) - log 2 so large errors do not overflow.
class LogCosh : public Loss {
 public:
  std::string name() const override { return "log_cosh"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;
};

// sum over the last axis of t log(t / p), both clipped to [1e-7, 1]; the mean over the rest.
class KLDivergence : public Loss {
 public:
  std::string name() const override { return "kl_divergence"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;
};

// -cos(y_true, y_pred) along `axis`, each L2-normalised (norms below 1e-7 treated as 1e-7); the mean
// over the rest. -1 for predictions pointing the target's way, 1 for the opposite.
class CosineSimilarity : public Loss {
 public:
  explicit CosineSimilarity(int axis = -1) : axis_(axis) {}
  nlohmann::json get_config() const override;
  std::string name() const override { return "cosine_similarity"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  int axis_;
};

// mean(max(1 - t p, 0)) with t in {-1, 1}; 0/1 labels are turned into -1/1 first, as Keras does.
class Hinge : public Loss {
 public:
  std::string name() const override { return "hinge"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;
};

// mean(max(1 - t p, 0)^2), labels as Hinge's.
class SquaredHinge : public Loss {
 public:
  std::string name() const override { return "squared_hinge"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;
};

// max(max((1 - t) p) - sum(t p) + 1, 0) per row (y_true one-hot), the mean over rows.
class CategoricalHinge : public Loss {
 public:
  std::string name() const override { return "categorical_hinge"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;
};

// mean(p - t log(p + 1e-7)): the negative log-likelihood of counts t under rates p, less a constant.
class Poisson : public Loss {
 public:
  std::string name() const override { return "poisson"; }
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const override;
};

// By Keras's names: "mse"/"mean_squared_error", "mae"/"mean_absolute_error", "binary_crossentropy"/"bce",
// "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_focal_crossentropy",
// "huber"/"huber_loss", "log_cosh"/"logcosh", "kl_divergence"/"kld"/"kullback_leibler_divergence",
// "cosine_similarity", "hinge", "squared_hinge", "categorical_hinge", "poisson"; and by class name ("Huber").
std::shared_ptr<Loss> get(const std::string& name);
// Rebuilds a loss from name() and get_config().
std::shared_ptr<Loss> from_config(const std::string& name, const nlohmann::json& config);

}  // namespace kiln::losses
