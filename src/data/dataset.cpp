#include "kiln/data/dataset.hpp"

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

Dataset::Dataset(Tensor x, Tensor y) : x_(std::move(x)), y_(std::move(y)) {
  if (!x_.defined()) throw Error("Dataset: inputs are undefined");
  if (x_.ndim() < 1) throw Error("Dataset: inputs need a sample axis, got a scalar");
  if (x_.dtype() != DType::UInt8 && !is_floating(x_.dtype()) && !is_token_ids(x_.dtype())) {
    throw Error(std::string("Dataset: inputs must be uint8, int32, int64 or floating, got ") +
                dtype_name(x_.dtype()));
  }
  if (y_.defined() && (y_.ndim() < 1 || y_.size(0) != x_.size(0))) {
    throw Error("Dataset: " + std::to_string(x_.size(0)) + " inputs (shape " + shape_str(x_.shape()) + ") but " +
                (y_.ndim() ? std::to_string(y_.size(0)) : std::string("no")) + " targets (shape " +
                shape_str(y_.shape()) + ")");
  }
  x_ = x_.contiguous();
  if (y_.defined()) y_ = y_.contiguous();
}

Dataset Dataset::rescale(double scale) const {
  if (is_token_ids(x_.dtype())) {
    throw Error(std::string("Dataset: rescale applies to uint8 or floating inputs; these are ") +
                dtype_name(x_.dtype()) + " token ids, which are passed through unchanged");
  }
  Dataset d = *this;
  d.scale_ = scale_ * scale;
  return d;
}

Shape Dataset::sample_shape() const {
  if (!x_.defined()) return {};
  return Shape(x_.shape().begin() + 1, x_.shape().end());
}

Batch Dataset::gather(std::span<const std::int64_t> indices) const {
  for (auto i : indices) {
    if (i < 0 || i >= size()) throw Error("Dataset: row " + std::to_string(i) + " out of range [0, " + std::to_string(size()) + ")");
  }
  Batch b;
  Tensor raw = gather_rows(x_, indices);
  b.x = (raw.dtype() == DType::UInt8 || scale_ != 1.0)
            ? to_float(raw, scale_, raw.dtype() == DType::UInt8 ? DType::Float32 : raw.dtype())
            : raw;
  if (y_.defined()) b.y = gather_rows(y_, indices);
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

Dataset Dataset::subset(std::int64_t start, std::int64_t end) const {
  if (start < 0 || end < start || end > size()) {
    throw Error("Dataset: subset [" + std::to_string(start) + ", " + std::to_string(end) + ") out of range");
  }
  Dataset d;
  d.x_ = x_.slice(start, end);
  if (y_.defined()) d.y_ = y_.slice(start, end);
  d.scale_ = scale_;
  return d;
}

}  // namespace kiln::data
