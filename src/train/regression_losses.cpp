// Keras 3's regression and distribution losses (keras/src/losses/losses.py), composed
// from differentiable ops, so each needs no backward of its own.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>

#include "kiln/error.hpp"
#include "kiln/losses.hpp"
#include "kiln/ops.hpp"
#include "train/loss_helpers.hpp"

namespace kiln::losses {

using detail::check_pair;
using detail::dense_targets;
using detail::kEpsilon;

Tensor MeanAbsoluteError::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  return mean(abs(y_pred - dense_targets(y_true, y_pred, name())));
}

Huber::Huber(double delta) : delta_(delta) {
  if (!(delta > 0) || !std::isfinite(delta)) throw Error("Huber: delta must be positive, got " + std::to_string(delta));
}

nlohmann::json Huber::get_config() const { return {{"delta", delta_}}; }

Tensor Huber::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  const Tensor error = abs(y_pred - dense_targets(y_true, y_pred, name()));
  // q = min(|e|, delta): 0.5 q^2 + delta (|e| - q) is 0.5 e^2 inside and delta |e| - 0.5 delta^2 beyond.
  const Tensor quadratic = clip(error, 0.0, delta_);
  return mean(0.5 * square(quadratic) + delta_ * (error - quadratic));
}

Tensor LogCosh::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  const Tensor x = y_pred - dense_targets(y_true, y_pred, name());
  return mean(x + softplus(x * -2.0) - std::numbers::ln2);
}

Tensor KLDivergence::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  const Tensor t = clip(dense_targets(y_true, y_pred, name()), kEpsilon, 1.0);
  const Tensor p = clip(y_pred, kEpsilon, 1.0);
  return mean(sum(t * log(t / p), {-1}));
}

nlohmann::json CosineSimilarity::get_config() const { return {{"axis", axis_}}; }

Tensor CosineSimilarity::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  const Tensor t = dense_targets(y_true, y_pred, name());
  const int rank = static_cast<int>(y_pred.ndim());
  if (axis_ < -rank || axis_ >= rank) {
    throw Error("CosineSimilarity: axis " + std::to_string(axis_) + " is outside a rank-" + std::to_string(rank) +
                " prediction of shape " + shape_str(y_pred.shape()));
  }
  // Keras's normalize: x / max(||x||, epsilon).
  const auto normalize = [&](const Tensor& x) {
    return x / sqrt(clip(sum(square(x), {axis_}, true), kEpsilon * kEpsilon, std::numeric_limits<double>::infinity()));
  };
  return neg(mean(sum(normalize(t) * normalize(y_pred), {axis_})));
}

Tensor Poisson::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  const Tensor t = dense_targets(y_true, y_pred, name());
  return mean(y_pred - t * log(y_pred + kEpsilon));
}

}  // namespace kiln::losses
