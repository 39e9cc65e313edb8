// Loss::weighted: Keras's loss(y_true, y_pred, sample_weight) with the "sum_over_batch_size"
// reduction, sum_i(w_i l_i) / n over a batch of n samples.
//
// A loss here returns only the batch mean, not per-sample values, so the samples are grouped
// by weight: a group G of weight w adds w |G| / n times the loss over G alone. That is exact
// for every loss that is a mean over samples (all the built-in ones), user losses included,
// and costs one loss evaluation per distinct weight (class_weight: at most one per class).
#include <algorithm>
#include <map>
#include <numeric>
#include <span>
#include <vector>

#include "kiln/error.hpp"
#include "kiln/losses.hpp"
#include "kiln/ops.hpp"
#include "ops/logits.hpp"

namespace kiln::losses {
namespace {

// Rows `rows` of x along axis 0, differentiable (an embedding lookup in x seen as [n, rest]).
Tensor weighted_loss_rows(const Tensor& x, const std::vector<std::int64_t>& rows) {
  const Tensor ids = Tensor::from_vector(rows);
  Shape shape = x.shape();
  shape[0] = static_cast<std::int64_t>(rows.size());
  const Tensor table = reshape(x, {x.size(0), x.numel() / std::max<std::int64_t>(x.size(0), 1)});
  return reshape(embedding(ids, table), shape);
}

// Targets need no gradient: their rows are copied as they are, in any dtype.
Tensor weighted_loss_target_rows(const Tensor& y, const std::vector<std::int64_t>& rows) {
  const Tensor c = y.contiguous();
  Shape shape = c.shape();
  shape[0] = static_cast<std::int64_t>(rows.size());
  Tensor out = Tensor::empty(shape, c.dtype());
  const std::size_t row_bytes =
      static_cast<std::size_t>(c.numel() / std::max<std::int64_t>(c.size(0), 1)) * dtype_size(c.dtype());
  const char* src = static_cast<const char*>(c.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(src + rows[i] * static_cast<std::int64_t>(row_bytes), row_bytes, dst + i * row_bytes);
  }
  return out;
}

// The predictions of `rows`: when they came from a softmax or sigmoid, that op is applied again
// to the logits' rows, so the loss still sees through it (exact, stable) as on the whole batch.
Tensor weighted_loss_prediction_rows(const Tensor& y_pred, const std::vector<std::int64_t>& rows) {
  if (Tensor logits = ops_detail::logits_of(y_pred, LogitsOf::Softmax); logits.defined()) {
    return softmax(weighted_loss_rows(logits, rows), -1);
  }
  if (Tensor logits = ops_detail::logits_of(y_pred, LogitsOf::Sigmoid); logits.defined()) {
    return sigmoid(weighted_loss_rows(logits, rows));
  }
  return weighted_loss_rows(y_pred, rows);
}

}  // namespace

std::vector<double> sample_weights_for(const Tensor& sample_weight, const Tensor& y_pred, const std::string& who) {
  const std::int64_t n = y_pred.ndim() ? y_pred.size(0) : 1;
  if (!sample_weight.defined()) return std::vector<double>(static_cast<std::size_t>(n), 1.0);
  if (sample_weight.numel() != n) {
    throw Error(who + ": sample_weight has shape " + shape_str(sample_weight.shape()) + " but the batch has " +
                std::to_string(n) + " samples (expected one weight per sample)");
  }
  return sample_weight.to_vector<double>();
}

Tensor Loss::weighted(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) const {
  if (!sample_weight.defined()) return (*this)(y_true, y_pred);
  const std::vector<double> w = sample_weights_for(sample_weight, y_pred, name());
  if (y_true.ndim() == 0 || y_true.size(0) != y_pred.size(0)) return (*this)(y_true, y_pred);  // its own Error
  std::map<double, std::vector<std::int64_t>> groups;
  for (std::size_t i = 0; i < w.size(); ++i) groups[w[i]].push_back(static_cast<std::int64_t>(i));
  if (groups.size() == 1) return (*this)(y_true, y_pred) * w[0];
  const double n = static_cast<double>(w.size());
  Tensor total;
  for (const auto& [weight, rows] : groups) {
    if (weight == 0) continue;
    const Tensor part = (*this)(weighted_loss_target_rows(y_true, rows), weighted_loss_prediction_rows(y_pred, rows)) *
                        (weight * static_cast<double>(rows.size()) / n);
    total = total.defined() ? total + part : part;
  }
  // Every weight 0: a zero loss that still reaches y_pred, so backward() runs as usual.
  return total.defined() ? total : sum(y_pred) * 0.0;
}

}  // namespace kiln::losses
