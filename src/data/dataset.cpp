#include "kiln/data/dataset.hpp"

#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "kernels/cpu/elementwise.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::data {
namespace {

// Copies rows `indices` of a contiguous tensor into a new one.
Tensor gather_rows(const Tensor& t, std::span<const std::int64_t> indices) {
  Shape shape = t.shape();
  shape[0] = static_cast<std::int64_t>(indices.size());
  Tensor out = Tensor::empty(shape, t.dtype());
  const std::size_t row_bytes = static_cast<std::size_t>(t.numel() / std::max<std::int64_t>(t.size(0), 1)) *
                                dtype_size(t.dtype());
  const char* src = static_cast<const char*>(t.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  const auto n = static_cast<std::int64_t>(indices.size());
  kernels::cpu::parallel_for(n, static_cast<std::int64_t>(row_bytes / 4 + 1), [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) std::memcpy(dst + i * row_bytes, src + indices[i] * row_bytes, row_bytes);
  });
  return out;
}

// int32/int64 inputs are token ids (for Embedding): handed out as stored.
bool is_token_ids(DType d) { return d == DType::Int32 || d == DType::Int64; }

}  // namespace

Dataset::Dataset(Tensor x, Tensor y) : Dataset(std::vector<Tensor>{std::move(x)}, std::move(y)) {}

Dataset::Dataset(std::vector<Tensor> inputs, Tensor y) : inputs_(std::move(inputs)), y_(std::move(y)) {
  if (inputs_.empty()) throw Error("Dataset: no inputs");
  const bool several = inputs_.size() > 1;
  for (std::size_t i = 0; i < inputs_.size(); ++i) {
    Tensor& x = inputs_[i];
    const std::string which = several ? "input " + std::to_string(i) : "inputs";
    if (!x.defined()) throw Error("Dataset: " + which + (several ? " is" : " are") + " undefined");
    if (x.ndim() < 1) throw Error("Dataset: " + which + " need a sample axis, got a scalar");
    if (x.dtype() != DType::UInt8 && !is_floating(x.dtype()) && !is_token_ids(x.dtype())) {
      throw Error("Dataset: " + which + " must be uint8, int32, int64 or floating, got " + dtype_name(x.dtype()));
    }
    if (x.size(0) != inputs_[0].size(0)) {
      throw Error("Dataset: input 0 has " + std::to_string(inputs_[0].size(0)) + " samples (shape " +
                  shape_str(inputs_[0].shape()) + ") but input " + std::to_string(i) + " has " +
                  std::to_string(x.size(0)) + " (shape " + shape_str(x.shape()) + ")");
    }
    x = x.contiguous();
  }
  const Tensor& x = inputs_[0];
  if (y_.defined() && (y_.ndim() < 1 || y_.size(0) != x.size(0))) {
    throw Error("Dataset: " + std::to_string(x.size(0)) + " inputs (shape " + shape_str(x.shape()) + ") but " +
                (y_.ndim() ? std::to_string(y_.size(0)) : std::string("no")) + " targets (shape " +
                shape_str(y_.shape()) + ")");
  }
  if (y_.defined()) y_ = y_.contiguous();
}

Dataset::Dataset(std::vector<Tensor> inputs, std::vector<Tensor> targets)
    : Dataset(std::move(inputs), targets.empty() ? Tensor() : targets[0]) {
  if (targets.size() < 2) return;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    Tensor& y = targets[i];
    if (!y.defined() || y.ndim() < 1 || y.size(0) != size()) {
      throw Error("Dataset: " + std::to_string(size()) + " inputs but target " + std::to_string(i) + " has " +
                  (y.defined() ? "shape " + shape_str(y.shape()) : std::string("no values")) +
                  " (one row per sample expected)");
    }
    y = y.contiguous();
  }
  targets_ = std::move(targets);
  y_ = targets_[0];
}

const Tensor& Dataset::x() const {
  static const Tensor none;
  return inputs_.empty() ? none : inputs_[0];
}

