#include "train/loss_helpers.hpp"

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::losses::detail {

void check_pair(const Tensor& y_true, const Tensor& y_pred, const std::string& loss) {
  if (!y_true.defined() || !y_pred.defined()) throw Error(loss + ": y_true and y_pred must be defined");
  if (!is_floating(y_pred.dtype())) {
    throw Error(loss + ": predictions must be floating, got " + dtype_name(y_pred.dtype()));
  }
  if (y_pred.ndim() == 0 || y_pred.size(0) != (y_true.ndim() ? y_true.size(0) : 1)) {
    throw Error(loss + ": y_true has shape " + shape_str(y_true.shape()) + " but y_pred has shape " +
                shape_str(y_pred.shape()) + " (batch sizes must match)");
  }
}

Tensor dense_targets(const Tensor& y_true, const Tensor& y_pred, const std::string& loss) {
  Tensor t = y_true.dtype() == y_pred.dtype() ? y_true : to_float(y_true, 1.0, y_pred.dtype());
  if (t.shape() == y_pred.shape()) return t;
  if (t.numel() == y_pred.numel() && y_pred.ndim() == t.ndim() + 1 && y_pred.shape().back() == 1) {
    return t.reshape(y_pred.shape());
  }
  throw Error(loss + ": y_true has shape " + shape_str(y_true.shape()) + " but y_pred has shape " +
              shape_str(y_pred.shape()));
}

}  // namespace kiln::losses::detail
