// Keras 3's hinge losses (keras/src/losses/losses.py) for maximum-margin classifiers.
#include <algorithm>

#include "kiln/error.hpp"
#include "kiln/losses.hpp"
#include "kiln/ops.hpp"
#include "train/loss_helpers.hpp"

namespace kiln::losses {
namespace {

using detail::check_pair;
using detail::dense_targets;

// Keras's convert_binary_labels_to_hinge: labels that are all 0 or 1 become -1 or 1; others stay.
Tensor hinge_labels(const Tensor& t) {
  const auto values = t.to_vector<double>();
  const bool binary = std::all_of(values.begin(), values.end(), [](double v) { return v == 0.0 || v == 1.0; });
  return binary ? t * 2.0 - 1.0 : t;
}

Tensor margins(const Tensor& y_true, const Tensor& y_pred, const std::string& loss) {
  check_pair(y_true, y_pred, loss);
  return relu(1.0 - hinge_labels(dense_targets(y_true, y_pred, loss)) * y_pred);
}

}  // namespace

Tensor Hinge::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  return mean(margins(y_true, y_pred, name()));
}

Tensor SquaredHinge::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  return mean(square(margins(y_true, y_pred, name())));
}

Tensor CategoricalHinge::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  check_pair(y_true, y_pred, name());
  const Tensor t = dense_targets(y_true, y_pred, name());
  const int last = static_cast<int>(y_pred.ndim()) - 1;
  const Tensor positive = sum(t * y_pred, {last}, true);
  // The largest wrong-class score, folded column by column (Kiln has no max reduction).
  const Tensor others = (1.0 - t) * y_pred;
  Tensor negative = narrow(others, last, 0, 1);
  for (std::int64_t c = 1; c < y_pred.size(last); ++c) negative = maximum(negative, narrow(others, last, c, 1));
  return mean(relu(negative - positive + 1.0));
}

}  // namespace kiln::losses