Dataset Dataset::rescale(double scale) const {
  bool any_scaled = false;
  for (const auto& x : inputs_) any_scaled = any_scaled || !is_token_ids(x.dtype());
  if (!any_scaled) {
    throw Error(std::string("Dataset: rescale applies to uint8 or floating inputs; these are ") +
                dtype_name(x().dtype()) + " token ids, which are passed through unchanged");
  }
  Dataset d = *this;
  d.scale_ = scale_ * scale;
  return d;
}

Shape Dataset::sample_shape() const {
  if (inputs_.empty()) return {};
  return Shape(inputs_[0].shape().begin() + 1, inputs_[0].shape().end());
}

Batch Dataset::gather(std::span<const std::int64_t> indices) const {
  for (auto i : indices) {
    if (i < 0 || i >= size()) throw Error("Dataset: row " + std::to_string(i) + " out of range [0, " + std::to_string(size()) + ")");
  }
  auto rows_of = [&](const Tensor& x) {
    Tensor raw = gather_rows(x, indices);
    if (is_token_ids(raw.dtype())) return raw;
    return (raw.dtype() == DType::UInt8 || scale_ != 1.0)
               ? to_float(raw, scale_, raw.dtype() == DType::UInt8 ? DType::Float32 : raw.dtype())
               : raw;
  };
  Batch b;
  if (inputs_.size() > 1) {
    for (const auto& x : inputs_) b.inputs.push_back(rows_of(x));
    b.x = b.inputs[0];
  } else {
    b.x = rows_of(inputs_[0]);
  }
  if (!targets_.empty()) {
    for (const auto& y : targets_) b.targets.push_back(gather_rows(y, indices));
    b.y = b.targets[0];
  } else if (y_.defined()) {
    b.y = gather_rows(y_, indices);
  }
  if (sample_weight_.defined()) b.sample_weight = gather_rows(sample_weight_, indices);
  return b;
}

Batch Dataset::batch(std::int64_t start, std::int64_t end) const {
  if (start < 0 || end < start || end > size()) {
    throw Error("Dataset: batch [" + std::to_string(start) + ", " + std::to_string(end) + ") out of range [0, " +
                std::to_string(size()) + ")");
  }
  std::vector<std::int64_t> rows(static_cast<std::size_t>(end - start));
  std::iota(rows.begin(), rows.end(), start);
  return gather(rows);
}

Dataset Dataset::with_sample_weight(const Tensor& weights) const {
  if (!weights.defined()) throw Error("Dataset: sample_weight is undefined");
  const bool column = weights.ndim() == 2 && weights.size(1) == 1;
  if ((weights.ndim() != 1 && !column) || weights.size(0) != size()) {
    throw Error("Dataset: sample_weight must hold one weight per sample, shape [" + std::to_string(size()) +
                "], got shape " + shape_str(weights.shape()));
  }
  if (!is_floating(weights.dtype()) && weights.dtype() != DType::Int32 && weights.dtype() != DType::Int64 &&
      weights.dtype() != DType::UInt8) {
    throw Error(std::string("Dataset: sample_weight must be real numbers, got ") + dtype_name(weights.dtype()));
  }
  const auto values = weights.to_vector<double>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]) || values[i] < 0) {
      throw Error("Dataset: sample_weight " + std::to_string(i) + " is " + std::to_string(values[i]) +
                  "; weights must be finite and non-negative");
    }
  }
  Dataset d = *this;
  d.sample_weight_ = Tensor::from_vector(values);
  return d;
}

Dataset Dataset::subset(std::int64_t start, std::int64_t end) const {
  if (start < 0 || end < start || end > size()) {
    throw Error("Dataset: subset [" + std::to_string(start) + ", " + std::to_string(end) + ") out of range");
  }
  Dataset d;
  for (const auto& x : inputs_) d.inputs_.push_back(x.slice(start, end));
  if (y_.defined()) d.y_ = y_.slice(start, end);
  for (const auto& y : targets_) d.targets_.push_back(y.slice(start, end));
  if (!d.targets_.empty()) d.y_ = d.targets_[0];
  if (sample_weight_.defined()) d.sample_weight_ = sample_weight_.slice(start, end);
  d.scale_ = scale_;
  return d;
}

}  // namespace kiln::data
